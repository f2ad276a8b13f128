"""The dry run's face in the console: "dry run" in the status bar while it runs, and its QA report.

A technician checks a new experiment before a participant arrives with *Run → Dry run*
(:meth:`RunController.dry_run <rigconsole.ui.controller.RunController.dry_run>`): a
simulated participant takes it, its data go to the data folder's ``dry-runs`` folder,
and at the end :class:`QAReportDialog` shows the QA report
(:class:`rigconsole.session.qa.QAReport`): the outcome (completed, or where it stuck),
trials per loop, the columns that stayed empty, frame timing, the run's duration and
the data folder, with a button that copies it all as text.

:class:`DryRunView` wires both to a main window: it subscribes to the controller's
``dryRunStarted`` and ``dryRunEnded`` signals.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..session.qa import QAReport
from ..session.warp import format_speed
from .dry_run_dialog import DEFAULT_SPEED, DryRunDialog
from .run_panel import format_duration

__all__ = ["QAReportDialog", "DryRunView", "report_text"]

#: outcome → (colour, one sentence for the technician)
OUTCOMES = {
    "completed": ("#2e7d32", "The experiment ran to its end with the simulated participant."),
    "completed with errors": ("#9a6700", "Every trial ran, but the experiment raised an error at its end."),
    "stuck": ("#c62828", "The experiment stopped making progress, so the dry run stopped it."),
    "time limit": ("#9a6700", "The dry run reached its time limit while the experiment was still going."),
    "stopped": ("#9a6700", "The dry run was stopped before the experiment ended."),
    "failed": ("#c62828", "The experiment failed."),
}


def report_text(report: QAReport, folder: str | Path | None = None) -> str:
    """The report as plain text (what *Copy report* copies): ``report.to_text()`` and the data folder."""
    text = report.to_text()
    if folder:
        text += f"\n  data folder: {folder}"
    for f in report.data_files:
        text += f"\n  data file: {f}"
    return text


def _trials(report: QAReport) -> str:
    rows = f"{report.rows} data row{'s' if report.rows != 1 else ''}"
    if report.trials_per_loop:
        loops = ", ".join(
            f"{name} {n}" + (f" of {report.expected_trials[name]}" if name in report.expected_trials else "")
            for name, n in report.trials_per_loop.items()
        )
        return f"{loops} ({rows})"
    if report.expected_rows:
        return f"{report.rows} of {report.expected_rows} trials (no PsychoPy loops)"
    return f"{rows} (no PsychoPy loops)"


def _frames(report: QAReport) -> str:
    fs = report.frame_stats
    if not fs.get("n_frames"):
        return "no frames recorded"
    dropped = int(fs.get("dropped_frames", 0))
    hz = fs.get("refresh_hz", math.nan)
    warped = math.isfinite(report.experiment_s) and not report.speed.startswith("1x")
    return (
        f"{fs['n_frames']} frames, {dropped} dropped; median {fs.get('p50_ms', math.nan):.1f} ms, "
        f"p99 {fs.get('p99_ms', math.nan):.1f} ms, longest {fs.get('max_ms', math.nan):.1f} ms"
        + (f" at {hz:.0f} Hz" if isinstance(hz, (int, float)) and math.isfinite(hz) else "")
        + (f" of wall time (time-warped {report.speed}: check frame timing at 1x)" if warped else "")
    )


def _duration(report: QAReport) -> str:
    if math.isfinite(report.experiment_s):  # a dry run: its own time and the wall time it took
        return (
            f"{format_duration(report.experiment_s)} of experiment time in "
            f"{format_duration(report.wall_s)} of wall time"
        )
    return format_duration(report.duration_s) if math.isfinite(report.duration_s) else "—"


class QAReportDialog(QDialog):
    """The QA report of one dry run (window-modal; open it with ``open()``, never ``exec()``).

    Args:
        report: the run's :class:`~rigconsole.session.qa.QAReport`.
        folder: the folder its data went to (the data folder's ``dry-runs``).
        parent: the main window.

    Attributes tests use:
        outcome_label: the headline (outcome and one sentence).
        fields: ``{row name: QLabel}`` (``"Where it stuck"``, ``"Where it stopped"`` or
            ``"Where"``, ``"Trials"``, ``"Empty columns"``, ``"Frame timing"``,
            ``"Duration"``, ``"Data folder"``, ...).
        copy_button, open_button: *Copy report*, *Open data folder*.
    """

    def __init__(self, report: QAReport, folder: str | Path | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.report = report
        self.folder = str(folder) if folder else ""
        self.setObjectName("qaReportDialog")
        self.setWindowTitle(f"Dry run: QA report of {Path(report.experiment).stem}")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(560)
        lay = QVBoxLayout(self)
        colour, sentence = OUTCOMES.get(report.outcome, ("#9a6700", ""))
        self.outcome_label = QLabel(
            f"<span style='font-size: 14pt; color: {colour}'><b>{html.escape(report.outcome)}</b></span>"
            f" &nbsp;dry run of <b>{html.escape(Path(report.experiment).stem)}</b><br>{html.escape(sentence)}",
            self,
        )
        self.outcome_label.setTextFormat(Qt.TextFormat.RichText)
        self.outcome_label.setWordWrap(True)
        lay.addWidget(self.outcome_label)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.fields: dict[str, QLabel] = {}
        where_name = {"stuck": "Where it stuck", "time limit": "Where it stopped", "stopped": "Where it stopped"}.get(
            report.outcome, "Where"
        )
        rows = [("Experiment", report.experiment)]
        if report.where or not report.completed:
            rows.append((where_name, report.where or "not known"))
        rows += [
            ("Trials", _trials(report)),
            ("Empty columns", ", ".join(report.empty_columns) if report.empty_columns else "none"),
            ("Frame timing", _frames(report)),
            ("Duration", _duration(report)),
        ]
        if math.isfinite(report.experiment_s):
            rows.append(("Speed", f"{report.speed}, reached {report.speed_reached:.1f}x"))
        if report.simulated:
            rows.append(
                (
                    "Simulated participant",
                    ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(report.simulated.items())),
                )
            )
        if report.error and report.error != report.where:
            rows.append(("Error", report.error))
        rows.append(("Data folder", self.folder or "—"))
        for name, value in rows:
            label = QLabel(str(value), self)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            if name in ("Where it stuck", "Where", "Error"):  # (a stop the technician asked for is not red)
                label.setStyleSheet("color: #c62828;")
            elif (name == "Empty columns" and report.empty_columns) or (
                name == "Frame timing" and report.frame_stats.get("dropped_frames")
            ):
                label.setStyleSheet("color: #9a6700;")  # worth a look, not a failure
            form.addRow(f"<b>{name}</b>", label)
            self.fields[name] = label
        lay.addLayout(form)
        note = QLabel("Dry-run data are marked as simulated and kept apart from participants' data.", self)
        note.setStyleSheet("color: #666;")
        lay.addWidget(note)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = QPushButton("&Copy report", self)
        self.copy_button.setToolTip("Copy the report as text (to paste into an email or a lab notebook)")
        self.copy_button.clicked.connect(self.copy)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button = QPushButton("&Open data folder", self)
        self.open_button.setEnabled(bool(self.folder))
        self.open_button.clicked.connect(self.open_folder)
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Close).setDefault(True)
        lay.addWidget(buttons)

    def text(self) -> str:
        """The report as plain text (see :func:`report_text`)."""
        return report_text(self.report, self.folder)

    def copy(self) -> None:
        """Copy :meth:`text` to the clipboard."""
        QGuiApplication.clipboard().setText(self.text())
        self.copy_button.setText("Copied")

    def open_folder(self) -> bool:
        """Show the data folder in the file manager; ``False`` if it could not be opened."""
        return bool(self.folder) and QDesktopServices.openUrl(QUrl.fromLocalFile(self.folder))


class DryRunView(QObject):
    """Shows a dry run in ``window``: "DRY RUN" in its status bar while it runs, the QA
    report dialog when it ends.

    Args:
        controller: the :class:`~rigconsole.ui.controller.RunController` (its
            ``dryRunStarted(key, folder)`` and ``dryRunEnded(report, folder)``).
        window: the main window (its status bar shows the dry run).

    Attributes:
        indicator: the status-bar label (visible during a dry run).
        dialog: the last :class:`QAReportDialog` opened, or ``None``.
    """

    def __init__(self, controller, window: QMainWindow):
        super().__init__(window)
        self._window = window
        self.dialog: QAReportDialog | None = None
        self._controller = controller
        #: the last speed and seed chosen in the Dry run dialog (offered again next time)
        self.speed: float | str = DEFAULT_SPEED
        self.seed = 0
        self.ask_dialog: DryRunDialog | None = None
        self._starting_speed: float | str | None = None  # the speed of the dry run this view started
        self.indicator = QLabel(window)
        self.indicator.setObjectName("dryRunIndicator")
        self.indicator.setStyleSheet(
            "background: #fff3c4; color: #6b4e00; border: 1px solid #d8b94a;"
            " border-radius: 3px; padding: 1px 8px; font-weight: 600;"
        )
        self.indicator.hide()
        window.statusBar().addPermanentWidget(self.indicator)
        self._links = [(controller.dryRunStarted, self._started), (controller.dryRunEnded, self._ended)]
        for sig, slot in self._links:
            sig.connect(slot)

    def ask(self, key: str, exp_info: dict) -> DryRunDialog:
        """Open the Dry run dialog for ``key``; *Start* schedules the dry run with ``exp_info``
        and the chosen speed and seed (:meth:`RunController.dry_run`), remembered for next time."""
        if self.ask_dialog is not None:
            try:
                self.ask_dialog.close()
            except RuntimeError:  # deleted with its window
                pass
        dlg = DryRunDialog(key, speed=self.speed, seed=self.seed, parent=self._window)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def start() -> None:
            self.speed, self.seed = dlg.speed(), dlg.seed()
            self._starting_speed = self.speed
            if not self._controller.dry_run(key, exp_info, seed=self.seed, speed=self.speed):
                self._starting_speed = None

        dlg.accepted.connect(start)
        dlg.destroyed.connect(lambda *_: self._forget_ask(dlg))
        self.ask_dialog = dlg
        dlg.open()
        return dlg

    def _forget_ask(self, dlg) -> None:
        if self.ask_dialog is dlg:
            self.ask_dialog = None

    def _started(self, key: str, folder: str) -> None:
        speed, self._starting_speed = self._starting_speed, None
        warp = f" · {format_speed(speed)}" if speed is not None else ""
        self.indicator.setText(f"DRY RUN{warp} · simulated participant · data → {folder}")
        self.indicator.setToolTip(
            f"A simulated participant is taking the experiment; its data are marked as simulated and go to {folder}"
        )
        self.indicator.show()
        self._window.statusBar().showMessage(f"Dry run of {Path(key).stem}: a simulated participant answers", 10000)

    def _ended(self, report: QAReport, folder: str) -> None:
        self.indicator.hide()
        self._window.statusBar().showMessage(f"Dry run of {Path(report.experiment).stem}: {report.outcome}", 15000)
        self.show_report(report, folder)

    def show_report(self, report: QAReport, folder: str | Path | None) -> QAReportDialog:
        """Open the QA report dialog on the window (the previous one is closed)."""
        if self.dialog is not None:
            try:
                self.dialog.close()
            except RuntimeError:  # deleted with its window
                pass
        dlg = QAReportDialog(report, folder, self._window)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.destroyed.connect(lambda *_: self._forget(dlg))
        self.dialog = dlg
        dlg.open()
        return dlg

    def _forget(self, dlg) -> None:
        if self.dialog is dlg:
            self.dialog = None

    def close(self) -> None:
        """Stop following the controller."""
        for sig, slot in self._links:
            try:
                sig.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        self._links = []
