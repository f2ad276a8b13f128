"""A dashboard of several rigs at once: one tile each (rig, state, experiment, participant,
trial n of N, connection), fed by :class:`rigconsole.ui.remote_observer.RemoteFeed`.
Double-clicking a tile opens that rig's observer window."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFrame, QGridLayout, QLabel, QLineEdit,
                               QMainWindow, QProgressBar, QVBoxLayout, QWidget)

from ..remote import RemoteObserver, secrets
from ..views.palette import ERROR, NEUTRAL, connection_look, run_look
from .remote_observer import ObserverWindow, RemoteFeed, _keep, load_recent, saved_token

__all__ = ["DashboardWindow", "RigTile", "ChooseRigsDialog", "open_dashboard_dialog"]


def open_dashboard_dialog(parent, windows: list) -> "ChooseRigsDialog":
    """File → Rig dashboard…: choose the rigs (window-modal, ``open()``), then a
    :class:`DashboardWindow` of them, kept in ``windows`` until it closes."""
    dlg = ChooseRigsDialog(parent)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dlg.accepted.connect(lambda: _keep(windows, DashboardWindow(dlg.observers())))
    dlg.open()
    return dlg


class ChooseRigsDialog(QDialog):
    """File → Rig dashboard…: the recent rigs (File → Attach to rig… remembers them), each with
    its token (from the OS keyring where there is one, else typed here) and a tick.

    Attributes: rows (``[(QCheckBox, QLineEdit, recent entry)]``), error (QLabel).
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Rig dashboard")
        self.setMinimumWidth(560)
        lay = QVBoxLayout(self)
        grid = QGridLayout()
        self.rows: list[tuple[QCheckBox, QLineEdit, dict]] = []
        recent = load_recent()
        if not recent:
            lay.addWidget(QLabel("No rigs yet: attach to each rig once (File → Attach to rig…)."))
        for i, r in enumerate(recent):
            token = saved_token(r["host"], int(r["port"])) or ""
            check = QCheckBox(f"{r['host']}:{r['port']}" + ("  (HTTPS)" if r.get("tls") else ""))
            check.setChecked(bool(token))
            edit = QLineEdit(token)
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setPlaceholderText("token (not kept in a keyring here)")
            edit.textChanged.connect(lambda text, c=check: c.setChecked(bool(text)) if text else None)
            grid.addWidget(check, i, 0)
            grid.addWidget(edit, i, 1)
            self.rows.append((check, edit, r))
        lay.addLayout(grid)
        reason = secrets.unavailable_reason()
        if reason and recent:
            note = QLabel(f"Tokens are not remembered on this computer ({reason}): type them.")
            note.setWordWrap(True)
            lay.addWidget(note)
        self.error = QLabel()
        self.error.setStyleSheet(f"color: {ERROR}")
        lay.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Show dashboard")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def observers(self) -> list[RemoteObserver]:
        """One observer per ticked rig with a token (its pinned fingerprint for an HTTPS rig)."""
        return [RemoteObserver(r["host"], int(r["port"]), token=edit.text().strip(), tls=bool(r.get("tls")),
                               fingerprint=r.get("fingerprint") or None)
                for check, edit, r in self.rows if check.isChecked() and edit.text().strip()]

    def _accept(self) -> None:
        if not self.observers():
            self.error.setText("Tick at least one rig and give its token.")
            return
        self.accept()


class RigTile(QFrame):
    """One rig: its status at a glance."""

    def __init__(self, observer: RemoteObserver, parent=None):
        super().__init__(parent)
        self.observer = observer
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumWidth(260)
        self.name = QLabel(f"{observer.host}:{observer.port}")
        self.name.setStyleSheet("font-weight: 600; font-size: 15px")
        self.state = QLabel("-")
        self.state.setStyleSheet("font-size: 18px; font-weight: 700")
        self.detail = QLabel("")
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.conn = QLabel("connecting...")
        self.conn.setWordWrap(True)
        self._seen = False
        lay = QVBoxLayout(self)
        for w in (self.name, self.state, self.detail, self.progress, self.conn):
            lay.addWidget(w)
        self.window: ObserverWindow | None = None
        self.feed = RemoteFeed(observer, self)
        self.feed.status.connect(self.show_status)
        self.feed.event.connect(self._event)
        self.feed.connection.connect(self._connection)
        self.feed.start()

    def show_status(self, st: dict) -> None:
        run = st.get("run") or {}
        self._seen = True
        self.name.setText(st["rig"])
        self.state.setText(st["state"].capitalize())
        self.state.setStyleSheet(f"font-size: 18px; font-weight: 700; color: {run_look(st['state']).colour}")
        who = (run.get("expInfo") or {}).get("participant")
        self.detail.setText(f"{run['key']}" + (f", participant {who}" if who else "") if run else "no run")
        self._trial(run.get("trial") or 0, run.get("of"))

    def _trial(self, n: int, of: int | None) -> None:
        self.progress.setRange(0, of or 1)
        self.progress.setValue(n if of else 0)
        self.progress.setFormat(f"{n} of {of}" if of else f"{n}")
        self.progress.setTextVisible(bool(n))

    def _event(self, ev: dict) -> None:
        if ev["type"] == "trial":
            self._trial(ev["n"], ev.get("of"))

    def _connection(self, what: str) -> None:
        self.conn.setText(what if not what.startswith("lost") else f"connection {what}; retrying...")
        self.conn.setStyleSheet(f"color: {connection_look(what).colour}")
        if not self._seen and what != "live":
            self.state.setText("Not connected")
            self.state.setStyleSheet(f"font-size: 18px; font-weight: 700; color: {NEUTRAL}")

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.window is None:
            self.window = ObserverWindow(self.observer)
        self.window.show()
        self.window.raise_()

    def close_feed(self) -> None:
        self.feed.close()
        if self.window is not None:
            self.window.close()


class DashboardWindow(QMainWindow):
    """Several rigs, a tile each, ``columns`` tiles a row."""

    def __init__(self, observers: list[RemoteObserver], columns: int = 3, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Rig Console: lab dashboard")
        central = QWidget()
        grid = QGridLayout(central)
        self.tiles = [RigTile(o) for o in observers]
        for i, t in enumerate(self.tiles):
            grid.addWidget(t, i // columns, i % columns)
        self.setCentralWidget(central)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        for t in self.tiles:
            t.close_feed()
        super().closeEvent(event)
