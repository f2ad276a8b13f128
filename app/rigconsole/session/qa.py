"""The QA report of a (dry) run: did it complete, and does its data look like data.

A technician checks a new experiment before a participant arrives: run it with
a :class:`.simulate.SimulatedParticipant` (:func:`dry_run`), then read the
report: completed or where it stuck, trials per loop, columns that stayed
empty, frame timing and the run's duration.

:func:`qa_report` builds the report from a run's ``ExperimentHandler``
(``thisExp``) or its CSV; :func:`dry_run` runs an experiment of a
``rigconsole.Session`` with a simulated participant through the session's
public API, stops it when it makes no progress (stuck), and returns the report.

Qt-free.
"""

from __future__ import annotations

import csv
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .outcomes import where_in_run
from .runs import RunState

__all__ = [
    "QAReport",
    "qa_report",
    "dry_run",
    "empty_columns",
    "trials_per_loop",
    "where_in_run",
    "ExperimentSeed",
]

log = logging.getLogger("rigconsole.qa")

#: the QA outcome of a run record's state
_OUTCOME_OF_STATE = {
    RunState.FINISHED: "completed",
    RunState.FINISHED_WITH_ERRORS: "completed with errors",
    RunState.STOPPED: "stopped",
    RunState.FAILED: "failed",
}

#: columns PsychoPy writes that are empty in every healthy run (the notes column)
EXPECTED_EMPTY = frozenset({"notes"})


@dataclass
class QAReport:
    """A run checked.

    Attributes:
        experiment: the experiment's key.
        outcome: ``"completed"``, ``"completed with errors"`` (the run record's
            state is ``"finished with errors"``: every trial ran, then PsychoPy's
            end-of-run export raised; see :mod:`.outcomes`), ``"stuck"`` (no progress for the
            stuck limit; stopped), ``"time limit"`` (stopped at the dry run's
            limit while progressing), ``"stopped"``, or ``"failed"``.
        where: where it stuck or failed (routine, loop and trial, keys the
            experiment waited for, or the error and the experiment's file:line);
            for ``"completed with errors"`` the export that raised and the file:line;
            ``""`` when completed.
        rows: data rows (``thisExp.nextEntry()`` calls).
        trials_per_loop: ``{loop name: rows with that loop's index}``.
        expected_trials: ``{loop name: nTotal}`` where the loop says so.
        empty_columns: columns that stayed empty in every row (PsychoPy's
            always-empty ``notes`` left out).
        frame_stats: the run's frame statistics (``n_frames``,
            ``dropped_frames``, ``p50_ms``, ``p99_ms``, ``max_ms``, ``refresh_hz``).
        duration_s: the run's duration, s.
        simulated: ``{action kind: count}`` of the simulated participant, or ``{}``.
        data_files: files the run wrote.
        error: the run's one-line error, if any.
        expected_rows: the trials the run expected (``RunRecord.total_trials``: a trial
            loop's ``nTotal`` or expInfo ``nTrials``), ``None`` when unknown.
        speed: the dry run's time warp as asked (:func:`.warp.format_speed`: ``"1x (real
            time)"``, ``"10x"``, ``"max"``).
        speed_reached: experiment seconds per wall second over the run (NaN when unknown).
        experiment_s: the run's duration in its own (warped) time, s.
        wall_s: the wall time the dry run took, s.
    """

    experiment: str
    outcome: str
    where: str = ""
    rows: int = 0
    trials_per_loop: dict[str, int] = field(default_factory=dict)
    expected_trials: dict[str, int] = field(default_factory=dict)
    empty_columns: list[str] = field(default_factory=list)
    frame_stats: dict[str, Any] = field(default_factory=dict)
    duration_s: float = math.nan
    simulated: dict[str, int] = field(default_factory=dict)
    data_files: list[str] = field(default_factory=list)
    error: str | None = None
    expected_rows: int | None = None
    speed: str = "1x (real time)"
    speed_reached: float = math.nan
    experiment_s: float = math.nan
    wall_s: float = math.nan

    @property
    def completed(self) -> bool:
        """True when every trial ran (``completed`` or ``completed with errors``)."""
        return self.outcome.startswith("completed")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_text(self) -> str:
        """The report as lines of plain text (the console's panel and ``rigconsole run`` print it)."""
        lines = [f"QA report: {self.experiment}: {self.outcome}" + (f" ({self.where})" if self.where else "")]
        loops = (
            ", ".join(
                f"{name} {n}" + (f"/{self.expected_trials[name]}" if name in self.expected_trials else "")
                for name, n in self.trials_per_loop.items()
            )
            or "none"
        )
        lines.append(f"  rows: {self.rows}; trials per loop: {loops}")
        lines.append("  empty columns: " + (", ".join(self.empty_columns) if self.empty_columns else "none"))
        fs = self.frame_stats
        if fs.get("n_frames"):
            lines.append(
                f"  frames: {fs['n_frames']}, dropped {fs.get('dropped_frames', 0)}, "
                f"median {fs.get('p50_ms', math.nan):.1f} ms, p99 {fs.get('p99_ms', math.nan):.1f} ms, "
                f"max {fs.get('max_ms', math.nan):.1f} ms at {fs.get('refresh_hz', math.nan):g} Hz"
            )
        if math.isfinite(self.experiment_s):
            lines.append(
                f"  duration: {self.experiment_s:.1f} s of experiment time in {self.wall_s:.1f} s of wall "
                f"time; speed {self.speed}, reached {self.speed_reached:.1f}x"
            )
        else:
            lines.append(f"  duration: {self.duration_s:.1f} s")
        if self.simulated:
            lines.append("  simulated participant: " + ", ".join(f"{k} {v}" for k, v in sorted(self.simulated.items())))
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)


def _blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and v.strip() in ("", "None", "nan", "[]")


def empty_columns(rows: list[dict[str, Any]], columns: Iterable[str] | None = None) -> list[str]:
    """Columns (in order) that are blank in every row: ``None``, NaN, ``""``, ``"None"``, ``"[]"``."""
    if columns is None:
        seen: dict[str, None] = {}
        for r in rows:
            seen.update(dict.fromkeys(r))
        columns = list(seen)
    if not rows:
        return []
    return [c for c in columns if c not in EXPECTED_EMPTY and all(_blank(r.get(c)) for r in rows)]


def trials_per_loop(rows: list[dict[str, Any]]) -> dict[str, int]:
    """``{loop: rows with a value in the loop's '<loop>.thisN' column}``, in column order."""
    loops: dict[str, int] = {}
    for r in rows:
        for c in r:
            if c.endswith(".thisN") and c.count(".") == 1:
                loops.setdefault(c[: -len(".thisN")], 0)
    for name in loops:
        loops[name] = sum(1 for r in rows if not _blank(r.get(f"{name}.thisN")))
    return loops


def _rows_from_exp(this_exp) -> tuple[list[dict[str, Any]], list[str]]:
    names = list(getattr(this_exp, "dataNames", []) or [])
    rows = []
    for entry in getattr(this_exp, "entries", []) or []:
        row = {n: entry.get(n) for n in names}
        row.update(entry)
        rows.append(row)
    return rows, names


def _rows_from_csv(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        return rows, list(reader.fieldnames or [])


def qa_report(
    experiment: str,
    *,
    this_exp=None,
    csv_path: str | Path | None = None,
    record=None,
    outcome: str | None = None,
    where: str = "",
    participant=None,
) -> QAReport:
    """Check a run from its ExperimentHandler (preferred) or its CSV.

    Args:
        experiment: the experiment's key.
        this_exp: the run's ``psychopy.data.ExperimentHandler``.
        csv_path: the run's CSV, used when ``this_exp`` is not given.
        record: the session's ``RunRecord`` (state, error, frame stats, times, files).
        outcome: overrides the outcome derived from ``record``'s state.
        where: where it stuck (see :func:`dry_run`).
        participant: the :class:`.simulate.SimulatedParticipant`, if any.

    Raises:
        ValueError: neither ``this_exp`` nor ``csv_path`` (nor ``record.this_exp``) given.
    """
    if this_exp is None and record is not None:
        this_exp = getattr(record, "this_exp", None)
    if this_exp is not None:
        rows, columns = _rows_from_exp(this_exp)
    elif csv_path is not None:
        rows, columns = _rows_from_csv(Path(csv_path))
    else:
        raise ValueError("qa_report needs the run's ExperimentHandler (this_exp) or its CSV (csv_path)")
    expected = {}
    for loop in getattr(this_exp, "loops", []) or []:
        n = getattr(loop, "nTotal", None)
        if isinstance(n, (int, float)) and n > 0 and getattr(loop, "name", None):
            expected[loop.name] = int(n)
    error = getattr(record, "error", None)
    if outcome is None:
        # the run's own state says whether every trial ran (the driver's rule, .outcomes)
        state = getattr(record, "state", RunState.FINISHED)
        outcome = _OUTCOME_OF_STATE.get(state, state)
    at = getattr(record, "error_at", None)
    if outcome == "failed" and not where and error:
        where = ", ".join(p for p in (getattr(record, "where", ""), error + (f" at {at}" if at else "")) if p)
    elif outcome == "completed with errors" and not where:
        step = getattr(record, "raised_in", "")
        where = " ".join(p for p in (f"in {step}" if step else "", f"at {at}" if at else "") if p)
    duration = math.nan
    if record is not None and record.ended and record.started:
        duration = float(record.ended - record.started)
    return QAReport(
        experiment=experiment,
        outcome=outcome,
        where=where,
        rows=len(rows),
        trials_per_loop=trials_per_loop(rows),
        expected_trials=expected,
        empty_columns=empty_columns(rows, columns),
        frame_stats=dict(getattr(record, "frame_stats", {}) or {}),
        duration_s=duration,
        simulated=participant.summary() if participant is not None else {},
        data_files=list(getattr(record, "data_files", []) or []),
        error=error,
        expected_rows=getattr(record, "total_trials", None),
    )


class ExperimentSeed:
    """The experiment's own unseeded randomness made repeatable for a dry run, and put back after.

    Builder scripts draw from the global generators (``from numpy.random import random,
    randint, shuffle``; code components use ``random``), seeded from the OS at start-up, and
    PsychoPy's loops draw their orders from generators of their own, seeded from the OS unless
    the loop gives a seed (``TrialHandler``/``TrialHandler2``/``TrialHandlerExt`` ``seed``,
    ``MultiStairHandler`` ``randomSeed``: a staircase's interleaving). During a dry run
    :meth:`apply` seeds the global ones (``numpy.random.seed(seed)``, ``random.seed(seed)``) and
    gives each loop made without a seed the next of a fixed sequence of seeds drawn from
    ``numpy.random.SeedSequence(seed)``, so the run repeats, and two runs with the same seed
    (the console's and plain PsychoPy's, in the compatibility matrix) make the same draws. A
    loop the experiment seeds keeps its seed. :meth:`restore` puts the global generators'
    states from before back and the loops' own seeding, so a real run after a dry run draws as
    if no dry run had happened.

    Usage::

        with ExperimentSeed(1):
            session.runExperiment(key, expInfo)
    """

    #: (class in ``psychopy.data``, its seed argument): the loops that draw from a generator of their own
    LOOPS = (
        ("TrialHandler", "seed"),
        ("TrialHandler2", "seed"),
        ("TrialHandlerExt", "seed"),
        ("MultiStairHandler", "randomSeed"),
    )

    def __init__(self, seed: int | None):
        self.seed = seed
        self._saved: tuple | None = None
        self._patched: list[tuple[type, Any]] = []
        self.loops_seeded = 0

    def apply(self) -> None:
        """Seed the global generators and the unseeded loops made from now on (nothing when
        ``seed`` is ``None``); idempotent."""
        import inspect
        import random

        import numpy as np
        from psychopy import data

        if self.seed is None or self._saved is not None:
            return
        self._saved = (np.random.get_state(), random.getstate())
        np.random.seed(self.seed)
        random.seed(self.seed)
        seeds = np.random.SeedSequence(self.seed)
        me = self

        def seeding(orig, arg):
            sig = inspect.signature(orig)

            def __init__(handler, *args, **kwargs):
                bound = sig.bind_partial(handler, *args, **kwargs)
                if bound.arguments.get(arg) is None:
                    (child,) = seeds.spawn(1)  # the next of a fixed sequence: loops made in the same order get the same
                    kwargs[arg] = int(child.generate_state(1)[0])
                    me.loops_seeded += 1
                orig(handler, *args, **kwargs)

            return __init__

        for name, arg in self.LOOPS:
            cls = data.__dict__.get(name)
            if isinstance(cls, type) and "__init__" in cls.__dict__:
                orig = cls.__dict__["__init__"]
                self._patched.append((cls, orig))
                cls.__init__ = seeding(orig, arg)  # type: ignore[misc]

    def restore(self) -> None:
        """Put the generators' states from before :meth:`apply` and the loops' own seeding back (idempotent)."""
        import random

        import numpy as np

        for cls, orig in reversed(self._patched):
            cls.__init__ = orig  # type: ignore[misc]
        self._patched.clear()
        if self._saved is None:
            return
        np_state, py_state = self._saved
        np.random.set_state(np_state)
        random.setstate(py_state)
        self._saved = None

    def __enter__(self) -> ExperimentSeed:
        self.apply()
        return self

    def __exit__(self, *exc) -> None:
        self.restore()


def dry_run(
    session,
    key: str,
    expInfo: dict | None = None,
    *,
    seed: int | None = 0,
    stuck_after_s: float = 30.0,
    max_duration_s: float | None = None,
    participant=None,
    speed: float | str = 1.0,
    run=None,
) -> QAReport:
    """Run ``key`` in ``session`` with a simulated participant and return its QA report.

    Uses only the session's public API: the participant attaches to
    ``session.win`` before ``runExperiment`` and acts after every flip; a
    watchdog on the same flips calls ``session.stopExperiment()`` when no data
    row was added for ``stuck_after_s`` (the report says ``"stuck"`` and where:
    routine, loop and trial, and the keys the experiment was waiting for); a
    new routine counts as progress too, and so does a new input the participant gave
    (:attr:`.simulate.SimulatedParticipant.progress`: a slider rated, a text box typed into,
    a form scrolled, a stimulus clicked for the first time).
    The caller chooses the data folder (dry-run data belong apart from real data).

    With ``speed`` other than 1 the run is time-warped (:class:`.warp.TimeWarp`):
    PsychoPy's clocks and the session's simulated vertical blank run ``speed`` times
    faster than the wall clock (``"max"``: as fast as frames are drawn), the data
    have a ``time_warp`` column (the speed) and times in the experiment's own time,
    and the warp is removed when the run ends, whatever happens. The limits
    (``stuck_after_s``, ``max_duration_s``) are in the experiment's own time, so a
    slower machine gives the same outcome.

    With a ``seed``, the experiment's own draws from the global random generators repeat too
    (:class:`ExperimentSeed`; their states are put back after the run).

    Args:
        session: a ``rigconsole.Session``.
        key, expInfo: as for ``Session.runExperiment``.
        seed: the participant's seed (ignored when ``participant`` is given), and the seed of
            the experiment's global random generators for the run (``None``: left unseeded).
        stuck_after_s: experiment seconds without a new data row (or routine) that count as stuck.
        max_duration_s: stop the run after this many experiment seconds (outcome ``"time
            limit"``); ``None``: no limit.
        participant: a :class:`.simulate.SimulatedParticipant` to use.
        speed: experiment seconds per wall second (> 0), or ``"max"`` (see :mod:`.warp`).
        run: the call that starts the run, ``run(key, expInfo)``: the rig's run owner passes its
            own (:class:`rigconsole.plans.RunQueue`); default ``session.runExperiment``.

    Raises:
        ValueError: a speed that is neither a number > 0 nor ``"max"`` (nothing ran).
        RuntimeError: another time warp is installed (nothing ran).
        whatever ``runExperiment`` raises for bad input (nothing ran); an
        exception the experiment raised is reported as ``"failed"``, not raised.
    """
    import psychopy.clock

    from .simulate import SimulatedParticipant, waiting_inputs
    from .warp import TimeWarp, format_speed, parse_speed

    speed = parse_speed(speed)
    sp = participant if participant is not None else SimulatedParticipant(seed)
    if session.win is None:
        session.setupWindowFromParams({"size": [800, 600], "fullscr": False, "units": "height"})
    warp = None
    if speed != 1.0:
        hz = getattr(session.win, "_monitorFrameRate", None) or session.frame_budget.refresh_hz
        warp = TimeWarp(speed, frame_hz=hz)

    def now() -> float:
        return psychopy.clock.getTime()  # experiment time (warped while the warp is installed)

    state: dict[str, Any] = {"where": "", "stuck": False, "limit": False, "watching": False, "marked": False}

    def on_trial(record, row):
        state["last_progress"] = now()

    def watchdog():
        if not state["watching"]:
            return
        t = now()
        this_exp = session.currentExperiment
        if warp is not None and not state["marked"] and this_exp is not None:
            state["marked"] = True
            extra = getattr(this_exp, "extraInfo", None)
            if isinstance(extra, dict):  # a column in every row: these data were time-warped
                extra["time_warp"] = format_speed(speed)
        routine = getattr(this_exp, "currentRoutine", None)
        if routine is not state.get("routine"):  # a new routine is progress too (routines outside loops)
            state["routine"] = routine
            state["last_progress"] = t
        elif sp.progress != state.get("inputs"):  # a new input taken (a slider, a text box, a form's scroll)
            state["inputs"] = sp.progress
            state["last_progress"] = t
        elif routine is None and not getattr(this_exp, "entries", None):
            state["last_progress"] = t  # still setting up (loading stimuli): not stuck, whatever the warp
        if not state["stuck"] and t - state["last_progress"] > stuck_after_s:
            where = where_in_run(this_exp) if this_exp is not None else ""
            inputs = waiting_inputs(routine)
            if inputs:  # what the participant could not do: the components waiting for an input
                where += (", " if where else "") + "waiting for " + "; ".join(inputs)
            waiting = sp.waiting_for()
            if waiting:
                where += (", " if where else "") + "waiting for keys " + waiting
            given = sp.given_since(state["last_progress"])
            if given:  # the participant did act: the routine does not end on what it was given
                where += (", " if where else "") + f"the participant gave {given} since, none ended it"
            elif not inputs and not waiting and routine is not None:
                # nothing in the routine takes an input, and it has no end of its own
                where += ", no component takes an input and none ends it: it runs until Escape"
            rows = len(getattr(this_exp, "entries", None) or [])
            state.update(stuck=True, where=where or f"after data row {rows}: no new row for {stuck_after_s:g} s")
            log.warning("dry run of %s stuck (%s); stopping it", key, state["where"])
            session.stopExperiment()
        elif (
            not state["stuck"]
            and not state["limit"]
            and max_duration_s is not None
            and t - state["t_start"] > max_duration_s
        ):
            state.update(limit=True, where=(where_in_run(this_exp) if this_exp is not None else ""))
            log.info("dry run of %s reached its time limit (%g s of experiment time); stopping it", key, max_duration_s)
            session.stopExperiment()
        session.win.callOnFlip(watchdog)

    if warp is not None:
        warp.install()
        session.frame_hook.set_time_warp(warp)
    wall0 = time.perf_counter()
    error = None
    experiment_seed = ExperimentSeed(seed)
    try:
        session.events.trial_added.connect(on_trial)
        experiment_seed.apply()
        state["t_start"] = state["last_progress"] = t0 = now()
        sp.attach(session.win)
        state["watching"] = True
        session.win.callOnFlip(watchdog)
        try:
            (run or session.runExperiment)(key, expInfo)
        except Exception as err:  # the run is recorded as failed; the report says so
            error = err
        finally:
            state["watching"] = False
            sp.detach()
            session.events.trial_added.disconnect(on_trial)
            experiment_s = now() - t0
    finally:
        experiment_seed.restore()
        if warp is not None:
            session.frame_hook.set_time_warp(None)
            warp.uninstall()
    wall_s = time.perf_counter() - wall0
    record = session.run_records[-1] if session.run_records else None
    outcome = "stuck" if state["stuck"] else "time limit" if state["limit"] else None
    report = qa_report(key, record=record, outcome=outcome, where=state["where"], participant=sp)
    report.speed = format_speed(speed)
    report.experiment_s = float(experiment_s)
    report.wall_s = float(wall_s)
    report.speed_reached = experiment_s / wall_s if wall_s > 0 else math.nan
    if error is not None and report.error is None:
        report.error = f"{type(error).__name__}: {error}"
    return report
