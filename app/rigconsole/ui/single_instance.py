"""One console per user profile: a second launch brings the running one forward and exits.

Two consoles would fight over the subject screen and the session data file,
so the first console listens on a local socket (``QLocalServer``: a Unix
socket in the temp folder, a named pipe on Windows). A later launch connects
(``QLocalSocket``), sends ``activate``, waits for ``ok`` and exits at once,
before it imports PsychoPy or opens any window. The first console then
raises, un-minimises and activates its main window (the top-level
``QMainWindow`` named ``rigconsole_main``; no reference to it is needed).

The socket's name is per user and per settings file (``RIGCONSOLE_SETTINGS``),
so a test with its own settings never meets the technician's console. A socket
left behind by a console that crashed is removed when nobody answers on it.

Usage (the composition root, before anything heavy)::

    instance = claim_single_instance()
    if instance is None:
        return 0          # another console came forward
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication, QMainWindow, QWidget

__all__ = [
    "SingleInstance",
    "claim_single_instance",
    "instance_key",
    "bring_forward",
    "set_application_identity",
    "icon_path",
]

log = logging.getLogger("rigconsole.ui")

_ACTIVATE = b"activate\n"
_OK = b"ok\n"
#: how long a second launch waits for the running console (ms); the running one answers at once
CONNECT_TIMEOUT_MS = 1000
REPLY_TIMEOUT_MS = 500


def icon_path() -> Path:
    """``resources/icons/rigconsole.png`` of the source tree or of the installed (frozen) app."""
    from ..settings import default_root

    return default_root().parent / "icons" / "rigconsole.png"


def set_application_identity(app: QApplication) -> None:
    """Name the application "Rig Console", give it the icon, and tie it to ``rigconsole.desktop``.

    The desktop file name makes the Linux desktop (X11 WM_CLASS, Wayland app id)
    group the console's windows under the applications-menu entry and its icon.
    """
    app.setApplicationName("Rig Console")
    app.setApplicationDisplayName("Rig Console")
    app.setOrganizationName("rigconsole")
    app.setDesktopFileName("rigconsole")
    icon = icon_path()
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))


def instance_key() -> str:
    """The local socket's name: ``rigconsole-<12 hex>`` from the user name and the settings path."""
    from ..settings import settings_path

    try:
        user = getpass.getuser()
    except Exception:  # no user name (some containers)
        user = "user"
    digest = hashlib.sha1(f"{user}\0{settings_path().absolute()}".encode()).hexdigest()[:12]
    return f"rigconsole-{digest}"


def main_window() -> QWidget | None:
    """The console's main window among the application's top-level widgets, if any."""
    app = QApplication.instance()
    if app is None:
        return None
    for w in QApplication.topLevelWidgets():
        if isinstance(w, QMainWindow) and w.objectName() == "rigconsole_main":
            return w
    return None


def bring_forward(window: QWidget | None = None) -> bool:
    """Show, un-minimise, raise and activate ``window`` (default: the console's main window).

    Returns ``False`` when there is no window yet (the console is still starting).
    """
    window = window or main_window()
    if window is None:
        return False
    if window.isMinimized():
        window.showNormal()
    else:
        window.show()
    window.raise_()
    window.activateWindow()
    return True


class SingleInstance(QObject):
    """The running console's end of the local socket.

    Signals:
        activated(): a second launch asked this console to come forward (after
            :func:`bring_forward` ran).

    Args:
        key: the socket name (default :func:`instance_key`).
    """

    activated = Signal()

    def __init__(self, key: str | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.key = key or instance_key()
        self._server: QLocalServer | None = None
        self.activations = 0

    @property
    def is_primary(self) -> bool:
        """This process holds the socket (it is the running console)."""
        return self._server is not None and self._server.isListening()

    def notify_running(self) -> bool:
        """Ask a running console to come forward; ``True`` when one is listening.

        A console that accepts the connection is alive (a socket file left by a crashed one
        refuses it). It answers ``ok`` from its event loop; one busy starting (compiling the
        root folder's Builder files) answers later and comes forward then, so its answer is
        awaited for :data:`REPLY_TIMEOUT_MS` only, to say which: this launch exits at once
        either way, and never takes the socket over from a console that is still starting."""
        sock = QLocalSocket()
        sock.connectToServer(self.key)
        if not sock.waitForConnected(CONNECT_TIMEOUT_MS):
            return False
        try:
            sock.write(_ACTIVATE)
            sock.flush()
            sock.waitForBytesWritten(REPLY_TIMEOUT_MS)
            reply = b""
            while _OK not in reply and sock.waitForReadyRead(REPLY_TIMEOUT_MS):
                reply += bytes(sock.readAll().data())
            if _OK not in reply:
                log.info("the running console is busy starting: it comes forward when it is ready")
            return True
        finally:
            sock.disconnectFromServer()

    def claim(self) -> bool:
        """Become the running console, unless one is running already.

        Returns:
            ``True``: this process now listens and is the only console.
            ``False``: another console answered and was asked to come forward.

        Raises:
            RuntimeError: the socket could not be created (one line, with Qt's reason).
        """
        if self.notify_running():
            return False
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.key):
            # a socket file left by a console that crashed: nobody answered, take it over
            QLocalServer.removeServer(self.key)
            if not server.listen(self.key):
                raise RuntimeError(f"cannot open the single-instance socket {self.key}: {server.errorString()}")
        server.newConnection.connect(self._on_connection)
        self._server = server
        return True

    def _on_connection(self) -> None:
        server = self._server
        while server is not None and server.hasPendingConnections():
            sock = server.nextPendingConnection()
            sock.readyRead.connect(lambda s=sock: self._on_ready(s))
            sock.disconnected.connect(sock.deleteLater)
            if sock.bytesAvailable():
                self._on_ready(sock)

    def _on_ready(self, sock: QLocalSocket) -> None:
        data = bytes(sock.readAll().data())
        if _ACTIVATE.strip() not in data:
            return
        self.activations += 1
        shown = bring_forward()
        log.info(
            "a second launch of Rig Console: %s",
            "brought this console forward" if shown else "this console is still starting",
        )
        sock.write(_OK)
        sock.flush()
        self.activated.emit()

    def close(self) -> None:
        """Stop listening (the socket file is removed)."""
        if self._server is not None:
            self._server.close()
            self._server.deleteLater()
            self._server = None


def claim_single_instance(key: str | None = None) -> SingleInstance | None:
    """Make sure a ``QApplication`` exists, then claim the console's single instance.

    Creates the ``QApplication`` (named "Rig Console") when there is none, so a
    second launch exits before PsychoPy is imported; ``build_console`` reuses it.

    Returns:
        The :class:`SingleInstance` to keep alive for the console's lifetime, or
        ``None`` when another console is running (it was brought forward; the
        caller exits with status 0). A socket error is logged and the console
        runs without the guard (returns an unclaimed :class:`SingleInstance`).
    """
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        set_application_identity(app)
    instance = SingleInstance(key, parent=app)
    try:
        if not instance.claim():
            log.info("Rig Console is already running: brought it forward")
            return None
    except RuntimeError as err:
        log.warning("%s; a second console would not be stopped", err)
    return instance
