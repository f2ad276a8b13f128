"""Pilot mode in the console: the Run / Pilot choice, the PILOT badge, and the question before a real run.

PsychoPy's Builder, Coder and Runner have a run / pilot toggle (``psychopy.piloting``): a pilot
run is a person trying the task, shown with an orange border on the stimulus window, with
``"pilot"`` as the participant and the data marked. The console's toolbar has the same choice
(:class:`RunModeSwitch`, beside Run): Run hands the experiment to the run queue as a real run or
as a pilot run (:meth:`rigconsole.plans.RunQueue.run_now` ``mode="pilot"``; its data go to the
data folder's ``pilot/``). While a pilot run is in progress the toolbar shows an orange
:class:`PilotBadge`.

Going from pilot to run asks once (PsychoPy issue #6066: a lab ran real participants in pilot mode
for weeks): the first real run of an experiment after its pilot runs, or a real run whose
participant is still ``"pilot"``, first shows a non-modal question (:func:`ask_real_run`; no nested
event loop). :class:`PilotControls` ties these to the main window's form and controller.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QMessageBox, QToolButton, QWidget

from ..plans.queue import PARTICIPANT_ALIASES, PILOT_PARTICIPANT
from ..views.palette import PILOT

__all__ = ["RunModeSwitch", "PilotBadge", "PilotControls", "ask_real_run", "MODES"]

#: the console's run modes (the run queue's names)
MODES = ("run", "pilot")


class RunModeSwitch(QWidget):
    """Two exclusive buttons, Run and Pilot (PsychoPy's run / pilot toggle).

    Attributes:
        buttons: ``{"run": QToolButton, "pilot": QToolButton}``.

    Signals:
        modeChanged(str): ``"run"`` or ``"pilot"``.
    """

    modeChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 6, 0)
        lay.setSpacing(0)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}
        tips = {
            "run": "Run mode: a participant's run; data go to the data folder",
            "pilot": (
                "Pilot mode (PsychoPy's piloting): a person trying the task; orange border on the\n"
                'stimulus window, participant "pilot", data go to the data folder\'s pilot/ and are marked pilot'
            ),
        }
        for i, mode in enumerate(MODES):
            b = QToolButton(self)
            b.setText(mode.capitalize())
            b.setCheckable(True)
            b.setToolTip(tips[mode])
            b.setObjectName(f"mode_{mode}")
            self._group.addButton(b, i)
            lay.addWidget(b)
            self.buttons[mode] = b
        self.buttons["run"].setChecked(True)
        self.setStyleSheet(
            "QToolButton { padding: 3px 10px; border: 1px solid palette(mid); }"
            f" QToolButton#mode_pilot:checked {{ background: {PILOT}; color: black; font-weight: 700; }}"
            " QToolButton#mode_run:checked { font-weight: 700; }"
        )
        self._group.idToggled.connect(self._toggled)

    @property
    def mode(self) -> str:
        """``"run"`` or ``"pilot"``."""
        return "pilot" if self.buttons["pilot"].isChecked() else "run"

    def set_mode(self, mode: str) -> None:
        """Choose ``"run"`` or ``"pilot"`` (emits ``modeChanged`` when it changes). Raises ValueError."""
        if mode not in MODES:
            raise ValueError(f"mode must be 'run' or 'pilot', not {mode!r}")
        self.buttons[mode].setChecked(True)

    def _toggled(self, idx: int, checked: bool) -> None:
        if checked:
            self.modeChanged.emit(MODES[idx])


class PilotBadge(QLabel):
    """An orange PILOT badge (PsychoPy's piloting orange), shown while a pilot run is in progress."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("PILOT", parent)
        self.setObjectName("pilotBadge")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet(
            f"QLabel {{ background: {PILOT}; color: black; border-radius: 11px; padding: 3px 12px;"
            " font-weight: 800; letter-spacing: 1px; }"
        )
        self.setToolTip(
            "A pilot run is in progress (PsychoPy's pilot mode): its data go to the data folder's pilot/\n"
            "and are marked pilot; the stimulus window has an orange border"
        )
        self.hide()


def ask_real_run(
    parent: QWidget, experiment: str, participant: str, *, after_pilot: bool, planned: bool = False
) -> QMessageBox:
    """The question before a real run that follows pilot runs (or whose participant is ``"pilot"``):
    a window-modal box opened with ``open()`` (no nested event loop) with "Run for real" (object
    name ``runForReal``, accept role) and "Cancel"; the caller connects to its ``buttonClicked``.
    ``planned``: the pilot runs come earlier in the same plan. Returns the box, shown."""
    name = Path(experiment).stem
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("A real run after piloting?")
    if planned:
        text = f"This plan runs <b>{name}</b> for real after pilot runs of it."
    elif after_pilot:
        text = f"The last run of <b>{name}</b> was a pilot run. This one is a <b>real run</b>."
    else:
        text = f"This is a <b>real run</b> of <b>{name}</b>, but its participant is “{PILOT_PARTICIPANT}”."
    box.setText(text)
    info = (
        f"Its data go to the data folder as participant “{participant or '(none)'}”, with no pilot mark"
        " and no orange border."
    )
    if participant.strip().lower() == PILOT_PARTICIPANT:
        info += f" The participant is still “{PILOT_PARTICIPANT}”: cancel and change it unless that is meant."
    box.setInformativeText(info + " To try the task again instead, choose Pilot.")
    box.setTextFormat(Qt.TextFormat.RichText)
    go = box.addButton("Run for real", QMessageBox.ButtonRole.AcceptRole)
    go.setObjectName("runForReal")
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.open()
    return box


class PilotControls(QObject):
    """Pilot mode for the main window: the switch, the badge, the form's participant, the question.

    Args:
        form: the window's :class:`~rigconsole.ui.expinfo_form.ExpInfoForm`.
        after_pilot: ``after_pilot(key) -> bool`` (the run controller's, from the run queue).
        parent: the main window (the question's parent).

    Attributes:
        switch: the :class:`RunModeSwitch` (the window puts it in its toolbar).
        badge: the :class:`PilotBadge` (the window puts it beside the state pill).
        question: the last question box shown (:meth:`run`), or ``None``.
    """

    def __init__(self, form, after_pilot: Callable[[str], bool], parent: QWidget):
        super().__init__(parent)
        self._form = form
        self._after_pilot = after_pilot
        self._window = parent
        self.switch = RunModeSwitch(parent)
        self.badge = PilotBadge(parent)
        self.question: QMessageBox | None = None
        self._kept: dict[str, object] = {}  # the participant values the Pilot choice replaced
        self._badge_action = None  # the toolbar's action holding the badge (place_badge)
        self.switch.modeChanged.connect(self._mode_changed)

    @property
    def mode(self) -> str:
        """``"run"`` or ``"pilot"``: what Run starts."""
        return self.switch.mode

    # ------------------------------------------------------------ the form's participant
    def _participant_fields(self) -> list[str]:
        return [name for name in PARTICIPANT_ALIASES if name in self._form.editors]

    def _mode_changed(self, mode: str) -> None:
        if mode == "pilot":
            self.fill_form()
        else:  # back to Run: the participant the Pilot choice replaced (unless it was edited since)
            values = self._form.values()
            back = {k: v for k, v in self._kept.items() if values.get(k) == PILOT_PARTICIPANT}
            self._kept = {}
            if back:
                self._form.set_values(back)

    def fill_form(self) -> None:
        """In Pilot mode, make the form's participant ``"pilot"`` (PsychoPy's pilot mode replaces the
        participant ID the same way); the value replaced comes back with the Run choice. The window
        calls this after it shows another experiment's form."""
        if self.mode != "pilot":
            return
        values = self._form.values()
        change = {k: PILOT_PARTICIPANT for k in self._participant_fields() if values.get(k) != PILOT_PARTICIPANT}
        for k in change:  # the latest real value (another experiment's form may have come in meanwhile)
            self._kept[k] = values.get(k)
        if change:
            self._form.set_values(change)

    # ------------------------------------------------------------ runs
    def run(self, key: str, values: dict, start: Callable[[str, dict, str], bool]) -> bool:
        """Start ``key`` with ``values`` in the chosen mode through ``start(key, values, mode)``, after
        asking once when a real run follows pilot runs of it or its participant is ``"pilot"``.
        Returns what ``start`` returned, or ``False`` while the question is open (its "Run for real"
        starts the run)."""
        mode = self.mode
        participant = next((str(values[k]) for k in PARTICIPANT_ALIASES if k in values), "")
        after = mode == "run" and bool(self._after_pilot(key))
        if mode == "run" and (after or participant.strip().lower() == PILOT_PARTICIPANT):
            if self.question is not None:
                self.question.close()
            box = ask_real_run(self._window, key, participant, after_pilot=after)

            def answered(button) -> None:
                self.question = None
                if box.buttonRole(button) == QMessageBox.ButtonRole.AcceptRole:
                    start(key, values, "run")

            box.buttonClicked.connect(answered)
            self.question = box
            return False
        return start(key, values, mode)

    def place_badge(self, toolbar) -> None:
        """Put the badge in ``toolbar`` (a QToolBar shows or hides a widget through its action)."""
        self._badge_action = toolbar.addWidget(self.badge)
        self._badge_action.setVisible(False)

    def _show_badge(self, on: bool) -> None:
        if self._badge_action is not None:
            self._badge_action.setVisible(on)
        else:
            self.badge.setVisible(on)

    def run_started(self, rec) -> None:
        """A run started (the bridge's ``runStarted``): the badge shows for a pilot run."""
        self._show_badge(bool(rec.pilot))

    def run_ended(self, rec) -> None:
        """A run ended (the bridge's ``runEnded``): the badge goes."""
        self._show_badge(False)
