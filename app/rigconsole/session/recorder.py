"""Records a Session's runs into the HDF5 data log, as they happen.

Every run gets a group in the session's :class:`rigconsole.datalog.DataLog`
(expInfo, trial rows as ``thisExp.nextEntry()`` stores them, frame intervals,
outcome); a pilot run's group has the attribute ``pilot = True``. The data log keeps PsychoPy's own CSV/psydat outputs as they are:
those are still written by the experiment's ``saveData``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .runs import RunRecord, RunState, disconnect_all
from .session import Session

__all__ = ["SessionRecorder"]

log = logging.getLogger("rigconsole.recorder")


class SessionRecorder:
    """Subscribes to a Session's events and writes each run into a DataLog.

    The session's experiments can also reach the log directly as
    ``thisSession.data_log`` (e.g. ``thisSession.data_log.add_entry(pupil=3.1)``),
    which this recorder sets. Errors writing the log are logged and never
    reach the experiment.

    Args:
        session: the Session to record.
        data_log: an open, writable :class:`rigconsole.datalog.DataLog`.
    """

    def __init__(self, session: Session, data_log: Any):
        self.session = session
        self.data_log = data_log
        self._groups: dict[int, str] = {}
        self._failed: set[int] = set()  # runs whose group could not be opened
        self._reported: set[str] = set()  # error messages logged already
        session.use_data_log(data_log)
        # the log's writer thread holds the GIL while it writes: let it write
        # while the experiment waits for the vertical blank, not while it draws
        data_log.use_budget(session.frame_budget)
        self._gated = True
        ev = session.events
        self._links: list[tuple[Any, Callable[..., Any]]] = [
            (ev.run_state_changed, self._on_state),
            (ev.trial_added, self._on_trial),
            (ev.frame_intervals, self._on_frames),
            (ev.run_ended, self._on_ended),
        ]
        for sig, slot in self._links:
            sig.connect(slot)

    def group_for(self, record: RunRecord) -> str | None:
        """The data-log group of a run (e.g. ``runs/0001_gonogo``), if recorded."""
        return self._groups.get(record.index)

    def _guard(self, what: str, fn, *args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except Exception as err:
            # a failed writer refuses every later call with the same message: say it once
            text = str(err)
            if text not in self._reported:
                self._reported.add(text)
                log.error("data log: %s failed: %s", what, text)

    def _on_state(self, record: RunRecord) -> None:
        if record.state == RunState.RUNNING:
            self._group(record)  # the clock's zero is known now: the run's start in the log

    def _group(self, record: RunRecord) -> str | None:
        """The run's group, opened on first need: when the run reaches ``run()`` (its
        start is then the experiment clock's zero, :attr:`RunRecord.t0_epoch`, the epoch
        trial times count from), or when it ends having failed in set-up (its request time)."""
        group = self._groups.get(record.index)
        if group is None and record.index not in self._failed:
            started = record.t0_epoch if record.t0_epoch is not None else record.started
            try:
                group = self._groups[record.index] = self.data_log.start_run(
                    record.key, record.exp_info, started=started
                )
            except Exception as err:
                self._failed.add(record.index)
                log.error("data log: cannot record run %d (%s): %s", record.index, record.key, err)
            else:
                if record.pilot:  # a person trying the task (PsychoPy's pilot mode), not a participant's data
                    self._guard("marking a pilot run", self.data_log.set_run_attrs, group, pilot=True)
        return group

    def _on_trial(self, record: RunRecord, row: dict) -> None:
        group = self._group(record)
        if group is not None:
            self._guard("adding a trial row", self.data_log.add_trial, group, row)

    def _on_frames(self, record: RunRecord, intervals: list) -> None:
        group = self._group(record)
        if group is not None:
            self._guard("adding frame intervals", self.data_log.add_frame_intervals, group, intervals)

    def _on_ended(self, record: RunRecord) -> None:
        group = self._group(record)
        if group is None:
            return
        stats = record.frame_stats or {}
        self._guard(
            "ending a run",
            self.data_log.end_run,
            group,
            record.state,
            error=record.error or "",
            traceback=record.traceback or "",
            error_at=record.error_at or "",
            raised_in=record.raised_in or "",
            dropped_frames=int(stats.get("dropped_frames", 0)),
            frame_p50_ms=float(stats.get("p50_ms", float("nan"))),
            frame_p99_ms=float(stats.get("p99_ms", float("nan"))),
            data_files=list(record.data_files),
        )

    def close(self) -> None:
        disconnect_all(self._links)
        if self._gated:
            self.data_log.use_budget(None)
            self._gated = False
        if self.session.data_log is self.data_log:
            self.session.use_data_log(None)
