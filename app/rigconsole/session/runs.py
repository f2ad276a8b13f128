"""Run records and the run state machine.

A run moves ``starting → running ⇄ paused → finished | finished with errors | stopped | failed``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from psygnal import Signal

__all__ = ["RunState", "RunRecord", "SessionEvents", "RunInProgressError", "RunStopped", "disconnect_all"]


def disconnect_all(links: Iterable[tuple[Any, Any]]) -> None:
    """Disconnect each ``(signal, slot)`` pair (psygnal or Qt); pairs already gone are skipped.

    For subscribers' ``close()``: closing twice, or after the signal's owner
    went away, must not raise.
    """
    for sig, slot in links:
        try:
            sig.disconnect(slot)
        except Exception:
            pass


class RunState:
    """The states of a run (the values are the strings the data log and the remote API show).

    - ``FINISHED``: the experiment's ``run()`` and ``saveData`` returned.
    - ``FINISHED_WITH_ERRORS``: every trial ran, then the experiment raised in its
      end-of-run export/save (e.g. PsychoPy's own ``saveAsExcel`` after the last
      trial); every trial is kept (see :mod:`.outcomes` for the rule).
    - ``STOPPED``: stopped on request. ``FAILED``: raised or quit before its trials ended.
    """

    STARTING = "starting"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    FINISHED_WITH_ERRORS = "finished with errors"
    STOPPED = "stopped"
    FAILED = "failed"
    ENDED = (FINISHED, FINISHED_WITH_ERRORS, STOPPED, FAILED)


class RunInProgressError(RuntimeError):
    """A run was requested while another is in progress (one run at a time)."""


class RunStopped(BaseException):
    """Raised from ``win.flip()`` when a stop request has been ignored by the experiment.

    Derives from ``BaseException`` so that an experiment's ``except Exception``
    does not swallow it.
    """


@dataclass
class RunRecord:
    """One run of one experiment.

    Attributes:
        index: 1-based run number in this session.
        key: the experiment's key.
        exp_info: the expInfo the run was given (clean keys).
        state: a :class:`RunState` value.
        started, ended: epoch seconds (``time.time()``) when the run was asked for and
            when it ended; ``ended`` is ``None`` while running.
        t0_epoch: epoch seconds of the experiment clock's zero (the ``globalClock``
            the experiment's ``run()`` gets is reset right before it is called);
            trial times (``thisRow.t``, Builder's ``*.started``) are relative to it.
            ``None`` until the run reaches ``run()`` (a run failing in set-up never does).
        n_trials: rows added with ``thisExp.nextEntry()`` so far.
        total_trials: the expected number of trials when known (a trial loop's
            ``nTotal`` or expInfo ``nTrials``), else ``None``.
        error: one-line reason for a failed run (or the error of a run finished
            with errors), ``"ErrorType: message"``.
        traceback: full traceback text of a failed run (or one finished with errors).
        error_file, error_line: where in the experiment's own file it raised: the
            deepest traceback frame in the experiment's script (for a ``.psyexp``,
            the compiled script the console ran); ``None`` when no frame is there.
        where: the experiment's routine, loop and trial when it raised (PsychoPy's
            ``thisExp.currentRoutine`` and unfinished loops), ``""`` when unknown.
        raised_in: for a run finished with errors, the end-of-run step that raised
            (a PsychoPy data handler's export, e.g. ``"TrialHandler2.saveAsExcel"``,
            or ``"saveData"``); ``""`` otherwise.
        data_files: files the run wrote under the data folder.
        frame_stats: see :func:`rigconsole.session.frames.frame_stats`, plus
            ``console_overruns``: frames the console's pump made late (a pump
            before the flip ran past the vertical blank).
        this_exp: the run's ``psychopy.data.ExperimentHandler``.
        pilot: the run was in PsychoPy's pilot mode (``psychopy.piloting.getPilotMode()`` when it
            started): a person trying the task, not a participant's data.
    """

    index: int
    key: str
    exp_info: dict[str, Any]
    state: str = RunState.STARTING
    started: float = field(default_factory=time.time)
    ended: float | None = None
    t0_epoch: float | None = None
    n_trials: int = 0
    total_trials: int | None = None
    error: str | None = None
    traceback: str = ""
    error_file: str | None = None
    error_line: int | None = None
    where: str = ""
    raised_in: str = ""
    data_files: list[str] = field(default_factory=list)
    frame_stats: dict[str, Any] = field(default_factory=dict)
    this_exp: Any = None
    stop_requested: bool = False
    pilot: bool = False

    @property
    def ended_ok(self) -> bool:
        """Finished or stopped (a run finished with errors is not ``ended_ok``)."""
        return self.state in (RunState.FINISHED, RunState.STOPPED)

    @property
    def error_at(self) -> str | None:
        """``"<experiment file>:<line>"`` where it raised, or ``None`` (see ``error_file``)."""
        if self.error_file is None:
            return None
        return f"{self.error_file}:{self.error_line}" if self.error_line is not None else self.error_file

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly summary."""
        return {
            "index": self.index,
            "key": self.key,
            "state": self.state,
            "started": self.started,
            "t0_epoch": self.t0_epoch,
            "ended": self.ended,
            "n_trials": self.n_trials,
            "total_trials": self.total_trials,
            "error": self.error,
            "error_at": self.error_at,
            "data_files": list(self.data_files),
            "frame_stats": dict(self.frame_stats),
            "pilot": self.pilot,
            "expInfo": {
                k: (v if isinstance(v, (str, int, float, bool)) or v is None else str(v))
                for k, v in self.exp_info.items()
            },
        }


class SessionEvents:
    """What a Session announces. Qt-free (psygnal); emitted on the main thread.

    - ``experiments_changed()``: the experiment list changed (added, removed, reloaded).
    - ``run_started(record)``, ``run_state_changed(record)``, ``run_ended(record)``.
    - ``trial_added(record, row)``: ``row`` is the dict PsychoPy's
      ``ExperimentHandler.nextEntry()`` just stored (column name → value).
    - ``frame_intervals(record, intervals_s)``: a batch of flip intervals
      (seconds, list of float) while a run is in progress, about twice a second.
    """

    experiments_changed = Signal()
    run_started = Signal(object)
    run_state_changed = Signal(object)
    run_ended = Signal(object)
    trial_added = Signal(object, dict)
    frame_intervals = Signal(object, list)
