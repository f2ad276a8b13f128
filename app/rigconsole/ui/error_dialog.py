"""The Qt side of the one notification path: each notification shown once, by severity.

:class:`NotificationPresenter` subscribes to a Qt-free
:class:`~rigconsole.notifications.NotificationManager` (any thread; a queued Qt
signal carries each notification to the GUI thread) and shows it once:

- an uncaught exception (main thread, worker threads, asyncio tasks, async
  slots): :class:`ErrorDialog`, one non-modal dialog with the message and the
  log file's path (``show()``, never ``exec()`` or ``open()``: the event loop,
  the stimulus window, any run and the console's own buttons go on). Further
  errors while it is open update it ("3 more errors since") instead of
  stacking dialogs;
- any other ``ERROR`` (data-log write error, failed run, monitoring task):
  the window's banner (``show_banner``);
- ``WARNING`` (an instrument went down): the status bar (``show_status``);
- ``INFO``: nothing more (the dispatcher's log record is in the log panel
  and the log file, as every notification's is).

The composition root (:mod:`rigconsole.ui.app`) makes one and hands it the
window's methods.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from ..notifications import Notification, NotificationManager, Severity

__all__ = ["ErrorDialog", "NotificationPresenter"]

#: what the banner puts before a notification's message, by source (where the message alone does not say)
_PREFIX = {"data log": "Data log: "}


class ErrorDialog:
    """The dialog for uncaught errors.

    Args:
        log_path: the log file the dialog names (``None``: "no log file").

    Attributes:
        dialog: the open :class:`QMessageBox`, or ``None``.
        shown: how many errors it has shown (the first and the ones since).
    """

    def __init__(self, log_path: Path | str | None):
        self.log_path = Path(log_path) if log_path else None
        self.dialog: QMessageBox | None = None
        self.shown = 0
        self._more = 0
        self._first = ""

    def _where(self) -> str:
        return str(self.log_path) if self.log_path else "(no log file: it could not be opened)"

    def _text(self, summary: str) -> str:
        return (
            f"<b>Something went wrong, but Rig Console is still running.</b><br><br>"
            f"{html.escape(summary)}<br><br>"
            f"If it happens again, send this log file to whoever looks after the rig:<br>"
            f"<code>{html.escape(self._where())}</code>"
        )

    def show_notification(self, notification: Notification) -> None:
        """Show an uncaught error (GUI thread): a new dialog, or a line in the open one."""
        summary, details = notification.message, notification.details
        self.shown += 1
        if self.dialog is not None and self.dialog.isVisible():
            self._more += 1
            self.dialog.setInformativeText(
                f"{self._more} more error{'s' if self._more > 1 else ''} since; the last: {summary}"
            )
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


class NotificationPresenter(QObject):
    """Shows each notification of ``manager`` once, by severity (see the module docstring).

    Args:
        manager: the :class:`~rigconsole.notifications.NotificationManager` to follow.
        log_path: the log file the error dialog names.
        show_banner: shows one line in the window's banner (``ERROR``).
        show_status: shows one line in the status bar (``WARNING``).

    Attributes:
        error_dialog: the :class:`ErrorDialog`.
        shown: ``(where, notification)`` for each one shown, ``where`` one of
            ``"dialog"``, ``"banner"``, ``"status"``, ``"log"``, oldest first (the
            last 200).
    """

    _relay = Signal(object)

    def __init__(
        self,
        manager: NotificationManager,
        *,
        log_path: Path | str | None,
        show_banner: Callable[[str], None],
        show_status: Callable[[str], None],
        parent: QObject | None = None,
    ):
        super().__init__(parent)  # made on the GUI thread: the queued relay delivers there
        self.error_dialog = ErrorDialog(log_path)
        self.shown: list[tuple[str, Notification]] = []
        self._manager = manager
        self._show_banner, self._show_status = show_banner, show_status
        self._relay.connect(self._present, Qt.ConnectionType.QueuedConnection)
        manager.notified.connect(self._from_any_thread)

    def _from_any_thread(self, n: Notification) -> None:
        if QThread.currentThread() is self.thread():
            self._present(n)  # the GUI thread: at once, as a direct call would
        else:
            self._relay.emit(n)  # a worker thread: queued to the GUI thread

    def _present(self, n: Notification) -> None:
        if n.uncaught:
            where = "dialog"
            self.error_dialog.show_notification(n)
        elif n.severity >= Severity.ERROR:
            where = "banner"
            self._show_banner(_PREFIX.get(n.source, "") + n.message)
        elif n.severity >= Severity.WARNING:
            where = "status"
            self._show_status(n.message)
        else:
            where = "log"
        self.shown = (self.shown + [(where, n)])[-200:]

    def close(self) -> None:
        """Stop following the manager and close the dialog (idempotent)."""
        try:
            self._manager.notified.disconnect(self._from_any_thread)
        except (ValueError, RuntimeError):
            pass
        self.error_dialog.close()
