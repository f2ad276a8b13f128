"""A dashboard of several rigs at once: one tile each (rig, state, experiment, participant,
trial n of N, connection), fed by :class:`rigconsole.ui.remote_observer.RemoteFeed`.
Double-clicking a tile opens that rig's observer window."""
from __future__ import annotations

from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QMainWindow, QProgressBar, QVBoxLayout, QWidget

from ..remote import RemoteObserver
from .remote_observer import ObserverWindow, RemoteFeed

__all__ = ["DashboardWindow", "RigTile"]

COLOURS = {"running": "#12805c", "paused": "#b54708", "failed": "#b42318"}


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
        self.name.setText(st["rig"])
        self.state.setText(st["state"].capitalize())
        self.state.setStyleSheet(f"font-size: 18px; font-weight: 700; color: {COLOURS.get(st['state'], '#1d2330')}")
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
        self.conn.setStyleSheet("color: #12805c" if what == "live" else "color: #b42318")

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
