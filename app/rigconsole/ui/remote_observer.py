"""Attach to a rig from another computer: the "Attach to rig..." dialog and the observer window.

The window mirrors the rig's status (experiment, participant, trial n of N,
state), plots its logged variables live and, for an operator token, offers
pause/resume/stop. It reads the rig through :class:`rigconsole.remote.RemoteObserver`
on a worker thread with its own asyncio loop (the stream resumes after a lost
connection); events reach the window as queued Qt signals.
"""
from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QFrame, QGridLayout, QHBoxLayout,
                               QLabel, QLineEdit, QMainWindow, QMessageBox, QProgressBar, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from ..remote import DEFAULT_PORT, RemoteError, RemoteObserver, secrets
from ..remote.tls import peer_fingerprint
from ..views.palette import ERROR, NEUTRAL, WARNING, connection_look, run_look
from ..views.plot_sources import StreamFeed
from .plots import LivePlot

__all__ = ["AttachDialog", "ObserverWindow", "RemoteFeed", "recent_rigs_path", "load_recent", "remember_rig",
           "saved_token", "forget_rig", "open_attach_dialog", "trust_box"]

MAX_POINTS = 2000


def recent_rigs_path() -> Path:
    """``remote-recent.json`` next to the settings: host, port, TLS, pinned fingerprint (never the token)."""
    from ..settings import settings_path

    return settings_path().with_name("remote-recent.json")


def load_recent() -> list[dict]:
    """The recently attached rigs, newest first: ``{"host", "port", "tls", "fingerprint", "token_saved"}``."""
    try:
        rows = json.loads(recent_rigs_path().read_text(encoding="utf-8"))
        return [r for r in rows if isinstance(r, dict) and "host" in r and "port" in r][:10]
    except (OSError, ValueError):
        return []


def remember_rig(entry: dict, token: str | None = None) -> dict:
    """Put ``entry`` first in the recent rigs; its token goes to the OS keyring (never to the file).

    Returns the entry as saved (``token_saved`` says whether the keyring kept the token)."""
    entry = {k: entry[k] for k in ("host", "port", "tls", "fingerprint") if k in entry}
    entry["token_saved"] = bool(token) and secrets.store(secrets.rig_token_key(entry["host"], entry["port"]), token)
    rows = [r for r in load_recent() if (r["host"], r.get("port")) != (entry["host"], entry["port"])]
    path = recent_rigs_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([entry] + rows[:9], indent=2), encoding="utf-8")
    return entry


def forget_rig(host: str, port: int) -> None:
    """Drop the rig at ``host:port`` from the recent rigs, with its pinned fingerprint and kept token."""
    rows = [r for r in load_recent() if (r["host"], int(r["port"])) != (host, int(port))]
    secrets.delete(secrets.rig_token_key(host, port))
    recent_rigs_path().write_text(json.dumps(rows, indent=2), encoding="utf-8")


def saved_token(host: str, port: int) -> str | None:
    """The token kept in the OS keyring for the rig at ``host:port``, or ``None``."""
    return secrets.get(secrets.rig_token_key(host, port))


def _norm_fp(fp: str) -> str:
    return fp.replace(":", "").replace(" ", "").strip().upper()


def fingerprint_lines(fp: str) -> str:
    """A SHA-256 fingerprint (``AB:CD:...``, 32 bytes) as two lines of 16 bytes, easier to compare."""
    parts = fp.split(":")
    return ":".join(parts[:16]) + ("\n" + ":".join(parts[16:]) if len(parts) > 16 else "")


def trust_box(parent, host: str, port: int, fingerprint: str) -> QMessageBox:
    """The first-use question: trust the certificate with this fingerprint? (Yes = "Trust and attach")."""
    box = QMessageBox(QMessageBox.Icon.Question, "Trust this rig's certificate?",
                      f"<p>First attach to <b>{host}:{port}</b> over HTTPS. Its certificate's SHA-256 "
                      f"fingerprint is:</p><p><tt>{fingerprint_lines(fingerprint).replace(chr(10), '<br>')}</tt></p>"
                      "<p>Compare it with the fingerprint the rig's console shows (Settings → Remote attach). "
                      "Trust it? It is remembered: a rig that later shows another certificate is refused.</p>",
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
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

    Attributes: recent, host, port, token, tls, fingerprint, note, error (widgets).
    """

    def __init__(self, parent=None, *, trust: Callable[[str, int, str], bool] | None = None):
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
        form.addRow("Host:", self.host)
        form.addRow("Port:", self.port)
        form.addRow("Token:", self.token)
        form.addRow("", self.tls)
        form.addRow("Pinned certificate:", self.fingerprint)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555")
        reason = secrets.unavailable_reason()
        self.note.setText(f"Tokens are not remembered: {reason}. Paste the token each time." if reason else
                          "Tokens are kept in this computer's keyring, never in a settings file.")
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
            self.note.setText(f"Give the token again: {reason}." if reason else
                              "Give the token again: the keyring has none for this rig.")

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
        return RemoteObserver(self.host.text().strip(), self.port.value(), token=self.token.text().strip(),
                              tls=self.tls.isChecked(), fingerprint=self.fingerprint.text().strip() or None)

    def _accept(self) -> None:
        host, port = self.host.text().strip(), self.port.value()
        if not host or not self.token.text().strip():
            self.error.setText("Give the rig's host and a token.")
            return
        pinned = next((r.get("fingerprint") or "" for r in load_recent()
                       if (r["host"], int(r["port"])) == (host, port)), "")
        if self.tls.isChecked():
            try:
                seen = peer_fingerprint(host, port, timeout=3.0)
            except OSError as err:
                self.error.setText(str(err))
                return
            if pinned and _norm_fp(seen) != _norm_fp(pinned):
                self.error.setText(
                    f"Refused: {host}:{port} presents another certificate than the one pinned "
                    f"({seen[:23]}… instead of {pinned[:23]}…). Someone may be in between, or the rig made "
                    "a new certificate: check the fingerprint its Settings show, then forget this rig "
                    "(pick it, then Forget) and attach again.")
                return
            if not pinned and not self._trust(host, port, seen):
                self.error.setText("Not attached: the certificate was not trusted.")
                return
            self.fingerprint.setText(seen)
        else:
            self.fingerprint.clear()
        remember_rig({"host": host, "port": port, "tls": self.tls.isChecked(),
                      "fingerprint": self.fingerprint.text()}, self.token.text().strip())
        self.accept()


def _keep(windows: list, win) -> None:
    win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    windows.append(win)
    win.destroyed.connect(lambda *_: windows.remove(win) if win in windows else None)
    win.show()


def open_attach_dialog(parent, windows: list) -> "AttachDialog":
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


class RemoteFeed(QObject):
    """The rig's live events on a worker thread, relayed as Qt signals (queued to the GUI thread)."""

    status = Signal(dict)
    event = Signal(dict)
    connection = Signal(str)   # "live", "lost: <why>", "refused: <why>"
    history = Signal(str, list, list)

    def __init__(self, observer: RemoteObserver, parent=None):
        super().__init__(parent)
        self.observer = observer
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="rigconsole observer feed", daemon=True)
        self._stopping = False

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._main())
        except asyncio.CancelledError:
            pass
        except Exception as err:  # a bug here must not take the window down: say so on the connection line
            self.connection.emit(f"lost: {type(err).__name__}: {err}")
        finally:
            self._loop.close()

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:  # until the rig answers (retried every 2 s), or refuses the token
            try:
                st = await loop.run_in_executor(None, self.observer.status)
                self.status.emit(st)
                for v in await loop.run_in_executor(None, self.observer.variables):
                    page = await loop.run_in_executor(None, self.observer.variable_data, v["name"])
                    self.history.emit(v["name"], page["t"][-MAX_POINTS:], page["values"][-MAX_POINTS:])
                break
            except RemoteError as err:
                self.connection.emit(f"refused: {err.message}" if err.status else f"lost: {err.message}")
                if err.status:
                    return
                await asyncio.sleep(2.0)
        self.connection.emit("live")
        while not self._stopping:
            try:
                async for ev in self.observer.updates(max_retries=1_000_000, retry_delay_s=1.0):
                    if self._stopping:
                        return
                    self.event.emit(ev)
                    if ev["type"].startswith("run") or ev["type"] in ("gap", "lock"):
                        self.status.emit(await loop.run_in_executor(None, self.observer.status))
            except RemoteError as err:
                self.connection.emit(f"refused: {err.message}" if err.status else f"lost: {err.message}")
                if err.status:
                    return
                await asyncio.sleep(1.0)

    def close(self) -> None:
        self._stopping = True
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(lambda: [t.cancel() for t in asyncio.all_tasks(loop)])
        self._thread.join(3.0)


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

    def __init__(self, observer: RemoteObserver, parent=None):
        super().__init__(parent)
        self.observer = observer
        self.setWindowTitle(f"Rig Console: observing {observer.host}:{observer.port}")
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="observer control")
        self._plots: dict[str, LivePlot] = {}
        self._feeds: dict[str, StreamFeed] = {}
        self._run_state = "idle"
        self._is_locked = False
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
        right.setLayout(self.plot_grid)
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
        self.state.setText(st["state"].capitalize())
        self.state.setStyleSheet(f"font-size: 22px; font-weight: 700; color: {run_look(st['state']).colour}")
        self.experiment.setText(run.get("key", "-"))
        self.participant.setText(str((run.get("expInfo") or {}).get("participant", "-")))
        self.run_no.setText(str(run["index"]) if run.get("index") is not None else "-")
        t = run.get("t0_epoch") or run.get("started")
        self.started.setText(time.strftime("%H:%M:%S", time.localtime(t)) if isinstance(t, (int, float)) and t > 1e9
                             else "-")
        self._trial(run.get("trial") or 0, run.get("of"))
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
        super().closeEvent(event)


def run_observer_window(host: str, port: int, token: str, *, tls: bool = False,
                        fingerprint: str | None = None) -> int:
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
