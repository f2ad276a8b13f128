"""The console's door to the rig's run queue: Run (or Pilot), Dry run, Pause, Resume, Stop, and the queue's loop.

The console never starts a run itself: Run and Dry run hand the experiment to
the rig's :class:`~rigconsole.plans.RunQueue` (the one owner of runs), and a
Qt timer calls :meth:`RunQueue.poll` from a plain Qt callback (a run is a
blocking PsychoPy loop: started from inside an asyncio task or ``asyncSlot``,
qasync would refuse to enter other tasks while it runs). The frame hook serves
the Qt loop on each flip meanwhile.

A dry run is a queue item in mode ``"dry run"``: a simulated participant answers
inside PsychoPy's input path (:func:`rigconsole.session.qa.dry_run`) and its data
go to the rig's dry-runs folder (:meth:`rigconsole.rig.Rig.prepare_dry_run`);
it ends with a QA report.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ..notifications import notifications, one_line
from ..session import RunState, Session
from ..session.qa import QAReport

log = logging.getLogger(__name__)

#: how often the queue is polled (ms): starts the next item, keeps a break screen up
POLL_MS = 50


class RunController(QObject):
    """Run / Pause / Resume / Stop for the console, through the rig's run queue.

    A refused or failed run is a one-line ``ERROR`` notification (source ``"run"``,
    :data:`rigconsole.notifications.notifications`): bad expInfo, broken experiment,
    a run already in progress, the experiment failed (the outcome's sentence, with
    the experiment's file:line). A run *finished with errors* (every trial kept) is
    no error there: the run panel and the state pill show it.

    Signals:
        busyChanged(bool): a run is (not) in progress.
        dryRunStarted(str key, str folder): a dry run is about to start; its data go to ``folder``.
        dryRunEnded(QAReport, str folder): a dry run is over (completed, stuck,
            stopped or failed), also when it could not start (outcome ``"failed"``, where: why).

    Args:
        session: the rig's Session (or the console's start-up stand-in).
        rig: the :class:`rigconsole.rig.Rig` whose queue runs go to; without it
            (start-up) Run and Dry run are refused with an error.
    """

    busyChanged = Signal(bool)
    dryRunStarted = Signal(str, str)
    dryRunEnded = Signal(object, str)

    def __init__(self, session: Session, parent: QObject | None = None, *, rig=None):
        super().__init__(parent)
        self.session = session
        self.rig = None
        self.queue = None
        self._links: list = []
        self._announced_busy = False
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        if rig is not None:
            self._follow(rig)

    @property
    def busy(self) -> bool:
        """A run is in progress or starting (or a plan's break shows)."""
        q = self.queue
        if q is None:
            return self.session.current_run is not None
        return (
            q.running is not None
            or q.in_break is not None
            or bool(q.pending and not q.holding)
            or self.session.current_run is not None
        )

    def use_session(self, session: Session, *, rig=None) -> None:
        """Steer ``session``'s runs from now on through ``rig``'s queue (the console's start-up:
        the controller exists before the rig does).

        Raises:
            RuntimeError: a run is in progress or starting.
        """
        if self.busy:
            raise RuntimeError("cannot change the session during a run")
        self.session = session
        if rig is not None:
            self._follow(rig)

    def _follow(self, rig) -> None:
        for sig, slot in self._links:
            sig.disconnect(slot)
        self.rig, self.queue = rig, rig.queue
        ev = self.queue.events
        self._links = [(ev.item_started, self._item_started), (ev.item_ended, self._item_ended), (ev.refused, _error)]
        for sig, slot in self._links:
            sig.connect(slot)
        self._timer.start()

    def run(self, key: str, exp_info: dict[str, Any] | None = None, mode: str = "run") -> bool:
        """Hand a run to the queue, a real one or (``mode="pilot"``) a pilot run in PsychoPy's pilot
        mode (its data in the data folder's ``pilot/``); returns ``False`` (and notifies why) when refused."""
        if mode not in ("run", "pilot"):
            _error(f"A run's mode is 'run' or 'pilot', not {mode!r}.")
            return False
        return self._hand(key, exp_info, mode)

    def after_pilot(self, key: str) -> bool:
        """``True`` when a real run of ``key`` now would be the first after its pilot runs
        (:meth:`rigconsole.plans.RunQueue.after_pilot`); ``False`` before the rig is loaded."""
        return self.queue is not None and self.queue.after_pilot(key)

    def dry_run(
        self,
        key: str,
        exp_info: dict[str, Any] | None = None,
        *,
        seed: int | None = 0,
        stuck_after_s: float = 30.0,
        speed: float | str = 1.0,
    ) -> bool:
        """Hand a dry run to the queue: a simulated participant (``seed``) takes the experiment; a
        run with no new data row (nor routine) for ``stuck_after_s`` seconds of experiment time is
        stopped as stuck; ``speed``: its time warp (a number > 0 or ``"max"``,
        :mod:`rigconsole.session.warp`). Emits ``dryRunStarted`` then ``dryRunEnded`` with the QA
        report. Returns ``False`` (and notifies why) when refused."""
        return self._hand(key, exp_info, "dry run", seed=seed, stuck_after_s=stuck_after_s, speed=speed)

    def _hand(
        self,
        key: str,
        exp_info: dict[str, Any] | None,
        mode: str,
        *,
        seed: int | None = 0,
        stuck_after_s: float | None = None,
        speed: float | str = 1.0,
    ) -> bool:
        if self.queue is None:
            _error("The rig is still loading: run once the console is ready.")
            return False
        if self.busy:
            _error("A run is already in progress: stop it first.")
            return False
        try:
            if stuck_after_s is not None:
                self.queue.set_stuck_after(stuck_after_s)
            self.queue.run_now(key, exp_info, mode=mode, seed=seed, speed=speed)
        except Exception as err:  # ExpInfoError, broken/unknown experiment, a run in progress
            _error(one_line(err, with_type=False))
            return False
        self._announced_busy = True
        self.busyChanged.emit(True)
        QTimer.singleShot(0, self._poll)
        return True

    def _poll(self) -> None:
        """The queue's loop turn, from a plain Qt callback (never inside an asyncio task)."""
        try:
            self.queue.poll()
        except Exception:
            log.exception("the run queue failed to go on")
        if self._announced_busy and not self.busy:
            self._announced_busy = False
            self.busyChanged.emit(False)

    def _dry_folder(self) -> str:
        from ..rig import DRY_RUNS_FOLDER

        return str(Path(self.rig.settings.data_dir).absolute() / DRY_RUNS_FOLDER)

    def _item_started(self, item) -> None:
        self._announced_busy = True
        self.busyChanged.emit(True)
        if item.mode == "dry run":
            self.dryRunStarted.emit(item.key, self._dry_folder())

    def _item_ended(self, item) -> None:
        outcome = item.outcome
        if item.mode == "dry run":
            report = item.report
            if report is None:  # it could not start: the report says why
                report = QAReport(experiment=item.key, outcome="failed", where=outcome.sentence(), error=outcome.error)
            self.dryRunEnded.emit(report, self._dry_folder())
        elif outcome.state == RunState.FINISHED_WITH_ERRORS:
            # every trial ran and is kept: the run panel and the state pill say so (not an error banner)
            log.warning("%s: %s", item.key, outcome.sentence(traceback_hint=False))
        elif outcome.state == RunState.FAILED:
            _error(f"{item.key}: {outcome.sentence(traceback_hint=False)}")
        if self._announced_busy and not self.busy:  # nothing comes next: the console is free again
            self._announced_busy = False
            self.busyChanged.emit(False)

    def pause(self) -> bool:
        return bool(self.session.pauseExperiment())

    def resume(self) -> bool:
        return bool(self.session.resumeExperiment())

    def stop(self) -> bool:
        return bool(self.session.stopExperiment())

    def close(self) -> None:
        """Stop polling and let go of the queue's announcements."""
        self._timer.stop()
        for sig, slot in self._links:
            sig.disconnect(slot)
        self._links = []


def _error(message: str) -> None:
    """A refused or failed run, for the technician: one ``ERROR`` notification."""
    notifications.notify(message, source="run")
