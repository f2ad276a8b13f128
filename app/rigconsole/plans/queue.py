"""The run queue: the ONE owner of runs. Qt-free.

Everything that starts a run hands it to the :class:`RunQueue` the
:class:`rigconsole.rig.Rig` owns: the console's Run and Dry run, ``rigconsole
run`` (one experiment or a whole plan) and the remote API's ``POST /runs`` and
queue endpoints. It is the only code that calls ``Session.runExperiment``
(Bluesky's queue server is the model: ``plan_queue_ops.py`` keeps the queue,
the running item and the history with each item's exit status in one object).

It owns the pending items, the running item and the history; each ended item
has one :class:`~rigconsole.session.outcomes.RunOutcome`. Control (:meth:`add`,
:meth:`move`, :meth:`remove`, :meth:`skip`, :meth:`retry`, :meth:`start`,
:meth:`pause` after the current item, :meth:`stop`, :meth:`end_break`) may come
from any thread: off the main thread a call goes through the session's
main-thread command queue and waits for it.

Runs start in :meth:`poll`, which the main loop calls from a plain callback
(the console: a Qt timer; ``rigconsole run``: its loop), never from inside an
asyncio task (a Builder experiment is a blocking loop; see ARCHITECTURE.md).
A break after an item shows its message on the subject screen
(``Window.showMessage``) until one of its keys is pressed, the technician ends
it (:meth:`end_break`) or its ``seconds`` pass.

A pilot item (PsychoPy's pilot mode, ``psychopy.piloting``: a person trying the
task) runs with the session in pilot mode (:meth:`Session.set_pilot_mode`: the
orange piloting border on the stimulus window, Builder scripts' ``PILOTING``),
``"pilot"`` as its participant unless one is given (PsychoPy's
``prefs.piloting['replaceParticipantID']``), and its data in the data folder's
``pilot/`` (:meth:`rigconsole.rig.Rig.prepare_pilot`). :meth:`after_pilot` says
when a real run of an experiment would follow its pilot runs, so the console can
ask once before real data and try-outs mix (PsychoPy issue #6066: a lab ran real
participants in pilot mode).

It announces through psygnal (:class:`QueueEvents`), on the main thread.
"""

from __future__ import annotations

import itertools
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psygnal import Signal, SignalGroup

from ..session.commands import is_main_thread, on_main_thread
from ..session.outcomes import NOT_STARTED, SKIPPED, RunOutcome
from ..session.runs import RunState
from ..session.trial_control import TrialControl

__all__ = [
    "RunQueue",
    "QueueItem",
    "QueueEvents",
    "ItemState",
    "BreakSpec",
    "worst_outcome",
    "MODES",
    "PILOT_PARTICIPANT",
    "PARTICIPANT_ALIASES",
]

log = logging.getLogger("rigconsole.queue")

#: an item's modes: a real run, PsychoPy's pilot mode, a dry run (a simulated participant)
MODES = ("run", "pilot", "dry run")
#: the participant a pilot run gets when none is given (PsychoPy's ``replaceParticipantID``)
PILOT_PARTICIPANT = "pilot"
#: the expInfo names PsychoPy takes for the participant's ID (``participantIdAliases`` in
#: ``psychopy/experiment/components/settings/__init__.py``)
PARTICIPANT_ALIASES = ("participant", "Participant", "Subject", "Observer")


class ItemState:
    """An item's states (strings, as the console, the API and the data file show them)."""

    PENDING = "pending"
    RUNNING = "running"
    FINISHED = RunState.FINISHED
    FINISHED_WITH_ERRORS = RunState.FINISHED_WITH_ERRORS
    STOPPED = RunState.STOPPED
    FAILED = RunState.FAILED
    SKIPPED = SKIPPED
    NOT_STARTED = NOT_STARTED
    ENDED = (FINISHED, FINISHED_WITH_ERRORS, STOPPED, FAILED, SKIPPED, NOT_STARTED)


@dataclass(frozen=True)
class BreakSpec:
    """A break after an item: ``message`` on the subject screen until one of ``keys``, the technician,
    or ``seconds`` (``None``: no time limit) ends it."""

    message: str
    keys: tuple[str, ...] = ("space",)
    seconds: float | None = None


@dataclass
class QueueItem:
    """One piece of work for the queue.

    Attributes:
        id: unique in this queue (1, 2, ...).
        key: the experiment's key in the session.
        exp_info: the resolved expInfo the run gets (a copy is given to each run).
        mode: ``"run"``, ``"pilot"`` (PsychoPy's pilot mode) or ``"dry run"`` (a simulated participant).
        label: the name shown (default: the experiment's file stem).
        after: a :class:`BreakSpec` after the item, or ``None`` (straight on).
        hold_after: hold the queue after this item (a one-off run from the console or ``POST /runs``).
        plan_index: the item's index in the plan's ``items`` (``None``: not from a plan).
        retry_of: the id of the failed item this one retries.
        state: an :class:`ItemState` value.
        run_index: the session's run number (``RunRecord.index``) once it ran.
        outcome: the :class:`RunOutcome` once ended.
        report: a dry run's :class:`~rigconsole.session.qa.QAReport`.
        started, ended: epoch seconds.
    """

    id: int
    key: str
    exp_info: dict[str, Any]
    mode: str = "run"
    label: str = ""
    after: BreakSpec | None = None
    hold_after: bool = False
    plan_index: int | None = None
    retry_of: int | None = None
    state: str = ItemState.PENDING
    run_index: int | None = None
    outcome: RunOutcome | None = None
    report: Any = None
    started: float | None = None
    ended: float | None = None
    seed: int | None = 0
    speed: float | str = 1.0
    record: Any = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        """JSON-friendly (the remote API's item)."""
        return {
            "id": self.id,
            "experiment": self.key,
            "label": self.label,
            "mode": self.mode,
            "state": self.state,
            "plan_index": self.plan_index,
            "retry_of": self.retry_of,
            "run_index": self.run_index,
            "started": self.started,
            "ended": self.ended,
            "break_after": None
            if self.after is None
            else {"message": self.after.message, "seconds": self.after.seconds},
            "expInfo": {
                k: (v if isinstance(v, (str, int, float, bool)) or v is None else str(v))
                for k, v in self.exp_info.items()
            },
            "outcome": self.outcome.to_dict() if self.outcome is not None else None,
        }


def worst_outcome(outcomes) -> RunOutcome | None:
    """The worst of ``outcomes`` (:attr:`RunOutcome.badness`; the first of equals), ``None`` for none."""
    worst = None
    for o in outcomes:
        if o is not None and (worst is None or o.badness > worst.badness):
            worst = o
    return worst


class QueueEvents(SignalGroup):
    """What the :class:`RunQueue` announces (psygnal), on the main thread.

    - ``changed()``: items were added, moved, removed, or changed state; holding changed.
    - ``item_started(item)``, ``item_ended(item)`` (``item.outcome`` set).
    - ``break_started(item, message)``, ``break_ended(item)``: the break after ``item``.
    - ``plan_ended(outcome)``: nothing left pending; the worst outcome (``None``: nothing ran).
    - ``refused(message)``: a one-line reason an item could not start (bad expInfo, broken
      experiment); the item ends as *not started*.
    """

    changed = Signal()
    item_started = Signal(object)
    item_ended = Signal(object)
    break_started = Signal(object, str)
    break_ended = Signal(object)
    plan_ended = Signal(object)
    refused = Signal(str)


#: control methods run on the main thread (the session's command queue) whatever thread calls them
_main_thread = on_main_thread(lambda queue: queue._session.commands)


class RunQueue:
    """The owner of runs (see the module docstring).

    Args:
        session: the rig's :class:`~rigconsole.session.Session`.
        prepare_dry_run, end_dry_run: the rig's dry-run data switch
            (:meth:`rigconsole.rig.Rig.prepare_dry_run`, ``end_dry_run``); ``None``: a dry
            run writes where runs write.
        prepare_pilot, end_pilot: the rig's pilot data switch (:meth:`rigconsole.rig.Rig.prepare_pilot`,
            ``end_pilot``); ``None``: a pilot run writes where runs write (marked all the same).
        durations_file: a JSON file of this rig's past run durations per experiment file
            (seconds), read at start and written after each finished run; ``None``: kept in memory.
        stuck_after_s: a dry run with no new data row for this long is stopped as stuck.
    """

    def __init__(
        self,
        session,
        *,
        prepare_dry_run: Callable[..., Any] | None = None,
        end_dry_run: Callable[[], Any] | None = None,
        prepare_pilot: Callable[[], Any] | None = None,
        end_pilot: Callable[[], Any] | None = None,
        durations_file: Path | None = None,
        stuck_after_s: float = 30.0,
    ):
        self._session = session
        self._prepare_dry_run = prepare_dry_run
        self._end_dry_run = end_dry_run
        self._prepare_pilot = prepare_pilot
        self._end_pilot = end_pilot
        self._piloted: set[str] = set()  # experiments whose last ended item was a pilot run
        self._stuck_after_s = stuck_after_s
        self.events = QueueEvents()
        self._ids = itertools.count(1)
        self._pending: list[QueueItem] = []
        self._running: QueueItem | None = None
        self._history: list[QueueItem] = []
        self._holding = False
        self._in_poll = False
        self._break: dict[str, Any] | None = None
        self._plan_open = False
        self._plan: dict[str, Any] | None = None
        self._durations_file = Path(durations_file) if durations_file is not None else None
        self._durations: dict[str, list[float]] = self._read_durations()
        self._trial_control = TrialControl(session)

    # ------------------------------------------------------------------ state
    @property
    def session(self):
        return self._session

    @property
    def trial_control(self) -> TrialControl:
        """Trial control of the run in progress (repeat, skip, pause at the end of the loop, edit
        expInfo; :mod:`rigconsole.session.trial_control`): the console's dock and the remote API
        act on runs through it."""
        return self._trial_control

    @property
    def pending(self) -> list[QueueItem]:
        """The items waiting, in order (a copy)."""
        return list(self._pending)

    @property
    def running(self) -> QueueItem | None:
        """The item whose run is in progress, or ``None``."""
        return self._running

    @property
    def history(self) -> list[QueueItem]:
        """The ended items, oldest first (a copy)."""
        return list(self._history)

    @property
    def items(self) -> list[QueueItem]:
        """History, the running item, then the pending ones."""
        return self._history + ([self._running] if self._running is not None else []) + self._pending

    @property
    def holding(self) -> bool:
        """``True`` while paused (no new item starts until :meth:`start`)."""
        return self._holding

    @property
    def in_break(self) -> QueueItem | None:
        """The item whose break is showing, or ``None``."""
        return self._break["item"] if self._break is not None else None

    @property
    def busy(self) -> bool:
        """A run is in progress or starting, or a break shows."""
        return self._running is not None or self._break is not None or self._in_poll

    def item(self, item_id: int) -> QueueItem:
        """The item with ``item_id``. Raises KeyError."""
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(f"no queue item {item_id}")

    def summary(self) -> dict[str, Any]:
        """JSON-friendly: items, holding, break, estimate (the remote API's ``GET /queue``)."""
        est = self.estimate()
        brk = self._break
        return {
            "plan": dict(self._plan) if self._plan else None,
            "holding": self._holding,
            "running": self._running.id if self._running is not None else None,
            "break": None if brk is None else {"after": brk["item"].id, "message": brk["spec"].message},
            "items": [it.summary() for it in self.items],
            "estimate": est,
        }

    @_main_thread
    def set_plan(self, info: dict[str, Any] | None) -> None:
        """Say which plan the pending items are (``{"name", "file", "participant", "order", "n_items"}``,
        shown by ``summary()``, the console and the remote API); ``None``: none."""
        self._plan = dict(info) if info else None
        self.events.changed.emit()

    @property
    def plan(self) -> dict[str, Any] | None:
        """What :meth:`set_plan` said (a copy), or ``None``."""
        return dict(self._plan) if self._plan else None

    def set_stuck_after(self, seconds: float) -> None:
        """A dry run with no new data row (nor routine) for ``seconds`` is stopped as stuck."""
        self._stuck_after_s = float(seconds)

    # ---------------------------------------------------------------- control
    @_main_thread
    def add(
        self,
        experiment: str | Path,
        exp_info: dict[str, Any] | None = None,
        *,
        mode: str = "run",
        label: str = "",
        after: BreakSpec | None = None,
        position: int | None = None,
        hold_after: bool = False,
        plan_index: int | None = None,
        seed: int | None = 0,
        speed: float | str = 1.0,
    ) -> QueueItem:
        """Queue an experiment (a key, or a file: registered where it is).

        ``exp_info`` is checked and completed now (the experiment's defaults, typed values),
        so a bad value is refused here, not when its turn comes.

        Args:
            position: index among the pending items (``None``: at the end).
            seed, speed: a dry run's simulated participant and time warp (experiment seconds
                per wall second, or ``"max"``: :mod:`rigconsole.session.warp`).

        Raises:
            UnknownExperimentError, ExperimentLoadError, ExpInfoError: bad input (nothing queued).
            ValueError: an unknown mode.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be 'run', 'pilot' or 'dry run', not {mode!r}")
        key = self._key(experiment)
        given = dict(exp_info or {})
        if mode == "pilot":
            given = self._pilot_participant(key, given)
        resolved = self._session.resolveExpInfo(key, given)
        item = QueueItem(
            id=next(self._ids),
            key=key,
            exp_info=resolved,
            mode=mode,
            label=label or Path(key).stem,
            after=after,
            hold_after=hold_after,
            plan_index=plan_index,
            seed=seed,
            speed=speed,
        )
        self._pending.insert(len(self._pending) if position is None else max(0, int(position)), item)
        self.events.changed.emit()
        self._kick()
        return item

    @_main_thread
    def run_now(
        self,
        experiment: str | Path,
        exp_info: dict[str, Any] | None = None,
        *,
        mode: str = "run",
        seed: int | None = 0,
        speed: float | str = 1.0,
    ) -> QueueItem:
        """A one-off run (the console's Run / Dry run, ``POST /runs``): queued first, the queue
        started, and held again after it (a paused plan stays paused).

        Raises:
            RunInProgressError: a run is in progress or a break shows (nothing queued).
            and whatever :meth:`add` raises.
        """
        from ..session import RunInProgressError

        if self.busy or self._session.current_run is not None:
            what = self._running.key if self._running is not None else "a break"
            raise RunInProgressError(f"cannot start {str(experiment)!r}: {what!r} is still running")
        item = self.add(experiment, exp_info, mode=mode, position=0, hold_after=True, seed=seed, speed=speed)
        self._holding = False
        self.events.changed.emit()
        self._kick()
        return item

    @_main_thread
    def set_mode(self, item_id: int, mode: str) -> QueueItem:
        """Make a pending item a real run, a pilot run or a dry run (the plan panel's Run / Pilot
        choice). A pilot item with no participant gets ``"pilot"``; a real run whose participant is
        ``"pilot"`` keeps it (the console asks before such a run, see :meth:`after_pilot`).

        Raises:
            KeyError: no such pending item.
            ValueError: an unknown mode.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be 'run', 'pilot' or 'dry run', not {mode!r}")
        item = next((it for it in self._pending if it.id == item_id), None)
        if item is None:
            raise KeyError(f"no pending queue item {item_id}")
        item.mode = mode
        if mode == "pilot":
            item.exp_info = self._pilot_participant(item.key, item.exp_info)
        self.events.changed.emit()
        return item

    def after_pilot(self, key: str | Path) -> bool:
        """``True`` when the last ended run of experiment ``key`` (a key or a registered file) was a
        pilot run: a real run now would be the first after piloting, which the console confirms
        once (PsychoPy issue #6066). A real run of it that starts clears this."""
        try:
            key = self._key(key)
        except Exception:
            key = str(key)
        return key in self._piloted

    def participant_is_pilot(self, exp_info: dict[str, Any]) -> bool:
        """``True`` when ``exp_info``'s participant (any of :data:`PARTICIPANT_ALIASES`) is ``"pilot"``."""
        return any(str(exp_info.get(name, "")).strip().lower() == PILOT_PARTICIPANT for name in PARTICIPANT_ALIASES)

    def _pilot_participant(self, key: str, given: dict[str, Any]) -> dict[str, Any]:
        """``given`` with ``"pilot"`` as the participant where the experiment has a participant field
        (:data:`PARTICIPANT_ALIASES`) and ``given`` leaves it empty (PsychoPy's pilot mode replaces
        the default participant ID the same way)."""
        from ..session.expinfo import parse_pipe_syntax

        out = dict(given)
        clean = {parse_pipe_syntax(str(k))[0]: k for k in out}
        try:
            names = [f.name for f in self._session.expInfoFields(key)]
        except Exception:  # resolveExpInfo says what is wrong with the experiment
            return out
        for name in names:
            if name in PARTICIPANT_ALIASES:
                raw = clean.get(name)
                if raw is None or str(out.get(raw, "")).strip() == "":
                    if raw is not None:
                        del out[raw]
                    out[name] = PILOT_PARTICIPANT
        return out

    @_main_thread
    def move(self, item_id: int, position: int) -> None:
        """Move a pending item to ``position`` among the pending ones. Raises KeyError (not pending)."""
        item = self._take_pending(item_id)
        self._pending.insert(max(0, min(int(position), len(self._pending))), item)
        self.events.changed.emit()

    @_main_thread
    def remove(self, item_id: int) -> None:
        """Remove a pending item (it never ran, so nothing is kept). Raises KeyError (not pending)."""
        self._take_pending(item_id)
        self.events.changed.emit()

    @_main_thread
    def skip(self, item_id: int | None = None) -> QueueItem | None:
        """Skip an item: a pending one ends as *skipped*; the running one is stopped (its trials
        kept, outcome *stopped*) and the queue goes on; during a break, the break ends.
        ``None``: the running item, else the break, else the next pending item. Returns the item
        (``None``: nothing to skip). Raises KeyError: no such item, or it has ended.
        """
        if item_id is None:
            if self._running is not None:
                item_id = self._running.id
            elif self._break is not None:
                item = self._break["item"]
                self._finish_break()
                return item
            elif self._pending:
                item_id = self._pending[0].id
            else:
                return None
        if self._running is not None and self._running.id == item_id:
            self._session.stopExperiment()
            return self._running
        item = self._take_pending(item_id)
        self._end(item, RunOutcome.not_run(item.key, SKIPPED))
        return item

    @_main_thread
    def retry(self, item_id: int) -> QueueItem:
        """Queue an ended item again, first among the pending (a new run; the old one is kept).

        Raises:
            KeyError: no such item.
            ValueError: the item has not ended.
        """
        old = self.item(item_id)
        if old.state not in ItemState.ENDED:
            raise ValueError(f"item {item_id} has not ended ({old.state}): only an ended item can be retried")
        item = QueueItem(
            id=next(self._ids),
            key=old.key,
            exp_info=dict(old.exp_info),
            mode=old.mode,
            label=old.label,
            after=old.after,
            hold_after=old.hold_after,
            plan_index=old.plan_index,
            retry_of=old.id,
            seed=old.seed,
            speed=old.speed,
        )
        self._pending.insert(0, item)
        self.events.changed.emit()
        self._kick()
        return item

    @_main_thread
    def start(self) -> bool:
        """Go on (after :meth:`pause`, :meth:`stop` or loading a plan): the next :meth:`poll` starts
        the first pending item. Returns ``False`` when nothing is pending."""
        self._holding = False
        self.events.changed.emit()
        self._kick()
        return bool(self._pending)

    @_main_thread
    def pause(self) -> None:
        """Pause after the current item: the run in progress goes on to its end, nothing new starts."""
        self._holding = True
        self.events.changed.emit()

    @_main_thread
    def stop(self) -> bool:
        """Stop the plan: the run in progress is stopped (its trials kept), a break ends, nothing new
        starts (pending items stay; :meth:`start` goes on). Returns ``True`` when a run was stopped."""
        self._holding = True
        stopped = bool(self._running is not None and self._session.stopExperiment())
        if self._break is not None:
            self._finish_break()
        self.events.changed.emit()
        return stopped

    @_main_thread
    def end_break(self) -> bool:
        """End the break showing (the technician's "go on"). ``False`` when none shows."""
        if self._break is None:
            return False
        self._finish_break()
        return True

    @_main_thread
    def clear(self) -> None:
        """Forget the pending items and the history (a new plan). Raises RuntimeError during a run."""
        if self.busy:
            raise RuntimeError("cannot clear the queue during a run or a break")
        self._pending.clear()
        self._history.clear()
        self._plan_open = False
        self.events.changed.emit()

    # ------------------------------------------------------------------ loop
    def _kick(self) -> None:
        """The next item's turn, on the main loop's next drain of the command queue (a plain callback
        there), when something is pending and the queue does not hold; the main loop's own
        :meth:`poll` calls (the console's timer) do the same."""
        if self._pending and not self._holding and self._break is None:
            self._session.commands.submit(self.poll)

    def poll(self) -> None:
        """Main thread, from a plain callback of the main loop, about every 50 ms: show or end a
        break, or start the next pending item (blocking until its run ends). Re-entrant calls
        (a timer firing inside a run's frame pump) do nothing."""
        if not is_main_thread() or self._in_poll or self._session.current_run is not None:
            return
        self._in_poll = True
        try:
            if self._break is not None:
                self._tick_break()
                return
            if self._holding:
                return
            if not self._pending:
                if self._plan_open:
                    self._plan_open = False
                    self.events.plan_ended.emit(worst_outcome(it.outcome for it in self._history))
                return
            self._plan_open = True
            item = self._pending.pop(0)
            self._run(item)
        except Exception:  # a view's slot or the data log failed: logged; the queue itself goes on
            log.exception("the run queue's turn failed")
        finally:
            self._in_poll = False

    def run_until_idle(self, *, idle: Callable[[], None] | None = None, interval_s: float = 0.02) -> None:
        """Headless (``rigconsole run``): drain the command queue and :meth:`poll` until nothing is
        pending, running or showing, or the queue holds. ``idle()`` is called each turn."""
        cmds = self._session.commands
        while True:
            cmds.drain()
            self.poll()
            if idle is not None:
                idle()
            if self._running is None and self._break is None and (self._holding or not self._pending):
                self.poll()  # announces the plan's end
                return
            if self._break is not None:
                time.sleep(interval_s)

    # -------------------------------------------------------------- estimate
    def expected_duration(self, key: str) -> float | None:
        """This rig's median duration of ``key``'s last five finished runs, seconds; ``None``: unknown."""
        past = self._durations.get(self._duration_key(key))
        return statistics.median(past[-5:]) if past else None

    def estimate(self, now: float | None = None) -> dict[str, Any]:
        """``{"remaining_s", "finish", "unknown"}``: seconds left for the running and pending items
        (past durations; the running one scaled by trial n of N when known), the epoch time it
        ends, and how many items have no past duration (left out of the sum)."""
        now = time.time() if now is None else now
        left, unknown = 0.0, 0
        run = self._running
        if run is not None:
            exp = self.expected_duration(run.key)
            rec = run.record
            elapsed = now - run.started if run.started else 0.0
            if rec is not None and rec.total_trials and rec.n_trials:
                left += max(0.0, elapsed * (rec.total_trials - rec.n_trials) / rec.n_trials)
            elif exp is not None:
                left += max(0.0, exp - elapsed)
            else:
                unknown += 1
        if self._break is not None and self._break["spec"].seconds:
            left += max(0.0, self._break["spec"].seconds - (now - self._break["t0"]))
        for it in self._pending:
            exp = self.expected_duration(it.key)
            if exp is None:
                unknown += 1
            else:
                left += exp
        return {"remaining_s": left, "finish": now + left, "unknown": unknown}

    # -------------------------------------------------------------- internal
    def _key(self, experiment: str | Path) -> str:
        s = self._session
        if str(experiment) in s.experiment_files:
            return str(experiment)
        p = Path(experiment).expanduser()
        if p.suffix in (".py", ".psyexp") and p.is_file():
            p = p.absolute()
            try:
                key = s.key_for(p)
            except Exception:
                key = None
            if key is None or key not in s.experiment_files:
                s.addExperiment(p)
                key = s.key_for(p)
            return key
        return str(experiment)  # resolveExpInfo raises UnknownExperimentError

    def _take_pending(self, item_id: int) -> QueueItem:
        for i, it in enumerate(self._pending):
            if it.id == item_id:
                return self._pending.pop(i)
        raise KeyError(f"no pending queue item {item_id}")

    def _run(self, item: QueueItem) -> None:
        s = self._session
        self._running = item
        item.state = ItemState.RUNNING
        item.started = time.time()
        before = len(s.run_records)

        def on_started(rec):
            if item.record is None:
                item.record = rec
                item.run_index = rec.index

        s.events.run_started.connect(on_started)
        self.events.item_started.emit(item)
        self.events.changed.emit()
        refused: str | None = None
        try:
            exp_info = dict(item.exp_info)
            if item.mode == "dry run":
                item.report = self._dry_run(item, exp_info)
            elif item.mode == "pilot":
                self._pilot(item.key, exp_info)
            else:
                self._piloted.discard(item.key)  # the real run after the pilot runs was confirmed
                self._start_run(item.key, exp_info)
        except Exception as err:  # the run is recorded (failed) when it started; else it was refused
            if len(s.run_records) == before:
                lines = str(err).strip().splitlines()
                refused = f"{type(err).__name__}: {lines[0] if lines else ''}"
                log.error("%s did not start: %s", item.key, refused)
        except SystemExit:  # core.quit() from the experiment: recorded as failed by the driver
            pass
        finally:
            s.events.run_started.disconnect(on_started)
        records = s.run_records
        rec = records[-1] if len(records) > before else None
        if rec is None:
            outcome = RunOutcome.not_run(item.key, NOT_STARTED, refused or "the run did not start")
            self.events.refused.emit(f"{item.label}: {outcome.sentence()}")
        else:
            item.record, item.run_index = rec, rec.index
            outcome = RunOutcome.from_record(rec)
            if item.mode == "pilot":
                self._piloted.add(item.key)
            if rec.state == RunState.FINISHED and item.mode == "run" and outcome.duration_s:
                self._remember_duration(item.key, outcome.duration_s)
        self._running = None
        if item.hold_after:  # before announcing the end: views see that nothing comes next
            self._holding = True
        self._end(item, outcome)
        if item.after is not None and self._pending and not self._holding:
            self._begin_break(item, item.after)
        else:
            self._kick()
        self.events.changed.emit()

    def _start_run(self, key: str, exp_info: dict) -> Any:
        """THE call that starts a run (the only ``runExperiment`` call outside the PsychoPy API)."""
        return self._session.runExperiment(key, exp_info)

    def _pilot(self, key: str, exp_info: dict) -> None:
        """A run in PsychoPy's pilot mode (``psychopy.piloting``; Builder scripts read their module's
        ``PILOTING``, set from the command line when they were imported), its data in the pilot
        folder; the session leaves pilot mode (and the border) afterwards, whatever happened."""
        s = self._session
        module = s.experiments.get(key)
        had = module is not None and hasattr(module, "PILOTING")
        old = getattr(module, "PILOTING", None)
        if self._prepare_pilot is not None:
            self._prepare_pilot()
        try:
            s.set_pilot_mode(True)
            if had:
                module.PILOTING = True
            self._start_run(key, exp_info)
        finally:
            s.set_pilot_mode(False)
            if had:
                module.PILOTING = old
            if self._end_pilot is not None:
                try:
                    self._end_pilot()
                except Exception as err:
                    self.events.refused.emit(f"after the pilot run: {err}")

    def _dry_run(self, item: QueueItem, exp_info: dict):
        from ..session.qa import dry_run

        if self._prepare_dry_run is not None:
            self._prepare_dry_run(item.seed, speed=item.speed)
        try:
            return dry_run(
                self._session,
                item.key,
                exp_info,
                seed=item.seed,
                stuck_after_s=self._stuck_after_s,
                run=self._start_run,
                speed=item.speed,
            )
        finally:
            if self._end_dry_run is not None:
                try:
                    self._end_dry_run()
                except Exception as err:
                    self.events.refused.emit(f"after the dry run: {err}")

    def _end(self, item: QueueItem, outcome: RunOutcome) -> None:
        item.outcome = outcome
        item.state = outcome.state
        item.ended = time.time()
        self._history.append(item)
        log.info("queue item %d (%s): %s", item.id, item.label, outcome.sentence(traceback_hint=False))
        self.events.item_ended.emit(item)
        self.events.changed.emit()

    # ----------------------------------------------------------------- breaks
    def _begin_break(self, item: QueueItem, spec: BreakSpec) -> None:
        win = self._session.win
        self._break = {"item": item, "spec": spec, "t0": time.time(), "win": win}
        try:
            from psychopy import event

            event.clearEvents()
            if win is not None:
                win.showMessage(spec.message)
                win.flip()
        except Exception as err:
            log.error("the break screen could not be shown: %s", err)
        log.info("break after %s: %r", item.label, spec.message)
        self.events.break_started.emit(item, spec.message)

    def _tick_break(self) -> None:
        brk = self._break
        if brk is None:
            return
        spec: BreakSpec = brk["spec"]
        done = spec.seconds is not None and time.time() - brk["t0"] >= spec.seconds
        try:
            from psychopy import event

            win = brk["win"]
            if win is not None:
                win.flip()  # keep the message up (and let pyglet deliver the keys)
            if event.getKeys(keyList=list(spec.keys)):
                done = True
        except Exception as err:
            log.error("the break screen failed: %s; going on", err)
            done = True
        if done:
            self._finish_break()

    def _finish_break(self) -> None:
        brk, self._break = self._break, None
        if brk is None:
            return
        try:
            if brk["win"] is not None:
                brk["win"].hideMessage()
        except Exception:
            pass
        self.events.break_ended.emit(brk["item"])
        self.events.changed.emit()
        self._kick()

    # -------------------------------------------------------------- durations
    def _duration_key(self, key: str) -> str:
        entry = self._session.experiment_files.get(key)
        return str(entry.path) if entry is not None else key

    def _read_durations(self) -> dict[str, list[float]]:
        if self._durations_file is None or not self._durations_file.is_file():
            return {}
        import json

        try:
            data = json.loads(self._durations_file.read_text(encoding="utf-8"))
            return {str(k): [float(x) for x in v][-20:] for k, v in dict(data).items()}
        except (OSError, ValueError, TypeError) as err:
            log.warning("past run durations %s unreadable (%s): estimates start afresh", self._durations_file, err)
            return {}

    def _remember_duration(self, key: str, seconds: float) -> None:
        self._durations.setdefault(self._duration_key(key), []).append(float(seconds))
        self._durations[self._duration_key(key)] = self._durations[self._duration_key(key)][-20:]
        if self._durations_file is not None:
            from ..atomic import write_json_atomically

            try:
                write_json_atomically(self._durations_file, self._durations)
            except OSError as err:
                log.warning("cannot keep run durations in %s: %s", self._durations_file, err)
