"""The Instruments dock: each instrument's state (colour and words), its last values with
units, connect/disconnect, a command line with the reply and a history, and the rig
file's errors.

It subscribes to the :class:`~rigconsole.instruments.InstrumentManager`'s psygnal
events, which come from the instruments' worker threads; a small QObject re-emits
them as Qt signals delivered queued on the GUI thread. Readings are coalesced and
shown at most every 250 ms (a 10 Hz channel does not repaint the dock 10 times a
second during a run). The dock never does VISA I/O: commands go to the
instrument's worker and their replies come back as futures.

Readings show whole, with their unit (``100.855 cd/m^2``): the dock asks for the
width its rows need (:meth:`InstrumentsDock.fit_width`, at most
:data:`MAX_FIT_WIDTH`) as its minimum, so the console's first layout gives it
room, and a reading longer than its column elides in the middle
(``1.2345…cd/m^2``), keeping both its leading digits and its unit.
"""

from __future__ import annotations

import html
import logging
import time
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QIcon, QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..instruments import InstrumentManager, RigFileError, SetpointError
from ..views.palette import ERROR, INSTRUMENT_STATES, instrument_look

__all__ = ["InstrumentsDock"]

log = logging.getLogger(__name__)

HISTORY_MAX = 200
#: columns of the instrument list
COL_NAME, COL_READING, COL_AGE = 0, 1, 2
#: the widest the dock asks to be to show its rows whole, px (longer readings elide in the middle)
MAX_FIT_WIDTH = 480
#: the most rows the dock asks room for (more scroll)
MAX_FIT_ROWS = 12
#: a reading as wide as most (six significant digits and a sign), to size the reading column by
_TYPICAL_NUMBER = "-000.000"


def _dot(colour: str) -> QIcon:
    pm = QPixmap(12, 12)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor(colour))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(1, 1, 10, 10)
    p.end()
    return QIcon(pm)


class _Relay(QObject):
    """Qt face of the manager's events (emitted from worker threads, delivered on the GUI thread)."""

    stateChanged = Signal(str, str, str)
    reading = Signal(str, str, float, float, str)
    reply = Signal(str, str, str, bool)  # instrument, command, reply or error, ok
    taskFailed = Signal(str, str)


class _CommandLine(QLineEdit):
    """A line edit with a history recalled by the Up and Down keys."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.history: list[str] = []
        self._pos = 0

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
            del self.history[:-HISTORY_MAX]
        self._pos = len(self.history)

    def keyPressEvent(self, ev: QKeyEvent) -> None:  # noqa: N802 (Qt)
        if ev.key() == Qt.Key.Key_Up and self.history:
            self._pos = max(0, self._pos - 1)
            self.setText(self.history[self._pos])
        elif ev.key() == Qt.Key.Key_Down and self.history:
            self._pos = min(len(self.history), self._pos + 1)
            self.setText(self.history[self._pos] if self._pos < len(self.history) else "")
        else:
            super().keyPressEvent(ev)


def _age_text(age_s: float) -> str:
    """How old a reading is, in few characters: ``now``, ``12 s``, ``5 min``, ``3 h``."""
    if age_s < 2:
        return "now"
    if age_s < 120:
        return f"{age_s:.0f} s"
    if age_s < 7200:
        return f"{age_s / 60:.0f} min"
    return f"{age_s / 3600:.0f} h"


def _html(text: str) -> str:
    return html.escape(text)


class InstrumentsDock(QDockWidget):
    """``InstrumentsDock(manager=None, parent=None)``; :meth:`set_manager`, :meth:`show_rig_error`.

    Columns: instrument or channel, state or last reading with its unit, age
    of the reading. Select an instrument (or one of its channels) to connect,
    disconnect or send it a command: a text with '?' is a SCPI query (the
    reply is shown), anything else a write. Setpoint limits hold for typed
    commands too.
    """

    def __init__(self, manager: InstrumentManager | None = None, parent: QWidget | None = None):
        super().__init__("Instruments", parent)
        self.setObjectName("instruments_dock")
        self._manager: InstrumentManager | None = None
        self._relay = _Relay(self)
        self._relay.stateChanged.connect(self._on_state, Qt.ConnectionType.QueuedConnection)
        self._relay.reading.connect(self._on_reading, Qt.ConnectionType.QueuedConnection)
        self._relay.reply.connect(self._on_reply, Qt.ConnectionType.QueuedConnection)
        self._relay.taskFailed.connect(self._on_task_failed, Qt.ConnectionType.QueuedConnection)
        self._items: dict[str, QTreeWidgetItem] = {}
        self._channel_items: dict[tuple[str, str], QTreeWidgetItem] = {}
        self._pending: dict[tuple[str, str], tuple[float, float, str]] = {}
        self._shown_t: dict[tuple[str, str], float] = {}

        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        self.rig_label = QLabel("no rig file", body)
        self.error_label = QLabel(body)
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setStyleSheet(f"color: {ERROR}; background: #fdecea; padding: 4px;")
        self.error_label.hide()
        self.tree = QTreeWidget(body)
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Instrument", "State / reading", "Age"])
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_READING, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_AGE, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # keep the leading digits and the unit
        self.tree.setRootIsDecorated(True)
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.detail_label = QLabel(body)
        self.detail_label.setWordWrap(True)
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        self.connect_button = QPushButton("Connect", body)
        self.disconnect_button = QPushButton("Disconnect", body)
        self.connect_button.clicked.connect(self._connect_selected)
        self.disconnect_button.clicked.connect(self._disconnect_selected)
        buttons.addWidget(self.connect_button)
        buttons.addWidget(self.disconnect_button)
        buttons.addStretch(1)
        self.command_line = _CommandLine(body)
        self.command_line.setPlaceholderText("SCPI command for the selected instrument, e.g. *IDN?  (Enter sends)")
        self.command_line.returnPressed.connect(self._send)
        self.history = QPlainTextEdit(body)
        self.history.setReadOnly(True)
        self.history.setMaximumBlockCount(HISTORY_MAX * 2)
        self.history.setPlaceholderText("commands and replies")
        lay.addWidget(self.rig_label)
        lay.addWidget(self.error_label)
        lay.addWidget(self.tree, 3)
        lay.addWidget(self.detail_label)
        lay.addLayout(buttons)
        lay.addWidget(self.command_line)
        lay.addWidget(self.history, 1)
        self.setWidget(body)

        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self._refresh)
        self._timer.start()
        if manager is not None:
            self.set_manager(manager)
        self._update_buttons()

    # ------------------------------------------------------------------ public

    @property
    def manager(self) -> InstrumentManager | None:
        return self._manager

    def set_manager(self, manager: InstrumentManager | None) -> None:
        """Show this manager's instruments (``None``: none). Clears a shown rig-file error."""
        self._disconnect_manager()
        self._manager = manager
        self.tree.clear()
        self._items.clear()
        self._channel_items.clear()
        self._pending.clear()
        self._shown_t.clear()
        if manager is None:
            self.rig_label.setText("no rig file")
            self._update_buttons()
            return
        self.error_label.hide()
        self.rig_label.setText(f"rig: {manager.config.rig}  ({len(manager.instruments)} instruments)")
        ev = manager.events
        ev.state_changed.connect(self._relay.stateChanged.emit)
        ev.reading.connect(self._relay.reading.emit)
        ev.task_failed.connect(self._relay.taskFailed.emit)
        for name, inst in manager.instruments.items():
            item = QTreeWidgetItem(self.tree, [name, "", ""])
            item.setData(0, Qt.ItemDataRole.UserRole, name)
            item.setToolTip(0, f"{inst.config.resource}\n{inst.config.description}".strip())
            self._items[name] = item
            for ch_name, ch in inst.channels.items():
                child = QTreeWidgetItem(item, [ch_name, "-", ""])
                child.setData(0, Qt.ItemDataRole.UserRole, name)
                child.setData(COL_READING, Qt.ItemDataRole.UserRole + 2, ch.unit)
                child.setToolTip(0, ch.description or (ch.query or ch.property or ""))
                self._channel_items[(name, ch_name)] = child
                r = inst.last(ch_name)
                if r is not None:
                    self._pending[(name, ch_name)] = (r.t, r.value, r.unit)
            item.setExpanded(True)
            self._show_state(name, inst.state.value, inst.message)
        if self.tree.topLevelItemCount():
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        self._refresh()
        self.tree.setMinimumWidth(self.fit_width())
        self.tree.setMinimumHeight(self.fit_height())

    def show_rig_error(self, error: RigFileError | str) -> None:
        """Show the rig file's problems (one line each) in the dock, above the instruments."""
        text = "\n".join(error.problems) if isinstance(error, RigFileError) else str(error)
        self.error_label.setText("The rig file has problems; fix them and reopen it:\n" + text)
        self.error_label.show()

    @property
    def rig_error_text(self) -> str:
        return "" if self.error_label.isHidden() else self.error_label.text()

    def state_message(self, name: str) -> str:
        """Why the instrument is in its shown state (the last message), as shown under the list."""
        return self._items[name].data(1, Qt.ItemDataRole.UserRole + 1) or ""

    def shown_state(self, name: str) -> str:
        """The state word shown for an instrument ("connected", "down"...)."""
        return self._items[name].data(1, Qt.ItemDataRole.UserRole) or ""

    def value_text(self, name: str, channel: str) -> str:
        """The channel's last reading, the number alone (``"100.855"``; ``"-"`` before the first)."""
        item = self._channel_items[(name, channel)]
        return item.data(COL_READING, Qt.ItemDataRole.UserRole + 3) or "-"

    def reading_text(self, name: str, channel: str) -> str:
        """The channel's reading as the dock shows it, with its unit (``"100.855 cd/m^2"``)."""
        return self._channel_items[(name, channel)].text(COL_READING)

    def fit_height(self) -> int:
        """The list's height, px, that shows every instrument and channel row (at most
        :data:`MAX_FIT_ROWS` of them) under its header. Set as its minimum height by :meth:`set_manager`."""
        tree = self.tree
        rows = min(MAX_FIT_ROWS, len(self._items) + len(self._channel_items))
        row_h = max(tree.sizeHintForRow(0), tree.fontMetrics().height() + 2) if rows else 0
        frame = 2 * tree.frameWidth()
        return tree.header().sizeHint().height() + rows * row_h + frame + 2

    def fit_width(self) -> int:
        """The list's width, px, that shows every row whole: instrument and channel names, the
        state words, a reading of :data:`_TYPICAL_NUMBER`'s width with its unit, and its age;
        at most :data:`MAX_FIT_WIDTH`. Set as the list's minimum width by :meth:`set_manager`."""
        tree, fm = self.tree, self.tree.fontMetrics()
        style = tree.style()
        margin = 2 * (style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, tree) + 1) + 6
        icon = tree.iconSize().width() if tree.iconSize().isValid() else 16
        header = tree.header()
        widths = [header.sectionSizeHint(c) for c in range(tree.columnCount())]
        step = tree.indentation()
        for item in [*self._items.values(), *self._channel_items.values()]:
            depth = 1 if item.parent() is None else 2  # the root is decorated: top-level rows are indented too
            widths[COL_NAME] = max(widths[COL_NAME], depth * step + fm.horizontalAdvance(item.text(COL_NAME)) + margin)
            if item.parent() is None:
                words = max(
                    (look.word for look in INSTRUMENT_STATES.values()), key=fm.horizontalAdvance
                )  # the widest state
                need = icon + 4 + fm.horizontalAdvance(words)
            else:
                unit = item.data(COL_READING, Qt.ItemDataRole.UserRole + 2) or ""
                need = fm.horizontalAdvance(max(item.text(COL_READING), f"{_TYPICAL_NUMBER} {unit}".strip(), key=len))
            widths[COL_READING] = max(widths[COL_READING], need + margin)
        widths[COL_AGE] = max(widths[COL_AGE], fm.horizontalAdvance("119 min") + margin)
        frame = 2 * tree.frameWidth() + style.pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, tree)
        return min(MAX_FIT_WIDTH, sum(widths) + frame)

    def close(self) -> bool:  # noqa: D102 - disconnects from the manager first
        self._timer.stop()
        self._disconnect_manager()
        return super().close()

    # ------------------------------------------------------------------ slots (GUI thread)

    def _disconnect_manager(self) -> None:
        m = self._manager
        if m is None:
            return
        for sig, slot in (
            (m.events.state_changed, self._relay.stateChanged.emit),
            (m.events.reading, self._relay.reading.emit),
            (m.events.task_failed, self._relay.taskFailed.emit),
        ):
            try:
                sig.disconnect(slot)
            except Exception:  # noqa: BLE001 - already disconnected
                pass

    def _show_state(self, name: str, state: str, message: str) -> None:
        item = self._items.get(name)
        if item is None:
            return
        look = instrument_look(state)
        colour = look.colour
        item.setData(1, Qt.ItemDataRole.UserRole, state)
        item.setData(1, Qt.ItemDataRole.UserRole + 1, message)
        item.setIcon(1, _dot(colour))
        item.setText(1, look.word)
        item.setForeground(1, QBrush(QColor(colour)))
        item.setToolTip(1, f"*IDN? {message}" if state == "connected" and message else message)
        live = state in ("connected", "degraded")
        for i in range(item.childCount()):  # values of an instrument that is not replying are stale: grey
            item.child(i).setForeground(1, QBrush(QColor("#000000" if live else "#9e9e9e")))
        self._update_buttons()

    @Slot(str, str, str)
    def _on_state(self, name: str, state: str, message: str) -> None:
        self._show_state(name, state, message)

    @Slot(str, str, float, float, str)
    def _on_reading(self, name: str, channel: str, t: float, value: float, unit: str) -> None:
        self._pending[(name, channel)] = (t, value, unit)

    def _refresh(self) -> None:
        pending, self._pending = self._pending, {}
        for key, (t, value, unit) in pending.items():
            item = self._channel_items.get(key)
            if item is not None:
                number = f"{value:.6g}"
                unit = unit or item.data(COL_READING, Qt.ItemDataRole.UserRole + 2) or ""
                text = f"{number} {unit}".strip()
                item.setData(COL_READING, Qt.ItemDataRole.UserRole + 3, number)
                item.setText(COL_READING, text)
                item.setToolTip(COL_READING, f"{text} at {time.strftime('%H:%M:%S', time.localtime(t))}")
                self._shown_t[key] = t
        now = time.time()
        for key, t in self._shown_t.items():
            age = now - t
            self._channel_items[key].setText(COL_AGE, _age_text(age))

    def _selected(self) -> str | None:
        item = self.tree.currentItem()
        return None if item is None else item.data(0, Qt.ItemDataRole.UserRole)

    def _update_buttons(self) -> None:
        name = self._selected()
        inst = self._manager.instruments.get(name) if (self._manager is not None and name) else None
        state = inst.state.value if inst is not None else ""
        if inst is None:
            self.detail_label.setText("")
        else:
            item = self._items[name]
            msg = item.data(1, Qt.ItemDataRole.UserRole + 1) or ""
            shown = item.data(1, Qt.ItemDataRole.UserRole) or state
            idn = f"<br>*IDN? {inst.idn}" if inst.idn else ""
            colour = instrument_look(shown).colour
            self.detail_label.setText(
                f"<b>{name}</b> {inst.config.resource}{idn}<br>"
                f"<span style='color:{colour}'>\u25cf {shown}</span>"
                + (f": {_html(msg)}" if msg and shown != "connected" else "")
            )
        self.connect_button.setEnabled(inst is not None and state in ("disconnected", "down", "reconnecting"))
        self.disconnect_button.setEnabled(inst is not None and state != "disconnected")
        self.command_line.setEnabled(inst is not None)

    def _connect_selected(self) -> None:
        name = self._selected()
        if self._manager is not None and name:
            self._manager[name].connect()

    def _disconnect_selected(self) -> None:
        name = self._selected()
        if self._manager is not None and name:
            self._manager[name].disconnect()

    def _send(self) -> None:
        text = self.command_line.text().strip()
        name = self._selected()
        if not text or self._manager is None or not name:
            return
        self.command_line.remember(text)
        self.command_line.clear()
        self.history.appendPlainText(f"{name} > {text}")
        try:
            fut = self._manager[name].send_async(text)
        except (SetpointError, KeyError, ValueError) as err:
            self._on_reply(name, text, str(err), False)
            return
        relay = self._relay

        def done(f: Any) -> None:  # on the worker thread: hand over to the GUI thread
            err = f.exception()
            relay.reply.emit(name, text, str(err) if err else f.result(), err is None)

        fut.add_done_callback(done)

    @Slot(str, str)
    def _on_task_failed(self, task: str, message: str) -> None:
        self.history.appendPlainText(f"monitoring task {task} raised {message} (restarting)")

    @Slot(str, str, str, bool)
    def _on_reply(self, name: str, command: str, reply: str, ok: bool) -> None:
        if ok:
            self.history.appendPlainText(f"{name} < {reply}" if reply else f"{name} < (sent)")
        else:
            self.history.appendPlainText(f"{name} ! {reply}")
