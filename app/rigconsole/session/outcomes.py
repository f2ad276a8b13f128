"""How a run that raised ended: *finished with errors* or *failed*, and where it raised.

The rule (applied by the run driver, :mod:`.driver`) for an experiment that
raised an ``Exception`` (not a stop request, not ``core.quit()``, not
KeyboardInterrupt):

- **finished with errors** (:data:`.runs.RunState.FINISHED_WITH_ERRORS`) when
  its trials had all run and it raised in PsychoPy's end-of-run export/save:

  1. inside ``run()``, the traceback passes through a save/export method of a
     PsychoPy data handler (a function named ``save*`` or ``export*`` in a
     ``psychopy.data`` module, e.g. ``TrialHandler2.saveAsExcel``, which
     Builder calls at a loop's end), **and** every loop the experiment added to
     its ExperimentHandler has finished (``thisExp.loopsUnfinished`` is empty),
     **and** at least one trial row was stored, and no fewer than the expected
     total where it is known (:attr:`.runs.RunRecord.total_trials`); or
  2. after ``run()`` returned normally (not stopped), in the wrap-up: the
     experiment's ``saveData`` (through the session's ``saveExperimentData``).

  Every trial is kept: each ``thisExp.nextEntry()`` row is in the session's
  HDF5 data log as it happens, the experiment's ``saveData`` still runs, and
  when that ``saveData`` is what raised before writing PsychoPy's CSV the
  driver writes it (``thisExp.saveAsWideText``).
- **failed** otherwise (it raised during its trials, or in an export while a
  loop was still running, e.g. a nested loop's save in the first block).

The example the rule is built from: PsychoPy 2026.2.5's ``TrialHandler2.saveAsExcel``
raises ``IndexError`` at the end of its own stroop and branchedExperiment Builder
demos (a loop of more trials than conditions), in plain PsychoPy too.

Where it raised (:func:`error_location`) is the deepest traceback frame in the
experiment's own file; for a ``.psyexp`` that is the compiled script the console
ran (``ExperimentFile.script_path``). Qt-free; no PsychoPy import.
"""

from __future__ import annotations

import os
import traceback as tb_mod
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from .runs import RunRecord, RunState

__all__ = [
    "export_step",
    "trials_complete",
    "error_location",
    "where_in_run",
    "outcome_line",
    "SAVE_DATA",
    "RunOutcome",
    "SKIPPED",
    "NOT_STARTED",
]

#: ``RunRecord.raised_in`` of a run whose ``saveData`` raised after ``run()`` returned
SAVE_DATA = "saveData"
_EXPORT_PREFIXES = ("save", "export")


def export_step(tb: TracebackType | None) -> str:
    """The outermost PsychoPy data-handler save/export call on the traceback ``tb``, or ``""``.

    Returns:
        ``"<handler class>.<function>"`` (e.g. ``"TrialHandler2.saveAsExcel"``),
        or the bare function name when the frame has no ``self``.
    """
    for frame, _ in tb_mod.walk_tb(tb):
        module = frame.f_globals.get("__name__", "") or ""
        name = frame.f_code.co_name
        if (module == "psychopy.data" or module.startswith("psychopy.data.")) and name.startswith(_EXPORT_PREFIXES):
            owner = frame.f_locals.get("self")
            return f"{type(owner).__name__}.{name}" if owner is not None else name
    return ""


def trials_complete(this_exp: Any, record: RunRecord) -> bool:
    """Whether a run's trials had all run: no unfinished loop, and the rows expected were stored.

    ``thisExp.loopsUnfinished`` is PsychoPy's list of the loops still iterating
    (a loop leaves it when its last trial ends); ``record.n_trials`` counts the
    ``nextEntry()`` rows and ``record.total_trials`` is the expected total when known.
    """
    if this_exp is None or record.n_trials <= 0:
        return False
    if list(getattr(this_exp, "loopsUnfinished", None) or []):
        return False
    return record.total_trials is None or record.n_trials >= record.total_trials


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def error_location(tb: TracebackType | None, experiment_files: Iterable[Any]) -> tuple[str | None, int | None]:
    """``(file, line)`` of the deepest traceback frame in one of ``experiment_files``, else ``(None, None)``."""
    files = [str(f) for f in experiment_files if f]
    found: tuple[str | None, int | None] = (None, None)
    known: dict[str, bool] = {}
    for frame, lineno in tb_mod.walk_tb(tb):
        fname = frame.f_code.co_filename
        if fname not in known:
            known[fname] = any(_same_file(fname, f) for f in files)
        if known[fname]:
            found = (fname, lineno)
    return found


def where_in_run(this_exp: Any) -> str:
    """Where a run is: its routine, loop and trial (PsychoPy's public ExperimentHandler attributes).

    E.g. ``"routine 'trial', loop 'trials' trial 3 of 10"``; ``""`` when none is known.
    """
    parts = []
    routine = getattr(this_exp, "currentRoutine", None)
    if routine is not None:
        parts.append(f"routine {getattr(routine, 'name', routine)!r}")
    loops = list(getattr(this_exp, "loopsUnfinished", []) or [])
    if loops:
        loop = loops[-1]
        n, total = getattr(loop, "thisN", None), getattr(loop, "nTotal", None)
        parts.append(
            f"loop {getattr(loop, 'name', '?')!r} trial {n if n is None else n + 1}" + (f" of {total}" if total else "")
        )
    return ", ".join(parts)


#: the state of a plan item the technician skipped (never started)
SKIPPED = "skipped"
#: the state of an item that could not start (bad expInfo, broken experiment): nothing ran
NOT_STARTED = "not started"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


@dataclass(frozen=True)
class RunOutcome:
    """How one run (or one plan item) ended: THE place its one-line sentence is written.

    The run owner (:class:`rigconsole.plans.RunQueue`) makes one for each ended item;
    the console's run panel and Plan panel, ``rigconsole run``, the QA report, the
    remote API (``outcome`` of ``GET /api/v1/queue``) and the email notifier show
    :meth:`sentence` (or its parts), never their own wording.

    Attributes:
        state: a :class:`.runs.RunState` end value, :data:`SKIPPED` or :data:`NOT_STARTED`.
        experiment: the experiment's key.
        n_trials: data rows stored (``thisExp.nextEntry()`` calls).
        total_trials: expected trials when known, else ``None``.
        duration_s: seconds from the run's start to its end, ``None`` when it never ran.
        error: ``"ErrorType: message"`` of a failed run (or one finished with errors), else ``None``.
        error_at: ``"<experiment file>:<line>"`` where it raised, else ``None``.
        where: routine, loop and trial when it raised (``""`` when unknown).
        raised_in: the end-of-run step that raised (``"TrialHandler2.saveAsExcel"``, :data:`SAVE_DATA`).
        has_traceback: a traceback was logged (the sentence then says where to read it).
        run_index: the session's run number (``RunRecord.index``), ``None`` when it never ran.
    """

    state: str
    experiment: str
    n_trials: int = 0
    total_trials: int | None = None
    duration_s: float | None = None
    error: str | None = None
    error_at: str | None = None
    where: str = ""
    raised_in: str = ""
    has_traceback: bool = False
    run_index: int | None = None

    @classmethod
    def from_record(cls, record: RunRecord) -> RunOutcome:
        """The outcome of an ended :class:`.runs.RunRecord`."""

        def get(name: str, default: Any = None) -> Any:  # a record-like object too
            return getattr(record, name, default)

        started, ended = get("started"), get("ended")
        return cls(
            state=get("state", RunState.FAILED),
            experiment=get("key", ""),
            n_trials=get("n_trials", 0) or 0,
            total_trials=get("total_trials"),
            duration_s=(ended - started) if ended and started else None,
            error=get("error"),
            error_at=get("error_at"),
            where=get("where", "") or "",
            raised_in=get("raised_in", "") or "",
            has_traceback=bool(get("traceback", "")),
            run_index=get("index"),
        )

    @classmethod
    def not_run(cls, experiment: str, state: str = SKIPPED, error: str | None = None) -> RunOutcome:
        """An item that never ran: skipped by the technician, or refused before it started (``error``)."""
        return cls(state=state, experiment=experiment, error=error)

    @property
    def ok(self) -> bool:
        """Finished, stopped on request or skipped: nothing went wrong."""
        return self.state in (RunState.FINISHED, RunState.STOPPED, SKIPPED)

    @property
    def badness(self) -> int:
        """How bad, for "the worst outcome of a plan": 0 ok, 1 finished with errors, 2 failed or not started."""
        if self.state == RunState.FINISHED_WITH_ERRORS:
            return 1
        return 2 if self.state in (RunState.FAILED, NOT_STARTED) else 0

    @property
    def step(self) -> str:
        """The end-of-run step that raised, as words (``"in PsychoPy's TrialHandler2.saveAsExcel"``), or ``""``."""
        if not self.raised_in:
            return ""
        return "in the experiment's saveData" if self.raised_in == SAVE_DATA else f"in PsychoPy's {self.raised_in}"

    def sentence(self, log_path: Any = None, *, traceback_hint: bool = True) -> str:
        """The one line that says how it ended.

        - finished: ``run finished: 30 trials``
        - finished with errors: ``run finished with errors: every trial kept (30 trials);
          IndexError: list index out of range in PsychoPy's TrialHandler2.saveAsExcel at
          /…/stroop.py:833; full traceback in <log> (or -v)``
        - failed: ``run failed at /…/gng.py:123 (routine 'trial', loop 'trials' trial 3 of 10):
          ZeroDivisionError: division by zero; full traceback in <log> (or -v)``
        - stopped: ``run stopped after 4 trials``; skipped: ``skipped``;
          not started: ``not started: <why>``

        Args:
            log_path: the log file that holds the traceback, or ``None`` (then: ``-v``).
            traceback_hint: add where the traceback is (the CLI); ``False`` for views.
        """
        hint = ""
        if traceback_hint and self.has_traceback:
            hint = f"; full traceback in {log_path} (or -v)" if log_path else "; full traceback with -v"
        if self.state == RunState.FINISHED_WITH_ERRORS:
            parts = [f"{self.error}", self.step, f"at {self.error_at}" if self.error_at else ""]
            return (
                f"run finished with errors: every trial kept ({_plural(self.n_trials, 'trial')}); "
                + " ".join(p for p in parts if p)
                + hint
            )
        if self.state == RunState.FAILED:
            head = "run failed" + (f" at {self.error_at}" if self.error_at else "")
            if self.where:
                head += f" ({self.where})"
            return f"{head}: {self.error}" + hint
        if self.state == RunState.STOPPED:
            return f"run stopped after {self.n_trials} trials"
        if self.state == RunState.FINISHED:
            return f"run finished: {_plural(self.n_trials, 'trial')}"
        if self.state == NOT_STARTED:
            return f"not started: {self.error}" if self.error else "not started"
        return self.state

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: every attribute plus ``sentence`` (without the traceback hint)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["sentence"] = self.sentence(traceback_hint=False)
        return out


def outcome_line(record: RunRecord, log_path: Any = None) -> str | None:
    """:meth:`RunOutcome.sentence` of ``record`` when it did not simply finish (``None`` then)."""
    if record.state == RunState.FINISHED:
        return None
    return RunOutcome.from_record(record).sentence(log_path)
