"""A plan in progress for one participant: its items queued, its progress recorded, resume. Qt-free.

:class:`PlanRun` puts a :class:`~rigconsole.plans.plan.Plan`'s items on the
:class:`~rigconsole.plans.queue.RunQueue` in the participant's order, with the
participant fields (asked once) in every item's expInfo, and records progress
as it goes, in two places:

- the session data log (``.h5``): metadata section ``"plan"`` (the plan file,
  its name, the participant fields, the order used, each item's state, run
  group and outcome; replaced as it changes) and one annotation of kind
  ``"plan"`` per ended item linking the run (``fields.run``: the run's group,
  e.g. ``"runs/run_002"``) to its item (``fields.item``: 1-based in the plan);
- a small state file written atomically (a temporary file, fsync, ``os.replace``),
  ``<data folder>/plans/<participant>_<plan>.json``: after a crash, kill -9 or
  power loss :func:`read_state` says which items finished, and
  :meth:`PlanRun.start` with ``resume=True`` queues the first unfinished one and
  the rest. An item is written as ended only after the data log has made its
  run durable (``DataLog.flush``), so nothing the state file acknowledges is lost.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..atomic import write_json_atomically
from .plan import Plan, PlanItem
from .queue import BreakSpec, ItemState, QueueItem, RunQueue, worst_outcome

__all__ = ["PlanRun", "read_state", "state_path", "PLAN_STATE_VERSION"]

log = logging.getLogger("rigconsole.plans")

PLAN_STATE_VERSION = 1
#: item states that count as done for a resume (a failed or stopped item is run again)
DONE = (ItemState.FINISHED, ItemState.FINISHED_WITH_ERRORS, ItemState.SKIPPED)


def state_path(data_dir: Path, plan: Plan, participant: Any) -> Path:
    """``<data_dir>/plans/<participant>_<plan file stem>.json`` (unsafe characters replaced by ``_``)."""
    stem = plan.source.stem if plan.source is not None else (plan.name or "plan")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{participant}_{stem}")
    return Path(data_dir) / "plans" / f"{safe}.json"


def read_state(path: Path) -> dict[str, Any] | None:
    """A plan state file's content, or ``None`` when there is none.

    Raises:
        ValueError: it exists but is not a plan state (one line saying so).
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable plan state ({err})") from None
    if (
        not isinstance(data, dict)
        or data.get("version") != PLAN_STATE_VERSION
        or not isinstance(data.get("items"), list)
    ):
        raise ValueError(f"{path}: not a plan state file of this version")
    return data


class PlanRun:
    """One participant's plan on the queue, recorded as it goes (see the module docstring).

    Args:
        plan: the plan.
        values: the participant fields typed once (``participant`` required, e.g.
            ``{"participant": "s01", "session": "001"}``); the plan's defaults fill the rest.
        queue: the rig's :class:`RunQueue`.
        data_dir: the data folder (the state file goes under ``plans/``).
        data_log: returns the session data log in force (or ``None``).
        run_group: returns a run record's group in the data log (``SessionRecorder.group_for``).
        dry_run: every item as a dry run (``rigconsole run PLAN --simulate-participant``).
        seed: the simulated participant's seed for dry runs.
        speed: the dry runs' time warp (a number > 0 or ``"max"``: :mod:`rigconsole.session.warp`).

    Raises:
        ValueError: no participant, or a counterbalanced plan and a participant with no number.
    """

    def __init__(
        self,
        plan: Plan,
        values: dict[str, Any],
        queue: RunQueue,
        data_dir: Path,
        *,
        data_log: Callable[[], Any] = lambda: None,
        run_group: Callable[[Any], str | None] = lambda r: None,
        dry_run: bool = False,
        seed: int | None = 0,
        speed: float | str = 1.0,
    ):
        fields = {**plan.fields, **{k: v for k, v in values.items() if v is not None}}
        if str(fields.get("participant", "")).strip() == "":
            raise ValueError("give the participant (e.g. --exp-info participant=s01): a plan asks for it once")
        self.plan = plan
        self.fields = fields
        self.order = plan.order_for(fields["participant"])
        self.queue = queue
        self.state_file = state_path(data_dir, plan, fields["participant"])
        self._data_log = data_log
        self._run_group = run_group
        self._dry_run = dry_run
        self._seed = seed
        self._speed = speed
        self._items: dict[int, dict[str, Any]] = {}  # plan index → its record
        self._queued: dict[int, int] = {}  # queue item id → plan index
        self._resumed_from: list[str] = []
        self._links: list = []
        self._started = time.time()

    # ------------------------------------------------------------------ queue
    def start(self, *, resume: bool = False) -> list[QueueItem]:
        """Queue the plan's items in the participant's order (with ``resume``: only those not done
        in the state file) and start the queue. Returns the items queued.

        Raises:
            ValueError: ``resume`` and the state file is of another plan or participant, or unreadable.
            and whatever :meth:`RunQueue.add` raises for an item (one line naming the item): nothing is queued.
        """
        done: set[int] = set()
        if resume:
            state = read_state(self.state_file)
            if state is not None:
                if state.get("participant") != str(self.fields["participant"]) or state.get("plan_file") != (
                    str(self.plan.source) if self.plan.source else None
                ):
                    raise ValueError(f"{self.state_file}: the saved progress is of another plan or participant")
                self.order = [int(i) for i in state.get("order", self.order)]
                for rec in state["items"]:
                    self._items[int(rec["item"]) - 1] = rec
                    if rec.get("state") in DONE:
                        done.add(int(rec["item"]) - 1)
                self._resumed_from = list(state.get("data_logs", []))
        positions = [i for i in self.order if i not in done]
        last = positions[-1] if positions else None
        queued: list[QueueItem] = []
        i = -1
        try:
            for i in positions:
                item = self.plan.items[i]
                key = self._key(item)
                info = self._exp_info(key, item)
                brk = item.after if not isinstance(item.after, str) and i != last else None
                spec = BreakSpec(brk.message, tuple(brk.keys), 0.5 if self._dry_run else brk.seconds) if brk else None
                mode = "dry run" if self._dry_run else item.mode
                q = self.queue.add(
                    key,
                    info,
                    mode=mode,
                    label=item.label or Path(item.experiment).stem,
                    after=spec,
                    plan_index=i,
                    seed=self._seed,
                    speed=self._speed,
                )
                self._queued[q.id] = i
                queued.append(q)
        except Exception as err:
            for q in queued:
                self.queue.remove(q.id)
            self._queued.clear()
            text = str(err).strip().splitlines()
            raise ValueError(
                f"plan item {i + 1} ({self.plan.items[i].experiment}): {text[0] if text else type(err).__name__}"
            ) from None
        for i in positions:
            self._items.setdefault(
                i, {"item": i + 1, "experiment": self.plan.items[i].experiment, "state": ItemState.PENDING}
            )
        ev = self.queue.events
        self._links = [(ev.item_started, self._on_started), (ev.item_ended, self._on_ended)]
        for sig, slot in self._links:
            sig.connect(slot)
        self._save()
        self.queue.set_plan(
            {
                "name": self.plan.name or (self.plan.source.stem if self.plan.source else "plan"),
                "file": str(self.plan.source) if self.plan.source else None,
                "participant": str(self.fields["participant"]),
                "order": [i + 1 for i in self.order],
                "n_items": len(self.plan.items),
                "resumed": bool(done),
            }
        )
        self.queue.start()
        return queued

    def close(self) -> None:
        """Stop recording (the queue keeps its items)."""
        for sig, slot in self._links:
            try:
                sig.disconnect(slot)
            except Exception:
                pass
        self._links = []

    @property
    def items(self) -> list[dict[str, Any]]:
        """Each plan item's record, in the order used: ``{"item", "experiment", "state", "run", "outcome", ...}``."""
        return [self._items[i] for i in self.order if i in self._items]

    def worst(self):
        """The worst outcome of the items that ended in this queue (``None``: none did)."""
        return worst_outcome(it.outcome for it in self.queue.history if it.id in self._queued)

    # --------------------------------------------------------------- internal
    def _key(self, item: PlanItem) -> str:
        path = self.plan.experiment_path(item)
        session = self.queue.session
        if path.is_file():
            session.addExperiment(path)
            return session.key_for(path)
        return item.experiment

    def _exp_info(self, key: str, item: PlanItem) -> dict[str, Any]:
        """The item's overrides, then the participant fields its experiment has (asked once; they win)."""
        names = {f.name for f in self.queue.session.expInfoFields(key)}
        info = dict(item.expInfo)
        info.update({k: v for k, v in self.fields.items() if k in names})
        return info

    def _on_started(self, q: QueueItem) -> None:
        i = self._queued.get(q.id)
        if i is not None:
            self._items[i].update(state=ItemState.RUNNING, started=q.started, queue_id=q.id)
            self._save()

    def _on_ended(self, q: QueueItem) -> None:
        i = self._queued.get(q.id)
        if i is None:
            return
        dl = self._data_log()
        group = self._run_group(q.record) if q.record is not None else None
        rec = self._items[i]
        rec.update(
            state=q.state,
            ended=q.ended,
            run=group,
            run_index=q.run_index,
            data_log=str(dl.path) if dl is not None else None,
            mode=q.mode,
            outcome=q.outcome.sentence(traceback_hint=False) if q.outcome else None,
            data_files=list(getattr(q.record, "data_files", []) or []),
        )
        if dl is not None:
            try:
                dl.add_annotation(
                    f"plan item {i + 1} ({q.label}): {rec['outcome']}",
                    kind="plan",
                    item=i + 1,
                    run=group,
                    state=q.state,
                    participant=str(self.fields["participant"]),
                )
                dl.flush()  # the run's rows are durable before the state file says "done"
            except Exception as err:
                log.error("data log: cannot record plan item %d: %s", i + 1, err)
        self._save()

    def _save(self) -> None:
        dl = self._data_log()
        logs = list(self._resumed_from)
        if dl is not None and str(dl.path) not in logs:
            logs.append(str(dl.path))
        state = {
            "version": PLAN_STATE_VERSION,
            "plan_file": str(self.plan.source) if self.plan.source else None,
            "plan_name": self.plan.name,
            "participant": str(self.fields["participant"]),
            "fields": {k: str(v) for k, v in self.fields.items()},
            "order_kind": self.plan.order,
            "order": self.order,
            "dry_run": self._dry_run,
            "started": self._started,
            "updated": time.time(),
            "data_logs": logs,
            "items": self.items,
        }
        if dl is not None:
            try:
                dl.save_metadata("plan", {k: v for k, v in state.items() if k != "version"})
            except Exception as err:
                log.error("data log: cannot record the plan: %s", err)
        try:
            write_json_atomically(self.state_file, state)
        except OSError as err:
            log.error("cannot write the plan's progress to %s: %s", self.state_file, err)
