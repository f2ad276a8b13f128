"""The Dry run dialog: how fast the simulated participant's run goes, and its seed.

*Run → Dry run* (Ctrl+F5) opens it for the selected experiment and its form's
expInfo. The speed is a time warp (:mod:`rigconsole.session.warp`): the
experiment's clocks and its frames run that many times faster than the wall
clock, so a 25-minute experiment is checked in a few minutes; *max* runs as
fast as frames can be drawn. Times in the data stay in the experiment's own
time (a participant's RTs), and the data say they were time-warped.
*Start* hands the dry run to the run controller
(:meth:`RunController.dry_run <rigconsole.ui.controller.RunController.dry_run>`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..session.warp import MAX, format_speed

__all__ = ["DryRunDialog", "SPEEDS", "DEFAULT_SPEED"]

#: the speeds offered (experiment seconds per wall second), fastest last
SPEEDS: tuple[float | str, ...] = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, MAX)
#: the speed offered first
DEFAULT_SPEED: float | str = 10.0


class DryRunDialog(QDialog):
    """Asks the speed and the seed of a dry run of ``key`` (window-modal; ``open()``, never ``exec()``).

    Args:
        key: the experiment's key (its name is shown).
        speed: the speed chosen first (one of :data:`SPEEDS`).
        seed: the participant's seed shown first (0..999999).
        parent: the main window.

    Attributes tests use:
        speed_box: the speed choice (items :data:`SPEEDS`, shown as ``"10x"``, ``"max"``).
        seed_box: the seed.
        buttons: *Start* (accept) and *Cancel*.
    """

    def __init__(self, key: str, *, speed: float | str = DEFAULT_SPEED, seed: int = 0, parent: QWidget | None = None):
        super().__init__(parent)
        self.key = key
        self.setObjectName("dryRunDialog")
        self.setWindowTitle(f"Dry run of {Path(key).stem}")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(440)
        lay = QVBoxLayout(self)
        intro = QLabel(
            f"A simulated participant takes <b>{Path(key).stem}</b>; its data go to the data folder's "
            "<i>dry-runs</i> folder, marked as simulated, and a QA report opens at the end.",
            self,
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.speed_box = QComboBox(self)
        self.speed_box.setObjectName("dryRunSpeed")
        for s in SPEEDS:
            label = "max (as fast as frames can be drawn)" if s == MAX else format_speed(s)
            self.speed_box.addItem(label, s)
        index = next((i for i, s in enumerate(SPEEDS) if s == speed), SPEEDS.index(DEFAULT_SPEED))
        self.speed_box.setCurrentIndex(index)
        self.speed_box.setToolTip(
            "The experiment's clocks and frames run this many times faster than the wall "
            "clock; the data keep the experiment's own time (RTs as a participant's)"
        )
        form.addRow("&Speed", self.speed_box)
        self.seed_box = QSpinBox(self)
        self.seed_box.setRange(0, 999_999)
        self.seed_box.setValue(int(seed))
        self.seed_box.setToolTip(
            "The same seed gives the same simulated participant (the same keys after the same response times)"
        )
        form.addRow("S&eed", self.seed_box)
        lay.addLayout(form)
        note = QLabel("Timing checks (frame drops, durations) need a real-time (1x) run.", self)
        note.setStyleSheet("color: #666;")
        note.setWordWrap(True)
        lay.addWidget(note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        start = self.buttons.addButton("&Start dry run", QDialogButtonBox.ButtonRole.AcceptRole)
        start.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

    def speed(self) -> float | str:
        """The chosen speed: a number (experiment s per wall s) or ``"max"``."""
        return self.speed_box.currentData()

    def seed(self) -> int:
        """The chosen seed."""
        return int(self.seed_box.value())
