"""Marshals the Qt-free Session's announcements into Qt signals, and gives the
Session its two hooks into the Qt loop: the frame pump and the command-queue
wake-up."""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Qt, Signal, Slot

from ..session import Session
from ..session.runs import disconnect_all

log = logging.getLogger(__name__)


class SessionBridge(QObject):
    """Qt face of a :class:`rigconsole.session.Session`.

    Signals (always delivered on the main thread, by the event loop or the
    frame pump after the session announced them, in the order announced):
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
    # the session's announcements, queued: delivered by the next pump, in order
    _announced = Signal(object, object)

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent)
        # Run announcements come from inside the experiment's
        # code (``nextEntry()``, ``win.flip()``); the console's slots must not
        # run there, on the experiment's time, but in the next pump, which is
        # bounded by the time left before the next frame. So every
        # announcement is posted (one queue keeps their order) and re-emitted
        # as the public signal when Qt delivers it.
        self._announced.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        # queued: the wake-up may come from any thread; the drain runs on the main thread
        self._wake.connect(self._drain, Qt.ConnectionType.QueuedConnection)
        self._links: list = []
        self._subscribe(session)

    def _subscribe(self, session: Session) -> None:
        self.session = session
        ev = session.events
        self._links = [
            (ev.experiments_changed, self.experimentsChanged.emit),  # a technician's action: at once
            (ev.run_started, lambda rec: self._announced.emit(self.runStarted, (rec,))),
            (ev.run_state_changed, lambda rec: self._announced.emit(self.runStateChanged, (rec,))),
            (ev.run_ended, lambda rec: self._announced.emit(self.runEnded, (rec,))),
            (ev.trial_added, lambda rec, row: self._announced.emit(self.trialAdded, (rec, row))),
            (ev.frame_intervals, lambda rec, batch: self._announced.emit(self.frameIntervals, (rec, batch))),
        ]
        for sig, slot in self._links:
            sig.connect(slot)
        session.connect_console(self.pump, self._wake.emit)

    def use_session(self, session: Session) -> None:
        """Follow ``session`` from now on (the console's start-up: the bridge exists before
        the rig's session does): the old one's announcements and hooks are let go, the new
        one's frame pump and command-queue wake-up come here."""
        disconnect_all(self._links)
        self.session.disconnect_console()
        self._subscribe(session)

    @staticmethod
    def pump(budget_s: float) -> None:
        """Process pending Qt (and so qasync/asyncio) events for at most ``budget_s`` seconds."""
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, max(1, int(budget_s * 1000)))

    @Slot(object, object)
    def _deliver(self, signal, args) -> None:
        try:
            signal.emit(*args)
        except Exception:
            log.exception("a console view failed to take a session announcement")

    @Slot()
    def _drain(self) -> None:
        try:
            self.session.commands.drain()
        except Exception:
            log.exception("a queued command failed")

    def close(self) -> None:
        disconnect_all(self._links)
        self.session.disconnect_console()
