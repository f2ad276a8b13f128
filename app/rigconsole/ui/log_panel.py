"""The log panel: Python ``logging`` records shown in the console, from any thread.

:class:`QtLogHandler` is a ``logging.Handler`` that formats a record in the
emitting thread and hands the text to the GUI thread through a queued Qt
signal, so experiments, instrument threads and asyncio tasks may all log.
:class:`LogPanel` shows the lines, keeps at most ``max_lines`` of them and
colours warnings amber and errors red.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont, QFontDatabase, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from ..views.palette import ERROR, WARNING

__all__ = ["QtLogHandler", "LogPanel"]

#: warnings amber, errors red: the palette's (rigconsole.views.palette)
_LEVEL_LOOK = {
    logging.WARNING: QColor(WARNING),
    logging.ERROR: QColor(ERROR),
}


class _Emitter(QObject):
    record = Signal(int, str)


class QtLogHandler(logging.Handler):
    """A thread-safe ``logging.Handler`` whose records arrive on the GUI thread.

    Connect to :attr:`emitter` ``.record(levelno: int, text: str)``. The
    emitter lives in the thread that created the handler (the GUI thread), so
    a record logged from another thread is delivered through Qt's queued
    connection; one logged on the GUI thread is delivered at once.
    """

    def __init__(self, level: int = logging.INFO):
        super().__init__(level)
        self.emitter = _Emitter()
        self.setFormatter(logging.Formatter("%(asctime)s  %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            self.emitter.record.emit(record.levelno, text)
        except RuntimeError:  # the emitter's C++ object is gone (shutdown)
            pass
        except Exception:
            self.handleError(record)


class LogPanel(QWidget):
    """Read-only view of log records, newest at the bottom.

    Installs a :class:`QtLogHandler` on the root logger (level ``level``) and
    makes sure the ``"rigconsole"`` logger lets INFO records through, so that
    records from ``rigconsole.*`` and from other libraries both appear.
    Call :meth:`close_handler` (done by :meth:`closeEvent`) to detach it.

    Attributes:
        text: the ``QPlainTextEdit`` holding the lines (tests read
            ``text.toPlainText()``).
        max_lines: cap on the number of lines kept (old ones are dropped).
    """

    def __init__(self, parent: QWidget | None = None, *, level: int = logging.INFO, max_lines: int = 5000):
        super().__init__(parent)
        self.max_lines = max_lines
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(max_lines)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlaceholderText("Log messages from the console and the experiments appear here.")
        clear = QPushButton("Clear", self)
        clear.setToolTip("Clear the log panel (the session log file is kept)")
        clear.clicked.connect(self.text.clear)
        bar = QHBoxLayout()
        bar.addStretch(1)
        bar.addWidget(clear)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.text, 1)
        lay.addLayout(bar)

        self.handler = QtLogHandler(level)
        self.handler.emitter.record.connect(self.append_record, Qt.ConnectionType.AutoConnection)
        root = logging.getLogger()
        root.addHandler(self.handler)
        if root.level == logging.NOTSET or root.level > level:
            self._old_root_level = root.level
            root.setLevel(level)
        else:
            self._old_root_level = None
        rc = logging.getLogger("rigconsole")
        self._old_rc_level = rc.level
        if rc.getEffectiveLevel() > level:
            rc.setLevel(level)

    @Slot(int, str)
    def append_record(self, levelno: int, text: str) -> None:
        """Append one record's text (possibly several lines, e.g. a traceback)."""
        fmt = QTextCharFormat()
        colour = (
            _LEVEL_LOOK[logging.ERROR]
            if levelno >= logging.ERROR
            else _LEVEL_LOOK[logging.WARNING]
            if levelno >= logging.WARNING
            else None
        )
        if colour is not None:
            fmt.setForeground(colour)
        if levelno >= logging.ERROR:
            fmt.setFontWeight(QFont.Weight.DemiBold)
        bar = self.text.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 2
        cursor = QTextCursor(self.text.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if not self.text.document().isEmpty():
            cursor.insertBlock()
        cursor.insertText(text.rstrip("\n"), fmt)
        if at_bottom:
            bar.setValue(bar.maximum())

    def lines(self) -> list[str]:
        """The shown lines, oldest first."""
        return self.text.toPlainText().splitlines()

    def close_handler(self) -> None:
        """Detach the log handler (idempotent)."""
        root = logging.getLogger()
        if self.handler in root.handlers:
            root.removeHandler(self.handler)
            if self._old_root_level is not None:
                root.setLevel(self._old_root_level)
            logging.getLogger("rigconsole").setLevel(self._old_rc_level)
            try:
                self.handler.emitter.record.disconnect(self.append_record)
            except (RuntimeError, TypeError):
                pass

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt)
        self.close_handler()
        super().closeEvent(event)
