"""Starts and steers runs from the UI, on the main thread, from plain Qt callbacks.

A run is a blocking PsychoPy loop. It must start from a plain Qt callback (a
zero-delay timer), never from inside an asyncio task or ``asyncSlot``: qasync
then refuses to enter other tasks while it runs. The frame hook serves the Qt
loop on each flip meanwhile.

A dry run (:meth:`RunController.dry_run`) is a run like any other, started the
same way, with a simulated participant answering inside PsychoPy's input path
(:func:`rigconsole.session.qa.dry_run`) and its data in the rig's dry-runs folder
(:meth:`rigconsole.rig.Rig.prepare_dry_run`); it ends with a QA report.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ..session import RunState, Session
from ..session.qa import QAReport, dry_run

log = logging.getLogger(__name__)


class RunController(QObject):
    """Run / Pause / Resume / Stop for the console.

    Signals:
        error(str): a one-line message for the technician (bad expInfo, broken
            experiment, a run already in progress, the experiment failed: its
            error and the experiment's file:line). A run *finished with errors*
            (every trial kept) is no error here: the run panel and the state pill show it.
        busyChanged(bool): a run is (not) in progress.
        dryRunStarted(str key, str folder): a dry run is about to start; its data go to ``folder``.
        dryRunEnded(QAReport, str folder): a scheduled dry run is over (completed, stuck,
            stopped or failed), also when it could not start (outcome ``"failed"``, where: why).

    Args:
        session: the rig's Session.
        rig: the :class:`rigconsole.rig.Rig` (its data folders, for dry runs);
            without it a dry run writes where runs write.
    """

    error = Signal(str)
    busyChanged = Signal(bool)
    dryRunStarted = Signal(str, str)
    dryRunEnded = Signal(object, str)

    def __init__(self, session: Session, parent: QObject | None = None, *, rig=None):
        super().__init__(parent)
        self.session = session
        self.rig = rig
        self._starting = False

    @property
    def busy(self) -> bool:
        return self._starting or self.session.current_run is not None

    def use_session(self, session: Session, *, rig=None) -> None:
        """Steer ``session``'s runs from now on (the console's start-up: the controller
        exists before the rig's session does); ``rig``: the Rig whose data folder dry runs use.

        Raises:
            RuntimeError: a run is in progress or starting.
        """
        if self.busy:
            raise RuntimeError("cannot change the session during a run")
        self.session = session
        if rig is not None:
            self.rig = rig

    def run(self, key: str, exp_info: dict[str, Any] | None = None) -> bool:
        """Validate and schedule a run; returns ``False`` (and emits ``error``) when refused."""
        return self._schedule(key, exp_info, self._run_now)

    def dry_run(self, key: str, exp_info: dict[str, Any] | None = None, *, seed: int | None = 0,
                stuck_after_s: float = 30.0, speed: float | str = 1.0) -> bool:
        """Validate and schedule a dry run: a simulated participant (``seed``) takes the
        experiment; a run with no new data row (nor routine) for ``stuck_after_s`` seconds of
        experiment time is stopped as stuck; ``speed``: its time warp (a number > 0 or ``"max"``,
        :mod:`rigconsole.session.warp`). Emits ``dryRunStarted`` then ``dryRunEnded`` with the QA
        report. Returns ``False`` (and emits ``error``) when refused."""
        return self._schedule(key, exp_info, lambda k, info: self._dry_run_now(k, info, seed, stuck_after_s, speed))

    def _schedule(self, key: str, exp_info: dict[str, Any] | None, start) -> bool:
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
        QTimer.singleShot(0, lambda: start(key, resolved))
        return True

    def _dry_run_now(self, key: str, exp_info: dict[str, Any], seed: int | None, stuck_after_s: float,
                     speed: float | str = 1.0) -> None:
        report: QAReport | None = None
        folder = str(self.session.dataDir)
        try:
            if self.rig is not None:
                folder = str(self.rig.prepare_dry_run(seed, speed=speed))
            self.dryRunStarted.emit(key, folder)
            report = dry_run(self.session, key, exp_info, seed=seed, stuck_after_s=stuck_after_s, speed=speed)
        except Exception as err:  # it could not start (or the report failed): the report says so
            text = str(err).strip().splitlines()
            line = f"{type(err).__name__}: {text[0] if text else ''}"
            log.error("dry run of %s: %s", key, line)
            self.error.emit(f"{key}: dry run failed: {line}")
            report = QAReport(experiment=key, outcome="failed", where=line, error=line)
        finally:
            try:
                if self.rig is not None:
                    self.rig.end_dry_run()
            except Exception as err:
                self.error.emit(f"after the dry run: {err}")
            self._starting = False
            self.busyChanged.emit(False)
            if report is not None:
                self.dryRunEnded.emit(report, folder)

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
