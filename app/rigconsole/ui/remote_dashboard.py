"""A dashboard of a lab's rigs: one tile each (rig, state, experiment, participant, trial n of N,
latest logged value, connection), in a grid that reflows with the window's width, sorted by
state with the rigs that need someone first (failed, lost/stalled), then running, paused, idle.

Every tile is fed by the process's one shared connection manager
(:func:`rigconsole.ui.remote_observer.shared_connections`: one thread and one asyncio loop
for all rigs, see :mod:`rigconsole.remote.connections`). A tile turns red when its rig
reports a failed run or when the rig is no longer heard (the stream's heartbeat: within
``heartbeat_s``), and a desktop notification (the system tray's message, or the status bar
where there is no tray) names the rig. The rigs shown are saved
(:func:`rigconsole.remote.recent.save_dashboard_rigs`) and ticked again next time.
Double-clicking a tile opens that rig's observer window.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QScrollArea,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from ..remote import RemoteObserver, secrets
from ..remote.recent import load_dashboard_rigs, load_recent, save_dashboard_rigs, saved_token
from ..remote.view import state_words
from ..views.palette import ERROR, NEUTRAL, OK, connection_look, run_look
from .remote_observer import FeedHub, ObserverWindow, RemoteFeed, _keep
from .remote_trial_view import AccuracySparkline

__all__ = [
    "DashboardWindow",
    "RigTile",
    "ChooseRigsDialog",
    "open_dashboard_dialog",
    "saved_dashboard",
    "run_dashboard",
    "TILE_WIDTH",
]

TILE_WIDTH = 280
#: the tiles' latest logged values are shown this often (ms); trials, run states and alarms at once
LATEST_REFRESH_MS = 200
#: sort order of the tiles: who needs someone first
RANKS = {"alarm": 0, "running": 1, "paused": 1, "stopping": 1, "starting": 1, "idle": 2}


def open_dashboard_dialog(parent, windows: list) -> ChooseRigsDialog:
    """File → Rig dashboard…: choose the rigs (window-modal, ``open()``), then a
    :class:`DashboardWindow` of them, kept in ``windows`` until it closes."""
    dlg = ChooseRigsDialog(parent)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def show():
        dash = DashboardWindow(dlg.observers())
        dash.resize(3 * TILE_WIDTH + 60, 640)
        _keep(windows, dash)

    dlg.accepted.connect(show)
    dlg.open()
    return dlg


def saved_dashboard() -> DashboardWindow | None:
    """The dashboard of the rigs it showed last (:func:`load_dashboard_rigs`), each with its token
    from the OS keyring and its pinned fingerprint; ``None`` when none were saved or a token is
    missing (then the rig chooser asks)."""
    rigs = load_dashboard_rigs()
    pins = {(r["host"], r["port"]): r.get("fingerprint") or None for r in load_recent()}
    observers = []
    for r in rigs:
        token = saved_token(r["host"], r["port"])
        if not token:
            return None
        observers.append(
            RemoteObserver(
                r["host"], r["port"], token=token, tls=r["tls"], fingerprint=pins.get((r["host"], r["port"]))
            )
        )
    return DashboardWindow(observers) if observers else None


def run_dashboard() -> int:
    """``rigconsole dashboard``: reopen the dashboard of the rigs it showed last (or, when there
    are none or a token is missing, the rig chooser first) and run Qt until it is closed."""
    import sys

    from PySide6.QtWidgets import QApplication

    from .single_instance import set_application_identity

    app = QApplication.instance() or QApplication(sys.argv[:1])
    set_application_identity(app)
    windows: list = []
    dash = saved_dashboard()
    if dash is not None:
        dash.resize(3 * TILE_WIDTH + 60, 640)
        _keep(windows, dash)
    else:
        dlg = open_dashboard_dialog(None, windows)
        dlg.rejected.connect(app.quit)
    app.setQuitOnLastWindowClosed(True)
    app.exec()
    return 0


class ChooseRigsDialog(QDialog):
    """File → Rig dashboard…: the recent rigs (File → Attach to rig… remembers them) and the rigs
    found on the network (DNS-SD), each with its token (from the OS keyring where there is one,
    else typed here) and a tick. The rigs the dashboard showed last are ticked.

    Attributes: rows (``[(QCheckBox, QLineEdit, entry)]``; a found rig's entry has ``"found": True``),
    error (QLabel), browser (the :class:`rigconsole.remote.discovery.RigBrowser`).
    """

    found_rig = Signal(dict)  # from zeroconf's thread, queued here

    def __init__(self, parent=None, *, browse: bool = True):
        super().__init__(parent)
        self.setWindowTitle("Rig dashboard")
        self.setMinimumWidth(600)
        lay = QVBoxLayout(self)
        self.grid = QGridLayout()
        self.rows: list[tuple[QCheckBox, QLineEdit, dict]] = []
        saved = {(r["host"], r["port"]) for r in load_dashboard_rigs()}
        recent = load_recent()
        known = {(r["host"], r["port"]) for r in recent}
        rigs = recent + [dict(r, fingerprint="") for r in load_dashboard_rigs() if (r["host"], r["port"]) not in known]
        self.empty = QLabel(
            "No rigs yet: attach to each rig once (File → Attach to rig…), or wait for rigs "
            "announced on the network to appear below."
        )
        self.empty.setWordWrap(True)
        lay.addWidget(self.empty)
        self.empty.setVisible(not rigs)
        for r in rigs:
            self._add_row(r, ticked=(r["host"], r["port"]) in saved if saved else None)
        lay.addLayout(self.grid)
        self.found_note = QLabel("")
        self.found_note.setStyleSheet(f"color: {NEUTRAL}")
        lay.addWidget(self.found_note)
        reason = secrets.unavailable_reason()
        if reason and rigs:
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
        self.browser = None
        self.found_rig.connect(self._found)
        if browse:
            from ..remote.discovery import RigBrowser

            self.browser = RigBrowser()
            self.browser.events.found.connect(self._relay_found)
            self.found_note.setText(self.browser.error or "Looking for rigs on the network…")
            for r in self.browser.rigs():
                self._found(r)
        self.finished.connect(self._stop_browsing)

    def _relay_found(self, rig: dict) -> None:
        self.found_rig.emit(rig)

    def _found(self, rig: dict) -> None:
        if any((e["host"], e["port"]) == (rig["host"], rig["port"]) for _, _, e in self.rows):
            return
        self.empty.hide()
        self._add_row(
            {
                "host": rig["host"],
                "port": rig["port"],
                "tls": rig["tls"],
                "fingerprint": "",
                "found": True,
                "rig": rig["rig"],
                "replay": rig["replay"],
            },
            ticked=False,
        )
        self.found_note.setText(
            f"{sum(1 for _, _, e in self.rows if e.get('found'))} found on the network: "
            "give each one's token (its certificate is pinned when you first attach to it)."
        )

    def _add_row(self, r: dict, *, ticked: bool | None) -> None:
        token = saved_token(r["host"], int(r["port"])) or ""
        label = f"{r['host']}:{r['port']}" + ("  (HTTPS)" if r.get("tls") else "")
        if r.get("found"):
            label = f"{r['rig']}{' (replay)' if r.get('replay') else ''} — found at {label}"
        check = QCheckBox(label)
        check.setChecked(bool(token) if ticked is None else (ticked and bool(token)))
        edit = QLineEdit(token)
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.setPlaceholderText("token (not kept in a keyring here)")
        edit.textChanged.connect(lambda text, c=check: c.setChecked(bool(text)) if text else None)
        i = len(self.rows)
        self.grid.addWidget(check, i, 0)
        self.grid.addWidget(edit, i, 1)
        self.rows.append((check, edit, r))

    def observers(self) -> list[RemoteObserver]:
        """One observer per ticked rig with a token (its pinned fingerprint for an HTTPS rig)."""
        return [
            RemoteObserver(
                r["host"],
                int(r["port"]),
                token=edit.text().strip(),
                tls=bool(r.get("tls")),
                fingerprint=r.get("fingerprint") or None,
            )
            for check, edit, r in self.rows
            if check.isChecked() and edit.text().strip()
        ]

    def _accept(self) -> None:
        chosen = [(check, edit, r) for check, edit, r in self.rows if check.isChecked() and edit.text().strip()]
        if not chosen:
            self.error.setText("Tick at least one rig and give its token.")
            return
        if any(r.get("found") and r.get("tls") for _, _, r in chosen):
            self.error.setText(
                "A rig found on the network uses HTTPS: attach to it once (File → Attach to rig…) "
                "so its certificate is checked and pinned, then pick it here."
            )
            return
        self.accept()

    def _stop_browsing(self, *_) -> None:
        if self.browser is not None:
            self.browser.close()
            self.browser = None


RED = ERROR


class RigTile(QFrame):
    """One rig at a glance. ``alarm`` is the reason the tile is red (``""`` when it is not):
    the rig's last run failed, or the rig is not heard (lost, refused).

    Signals: ``alarm_changed(str)`` (the new reason, ``""`` when cleared), ``rank_changed()``."""

    alarm_changed = Signal(str)
    rank_changed = Signal()

    def __init__(self, observer: RemoteObserver, parent=None, *, manager=None, hub: FeedHub | None = None):
        super().__init__(parent)
        self.observer = observer
        self.setObjectName("rigTile")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedWidth(TILE_WIDTH)
        self.rig_name = f"{observer.host}:{observer.port}"
        self.name = QLabel(self.rig_name)
        self.name.setStyleSheet("font-weight: 600; font-size: 15px")
        self.state = QLabel("-")
        self.state.setStyleSheet("font-size: 18px; font-weight: 700")
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.plan = QLabel("")  # "item k of n, participant, estimated finish" (the stream's queue events)
        self.plan.setWordWrap(True)
        self.plan.setStyleSheet("color: #475467")
        self.progress = QProgressBar()
        self.progress.setFixedSize(TILE_WIDTH - 24, 14)
        self.progress.setTextVisible(False)
        self.latest = QLabel("")
        self.latest.setStyleSheet("color: #475467")
        # a fixed size: its text changes with every logged value, and a label of fixed size does not
        # make Qt lay the tile (and the grid of tiles) out again each time (measured: bench_lab.py)
        self.latest.setFixedSize(TILE_WIDTH - 24, 18)
        self.conn = QLabel("connecting...")
        self.conn.setWordWrap(True)
        self.why = QLabel("")
        self.why.setWordWrap(True)
        self.why.setStyleSheet(f"color: {RED}; font-weight: 600")
        self.why.hide()
        self.alarm = ""
        self._latest: str | None = None
        self.run_state = "idle"
        self._seen = False
        self._failed = ""
        self._lost = ""
        # the word-wrapped lines get the height of the lines they may take (a tile's height comes
        # from its size hint, which does not ask a wrapped label for its height at the tile's width)
        line = self.fontMetrics().lineSpacing()
        self.detail.setMinimumHeight(2 * line)
        self.why.setMinimumHeight(3 * line)
        self.conn.setMinimumHeight(line)
        self.plan.setMinimumHeight(2 * line)
        self.spark = AccuracySparkline(self, width=TILE_WIDTH - 24)  # the run's running accuracy by trial
        lay = QVBoxLayout(self)
        for w in (
            self.name,
            self.state,
            self.detail,
            self.plan,
            self.progress,
            self.spark,
            self.why,
            self.latest,
            self.conn,
        ):
            lay.addWidget(w)
        self.window: ObserverWindow | None = None
        self._paint()
        self.feed = RemoteFeed(observer, self, history=False, manager=manager, hub=hub)
        self.feed.status.connect(self.show_status)
        self.feed.event.connect(self._event)
        self.feed.connection.connect(self._connection)
        self.feed.start()

    @property
    def rank(self) -> tuple[int, str]:
        """Sort key: alarmed first, then running or paused, then idle; by rig name within."""
        return (RANKS["alarm"] if self.alarm else RANKS.get(self.run_state, 2), self.rig_name)

    def show_status(self, st: dict) -> None:
        run = st.get("run") or {}
        self._seen = True
        self.rig_name = st["rig"]
        self.name.setText(st["rig"])
        if run:
            self._run_state(st["state"], run)
        elif not self._failed:
            self._run_state("idle", {})
        self._trial(run.get("trial") or 0, run.get("of")) if run else None

    def _run_state(self, state: str, run: dict) -> None:
        before = self.rank
        self.run_state = state
        self.state.setText(state_words(state, run))  # "Running · PILOT" for a pilot run
        who = (run.get("expInfo") or {}).get("participant")
        self.detail.setText(f"{run['key']}" + (f", participant {who}" if who else "") if run else "no run")
        if state == "failed":
            self._failed = f"run {run.get('index', '')} of {run.get('key', '?')} failed" + (
                f": {run['error']}" if run.get("error") else ""
            )
        elif state in ("starting", "running"):
            self._failed = ""
        if state != "failed" and not run:
            self._failed = ""
        self._update_alarm()
        self.state.setStyleSheet(f"font-size: 18px; font-weight: 700; color: {run_look(state).colour}")
        if self.rank != before:
            self.rank_changed.emit()

    def _trial(self, n: int, of: int | None) -> None:
        self.progress.setRange(0, of or 1)
        self.progress.setValue(min(n, of) if of else 0)
        self.progress.setFormat(f"trial {n} of {of}" if of else f"trial {n}")
        self.progress.setTextVisible(bool(n))

    def _event(self, ev: dict) -> None:
        kind = ev["type"]
        if kind == "values":
            name, v = next(iter(ev["values"].items()), (None, None))
            if name is not None:
                self._latest = f"{name} {v:.4g}" if isinstance(v, (int, float)) else f"{name} {v}"
        elif kind == "trial":
            self._trial(ev["n"], ev.get("of"))
            self.spark.set_values((ev.get("measures") or {}).get("spark"))
        elif kind == "queue":
            from ..plans.plan_line import plan_line

            self.plan.setText(plan_line(ev.get("queue")))
        elif kind in ("run_started", "run_state", "run_ended") and ev.get("run"):
            self._run_state(ev["run"]["state"], ev["run"])
            if kind == "run_started":
                self._trial(0, ev["run"].get("of"))
                self.spark.set_values([])
        elif kind == "instrument" and ev.get("state") == "down":
            self._latest = f"{ev['name']} down" + (f" ({ev['message']})" if ev.get("message") else "")
            self.refresh_latest()

    def refresh_latest(self) -> None:
        """Show the latest logged value (the dashboard calls this 5 times a second: a value logged
        at 20 Hz is not read faster, and repainting twenty tiles at each one cost a core's percent)."""
        if self._latest is not None:
            self.latest.setText(self._latest)
            self._latest = None

    def _connection(self, what: str) -> None:
        live = what == "live"
        self.conn.setText(what if not what.startswith("lost") else f"connection {what}; retrying...")
        self.conn.setStyleSheet(f"color: {connection_look(what).colour}")
        self._lost = "" if live else ("not heard: " + what.split(": ", 1)[-1] if what.startswith("lost") else what)
        if not self._seen and not live:
            self.state.setText("Not connected")
            self.state.setStyleSheet(f"font-size: 18px; font-weight: 700; color: {NEUTRAL}")
        before = bool(self.alarm)
        self._update_alarm()
        if bool(self.alarm) != before:
            self.rank_changed.emit()

    def _update_alarm(self) -> None:
        alarm = self._failed or self._lost
        if alarm != self.alarm:
            self.alarm = alarm
            self._paint()
            self.alarm_changed.emit(alarm)

    def _paint(self) -> None:
        self.why.setText(self._failed[:1].upper() + self._failed[1:] if self._failed else "")
        self.why.setVisible(bool(self._failed))
        if self.alarm:
            self.setStyleSheet(f"QFrame#rigTile {{ border: 3px solid {RED}; border-radius: 6px; background: #fef3f2 }}")
        else:
            self.setStyleSheet("QFrame#rigTile { border: 1px solid #d0d5dd; border-radius: 6px; background: white }")

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
    """Several rigs, a tile each, reflowed to the window's width and sorted (see the module docstring).

    Args:
        observers: one :class:`RemoteObserver` per rig.
        manager: the :class:`rigconsole.remote.connections.ConnectionManager` (default: the shared one).
        notify: ``(title, message)`` for each rig that turns red (default: the system tray's
            message, or the status bar without a tray).
        save: keep the rig list for the next time (:func:`save_dashboard_rigs`).

    Attributes: tiles (in the order given), notifications (``[(title, message)]`` shown so far).
    """

    def __init__(
        self,
        observers: list[RemoteObserver],
        columns: int | None = None,
        parent=None,
        *,
        manager=None,
        notify: Callable[[str, str], None] | None = None,
        save: bool = True,
    ):
        super().__init__(parent)
        self.setWindowTitle("Rig Console: lab dashboard")
        self._fixed_columns = columns
        self._columns = 0
        self._notify = notify or self._tray_message
        self._tray: QSystemTrayIcon | None = None
        self.notifications: list[tuple[str, str]] = []
        self.summary = QLabel("")
        self.summary.setStyleSheet("font-size: 14px; font-weight: 600; padding: 4px")
        self._grid_host = QWidget()
        self.grid = QGridLayout(self._grid_host)
        self.grid.setSpacing(10)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._grid_host)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.addWidget(self.summary)
        lay.addWidget(scroll, 1)
        self.setCentralWidget(central)
        self.hub = FeedHub(self)
        self.tiles = [RigTile(o, manager=manager, hub=self.hub) for o in observers]
        for t in self.tiles:
            t.alarm_changed.connect(lambda why, t=t: self._alarm(t, why))
            t.rank_changed.connect(self._schedule_reflow)
        self._latest_timer = QTimer(self)  # one timer for every tile's latest value
        self._latest_timer.setInterval(LATEST_REFRESH_MS)
        self._latest_timer.timeout.connect(self._refresh_latest)
        self._latest_timer.start()
        self._reflow_timer = QTimer(self)
        self._reflow_timer.setSingleShot(True)
        self._reflow_timer.setInterval(50)
        self._reflow_timer.timeout.connect(self.reflow)
        if save and observers:
            save_dashboard_rigs([{"host": o.host, "port": o.port, "tls": o.tls} for o in observers])
        self.reflow()

    def _refresh_latest(self) -> None:
        for t in self.tiles:
            t.refresh_latest()

    def ordered_tiles(self) -> list[RigTile]:
        """The tiles in display order: alarmed first, then running or paused, then idle."""
        return sorted(self.tiles, key=lambda t: t.rank)

    def _schedule_reflow(self) -> None:
        self._reflow_timer.start()

    def reflow(self) -> None:
        """Lay the tiles out again: as many columns as fit the width, in :meth:`ordered_tiles` order."""
        width = self._grid_host.width() if self.isVisible() else self.width()
        cols = self._fixed_columns or max(1, (width - 20) // (TILE_WIDTH + self.grid.spacing()))
        self._columns = cols
        for t in self.tiles:
            self.grid.removeWidget(t)
        for i, t in enumerate(self.ordered_tiles()):
            self.grid.addWidget(t, i // cols, i % cols, Qt.AlignmentFlag.AlignTop)
        alarmed = [t.rig_name for t in self.tiles if t.alarm]
        self.summary.setText(
            f"{len(self.tiles)} rigs: " + (f"{len(alarmed)} need attention" if alarmed else "all well")
        )
        self.summary.setStyleSheet(f"font-size: 14px; font-weight: 600; padding: 4px; color: {RED if alarmed else OK}")

    @property
    def columns(self) -> int:
        return self._columns

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._schedule_reflow()

    def _alarm(self, tile: RigTile, why: str) -> None:
        self._schedule_reflow()
        if not why:
            return
        title = f"Rig {tile.rig_name} needs attention"
        self.notifications.append((title, why))
        try:
            self._notify(title, why)
        except Exception:  # noqa: BLE001 - a broken notifier must not take the dashboard down
            pass

    def _tray_message(self, title: str, message: str) -> None:
        if QSystemTrayIcon.isSystemTrayAvailable():
            if self._tray is None:
                self._tray = QSystemTrayIcon(self.windowIcon(), self)
                self._tray.show()
            self._tray.showMessage(title, message, QSystemTrayIcon.MessageIcon.Warning, 10_000)
        self.statusBar().showMessage(f"{time.strftime('%H:%M:%S')}  {title}: {message}")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._latest_timer.stop()
        for t in self.tiles:
            t.close_feed()
        if self._tray is not None:
            self._tray.hide()
        super().closeEvent(event)
