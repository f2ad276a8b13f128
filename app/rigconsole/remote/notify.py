"""Email notifications for a rig (pymanip's ``AsyncSession.send_email``, done for a rig).

A :class:`Notifier` is a Rig component. It mails when a run ends (finished or
stopped, or failed), when an instrument goes down (the instrument manager's
psygnal ``events.state_changed(name, state, message)`` with ``state ==
"down"``), when the data disk runs low, and optionally every
``report_minutes`` a report: a text summary (rig, session, current run and
trial n of N, instrument states, last values) and a PNG plot of each chosen
logged variable over the last ``report_window_minutes``, inline in an HTML
part (:mod:`rigconsole.remote.report`). Slots only queue a message (the
main thread never waits for a mail server or a plot); one worker thread
sends, over SMTP with STARTTLS, SSL (implicit TLS) or neither, retrying a
failing server with growing delays and logging each failure; another
watches the disk and makes the reports.

The report's plots are drawn on that watcher thread, which holds the GIL
while it draws (about 50 ms a plot here: longer than a 60 Hz frame). So
while a run's frames are recorded (the frame-budget port's ``running``), a
due report waits for the run to end, at most one report period, and then
goes without plots, saying why; with ``report_plots_during_runs`` it draws
during the run, each piece (build, draw, encode) after the port's
``wait_for_quiet`` (the frame's quiet window), as the data log's writer does.
matplotlib itself (about 1.5 s of imports) is imported on the watcher
thread at its first moment with no run, 10 s after ``start``.
"""

from __future__ import annotations

import logging
import queue
import shutil
import smtplib
import socket
import ssl
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from ..frame_budget import IDLE, FrameBudget
from .settings import EmailSettings

__all__ = ["Notifier", "INSTRUMENT_DOWN", "WARM_UP_AFTER_S"]

log = logging.getLogger("rigconsole.remote.notify")

#: the instrument state that sends a mail (rigconsole.instruments.ConnectionState.DOWN's value)
INSTRUMENT_DOWN = "down"
MAX_QUEUED = 100
#: the watcher imports matplotlib (for the report's plots) no sooner than this after ``start``
#: (not while the console itself starts up), at a moment with no run
WARM_UP_AFTER_S = 10.0


class Notifier:
    """Sends the rig's notifications by email from a worker thread.

    Args:
        settings: :class:`rigconsole.remote.settings.EmailSettings` (host, port,
            security, user, addresses, which events, disk threshold, report period).
        password: the SMTP password (the console reads it from the OS keyring).
        rig_name: the rig's name in subjects (default: the host name).
        ca_file: a PEM file of certificates to trust for the mail server
            (default: the system's authorities).
        retry_delays_s: waits between attempts at one message; after the last
            the message is logged as lost.
        timeout_s: SMTP connection timeout, seconds.
        disk_check_s: how often the data disk's free space is checked, seconds.
        budget: the frame-budget port the report's drawing asks (default: the
            rig's or session's ``frame_budget``, else
            :data:`rigconsole.frame_budget.IDLE`).

    ``start(rig)`` subscribes to ``rig.session.events`` and the rig's
    instrument manager (``rig.component("instruments")``), watches
    ``rig.settings.data_dir`` and reports from ``rig.data_log``;
    ``attach(session=..., instruments=..., data_dir=..., data_log=...)``
    does the same without a Rig. ``sent`` lists the subjects delivered;
    ``reports`` counts the reports queued; :meth:`send_report` asks for one now.
    """

    def __init__(
        self,
        settings: EmailSettings,
        *,
        password: str | None = None,
        rig_name: str | None = None,
        ca_file: str | Path | None = None,
        retry_delays_s: tuple[float, ...] = (5.0, 30.0, 120.0, 600.0),
        timeout_s: float = 10.0,
        disk_check_s: float = 60.0,
        budget: FrameBudget | None = None,
    ) -> None:
        self.settings = settings
        self._password = password
        self.rig_name = rig_name or socket.gethostname()
        self.ca_file = Path(ca_file) if ca_file else None
        self.retry_delays_s = tuple(retry_delays_s)
        self.timeout_s = timeout_s
        self.disk_check_s = disk_check_s
        self.sent: list[str] = []
        self.failures = 0
        self.reports = 0
        self._q: queue.Queue[EmailMessage | None] = queue.Queue(maxsize=MAX_QUEUED)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._report_asked = threading.Event()
        self._thread: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self._links: list[tuple[Any, Any]] = []
        self._data_dir: Path | Callable[[], Any] | None = None
        self._data_log: Any = None
        self._session: Any = None
        self._instruments: Any = None
        self._budget_set = budget is not None  # given, or the rig's (start) or the session's (attach)
        self._budget: Callable[[], FrameBudget | None] = lambda: budget
        self._disk_warned = False
        self._step_s: dict[str, deque[float]] = {}
        self._plotting_ready = False
        self._started = time.monotonic()

    # ------------------------------------------------------------------ lifecycle
    def start(self, rig: Any = None) -> None:
        """A Rig component's ``start``: subscribe to the rig's session and instruments; start the worker."""
        if rig is not None:
            comp = getattr(rig, "component", None)
            settings = getattr(rig, "settings", None)
            name = getattr(getattr(settings, "remote", None), "rig_name", "")
            if name and self.rig_name == socket.gethostname():
                self.rig_name = name
            if not self._budget_set:  # the rig's current port
                self._budget = lambda: getattr(rig, "frame_budget", None)
                self._budget_set = True
            self.attach(
                session=rig.session,
                instruments=comp("instruments") if callable(comp) else None,
                data_dir=lambda: getattr(rig.settings, "data_dir", None),
                data_log=lambda: rig.data_log,
            )
        if self._thread is None:
            self._stop.clear()
            self._started = time.monotonic()
            self._thread = threading.Thread(target=self._work, name="rigconsole notifier", daemon=True)
            self._thread.start()
            self._watcher = threading.Thread(target=self._watch, name="rigconsole notifier watch", daemon=True)
            self._watcher.start()

    def attach(
        self,
        *,
        session: Any = None,
        instruments: Any = None,
        data_dir: str | Path | Callable[[], Any] | None = None,
        data_log: Any = None,
        budget: FrameBudget | None = None,
    ) -> None:
        """Subscribe to a Session's runs, an instrument manager's states, and watch a data folder's disk.

        ``data_dir``: the folder, or a callable returning the current one (a Rig's
        changes with its settings). ``data_log``: the
        :class:`rigconsole.datalog.DataLog` the report reads, or a callable
        returning the current one. ``budget``: the frame-budget port (default:
        the session's ``frame_budget``).
        """
        links: list[tuple[Any, Any]] = []
        if budget is not None:
            self._budget = lambda: budget
            self._budget_set = True
        if session is not None:
            self._session = session
            if not self._budget_set:
                self._budget = lambda: getattr(session, "frame_budget", None)
                self._budget_set = True
            links.append((session.events.run_ended, self._on_run_ended))
        ev = getattr(instruments, "events", None)
        if ev is not None and hasattr(ev, "state_changed"):
            links.append((ev.state_changed, self._on_instrument))
        if instruments is not None:
            self._instruments = instruments
        for sig, slot in links:
            sig.connect(slot)
        self._links += links
        if data_dir is not None:
            self._data_dir = data_dir if callable(data_dir) else Path(data_dir)
        if data_log is not None:
            self._data_log = data_log

    def close(self) -> None:
        """Unsubscribe, send what is queued (bounded by the retry delays), stop the worker."""
        for sig, slot in self._links:
            try:
                sig.disconnect(slot)
            except Exception:
                pass
        self._links = []
        thread, watcher = self._thread, self._watcher
        self._stop.set()
        self._wake.set()
        if watcher is not None:
            watcher.join(self.timeout_s + 5.0)
        if thread is not None:
            try:
                self._q.put_nowait(None)
            except queue.Full:
                pass
            thread.join(self.timeout_s + 1.0)
        self._thread = self._watcher = None

    def send_report(self) -> None:
        """Ask for a report now (the watcher thread makes it; same rules as the periodic one)."""
        self._report_asked.set()
        self._wake.set()

    # ------------------------------------------------------------------ events (any thread; never block)
    def _on_run_ended(self, record: Any) -> None:
        s = self.settings
        state = getattr(record, "state", "?")
        if state == "failed" and not s.on_run_failed:
            return
        if state != "failed" and not s.on_run_finished:
            return
        what = "FAILED" if state == "failed" else state
        from ..session.outcomes import RunOutcome

        pilot = bool(getattr(record, "pilot", False))
        run = "pilot run" if pilot else "run"  # PsychoPy's pilot mode: a person trying the task
        lines = [
            f"{run.capitalize()} {record.index} of {record.key} on rig {self.rig_name}: "
            f"{RunOutcome.from_record(record).sentence(traceback_hint=False)}.",
            f"Trials: {record.n_trials}" + (f" of {record.total_trials}" if record.total_trials else ""),
            f"Started: {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(record.started))}",
        ]
        if record.ended:
            lines.append(f"Ended: {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(record.ended))}")
        if record.error:
            lines += ["", f"Error: {record.error}", "", record.traceback or ""]
        if pilot:
            lines.append("A PILOT run (PsychoPy's pilot mode): a try-out, its data in the data folder's pilot/.")
        lines += ["", "expInfo:"] + [f"  {k}: {v}" for k, v in record.exp_info.items()]
        self.notify(f"[{self.rig_name}] {run} {record.index} {record.key}: {what}", "\n".join(lines))

    def _on_instrument(self, name: str, state: str, message: str = "") -> None:
        if state == INSTRUMENT_DOWN and self.settings.on_instrument_down:
            self.notify(
                f"[{self.rig_name}] instrument {name} is down",
                f"Instrument {name} on rig {self.rig_name} went down: {message or 'no detail'}",
            )

    @property
    def _sender(self) -> str:
        s = self.settings
        return s.from_addr or (s.user or f"rigconsole@{self.rig_name}")

    @property
    def _can_send(self) -> bool:
        s = self.settings
        return bool(s.enabled and s.host and s.to_addrs)

    def notify(self, subject: str, body: str) -> bool:
        """Queue one mail to every address in the settings; ``False`` when the queue is full (logged)."""
        s = self.settings
        if not self._can_send:
            return False
        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = self._sender
        msg["To"] = ", ".join(s.to_addrs)
        msg.set_content(body)
        return self._queue(msg)

    def _queue(self, msg: EmailMessage) -> bool:
        subject = str(msg["Subject"])
        try:
            self._q.put_nowait(msg)
        except queue.Full:
            log.error("notifications: %d mails waiting; dropped %r", MAX_QUEUED, subject)
            return False
        return True

    # ------------------------------------------------------------------ worker
    def _work(self) -> None:
        """The sender thread: one mail at a time, each retried (see ``retry_delays_s``)."""
        while True:
            msg = self._q.get()
            if msg is None:
                if self._stop.is_set():
                    return
                continue
            self._deliver(msg)

    def _watch(self) -> None:
        """The watcher thread: the data disk, the report's timer, the report itself."""
        next_disk = 0.0
        next_report = None
        held_since: float | None = None
        wanted = False
        while not self._stop.is_set():
            self._wake.wait(min(self.disk_check_s, 1.0))
            self._wake.clear()
            if self._stop.is_set():
                return
            now = time.monotonic()
            if self._data_dir is not None and now >= next_disk:
                next_disk = now + self.disk_check_s
                self._check_disk()
            period = self.settings.report_minutes * 60.0
            if period > 0:
                if next_report is None:
                    next_report = now + period
                elif now >= next_report:
                    wanted, next_report = True, now + period
            if self._report_asked.is_set():
                self._report_asked.clear()
                wanted = True
            running = self._frames_matter()
            if (
                not (wanted or running or self._plotting_ready)
                and now - self._started >= WARM_UP_AFTER_S
                and period > 0
            ):
                self._warm_up()
            if not wanted:
                continue
            hold = running and not self.settings.report_plots_during_runs
            if hold:
                if held_since is None:
                    held_since = now
                    log.info("notifications: report due during a run: its plots wait for the run's end")
                if now - held_since < (period or 600.0):
                    continue
            wanted = False
            note = (
                "Plots held back: a run was in progress for the whole report period (drawing them would cost "
                "frames; set report_plots_during_runs to draw them anyway)."
                if hold
                else ""
            )
            held_since = None
            self._report(plots=not hold, note=note)

    def _frames_matter(self) -> bool:
        try:
            return bool(self._port().running)
        except Exception:
            return False

    def _port(self) -> FrameBudget:
        return self._budget() or IDLE

    def _warm_up(self) -> None:
        self._plotting_ready = True
        try:
            import matplotlib.backends.backend_agg  # noqa: F401 - the report's plots, imported off the main thread
            import matplotlib.figure  # noqa: F401
        except Exception as err:  # pragma: no cover - matplotlib comes with psychopy
            log.warning("notifications: the report's plots are not available: %s", err)

    def _step(self, name: str, fn: Callable[[], Any]) -> Any:
        """Run one GIL-heavy piece of the report: during a run, after the frame's quiet window begins."""
        port = self._port()
        times = self._step_s.setdefault(name, deque(maxlen=16))
        if port.running:
            period = 1.0 / max(port.refresh_hz, 1.0)
            need = statistics.median(times) if times else period
            port.wait_for_quiet(period * 2, min(need, period * 0.9))
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            times.append(time.perf_counter() - t0)

    def _check_disk(self) -> None:
        limit = self.settings.disk_low_gb
        if limit <= 0:
            return
        folder = self._data_dir() if callable(self._data_dir) else self._data_dir
        if folder is None:
            return
        try:
            free_gb = shutil.disk_usage(folder).free / 1e9
        except (OSError, TypeError) as err:
            log.warning("notifications: cannot read the free space of %s: %s", folder, err)
            return
        if free_gb < limit and not self._disk_warned:
            self._disk_warned = True
            self.notify(
                f"[{self.rig_name}] data disk low: {free_gb:.1f} GB free",
                f"The data folder {folder} on rig {self.rig_name} has {free_gb:.2f} GB free "
                f"(warning below {limit:g} GB). Free some space before the next run.",
            )
        elif free_gb >= limit * 1.1:
            self._disk_warned = False

    def _report(self, *, plots: bool = True, note: str = "") -> bool:
        """Make the report (on the watcher thread) and queue it; ``False`` when it could not be made
        or sent (logged). Never raises."""
        from . import report

        s = self.settings
        if not self._can_send:
            return False
        try:
            dl = (
                self._data_log()
                if callable(self._data_log) and not hasattr(self._data_log, "add_entry")
                else self._data_log
            )
            data = report.collect(
                rig_name=self.rig_name,
                data_log=dl,
                session=self._session,
                instruments=self._instruments,
                variables=s.report_variables,
                window_s=s.report_window_minutes * 60.0,
                period_min=s.report_minutes,
                with_series=plots,
            )
        except Exception as err:
            log.exception("notifications: the report could not be made")
            return self.notify(f"[{self.rig_name}] report", f"The report could not be made: {err}")
        if note:
            data.notes.append(note)
        pngs: list[tuple[str, bytes]] = []
        if plots:
            for p in data.series:
                try:
                    pngs.append((p.name, report.render_plot(p, data.t, data.window_s, run_step=self._step)))
                except Exception as err:
                    log.exception("notifications: the report's plot of %s could not be drawn", p.name)
                    data.notes.append(f"The plot of {p.name} could not be drawn: {err}")
        run = data.run
        what = (
            (
                f"run {run['index']} {run['key']}, trial {run['n_trials']}"
                + (f" of {run['total_trials']}" if run.get("total_trials") else "")
            )
            if run
            else "idle"
        )
        msg = report.build_message(
            data,
            pngs,
            subject=f"[{self.rig_name}] report {time.strftime('%H:%M')}: {what}",
            sender=self._sender,
            to=list(s.to_addrs),
        )
        self.reports += 1
        return self._queue(msg)

    def _ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)

    def _send_once(self, msg: EmailMessage) -> None:
        s = self.settings
        port = s.port or {"ssl": 465, "starttls": 587}.get(s.security, 25)
        if s.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, port, timeout=self.timeout_s, context=self._ssl_context())
        else:
            smtp = smtplib.SMTP(s.host, port, timeout=self.timeout_s)
        try:
            if s.security == "starttls":
                smtp.starttls(context=self._ssl_context())
            if s.user:
                smtp.login(s.user, self._password or "")
            smtp.send_message(msg)
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def _deliver(self, msg: EmailMessage) -> None:
        delays = (0.0,) + self.retry_delays_s
        for attempt, delay in enumerate(delays, 1):
            if delay and self._stop.wait(delay):
                log.error("notifications: closing; %r not sent", msg["Subject"])
                return
            try:
                self._send_once(msg)
            except (smtplib.SMTPException, OSError, ssl.SSLError) as err:
                self.failures += 1
                log.warning(
                    "notifications: mail server %s failed (attempt %d of %d): %s",
                    self.settings.host,
                    attempt,
                    len(delays),
                    err,
                )
                continue
            self.sent.append(str(msg["Subject"]))
            return
        log.error("notifications: gave up on %r after %d attempts", msg["Subject"], len(delays))
