"""The lab notebook in the console: Ctrl+N (or the toolbar's "Note") and the Notes dock.

Ctrl+N opens a small note box (never modal: the run goes on) that remembers
the trial running at that moment; the technician types the note and presses
Enter. While the text is empty, a number key 1-9 sets the note's marker code
(0 clears it), as Bpod's ``BpodNotebook`` and ScopeFoundry's time notes do.
The note goes to the session data log at that trial, or to the session when
idle (:func:`rigconsole.views.notebook.add_note`), and from there to every live
plot (markers), the Notes dock, the data browser, remote observers and the CSV
export.

The dock reads notes by polling the data log (:class:`~rigconsole.views.notebook.NoteFeed`),
like every live view, and only in a pump with time before the next stimulus frame.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..frame_budget import IDLE, FrameBudget
from ..views.notebook import MAX_NOTE_CHARS, NoteFeed, add_note, running_trial
from ..views.plot_sources import trial_number

__all__ = ["NoteDialog", "NotesDock", "Notebook", "attach_notebook", "place_text"]

log = logging.getLogger(__name__)


def place_text(run: str | None, trial: int | None) -> str:
    """``"trial 12 · 0002_gonogo"`` for a run's trial (numbered from 1), ``"session"`` when idle."""
    if run is None or trial is None:
        return "session"
    return f"trial {trial_number(trial)} · {run.split('/', 1)[-1]}"


class NoteLine(QLineEdit):
    """The note's text; while it is empty, keys 1-9 set the marker code and 0 clears it."""

    def __init__(self, parent: QWidget, on_marker) -> None:
        super().__init__(parent)
        self._on_marker = on_marker

    def keyPressEvent(self, ev) -> None:  # noqa: N802 (Qt)
        if (
            not self.text()
            and Qt.Key.Key_0 <= ev.key() <= Qt.Key.Key_9
            and not ev.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        ):
            self._on_marker(ev.key() - Qt.Key.Key_0 or None)
            return
        super().keyPressEvent(ev)


class NoteDialog(QDialog):
    """The box Ctrl+N opens: the place (trial or session) taken when it opened, the text, the marker code.

    Attributes:
        place: ``(run, trial)`` when the box opened (see :func:`~rigconsole.views.notebook.running_trial`).
        text: the :class:`NoteLine`; ``marker``: the code chosen (None or 1-9); ``error``: the one-line error label.
        saved: the note's row once saved (None before).
    """

    def __init__(self, parent: QWidget, data_log: Any) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add note")
        self.setObjectName("note_dialog")
        self._log = data_log
        self.place = running_trial(data_log)
        self.opened_at = time.time()
        self.marker: int | None = None
        self.saved: dict[str, Any] | None = None
        lay = QVBoxLayout(self)
        self.where = QLabel(f"Note for {place_text(*self.place)} · {time.strftime('%H:%M:%S')}", self)
        lay.addWidget(self.where)
        self.text = NoteLine(self, self.set_marker)
        self.text.setMaxLength(MAX_NOTE_CHARS)
        self.text.setPlaceholderText("What happened? (a number key first: marker code 1-9)")
        self.text.setMinimumWidth(380)
        lay.addWidget(self.text)
        self.marker_label = QLabel("no marker", self)
        self.marker_label.setStyleSheet("color: #d9480f; font-weight: 600;")
        lay.addWidget(self.marker_label)
        self.error = QLabel("", self)
        self.error.setStyleSheet("color: #b42318;")
        self.error.hide()
        lay.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.text.setFocus()

    def set_marker(self, marker: int | None) -> None:
        """Set the marker code (1-9) or clear it (None)."""
        self.marker = marker
        self.marker_label.setText(f"marker {marker}" if marker else "no marker")

    def accept(self) -> None:
        """Record the note; on bad input or a write error the box stays open with a one-line error (text kept)."""
        try:
            self.saved = add_note(self._log, self.text.text(), marker=self.marker, place=self.place)
        except Exception as err:  # noqa: BLE001 - ValueError, ReadOnlyError, DataLogWriteError: say what to fix
            self.error.setText(str(err).splitlines()[0] if str(err) else type(err).__name__)
            self.error.show()
            return
        log.info(
            "note (%s%s): %s",
            place_text(*self.place),
            f", marker {self.marker}" if self.marker else "",
            self.saved["text"],
        )
        super().accept()


class NotesDock(QDockWidget):
    """The Notes dock: every note of the session data log, newest last (time, where, marker, who, text).

    Attributes:
        table: the ``QTableWidget``; ``add_button``: "Add note…"; ``feed``: the
        :class:`~rigconsole.views.notebook.NoteFeed`; ``timer``: the poll timer.
    """

    COLUMNS = ["time", "where", "marker", "who", "note"]

    def __init__(self, parent: QWidget | None = None, *, data_log: Any = None, poll_hz: float = 4.0) -> None:
        super().__init__("Notes", parent)
        self.setObjectName("dock_notes")
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        self.table = QTableWidget(0, len(self.COLUMNS), body)
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(len(self.COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add note… (Ctrl+N)", body)
        row.addStretch(1)
        row.addWidget(self.add_button)
        lay.addLayout(row)
        self.setWidget(body)
        self.feed = NoteFeed(data_log)
        self._budget: FrameBudget = IDLE
        self.timer = QTimer(self)
        self.timer.setInterval(max(50, int(1000 / poll_hz)))
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    def use_budget(self, budget: FrameBudget | None) -> None:
        """Poll only in a pump with a few ms before the next stimulus frame."""
        self._budget = IDLE if budget is None else budget

    def use_data_log(self, data_log: Any) -> None:
        """List the notes of another data log (a new data folder)."""
        self.feed.use_data_log(data_log)
        self.table.setRowCount(0)
        self.poll()

    def poll(self, force: bool = False) -> bool:
        """Add the notes new in the log to the table; True if any. Waits for a pump with 4 ms before the
        next stimulus frame unless ``force`` (the technician just saved a note: show it now)."""
        if not force and self._budget.time_left() < 0.004:
            return False
        seen = len(self.feed.notes)
        if not self.feed.poll():
            return False
        for note in self.feed.notes[seen:]:
            f = note.get("fields") or {}
            cells = [
                time.strftime("%H:%M:%S", time.localtime(note["t"])),
                place_text(f.get("run"), f.get("trial")),
                str(f.get("marker") or ""),
                note.get("source", ""),
                note.get("text", ""),
            ]
            r = self.table.rowCount()
            self.table.insertRow(r)
            for c, v in enumerate(cells):
                item = QTableWidgetItem(v)
                item.setToolTip(v)
                self.table.setItem(r, c, item)
        self.table.scrollToBottom()
        return True

    def texts(self) -> list[str]:
        """The notes' texts, in table order."""
        return [self.table.item(r, len(self.COLUMNS) - 1).text() for r in range(self.table.rowCount())]


class Notebook:
    """The Ctrl+N action, the Notes dock and the open note box of one main window (see :func:`attach_notebook`).

    Attributes:
        action: the "Note…" ``QAction`` (Ctrl+N, in the toolbar and the Run menu); ``dock``: :class:`NotesDock`;
        dialog: the note box open now (None when none).
    """

    def __init__(self, window: QMainWindow, data_log: Any) -> None:
        self.window = window
        self.data_log = data_log
        self.dialog: NoteDialog | None = None
        self.dock = NotesDock(window, data_log=data_log)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock, Qt.Orientation.Horizontal)
        window.restoreDockWidget(self.dock)
        self.dock.show()  # the window may be showing already: a dock added now needs its own show()
        self.action = QAction("&Note…", window)
        self.action.setIcon(window.style().standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView))
        self.action.setShortcut(QKeySequence("Ctrl+N"))
        self.action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.action.setToolTip("Add a note to the running trial, or to the session when idle (Ctrl+N)")
        self.action.triggered.connect(self.open_note)
        window.addAction(self.action)
        self.dock.add_button.clicked.connect(self.open_note)

    def open_note(self) -> NoteDialog:
        """Open the note box (non-modal) for the trial running now; returns it."""
        if self.dialog is not None:
            self.dialog.raise_()
            self.dialog.activateWindow()
            return self.dialog
        self.dialog = dlg = NoteDialog(self.window, self.data_log)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.finished.connect(self._closed)
        dlg.open()
        return dlg

    def _closed(self, _result: int) -> None:
        self.dialog = None
        self.dock.poll(force=True)

    def use_data_log(self, data_log: Any) -> None:
        """Notes go to (and are read from) another data log (a new data folder)."""
        self.data_log = data_log
        self.dock.use_data_log(data_log)


def attach_notebook(
    window: QMainWindow,
    data_log: Any,
    *,
    toolbar: Any = None,
    after: QAction | None = None,
    run_menu: Any = None,
    view_menu: Any = None,
    budget: FrameBudget | None = None,
    data_log_changed: Any = None,
) -> Notebook:
    """Give ``window`` the notebook: the Ctrl+N "Note…" action (in ``toolbar`` after ``after``, and in
    ``run_menu``), the Notes dock (its toggle in ``view_menu``, polling within ``budget``), following
    ``data_log_changed(data_log)`` (a signal, e.g. the rig's ``events.data_log_changed``) when given.
    """
    nb = Notebook(window, data_log)
    nb.dock.use_budget(budget)
    if toolbar is not None:
        acts = toolbar.actions()
        i = acts.index(after) + 1 if after in acts else len(acts)
        if i < len(acts):
            toolbar.insertAction(acts[i], nb.action)
        else:
            toolbar.addAction(nb.action)
    if run_menu is not None:
        run_menu.addAction(nb.action)
    if view_menu is not None:
        view_menu.addAction(nb.dock.toggleViewAction())
    if data_log_changed is not None:
        data_log_changed.connect(nb.use_data_log)
    return nb
