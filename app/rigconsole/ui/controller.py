"""Starts and steers runs from the UI, on the main thread, from plain Qt callbacks.

A run is a blocking PsychoPy loop. It must start from a plain Qt callback (a
zero-delay timer), never from inside an asyncio task or ``asyncSlot``: qasync
then refuses to enter other tasks while it runs. The frame hook serves the Qt
loop on each flip meanwhile.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ..session import RunState, Session

log = logging.getLogger(__name__)


class RunController(QObject):
    """Run / Pause / Resume / Stop for the console.

    Signals:
        error(str): a one-line message for the technician (bad expInfo, broken
            experiment, a run already in progress, the experiment failed: its
            error and the experiment's file:line). A run *finished with errors*
            (every trial kept) is no error here: the run panel and the state pill show it.
        busyChanged(bool): a run is (not) in progress.
    """

    error = Signal(str)
    busyChanged = Signal(bool)

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self._starting = False

    @property
    def busy(self) -> bool:
        return self._starting or self.session.current_run is not None

    def run(self, key: str, exp_info: dict[str, Any] | None = None) -> bool:
        """Validate and schedule a run; returns ``False`` (and emits ``error``) when refused."""
        if self.busy:
            self.error.emit("A run is already in progress: stop it first.")
            return False
        try:
            resolved = self.session.resolveExpInfo(key, exp_info)
        except Exception as err:  # ExpInfoError, broken/unknown experiment
            self.error.emit(str(err))
            return False
        self._starting = True
        self.busyChanged.emit(True)
        QTimer.singleShot(0, lambda: self._run_now(key, resolved))
        return True

    def _run_now(self, key: str, exp_info: dict[str, Any]) -> None:
        before = len(self.session.run_records)
        try:
            ok = self.session.runExperiment(key, exp_info)
            if not ok:
                rec = self._record(before)
                self.error.emit(f"{key}: {rec.error if rec else 'the run failed'}")
        except Exception as err:
            rec = self._record(before)
            if rec is not None and rec.state == RunState.FINISHED_WITH_ERRORS:
                # every trial ran and is kept: the run panel and the state pill say so (not an error banner)
                log.warning("%s finished with errors: every trial kept (%d trials); %s", key, rec.n_trials, rec.error)
            elif rec is not None and rec.error:
                at = f" at {os.path.basename(rec.error_at)}" if rec.error_at else ""
                self.error.emit(f"{key} failed{at}: {rec.error}")
            else:
                text = str(err).strip().splitlines()
                self.error.emit(f"{key} failed: {type(err).__name__}: {text[0] if text else ''}")
        finally:
            self._starting = False
            self.busyChanged.emit(False)

    def _record(self, before: int):
        """The run record this run made (``None`` when it was refused before it started)."""
        records = self.session.run_records
        return records[-1] if len(records) > before else None

    def pause(self) -> bool:
        return bool(self.session.pauseExperiment())

    def resume(self) -> bool:
        return bool(self.session.resumeExperiment())

    def stop(self) -> bool:
        return bool(self.session.stopExperiment())
