"""The Trial control dock: repeat, skip, pause at the end of the loop or after this trial, edit expInfo,
upcoming trials.

The buttons act on the run in progress through the run owner's
:class:`~rigconsole.session.trial_control.TrialControl` (``rig.queue.trial_control``),
as ``"console"``; each action is recorded there as an annotation. An action the
running loop cannot do (a staircase, a script without a PsychoPy loop, no run)
is greyed, its tooltip saying why (:meth:`TrialControl.availability`). The
"Upcoming trials" table lists the next conditions (``getFutureTrials``).

Trials are numbered from 1 here, as in the rest of the console (PsychoPy's
``thisN`` + 1; the annotations and the remote API keep ``thisN``).

The dock reads the state by polling (four times a second, only in a pump with a
few ms before the next stimulus frame), and at once after each action.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..frame_budget import IDLE, FrameBudget
from ..session.trial_control import TrialControlError

__all__ = ["TrialControlDock", "attach_trial_control"]

log = logging.getLogger(__name__)

#: what each button does, its tooltip when it can be done
HELP = {
    "repeat": "End this trial now and run it again from its start (its cut-short row stays in the data)",
    "next": "End this trial now; the loop goes on to the next trial",
    "skip": "End this trial now and skip the next N trials (PsychoPy's skipTrials)",
    "pause_loop": (
        "Let this loop (block) run to its last trial, then pause the run right after it, before what comes next;"
        " Resume goes on. Click again to cancel"
    ),
    "pause_trial": "Pause the run after the trial in progress, when the loop next iterates (PsychoPy's pauseLoop); Resume goes on",
    "exp_info": "Change one expInfo value for the rows from now on (PsychoPy's setCurrentExpInfoItem)",
}


class TrialControlDock(QDockWidget):
    """The dock (see the module docstring).

    Args:
        trial_control: the run owner's :class:`~rigconsole.session.trial_control.TrialControl`.
        poll_hz: how often the state is read while the dock is shown.

    Attributes:
        buttons: ``{action: QPushButton}`` for ``repeat``, ``next``, ``skip``, ``pause_loop``, ``pause_trial``,
            ``exp_info``; ``pause_loop`` is checkable: checked while its pause is pending (armed).
        skip_n: the N of "Skip N"; ``key`` / ``value``: the expInfo field and its new value.
        upcoming: the upcoming-trials table; ``where``: the loop and trial line; ``error``: the last refusal.
    """

    N_UPCOMING = 6
    PAUSE_LOOP = "Pause at end of loop"
    PAUSE_LOOP_ARMED = "Pause armed (cancel)"

    def __init__(self, trial_control: Any, parent: QWidget | None = None, poll_hz: float = 4.0) -> None:
        super().__init__("Trial control", parent)
        self.setObjectName("trial_control_dock")
        self._tc = trial_control
        self._budget: FrameBudget = IDLE
        self._keys: list[str] = []
        body = QWidget(self)
        lay = QVBoxLayout(body)
        self.where = QLabel("No run in progress", body)
        self.where.setObjectName("trial_control_where")
        self.where.setStyleSheet("font-weight: 600;")
        lay.addWidget(self.where)
        grid = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        for col, (action, label) in enumerate((("repeat", "Repeat this trial"), ("next", "Next trial"))):
            b = QPushButton(label, body)
            self.buttons[action] = b
            grid.addWidget(b, 0, col)
        skip_row = QHBoxLayout()
        self.buttons["skip"] = QPushButton("Skip", body)
        self.skip_n = QSpinBox(body)
        self.skip_n.setRange(1, 9999)
        self.skip_n.setValue(1)
        self.skip_n.setSuffix(" trial(s)")
        skip_row.addWidget(self.buttons["skip"])
        skip_row.addWidget(self.skip_n, 1)
        grid.addLayout(skip_row, 1, 0)
        self.buttons["pause_loop"] = QPushButton(self.PAUSE_LOOP, body)
        self.buttons["pause_loop"].setCheckable(True)
        self.buttons["pause_loop"].setStyleSheet("QPushButton:checked { background: #fdb022; color: black; }")
        grid.addWidget(self.buttons["pause_loop"], 1, 1)
        self.buttons["pause_trial"] = QPushButton("Pause after this trial", body)
        grid.addWidget(self.buttons["pause_trial"], 2, 1)
        lay.addLayout(grid)
        info_row = QHBoxLayout()
        info_row.addWidget(QLabel("expInfo", body))
        self.key = QComboBox(body)
        self.key.setMinimumContentsLength(8)
        self.key.currentTextChanged.connect(self._show_value)
        self.value = QLineEdit(body)
        self.value.setPlaceholderText("new value")
        self.buttons["exp_info"] = QPushButton("Set", body)
        info_row.addWidget(self.key, 1)
        info_row.addWidget(self.value, 1)
        info_row.addWidget(self.buttons["exp_info"])
        lay.addLayout(info_row)
        self.error = QLabel("", body)
        self.error.setObjectName("trial_control_error")
        self.error.setStyleSheet("color: #b42318;")
        self.error.setWordWrap(True)
        self.error.hide()
        lay.addWidget(self.error)
        lay.addWidget(QLabel("Upcoming trials", body))
        self.upcoming = QTableWidget(0, 1, body)
        self.upcoming.setObjectName("upcoming_trials")
        self.upcoming.verticalHeader().setVisible(False)
        self.upcoming.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.upcoming.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        lay.addWidget(self.upcoming, 1)
        scroll = QScrollArea(self)  # the dock shrinks below its content (a tab beside Plan, under the trial plot)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        self.setWidget(scroll)
        self.buttons["repeat"].clicked.connect(lambda: self._act(self._tc.repeat_trial, who="console"))
        self.buttons["next"].clicked.connect(lambda: self._act(self._tc.next_trial, who="console"))
        self.buttons["skip"].clicked.connect(lambda: self._act(self._tc.skip_trials, self.skip_n.value(), "console"))
        self.buttons["pause_loop"].clicked.connect(self._toggle_loop_end_pause)
        self.buttons["pause_trial"].clicked.connect(lambda: self._act(self._tc.pause_after_trial, who="console"))
        self.buttons["exp_info"].clicked.connect(self._set_exp_info)
        self.value.returnPressed.connect(self._set_exp_info)
        self._exp_info: dict[str, Any] = {}
        self._shown: tuple = ()
        self.state: dict[str, Any] = {}
        self.timer = QTimer(self)
        self.timer.setInterval(max(50, int(1000 / poll_hz)))
        self.timer.timeout.connect(self.poll)
        self.timer.start()
        self.refresh()

    def use_budget(self, budget: FrameBudget | None) -> None:
        """Poll only in a pump with a few ms before the next stimulus frame."""
        self._budget = IDLE if budget is None else budget

    def close_dock(self) -> None:
        """Stop polling (the window is closing)."""
        self.timer.stop()

    # ------------------------------------------------------------ the state
    def poll(self) -> None:
        if not self.isVisible() or self._budget.time_left() < 0.004:
            return
        self.refresh()

    def refresh(self) -> None:
        """Read the trial-control state now and show it (buttons, tooltips, upcoming trials)."""
        try:
            st = self._tc.state(self.N_UPCOMING)
        except Exception as err:  # a run ending under us: show the idle state at the next poll
            log.debug("trial-control state unreadable: %s", err)
            return
        self.state = st
        if st["running"]:
            trial = "—" if st["trial"] is None else str(st["trial"] + 1)  # numbered from 1, as everywhere
            loop = f"{st['loop']} ({st['loop_type']})" if st["loop"] else "no PsychoPy loop"
            left = "" if st["remaining"] is None else f" · {st['remaining']} to come"
            self.where.setText(f"{st['experiment']} · {loop} · trial {trial}{left}")
        else:
            self.where.setText("No run in progress")
        for action, button in self.buttons.items():
            a = st["actions"][action]
            button.setEnabled(bool(a["enabled"]))
            button.setToolTip(HELP[action] if a["enabled"] else f"Not now: {a['reason']}")
        pending = st.get("pending_pause")
        pause = self.buttons["pause_loop"]
        pause.setChecked(pending is not None)
        if pending is not None:  # armed: the button cancels it
            pause.setEnabled(True)
            pause.setText(self.PAUSE_LOOP_ARMED)
            pause.setToolTip(
                f"A pause at the end of loop '{pending['loop']}' is asked for (by {pending['source']}); click to cancel"
            )
        else:
            pause.setText(self.PAUSE_LOOP)
        self.skip_n.setEnabled(bool(st["actions"]["skip"]["enabled"]))
        self.key.setEnabled(bool(st["actions"]["exp_info"]["enabled"]))
        self.value.setEnabled(bool(st["actions"]["exp_info"]["enabled"]))
        self._exp_info = st["exp_info"]
        keys = list(self._exp_info)  # the experiment's own order (participant first, usually)
        if keys != self._keys:
            current = self.key.currentText()
            self._keys = keys
            self.key.blockSignals(True)
            self.key.clear()
            self.key.addItems(keys)
            if current in keys:
                self.key.setCurrentText(current)
            self.key.blockSignals(False)
            self._show_value(self.key.currentText())
        self._show_upcoming(st["upcoming"])

    def _show_value(self, key: str) -> None:
        if key in self._exp_info and not self.value.hasFocus():
            self.value.setPlaceholderText(f"now: {self._exp_info[key]}")

    def _show_upcoming(self, upcoming: list[dict[str, Any]]) -> None:
        shown = tuple((u["thisN"], tuple(sorted(u["conditions"].items()))) for u in upcoming)
        if shown == self._shown:
            return
        self._shown = shown
        names: list[str] = []
        for u in upcoming:
            names += [k for k in u["conditions"] if k not in names and k != "skipped"]
        t = self.upcoming
        t.setColumnCount(1 + len(names))
        t.setHorizontalHeaderLabels(["trial", *names])
        t.setRowCount(len(upcoming))
        for r, u in enumerate(upcoming):
            t.setItem(r, 0, QTableWidgetItem(str(u["thisN"] + 1)))
            for c, name in enumerate(names, start=1):
                t.setItem(r, c, QTableWidgetItem(str(u["conditions"].get(name, ""))))
        if names:
            t.horizontalHeader().setSectionResizeMode(len(names), QHeaderView.ResizeMode.Stretch)

    # ------------------------------------------------------------- actions
    def _act(self, fn, *args, **kwargs) -> bool:
        try:
            fn(*args, **kwargs)
        except TrialControlError as err:
            self.error.setText(str(err))
            self.error.show()
            self.refresh()
            return False
        self.error.hide()
        self.refresh()
        return True

    def _toggle_loop_end_pause(self) -> None:
        if self.state.get("pending_pause") is not None:
            self._act(self._tc.cancel_loop_end_pause, who="console")
        else:
            self._act(self._tc.pause_at_loop_end, who="console")

    def _set_exp_info(self) -> None:
        key = self.key.currentText()
        if self._act(self._tc.set_exp_info, key, self.value.text(), "console"):
            self.value.clear()


def attach_trial_control(
    window: QMainWindow,
    trial_control: Any,
    *,
    view_menu: Any = None,
    budget: FrameBudget | None = None,
    tab_with: Any = None,
) -> TrialControlDock:
    """Give ``window`` the Trial control dock (right side, its toggle in ``view_menu``, polling within
    ``budget``) acting through ``trial_control`` (the rig's ``queue.trial_control``): a tab beside
    ``tab_with`` (a dock, which stays in front: the trial plot above keeps its height), unless the
    saved layout has it elsewhere."""
    dock = TrialControlDock(trial_control, parent=window)
    dock.use_budget(budget)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    if tab_with is not None:
        window.tabifyDockWidget(tab_with, dock)
    dock.show()  # made after the window was shown: hidden until shown
    if tab_with is not None:
        tab_with.raise_()
    window.restoreDockWidget(dock)  # a saved layout (Settings.window_state) puts it where the user left it
    if view_menu is not None:
        view_menu.addAction(dock.toggleViewAction())
    return dock
