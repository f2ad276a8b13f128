"""Marshals the Qt-free Session's announcements into Qt signals, and gives the
Session its two hooks into the Qt loop: the frame pump and the command-queue
wake-up."""
from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Qt, Signal, Slot

from ..session import Session

log = logging.getLogger(__name__)


class SessionBridge(QObject):
    """Qt face of a :class:`rigconsole.session.Session`.

    Signals (always delivered on the main thread):
        experimentsChanged(), runStarted(RunRecord), runStateChanged(RunRecord),
        runEnded(RunRecord), trialAdded(RunRecord, dict row),
        frameIntervals(RunRecord, list[float] seconds).
    """

    experimentsChanged = Signal()
    runStarted = Signal(object)
    runStateChanged = Signal(object)
    runEnded = Signal(object)
    trialAdded = Signal(object, dict)
    frameIntervals = Signal(object, list)
    _wake = Signal()

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        ev = session.events
        self._links = [
            (ev.experiments_changed, self.experimentsChanged.emit),
            (ev.run_started, self.runStarted.emit),
            (ev.run_state_changed, self.runStateChanged.emit),
            (ev.run_ended, self.runEnded.emit),
            (ev.trial_added, self.trialAdded.emit),
            (ev.frame_intervals, self.frameIntervals.emit),
        ]
        for sig, slot in self._links:
            sig.connect(slot)
        # queued: the wake-up may come from any thread; the drain runs on the main thread
        self._wake.connect(self._drain, Qt.ConnectionType.QueuedConnection)
        session.commands.wakeup = self._wake.emit
        session.frame_hook.pump = self.pump

    @staticmethod
    def pump(budget_s: float) -> None:
        """Process pending Qt (and so qasync/asyncio) events for at most ``budget_s`` seconds."""
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, max(1, int(budget_s * 1000)))

    @Slot()
    def _drain(self) -> None:
        try:
            self.session.commands.drain()
        except Exception:
            log.exception("a queued command failed")

    def close(self) -> None:
        for sig, slot in self._links:
            try:
                sig.disconnect(slot)
            except Exception:
                pass
        self.session.commands.wakeup = None
        self.session.frame_hook.pump = None
