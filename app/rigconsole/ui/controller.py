"""Starts and steers runs from the UI, on the main thread, from plain Qt callbacks.

A run is a blocking PsychoPy loop. It must start from a plain Qt callback (a
zero-delay timer), never from inside an asyncio task or ``asyncSlot``: qasync
then refuses to enter other tasks while it runs. The frame hook serves the Qt
loop on each flip meanwhile.
"""
from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ..session import Session

log = logging.getLogger(__name__)


class RunController(QObject):
    """Run / Pause / Resume / Stop for the console.

    Signals:
        error(str): a one-line message for the technician (bad expInfo, broken
            experiment, a run already in progress, the experiment failed).
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

    def use_session(self, session: Session) -> None:
        """Steer ``session``'s runs from now on (the console's start-up: the controller
        exists before the rig's session does).

        Raises:
            RuntimeError: a run is in progress or starting.
        """
        if self.busy:
            raise RuntimeError("cannot change the session during a run")
        self.session = session

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
        try:
            ok = self.session.runExperiment(key, exp_info)
            if not ok:
                rec = self.session.run_records[-1] if self.session.run_records else None
                self.error.emit(f"{key}: {rec.error if rec else 'the run failed'}")
        except Exception as err:
            text = str(err).strip().splitlines()
            self.error.emit(f"{key} failed: {type(err).__name__}: {text[0] if text else ''}")
        finally:
            self._starting = False
            self.busyChanged.emit(False)

    def pause(self) -> bool:
        return bool(self.session.pauseExperiment())

    def resume(self) -> bool:
        return bool(self.session.resumeExperiment())

    def stop(self) -> bool:
        return bool(self.session.stopExperiment())
