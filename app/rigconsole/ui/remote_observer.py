"""Attach to a rig from another computer: the "Attach to rig..." dialog and the observer window.

The window mirrors the rig's status (experiment, participant, trial n of N,
state), plots its logged variables live and, for an operator token, offers
pause/resume/stop. It reads the rig through the process's one shared
:class:`rigconsole.remote.connections.ConnectionManager` (one thread, one asyncio
loop for every window and dashboard tile; the stream resumes after a lost
connection); events reach the window as queued Qt signals (:class:`RemoteFeed`).
The recent rigs and the certificate pinning rule live in :mod:`rigconsole.remote.recent`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..remote import DEFAULT_PORT, RemoteObserver, secrets
from ..remote.connections import ConnectionManager
from ..remote.recent import (
    fingerprint_lines,
    forget_rig,
    load_recent,
    pin_verdict,
    pinned_fingerprint,
    recent_rigs_path,
    remember_rig,
    saved_token,
)
from ..remote.tls import peer_fingerprint
from ..remote.view import state_words
from ..views.palette import ERROR, NEUTRAL, WARNING, connection_look, run_look
from ..views.plot_sources import StreamFeed
from .plots import LivePlot
from .preview_dock import ThumbnailView, decode_jpeg
from .remote_trial_view import RemoteTrialView

__all__ = [
    "AttachDialog",
    "ObserverWindow",
    "RemoteFeed",
    "recent_rigs_path",
    "load_recent",
    "remember_rig",
    "saved_token",
    "forget_rig",
    "open_attach_dialog",
    "trust_box",
    "fingerprint_lines",
    "shared_connections",
    "FeedHub",
]

MAX_POINTS = 2000

log = logging.getLogger(__name__)

_shared: ConnectionManager | None = None


def shared_connections() -> ConnectionManager:
    """The process's one :class:`ConnectionManager` (made at first use; its thread is a daemon and
    is closed when the QApplication quits)."""
    global _shared
    if _shared is None:
        _shared = ConnectionManager()
        from PySide6.QtCore import QCoreApplication

        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(_close_shared)
    return _shared


def _close_shared() -> None:
    global _shared
    manager, _shared = _shared, None
    if manager is not None:
        manager.close()


def trust_box(parent, host: str, port: int, fingerprint: str) -> QMessageBox:
    """The first-use question: trust the certificate with this fingerprint? (Yes = "Trust and attach")."""
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Trust this rig's certificate?",
        f"<p>First attach to <b>{host}:{port}</b> over HTTPS. Its certificate's SHA-256 "
        f"fingerprint is:</p><p><tt>{fingerprint_lines(fingerprint).replace(chr(10), '<br>')}</tt></p>"
        "<p>Compare it with the fingerprint the rig's console shows (Settings → Remote attach). "
        "Trust it? It is remembered: a rig that later shows another certificate is refused.</p>",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        parent,
    )
    box.setDefaultButton(QMessageBox.StandardButton.No)
    box.button(QMessageBox.StandardButton.Yes).setText("Trust and attach")
    return box


def _ask_trust(parent, host: str, port: int, fingerprint: str) -> bool:
    box = trust_box(parent, host, port, fingerprint)
    box.exec()
    return box.clickedButton() is box.button(QMessageBox.StandardButton.Yes)


class AttachDialog(QDialog):
    """File → Attach to rig…: host, port, token, TLS; recent rigs remembered.

    A recent rig's token comes back from the OS keyring (:mod:`rigconsole.remote.secrets`);
    where there is none the dialog asks for it again and says why. For a TLS rig never
    seen, the certificate's fingerprint is shown and trusted on first use (``trust``, a
    ``(host, port, fingerprint) -> bool`` question, default a message box), then pinned
    with the recent rig: a rig that presents another certificate is refused.

    Rigs announced on the network (DNS-SD, :mod:`rigconsole.remote.discovery`) are listed in
    ``found`` beside the recent ones (``browse=False``: not looked for); a found rig still needs
    its token, and its certificate is still asked about and pinned on first use.

    Attributes: recent, found, host, port, token, tls, fingerprint, note, error (widgets);
    browser (the :class:`rigconsole.remote.discovery.RigBrowser`, ``None`` once closed).
    """

    found_rig = Signal(dict)

    def __init__(self, parent=None, *, trust: Callable[[str, int, str], bool] | None = None, browse: bool = True):
        super().__init__(parent)
        self.setWindowTitle("Attach to rig")
        self.setMinimumWidth(520)
        self._trust = trust or (lambda h, p, fp: _ask_trust(self, h, p, fp))
        self._pinned = ""  # the fingerprint remembered with the picked recent rig
        self.recent = QComboBox()
        self.recent.addItem("(new rig)")
        for r in load_recent():
            self.recent.addItem(f"{r['host']}:{r['port']}" + ("  (HTTPS)" if r.get("tls") else ""), r)
        self.recent.currentIndexChanged.connect(self._pick)
        self.host = QLineEdit("127.0.0.1")
        self.host.setPlaceholderText("the rig's name or address, e.g. rig-2.lab")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(DEFAULT_PORT)
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("an observer or operator token from the rig's Settings → Remote attach")
        self.tls = QCheckBox("HTTPS (TLS): the rig's certificate is pinned on first use")
        self.fingerprint = QLineEdit()
        self.fingerprint.setReadOnly(True)
        self.fingerprint.setPlaceholderText("shown and pinned when you first attach over HTTPS")
        form = QFormLayout()
        self.forget_button = QPushButton("Forget")
        self.forget_button.setToolTip("Forget this rig: its pinned certificate and its kept token")
        self.forget_button.clicked.connect(self._forget)
        self.forget_button.setEnabled(False)
        recent_row = QHBoxLayout()
        recent_row.addWidget(self.recent, 1)
        recent_row.addWidget(self.forget_button)
        form.addRow("Recent rigs:", recent_row)
        self.found = QComboBox()
        self.found.addItem("(looking on the network…)")
        self.found.setEnabled(False)
        self.found.activated.connect(self._pick_found)
        form.addRow("Found on the network:", self.found)
        form.addRow("Host:", self.host)
        form.addRow("Port:", self.port)
        form.addRow("Token:", self.token)
        form.addRow("", self.tls)
        form.addRow("Pinned certificate:", self.fingerprint)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555")
        reason = secrets.unavailable_reason()
        self.note.setText(
            f"Tokens are not remembered: {reason}. Paste the token each time."
            if reason
            else "Tokens are kept in this computer's keyring, never in a settings file."
        )
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {ERROR}")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Attach")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.note)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        if self.recent.count() > 1:
            self.recent.setCurrentIndex(1)
        self.browser = None
        self.found_rig.connect(self._found)
        if browse:
            from ..remote.discovery import RigBrowser

            self.browser = RigBrowser()
            self.browser.events.found.connect(self._relay_found)
            if self.browser.error:
                self.found.setItemText(0, "(not looking: see the tooltip)")
                self.found.setToolTip(self.browser.error)
            for r in self.browser.rigs():
                self._found(r)
        self.finished.connect(self._stop_browsing)

    def _relay_found(self, rig: dict) -> None:  # zeroconf's thread: queued to the dialog's
        self.found_rig.emit(rig)

    def _found(self, rig: dict) -> None:
        """A rig announced on the network (DNS-SD): listed beside the recent ones."""
        for i in range(1, self.found.count()):
            r = self.found.itemData(i)
            if (r["host"], r["port"]) == (rig["host"], rig["port"]):
                return
        if self.found.count() == 1 and not self.found.isEnabled():
            self.found.setItemText(0, "(pick a rig found on the network)")
            self.found.setEnabled(True)
        self.found.addItem(
            f"{rig['rig']}{'  (replay)' if rig.get('replay') else ''}  at {rig['host']}:{rig['port']}"
            + ("  (HTTPS)" if rig.get("tls") else ""),
            rig,
        )

    def _pick_found(self, i: int) -> None:
        r = self.found.itemData(i)
        if not r:
            return
        self.recent.setCurrentIndex(0)
        self.host.setText(r["host"])
        self.port.setValue(int(r["port"]))
        self.tls.setChecked(bool(r.get("tls")))
        self._pinned = pinned_fingerprint(r["host"], int(r["port"]))
        self.fingerprint.setText(self._pinned)
        token = saved_token(r["host"], int(r["port"]))
        self.token.setText(token or "")
        self.note.setText(
            f"Found {r['rig']} on the network: give its token (from its Settings → Remote attach)."
            + (
                " Its certificate is shown to you on Attach and pinned on first use."
                if r.get("tls") and not self._pinned
                else ""
            )
        )

    def _stop_browsing(self, *_) -> None:
        browser, self.browser = self.browser, None
        if browser is not None:
            browser.close()

    def _pick(self, i: int) -> None:
        r = self.recent.itemData(i)
        self.error.setText("")
        self.forget_button.setEnabled(bool(r))
        if not r:
            self._pinned = ""
            self.fingerprint.clear()
            self.token.clear()
            return
        self.host.setText(r["host"])
        self.port.setValue(int(r["port"]))
        self.tls.setChecked(bool(r.get("tls")))
        self._pinned = r.get("fingerprint") or ""
        self.fingerprint.setText(self._pinned)
        token = saved_token(r["host"], int(r["port"]))
        self.token.setText(token or "")
        if token:
            self.note.setText("Token from this computer's keyring.")
        else:
            reason = secrets.unavailable_reason()
            self.note.setText(
                f"Give the token again: {reason}."
                if reason
                else "Give the token again: the keyring has none for this rig."
            )

    def _forget(self) -> None:
        i = self.recent.currentIndex()
        r = self.recent.itemData(i)
        if r:
            token = self.token.text()
            forget_rig(r["host"], int(r["port"]))
            self.recent.removeItem(i)
            self.recent.setCurrentIndex(0)
            self.host.setText(r["host"])
            self.port.setValue(int(r["port"]))
            self.tls.setChecked(bool(r.get("tls")))
            self.token.setText(token)
            self.note.setText(f"Forgot {r['host']}:{r['port']}: its certificate is asked about again on Attach.")

    def observer(self) -> RemoteObserver:
        """A :class:`RemoteObserver` for what the dialog holds (after it was accepted)."""
        return RemoteObserver(
            self.host.text().strip(),
            self.port.value(),
            token=self.token.text().strip(),
            tls=self.tls.isChecked(),
            fingerprint=self.fingerprint.text().strip() or None,
        )

    def _accept(self) -> None:
        host, port = self.host.text().strip(), self.port.value()
        if not host or not self.token.text().strip():
            self.error.setText("Give the rig's host and a token.")
            return
        pinned = pinned_fingerprint(host, port)
        if self.tls.isChecked():
            try:
                seen = peer_fingerprint(host, port, timeout=3.0)
            except OSError as err:
                self.error.setText(str(err))
                return
            verdict = pin_verdict(host, port, seen, pinned)
            if verdict.action == "refuse":
                self.error.setText(verdict.message)
                return
            if verdict.action == "ask" and not self._trust(host, port, seen):
                self.error.setText("Not attached: the certificate was not trusted.")
                return
            self.fingerprint.setText(seen)
        else:
            self.fingerprint.clear()
        remember_rig(
            {"host": host, "port": port, "tls": self.tls.isChecked(), "fingerprint": self.fingerprint.text()},
            self.token.text().strip(),
        )
        self.accept()


def _keep(windows: list, win) -> None:
    win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    windows.append(win)
    win.destroyed.connect(lambda *_: windows.remove(win) if win in windows else None)
    win.show()


def open_attach_dialog(parent, windows: list) -> AttachDialog:
    """File → Attach to rig…: open the dialog (window-modal, ``open()``); once attached, an
    :class:`ObserverWindow` is shown and kept in ``windows`` until it closes."""
    dlg = AttachDialog(parent)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def attached():
        win = ObserverWindow(dlg.observer())
        win.resize(1100, 680)
        _keep(windows, win)

    dlg.accepted.connect(attached)
    dlg.open()
    return dlg


class FeedHub(QObject):
    """Hands many feeds' events to the GUI thread together: the first event after a quiet spell
    wakes the GUI thread once, ``window_ms`` later everything that arrived meanwhile is delivered
    in one go. With twenty rigs logging at 20 Hz that is at most 1000 / ``window_ms`` wake-ups a
    second instead of 400 queued signals, and the tiles' repaints fall into one paint of the
    window (measured: benchmarks/bench_lab.py). Events keep their order per feed."""

    _wake = Signal()

    def __init__(self, parent=None, *, window_ms: int = 5):
        super().__init__(parent)
        self._lock = threading.Lock()
        self._queue: deque = deque()
        self._pending = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(window_ms)
        self._timer.timeout.connect(self._drain)
        self._wake.connect(self._timer.start)  # emitted on the manager's thread: queued to this one

    def post(self, feed: RemoteFeed, kind: str, args: tuple) -> None:
        """Any thread: queue one announcement of ``feed`` for the GUI thread."""
        with self._lock:
            self._queue.append((feed, kind, args))
            first, self._pending = not self._pending, True
        if first:
            self._wake.emit()

    def _drain(self) -> None:
        with self._lock:
            items = list(self._queue)
            self._queue.clear()
            self._pending = False
        for feed, kind, args in items:
            feed.deliver(kind, args)


class RemoteFeed(QObject):
    """One rig's live events from the shared :class:`ConnectionManager`, relayed as Qt signals
    (emitted on the manager's thread, so queued to the GUI thread; or, with a :class:`FeedHub`,
    delivered by the hub on the GUI thread together with other feeds').

    ``history``: read each variable's recent points first (the observer window's plots);
    a dashboard tile does without."""

    status = Signal(dict)
    event = Signal(dict)
    connection = Signal(str)  # "live", "lost: <why>", "refused: <why>"
    history = Signal(str, list, list)

    def __init__(
        self,
        observer: RemoteObserver,
        parent=None,
        *,
        history: bool = True,
        manager: ConnectionManager | None = None,
        hub: FeedHub | None = None,
    ):
        super().__init__(parent)
        self.observer = observer
        self._manager = manager
        self._history = history
        self._hub = hub
        self._feed = None

    def deliver(self, kind: str, args: tuple) -> None:
        """GUI thread (the hub): emit one announcement as this feed's Qt signal."""
        if self._feed is None:  # closed meanwhile
            return
        if kind == "status":
            self.status.emit(*args)
        elif kind == "event":
            self.event.emit(*args)
        elif kind == "connection":
            self.connection.emit(*args)
        elif kind == "history":
            self.history.emit(*args)

    def start(self) -> None:
        manager = self._manager or shared_connections()
        self._feed = manager.add(self.observer, history=self._history, start=False)
        ev = self._feed.events
        ev.status.connect(self._relay_status)
        ev.event.connect(self._relay_event)
        ev.connection.connect(self._relay_connection)
        ev.history.connect(self._relay_history)
        self._feed.start()  # after connecting: no announcement is missed

    # psygnal holds bound methods weakly: relay through this object's own methods
    def _relay(self, kind: str, *args) -> None:
        if self._hub is not None:
            self._hub.post(self, kind, args)
        else:
            self.deliver(kind, args)  # Qt queues these signals to the GUI thread

    def _relay_status(self, st: dict) -> None:
        self._relay("status", st)

    def _relay_event(self, ev: dict) -> None:
        self._relay("event", ev)

    def _relay_connection(self, what: str) -> None:
        self._relay("connection", what)

    def _relay_history(self, name: str, t: list, v: list) -> None:
        self._relay("history", name, t, v)

    @property
    def last_heard(self) -> float | None:
        """``time.monotonic()`` when the rig was last heard from, or ``None``."""
        return self._feed.last_heard if self._feed is not None else None

    def close(self) -> None:
        feed, self._feed = self._feed, None
        if feed is not None:
            feed.close()
            feed.events.disconnect()


PILL = "border-radius: 9px; padding: 2px 10px; font-weight: 600; color: white; background: {}"


class ObserverWindow(QMainWindow):
    """One rig seen from afar: status, progress, live plots; pause/resume/stop for operators.

    Each logged variable is a :class:`~.plots.LivePlot` against clock time, fed by a
    :class:`~rigconsole.views.plot_sources.StreamFeed` (the rig's history, then its streamed
    values; the last ``MAX_POINTS`` kept) and polled at most 5 times a second (the latest
    value in each title), whatever the rig's logging rate. Buttons follow the run's state
    (Pause while running, Resume while paused) and are disabled while the rig has remote
    control locked."""

    control_failed = Signal(str)
    trials_loaded = Signal(object)  # (run index, run group, trials page, notes), from the control pool
    preview_loaded = Signal(object, float)  # (QImage, its time, epoch s), from the preview pool

    def __init__(self, observer: RemoteObserver, parent=None):
        super().__init__(parent)
        self.observer = observer
        self.setWindowTitle(f"Rig Console: observing {observer.host}:{observer.port}")
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="observer control")
        self._plots: dict[str, LivePlot] = {}
        self._feeds: dict[str, StreamFeed] = {}
        self._run_state = "idle"
        self._is_locked = False
        self._trials_asked = False
        # the subject-screen preview: fetched (GET /api/v1/preview.jpg) at each "preview" event,
        # one at a time, off the GUI thread; shown once the rig has one
        self._preview_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="observer preview")
        self._preview_busy = threading.Event()
        self._preview_asked = False
        self.preview_title = QLabel("Subject screen")
        self.preview_title.setStyleSheet(f"color: {NEUTRAL}; font-weight: 600")
        self.preview = ThumbnailView(min_width=200)
        self.preview_time = QLabel("")
        self.preview_time.setStyleSheet(f"color: {NEUTRAL}")
        for w in (self.preview_title, self.preview, self.preview_time):
            w.hide()
        self.preview_loaded.connect(self._show_preview)
        central = QWidget()
        self.setCentralWidget(central)
        self.rig = QLabel(f"{observer.host}:{observer.port}")
        self.rig.setStyleSheet("font-size: 17px; font-weight: 700")
        self.rig.setWordWrap(True)
        self.who = QLabel("")
        self.who.setStyleSheet(f"color: {NEUTRAL}")
        self.conn = QLabel("connecting...")
        self.conn.setWordWrap(True)
        self.state = QLabel("-")
        self.state.setStyleSheet("font-size: 22px; font-weight: 700")
        self.experiment, self.participant, self.run_no, self.started = (QLabel("-") for _ in range(4))
        self.experiment.setWordWrap(True)
        self.trial = QLabel("")
        self.trial.setStyleSheet("color: #475467")
        self.plan = QLabel("")  # "item k of n, participant, estimated finish" (the stream's queue events)
        self.plan.setWordWrap(True)
        self.plan.setMinimumHeight(2 * self.plan.fontMetrics().lineSpacing())  # a wrapped line gets its height
        self.plan.hide()
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(10)
        self.locked = QLabel("Remote control is locked at the rig.")
        self.locked.setStyleSheet(f"color: {WARNING}; font-weight: 600")
        self.locked.setWordWrap(True)
        self.locked.hide()
        self.buttons = {name: QPushButton(name.capitalize()) for name in ("pause", "resume", "stop")}
        for name, b in self.buttons.items():
            b.clicked.connect(lambda _=False, n=name: self._control(n))
            b.setMinimumHeight(30)
            b.hide()
        self.control_error = QLabel()
        self.control_error.setWordWrap(True)
        self.control_error.setStyleSheet(f"color: {ERROR}")
        self.control_failed.connect(self.control_error.setText)
        self.trials_loaded.connect(lambda got: self.trial_view.load_run(*got))
        head = QHBoxLayout()
        head.addWidget(self.rig, 1)
        side = QVBoxLayout()
        side.addLayout(head)
        conn_row = QHBoxLayout()
        conn_row.addWidget(self.conn)
        conn_row.addWidget(self.who, 1)
        side.addLayout(conn_row)
        side.addSpacing(10)
        side.addWidget(self.state)
        side.addWidget(self.progress)
        side.addWidget(self.trial)
        side.addWidget(self.plan)
        side.addSpacing(6)
        form = QFormLayout()
        form.addRow("Experiment", self.experiment)
        form.addRow("Participant", self.participant)
        form.addRow("Run", self.run_no)
        form.addRow("Started", self.started)
        side.addLayout(form)
        side.addSpacing(6)
        side.addWidget(self.locked)
        row = QHBoxLayout()
        for b in self.buttons.values():
            row.addWidget(b)
        side.addLayout(row)
        side.addWidget(self.control_error)
        side.addWidget(self.preview_title)
        side.addWidget(self.preview)
        side.addWidget(self.preview_time)
        side.addStretch(1)
        self.plot_grid = QGridLayout()
        self.plot_grid.setSpacing(8)
        self.no_data = QLabel("No logged variables yet: they appear here as the rig logs them.")
        self.no_data.setStyleSheet(f"color: {NEUTRAL}")
        self.plot_grid.addWidget(self.no_data, 0, 0)
        lay = QHBoxLayout(central)
        left = QFrame()
        left.setFrameShape(QFrame.Shape.StyledPanel)
        left.setLayout(side)
        left.setFixedWidth(320)
        lay.addWidget(left)
        right = QWidget()
        right_lay = QVBoxLayout(right)
        right_lay.setContentsMargins(0, 0, 0, 0)
        self.trial_view = RemoteTrialView(right)  # the run's response measures, as the console plots them
        right_lay.addWidget(self.trial_view, 1)
        right_lay.addLayout(self.plot_grid, 1)
        lay.addWidget(right, 1)
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setInterval(200)
        self._redraw_timer.timeout.connect(self._redraw_dirty)
        self._redraw_timer.start()
        self.feed = RemoteFeed(observer, self)
        self.feed.status.connect(self.show_status)
        self.feed.event.connect(self.on_event)
        self.feed.connection.connect(self.on_connection)
        self.feed.history.connect(self._history)
        self.feed.start()

    def on_connection(self, what: str) -> None:
        """``"live"``, ``"lost: <why>"`` (retried) or ``"refused: <why>"`` (the rig said no: not retried)."""
        colour = connection_look(what).colour
        if what == "live":
            self.conn.setText("live")
            self.conn.setStyleSheet(PILL.format(colour))
        else:
            self.conn.setText(f"connection {what}; retrying..." if what.startswith("lost") else what)
            self.conn.setStyleSheet(f"color: {colour}; font-weight: 600")

    def show_status(self, st: dict) -> None:
        run = st.get("run") or {}
        self.rig.setText(f"Rig {st['rig']}")
        self.who.setText(f"{st['you']['name']} ({st['you']['role']})")
        self._run_state = st["state"]
        self.state.setText(state_words(st["state"], run))  # "Running · PILOT" for a pilot run
        self.state.setStyleSheet(f"font-size: 22px; font-weight: 700; color: {run_look(st['state']).colour}")
        self.experiment.setText(run.get("key", "-"))
        self.participant.setText(str((run.get("expInfo") or {}).get("participant", "-")))
        self.run_no.setText(str(run["index"]) if run.get("index") is not None else "-")
        t = run.get("t0_epoch") or run.get("started")
        self.started.setText(
            time.strftime("%H:%M:%S", time.localtime(t)) if isinstance(t, (int, float)) and t > 1e9 else "-"
        )
        self._trial(run.get("trial") or 0, run.get("of"))
        if not self._preview_asked:  # attached while the rig shows a preview: its newest now
            self._preview_asked = True
            self.fetch_preview()
        if not self._trials_asked and st["state"] in ("running", "paused") and run.get("trial"):
            self._trials_asked = True  # attached mid-run: the run's trials so far, off the GUI thread
            self._pool.submit(self._fetch_trials, run.get("index"))
        self._is_locked = bool(st["locked"])
        operator = st["you"]["role"] == "operator"
        for b in self.buttons.values():
            b.setVisible(operator)
        self._enable_buttons()
        self.locked.setVisible(self._is_locked)

    def _enable_buttons(self) -> None:
        ok = not self._is_locked
        self.buttons["pause"].setEnabled(ok and self._run_state == "running")
        self.buttons["resume"].setEnabled(ok and self._run_state == "paused")
        self.buttons["stop"].setEnabled(ok and self._run_state in ("running", "paused"))

    def _trial(self, n: int, of: int | None) -> None:
        self.progress.setRange(0, of or 0)  # busy indicator when N is unknown
        if of:
            self.progress.setValue(n)
        if self._run_state == "idle" and not n:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
        self.trial.setText(f"trial {n} of {of}" if of else (f"trial {n}" if n else ""))

    def _feed(self, name: str) -> StreamFeed:
        """The feed of logged variable ``name``, with its plot made on first use."""
        if name not in self._feeds:
            self.no_data.hide()
            plot = LivePlot(self, time_axis=True, x_label="time", range_mode="follow")
            plot.set_x_column("t")
            plot.setTitle(name, color="#1d2330", size="11pt")
            plot.setMinimumHeight(140)
            n = len(self._plots)
            self.plot_grid.addWidget(plot, n // 2, n % 2)
            self._plots[name] = plot
            self._feeds[name] = StreamFeed(MAX_POINTS)
        return self._feeds[name]

    def _history(self, name: str, t: list, v: list) -> None:
        self._feed(name).add_history(t, v)

    def _redraw_dirty(self) -> None:
        self.trial_view.redraw()
        for name, feed in self._feeds.items():
            self._redraw(name, feed)

    def _redraw(self, name: str, feed: StreamFeed) -> None:
        plot = self._plots[name]
        if not plot.has_time():
            return
        got = feed.poll()
        if got is None:
            return
        with plot.timed_update():
            plot.add_points(name, got, style="line")  # the feed keeps the last MAX_POINTS: it resets when it drops some
            v = feed.last()
            plot.setTitle(f"{name}   <b>{v:.5g}</b>" if math.isfinite(v) else name, color="#1d2330", size="11pt")
            plot.flush()

    def on_event(self, ev: dict) -> None:
        if ev["type"] == "values":
            for name, v in ev["values"].items():
                self._feed(name).add(ev["t"], v)
        elif ev["type"] == "trial":
            self._trial(ev["n"], ev.get("of"))
            self.trial_view.on_trial(ev)
        elif ev["type"] == "annotation":  # notebook notes: markers on the trial plot and at their time
            self.trial_view.on_note(ev["annotation"])
            for plot in self._plots.values():
                plot.add_note(ev["annotation"])
                plot.poll_notes("time")
        elif ev["type"] == "queue":
            self.show_plan(ev.get("queue"))
        elif ev["type"] == "preview":
            self.fetch_preview(ev.get("t"))

    def fetch_preview(self, t: float | None = None) -> None:
        """Fetch the rig's newest subject-screen thumbnail off the GUI thread (skipped while one is
        being fetched: the next ``preview`` event brings a newer one). ``t``: when the rig took
        it (the ``preview`` event's, epoch s; default now)."""
        if self._preview_busy.is_set():
            return
        self._preview_busy.set()
        self._preview_pool.submit(self._load_preview, t)

    def _load_preview(self, t: float | None) -> None:
        """Preview pool: ``GET /api/v1/preview.jpg``, decoded here, handed to the GUI thread (queued)."""
        try:
            jpeg = self.observer.preview()
            if jpeg is not None:
                self.preview_loaded.emit(decode_jpeg(jpeg), t if isinstance(t, (int, float)) else time.time())
        except Exception as err:  # noqa: BLE001 - the next preview event tries again
            log.info("observer: cannot fetch the subject-screen preview: %s", err)
        finally:
            self._preview_busy.clear()

    def _show_preview(self, image, t: float) -> None:
        for w in (self.preview_title, self.preview, self.preview_time):
            w.show()
        self.preview.show_image(image)
        self.preview_time.setText(f"as of {time.strftime('%H:%M:%S', time.localtime(t))} (at most once a second)")

    def show_plan(self, queue: dict | None) -> None:
        """The plan line from a queue summary (``GET /api/v1/queue``, the stream's ``queue`` events)."""
        from ..plans.plan_line import plan_line

        text = plan_line(queue)
        self.plan.setText(f"Plan: {text}" if text else "")
        self.plan.setVisible(bool(text))

    def _fetch_trials(self, run_index: int | None) -> None:
        """Pool thread: the open logged run's trial page and notes, handed to the trial view (queued)."""
        try:
            logged = self.observer.runs().get("logged") or []
            if not logged or logged[-1].get("ended") is not None:
                return
            rid = logged[-1]["id"]
            group = f"runs/{rid}"
            notes = [a for a in self.observer.annotations() if (a.get("fields") or {}).get("run") == group]
            self.trials_loaded.emit((run_index, group, self.observer.trials(rid), notes))
        except Exception as err:  # noqa: BLE001 - the live trials still come: only the history is missing
            log.info("observer: cannot read the run's trials so far: %s", err)

    def _control(self, name: str) -> None:
        """Send pause/resume/stop off the GUI thread; a refusal (409, 423...) shows under the buttons."""
        self.control_error.setText("")
        obs = self.observer
        fut = self._pool.submit({"pause": obs.pause, "resume": obs.resume, "stop": obs.stop}[name])

        def done(f):
            err = f.exception()
            if err is not None:
                self.control_failed.emit(f"{name}: {err}")  # queued to the GUI thread

        fut.add_done_callback(done)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._redraw_timer.stop()
        self.feed.close()
        self._pool.shutdown(wait=False)
        self._preview_pool.shutdown(wait=False)
        super().closeEvent(event)


def run_observer_window(host: str, port: int, token: str, *, tls: bool = False, fingerprint: str | None = None) -> int:
    """``rigconsole observe HOST[:PORT] --token T``: open the observer window on one rig
    and run Qt until it is closed. Returns the exit status (0)."""
    import sys

    from PySide6.QtWidgets import QApplication

    from .single_instance import set_application_identity

    app = QApplication.instance() or QApplication(sys.argv[:1])
    set_application_identity(app)
    window = ObserverWindow(RemoteObserver(host, port, token=token, tls=tls, fingerprint=fingerprint))
    window.resize(1000, 700)
    window.show()
    app.exec()
    return 0
