"""A replayed rig: a recorded session file served as if a rig were running it now. Qt-free.

``rigconsole replay SESSION.h5 [--speed N] [--loop] --remote [HOST:]PORT``
builds a :class:`Replay`: the file's events (logged variables, runs starting
and ending, trials, notes, instrument states) are played at ``speed`` times
the recorded pace into a fresh :class:`rigconsole.datalog.DataLog` (in a
temporary folder) and a :class:`ReplaySession` (the parts of a Session the
remote server reads), stamped with the time they are played at. The very
same :class:`rigconsole.remote.RemoteServer` and API as a live rig serve them:
tokens and roles work as on a rig; control actions (pause, resume, stop,
run, notes) are accepted and recorded in the replay's data log with the
token's name, but change nothing in what is played. No PsychoPy window, no
experiment code: one thread sleeps until the next event.

Times: an event recorded at ``t`` is played at ``start + (t - t_first) / speed``
(epoch s), where ``t_first`` is the file's first event; with ``loop`` the
file starts over one second after its last event.
"""

from __future__ import annotations

import heapq
import logging
import math
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from psygnal import Signal, SignalGroup

from ..datalog import DataLog
from ..session.commands import CommandQueue
from ..session.runs import RunRecord, SessionEvents

__all__ = ["Replay", "ReplaySession", "ReplayEvent", "read_events", "REPLAY_API_VERSION"]

log = logging.getLogger("rigconsole.remote.replay")

REPLAY_API_VERSION = "1"
LOOP_PAUSE_S = 1.0


@dataclass(order=True)
class ReplayEvent:
    """One recorded event: ``t`` (epoch s, as recorded), ``kind`` (``"values"``, ``"run_started"``,
    ``"trial"``, ``"run_ended"``, ``"note"``, ``"parameters"``) and its ``data``."""

    t: float
    order: int
    kind: str = field(compare=False)
    data: dict = field(compare=False, default_factory=dict)


def _scalar(v: Any) -> Any:
    tolist = getattr(v, "tolist", None)
    return tolist() if callable(tolist) else v


def read_events(path: str | Path) -> list[ReplayEvent]:
    """Every event of a session file in recorded order (see :class:`ReplayEvent`).

    Values logged in one ``add_entry`` call (one timestamp) stay one event.
    A trial's time is its run's start plus PsychoPy's ``thisRow.t`` when the
    table has it, else the run's trials are spread evenly over the run.
    Raises NotADataLogError / DataLogCorruptError (OSError) for a file that is
    not a readable session data log."""
    src = DataLog(path, readonly=True)
    try:
        n = 0
        events: list[ReplayEvent] = []

        def add(t: float, kind: str, data: dict) -> None:
            nonlocal n
            events.append(ReplayEvent(float(t), n, kind, data))
            n += 1

        by_t: dict[float, dict[str, float]] = {}
        for name, (ts, vs) in src.logged_data().items():
            for t, v in zip(ts.tolist(), vs.tolist()):
                by_t.setdefault(t, {})[name] = v
        first_t = min(by_t, default=None)
        for run in src.runs():
            info = src.run_info(run)
            started = info["started"]
            ended = info["ended"] if info["ended"] is not None else started
            table = src.trials(run)
            n_rows = len(next(iter(table.values()))) if table else 0
            add(
                started,
                "run_started",
                {"run": run, "experiment": info["experiment"], "expInfo": info["expInfo"], "n_trials": n_rows},
            )
            rel = table.get("thisRow.t")
            for i in range(n_rows):
                row = {k: _scalar(a[i]) for k, a in table.items()}
                r = _scalar(rel[i]) if rel is not None else None
                if isinstance(r, float) and math.isfinite(r) and r >= 0:
                    t = started + r
                else:
                    t = started + (ended - started) * (i + 1) / (n_rows + 1)
                add(min(max(t, started), max(ended, started)), "trial", {"run": run, "row": row})
            add(
                max(ended, started),
                "run_ended",
                {"run": run, "outcome": info["outcome"] or "failed", "attrs": info["attrs"]},
            )
        for note in src.annotations():
            add(note["t"], "note", note)
        params = src.parameters()
        t0 = min([e.t for e in events] + ([first_t] if first_t is not None else []), default=time.time())
        if params:
            add(t0, "parameters", dict(params))
        for t in sorted(by_t):
            add(t, "values", by_t[t])
    finally:
        src.close()
    events.sort()
    return events


class ReplayInstruments:
    """The instrument manager's shape the remote server reads: names and ``events.state_changed``."""

    class Events(SignalGroup):
        state_changed = Signal(str, str, str)

    def __init__(self) -> None:
        self.events = self.Events()
        self.instruments: dict[str, Any] = {}

    def announce(self, name: str, state: str, message: str) -> None:
        self.instruments.setdefault(name, None)
        self.events.state_changed.emit(name, state, message)


class ReplaySession:
    """The parts of a :class:`rigconsole.session.Session` the remote server reads, driven by a
    :class:`Replay`: ``events`` (:class:`SessionEvents`), ``current_run``, ``run_records``,
    ``experiment_files`` (none: a replay has no experiments to start), ``commands`` (drained by
    the replay's thread), and the control methods, which record nothing themselves and change
    nothing (the server records who asked, in the replay's data log)."""

    def __init__(self, root: Path) -> None:
        self.events = SessionEvents()
        self.commands = CommandQueue()
        self.root = root
        self.dataDir = str(root)  # noqa: N815 - PsychoPy's name
        self.current_run: RunRecord | None = None
        self.run_records: list[RunRecord] = []
        self.experiment_files: dict[str, Any] = {}
        self.control_requests: list[str] = []

    def put_run(self, rec: RunRecord, *, current: bool) -> None:
        """Record ``rec`` (a new run, or a new state of run ``rec.index``); ``current``: it is the
        run in progress (else, when it was, none is). Records are replaced, never changed in place
        (a RunRecord is the session package's)."""
        if rec.index <= len(self.run_records):
            self.run_records[rec.index - 1] = rec
        else:
            self.run_records.append(rec)
        if current:
            self.current_run = rec
        elif self.current_run is not None and self.current_run.index == rec.index:
            self.current_run = None

    def resolveExpInfo(self, key: str, exp_info: dict) -> dict:  # noqa: N802 - the Session's name
        return dict(exp_info)

    def runExperiment(self, key: str, exp_info: dict | None = None) -> None:  # noqa: N802
        self._asked(f"run {key}")

    def pauseExperiment(self) -> bool:  # noqa: N802
        return self._asked("pause")

    def resumeExperiment(self) -> bool:  # noqa: N802
        return self._asked("resume")

    def stopExperiment(self) -> bool:  # noqa: N802
        return self._asked("stop")

    def _asked(self, what: str) -> bool:
        self.control_requests.append(what)
        log.info("replay: %s accepted; a replay plays on unchanged", what)
        return self.current_run is not None


class Replay:
    """Plays a session file into a served, rig-like session (see the module docstring).

    Args:
        path: the recorded session file (``.h5``).
        speed: times the recorded pace (> 0).
        loop: start over after the last event (with a new run numbering).
        host, port: where to serve (port 0 picks a free one; :attr:`port`).
        tokens: the :class:`rigconsole.remote.TokenStore` (default: the user's, as a rig's).
        rig_name: shown to observers (default ``"replay of <file stem>"``).
        tls: a :class:`rigconsole.remote.tls.TlsConfig` or ``None``.
        announce: announce it on the network by DNS-SD (not on 127.0.0.1; see
            :mod:`rigconsole.remote.discovery`).

    Raises (from the constructor) OSError for a file that cannot be read as a session data log
    and ValueError for a speed that is not > 0.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        speed: float = 1.0,
        loop: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        tokens: Any = None,
        rig_name: str | None = None,
        tls: Any = None,
        announce: bool = True,
    ) -> None:
        from ..frame_budget import IDLE
        from .server import RemoteServer
        from .view import RigView

        if not (isinstance(speed, (int, float)) and math.isfinite(speed) and speed > 0):
            raise ValueError(f"--speed must be a number > 0, not {speed!r}")
        self.path = Path(path)
        self.speed = float(speed)
        self.loop = loop
        self.events = read_events(self.path)
        self.rig_name = rig_name or f"replay of {self.path.stem}"
        self._tmp = Path(tempfile.mkdtemp(prefix="rigconsole-replay-"))
        self.data_log = DataLog(self._tmp / "replay.h5", flush_interval=1.0)
        self.session = ReplaySession(self._tmp)
        self.instruments = ReplayInstruments()
        self.server = RemoteServer(
            RigView(
                self.session, self.data_log, rig_name=self.rig_name, instruments=self.instruments, budget=IDLE
            ),  # no frames to spare
            host=host,
            port=port,
            tokens=tokens,
            tls=tls,
            announce=announce,
            replay=True,
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._groups: dict[str, str] = {}  # the file's run path -> the replay's data log run
        self._records: dict[str, RunRecord] = {}  # the replay's data log run -> its record now
        self.played = 0
        self.finished = threading.Event()
        self.session.commands.set_wakeup(self._wake.set)

    @property
    def port(self) -> int | None:
        return self.server.port

    @property
    def duration_s(self) -> float:
        """The file's span from its first to its last event at this speed (s)."""
        if not self.events:
            return 0.0
        return (self.events[-1].t - self.events[0].t) / self.speed

    def start(self) -> None:
        """Serve, announce (when not on loopback) and start playing. Raises OSError when the port is taken."""
        self.server.start()
        self._thread = threading.Thread(target=self._play, name="rigconsole replay", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop playing and serving; remove the temporary data log."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5.0)
        self.server.close()
        self.data_log.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def wait(self, timeout: float | None = None) -> bool:
        """Until the file has played through once (never with ``loop``); ``True`` when it has."""
        return self.finished.wait(timeout)

    # ------------------------------------------------------------------ the player's thread
    def _play(self) -> None:
        try:
            while not self._stop.is_set():
                self._play_once()
                self.finished.set()
                if not self.loop or self._stop.wait(LOOP_PAUSE_S):
                    break
            while not self._stop.is_set():  # still serve commands (they are accepted, change nothing)
                self._wake.wait(1.0)
                self._wake.clear()
                self.session.commands.drain()
        except Exception:  # noqa: BLE001 - logged; the server keeps serving what was played
            log.exception("replay of %s stopped", self.path)

    def _play_once(self) -> None:
        if not self.events:
            return
        t_first = self.events[0].t
        start = time.time()
        queue = list(self.events)
        heapq.heapify(queue)
        while queue and not self._stop.is_set():
            ev = queue[0]
            due = start + (ev.t - t_first) / self.speed
            left = due - time.time()
            if left > 0:
                self._wake.wait(left)
                self._wake.clear()
                self.session.commands.drain()
                continue
            heapq.heappop(queue)
            try:
                self._do(ev)
            except Exception as err:  # noqa: BLE001 - one bad event is skipped, the replay goes on
                log.warning("replay: skipped a %s event at %.3f: %s", ev.kind, ev.t, err)
            self.played += 1
        self.session.commands.drain()

    def _do(self, ev: ReplayEvent) -> None:
        d, s = ev.data, self.session
        if ev.kind == "values":
            self.data_log.add_entry(d)
        elif ev.kind == "parameters":
            self.data_log.save_parameter(d)
        elif ev.kind == "run_started":
            if s.current_run is not None:  # a run the file never ended (a crash): failed, as on reopening
                stale = next((g for g, r in self._records.items() if r.index == s.current_run.index), None)
                self._end(self._records.pop(stale) if stale else s.current_run, "failed", {}, stale)
            now = time.time()
            rec = RunRecord(
                index=len(s.run_records) + 1,
                key=d["experiment"],
                exp_info=dict(d["expInfo"]),
                state="running",
                started=now,
                t0_epoch=now,
                total_trials=d["n_trials"] or None,
            )
            group = self.data_log.start_run(d["experiment"], d["expInfo"], started=now)
            self._groups[d["run"]] = group
            self._records[group] = rec
            s.put_run(rec, current=True)
            s.events.run_started.emit(rec)
        elif ev.kind == "trial":
            group = self._groups[d["run"]]
            self.data_log.add_trial(group, d["row"])
            rec = self._records[group] = replace(self._records[group], n_trials=self._records[group].n_trials + 1)
            s.put_run(rec, current=True)
            s.events.trial_added.emit(rec, dict(d["row"]))
        elif ev.kind == "run_ended":
            group = self._groups.pop(d["run"])
            self._end(self._records.pop(group), d["outcome"], d["attrs"], group)
        elif ev.kind == "note":
            fields = d.get("fields") or {}
            source, kind = d.get("source", "console"), d.get("kind", "note")
            self.data_log.add_annotation(d.get("text", ""), source=source, kind=kind, **fields)
            if kind == "state" and source.startswith("instrument:"):
                self.instruments.announce(
                    source.split(":", 1)[1], str(fields.get("state", "")), str(fields.get("message", ""))
                )

    def _end(self, rec: RunRecord, outcome: str, attrs: dict, group: str | None = None) -> None:
        rec = replace(
            rec, state=outcome, ended=time.time(), error=str(attrs["error"]) if attrs.get("error") else rec.error
        )
        if group is not None:
            self.data_log.end_run(group, outcome, **{k: v for k, v in attrs.items() if k in ("error", "n_trials")})
        self.session.put_run(rec, current=False)
        self.session.events.run_ended.emit(rec)
