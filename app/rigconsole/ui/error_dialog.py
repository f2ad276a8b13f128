"""Uncaught errors open a dialog with the message and the log file's path; the console keeps running.

The composition root's ``ErrorReporter`` turns every uncaught error (main
thread, other threads, asyncio tasks) into one ``ERROR`` record on the
``rigconsole`` logger whose message starts with ``uncaught error``. This
module adds a logging handler that shows those records in one non-modal
dialog (``show()``, never ``exec()`` or ``open()``: the event loop, the
stimulus window, any run and the console's own buttons go on). Records from other threads reach the
dialog through a queued Qt signal. Further errors while the dialog is open
update it ("3 more errors since") instead of stacking dialogs.

Usage::

    install_error_dialog(log_path)   # after the QApplication exists
"""
from __future__ import annotations

import logging
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

__all__ = ["ErrorDialogHandler", "install_error_dialog", "uninstall_error_dialog"]

#: the logger and message prefix ``ErrorReporter`` uses for uncaught errors
LOGGER = "rigconsole"
PREFIX = "uncaught error"


class _Relay(QObject):
    """Carries a record from any thread to the GUI thread (queued connection)."""

    record = Signal(str, str)  # summary, details


class ErrorDialogHandler(logging.Handler):
    """Shows uncaught-error log records in a dialog.

    Args:
        log_path: the log file the dialog names (``None``: "no log file").

    Attributes:
        dialog: the open :class:`QMessageBox`, or ``None``.
        shown: how many errors the handler has shown (the first and the ones since).
    """

    def __init__(self, log_path: Path | str | None):
        super().__init__(logging.ERROR)
        self.log_path = Path(log_path) if log_path else None
        self.dialog: QMessageBox | None = None
        self.shown = 0
        self._more = 0
        self._first = ""
        self._relay = _Relay()
        app = QApplication.instance()
        if app is not None:
            self._relay.moveToThread(app.thread())
        self._relay.record.connect(self._show, Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------------------ logging side (any thread)
    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
            if not msg.startswith(PREFIX):
                return
            summary = msg.split(": ", 1)[1] if ": " in msg else msg
            details = ""
            if record.exc_info:
                details = "".join(traceback.format_exception(*record.exc_info))
            self._relay.record.emit(summary, details)
        except Exception:  # never raise from a log handler
            self.handleError(record)

    # ------------------------------------------------------------ GUI side
    def _where(self) -> str:
        return str(self.log_path) if self.log_path else "(no log file: it could not be opened)"

    def _text(self, summary: str) -> str:
        return (f"<b>Something went wrong, but Rig Console is still running.</b><br><br>"
                f"{_escape(summary)}<br><br>"
                f"If it happens again, send this log file to whoever looks after the rig:<br>"
                f"<code>{_escape(self._where())}</code>")

    def _show(self, summary: str, details: str) -> None:
        self.shown += 1
        if self.dialog is not None and self.dialog.isVisible():
            self._more += 1
            self.dialog.setInformativeText(f"{self._more} more error{'s' if self._more > 1 else ''} since; "
                                           f"the last: {summary}")
            return
        self._more = 0
        self._first = summary
        parent = QApplication.activeWindow()
        box = QMessageBox(parent)
        box.setObjectName("rigconsole_error_dialog")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Rig Console: an error")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(self._text(summary))
        if details:
            box.setDetailedText(details)
        copy = QPushButton("Copy log path", box)
        box.addButton(copy, QMessageBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self._where()))
        if self.log_path is not None:
            folder = QPushButton("Open log folder", box)
            box.addButton(folder, QMessageBox.ButtonRole.ActionRole)
            folder.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.log_path.parent))))
        box.addButton(QMessageBox.StandardButton.Ok)
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self._dialog_closed)
        box.destroyed.connect(self._dialog_closed)
        self.dialog = box
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.show()  # not open() (window-modal: it would lock the Stop button) nor exec()

    def _dialog_closed(self, *_args) -> None:
        self.dialog = None

    def close(self) -> None:
        if self.dialog is not None:
            try:
                self.dialog.close()
            except RuntimeError:  # already deleted by Qt (WA_DeleteOnClose, app shutdown)
                pass
            self.dialog = None
        super().close()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def install_error_dialog(log_path: Path | str | None) -> ErrorDialogHandler:
    """Attach an :class:`ErrorDialogHandler` to the ``rigconsole`` logger (idempotent) and return it."""
    logger = logging.getLogger(LOGGER)
    for h in logger.handlers:
        if isinstance(h, ErrorDialogHandler):
            return h
    handler = ErrorDialogHandler(log_path)
    logger.addHandler(handler)
    return handler


def uninstall_error_dialog() -> None:
    """Remove (and close) the handler :func:`install_error_dialog` attached."""
    logger = logging.getLogger(LOGGER)
    for h in list(logger.handlers):
        if isinstance(h, ErrorDialogHandler):
            logger.removeHandler(h)
            h.close()
