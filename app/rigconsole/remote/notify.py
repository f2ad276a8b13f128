"""Email notifications for a rig (pymanip's ``AsyncSession.send_email``, done for a rig).

A :class:`Notifier` is a Rig component. It mails when a run ends (finished or
stopped, or failed), when an instrument goes down (the instrument manager's
psygnal ``events.state_changed(name, state, message)`` with ``state ==
"down"``), when the data disk runs low, and optionally a periodic report of
chosen variables' last values. Slots only queue a message (the main thread
never waits for a mail server); one worker thread sends, over SMTP with
STARTTLS, SSL (implicit TLS) or neither, retrying a failing server with
growing delays and logging each failure.
"""
from __future__ import annotations

import logging
import queue
import shutil
import smtplib
import socket
import ssl
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from .settings import EmailSettings

__all__ = ["Notifier", "INSTRUMENT_DOWN"]

log = logging.getLogger("rigconsole.remote.notify")

#: the instrument state that sends a mail (rigconsole.instruments.ConnectionState.DOWN's value)
INSTRUMENT_DOWN = "down"
MAX_QUEUED = 100


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

    ``start(rig)`` subscribes to ``rig.session.events`` and the rig's
    instrument manager (``rig.component("instruments")``) and watches
    ``rig.settings.data_dir``; ``attach(session=..., instruments=..., data_dir=...)``
    does the same without a Rig. ``sent`` lists the subjects delivered.
    """

    def __init__(self, settings: EmailSettings, *, password: str | None = None, rig_name: str | None = None,
                 ca_file: str | Path | None = None, retry_delays_s: tuple[float, ...] = (5.0, 30.0, 120.0, 600.0),
                 timeout_s: float = 10.0, disk_check_s: float = 60.0) -> None:
        self.settings = settings
        self._password = password
        self.rig_name = rig_name or socket.gethostname()
        self.ca_file = Path(ca_file) if ca_file else None
        self.retry_delays_s = tuple(retry_delays_s)
        self.timeout_s = timeout_s
        self.disk_check_s = disk_check_s
        self.sent: list[str] = []
        self.failures = 0
        self._q: queue.Queue[EmailMessage | None] = queue.Queue(maxsize=MAX_QUEUED)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._links: list[tuple[Any, Any]] = []
        self._data_dir: Path | None = None
        self._data_log = None
        self._disk_warned = False
        self._last_report = time.monotonic()

    # ------------------------------------------------------------------ lifecycle
    def start(self, rig: Any = None) -> None:
        """A Rig component's ``start``: subscribe to the rig's session and instruments; start the worker."""
        if rig is not None:
            comp = getattr(rig, "component", None)
            self.attach(session=rig.session, instruments=comp("instruments") if callable(comp) else None,
                        data_dir=getattr(rig.settings, "data_dir", None), data_log=lambda: rig.data_log)
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._work, name="rigconsole notifier", daemon=True)
            self._thread.start()

    def attach(self, *, session: Any = None, instruments: Any = None, data_dir: str | Path | None = None,
               data_log: Any = None) -> None:
        """Subscribe to a Session's runs, an instrument manager's states, and watch a data folder's disk."""
        if session is not None:
            self._links.append((session.events.run_ended, self._on_run_ended))
        ev = getattr(instruments, "events", None)
        if ev is not None and hasattr(ev, "state_changed"):
            self._links.append((ev.state_changed, self._on_instrument))
        for sig, slot in self._links:
            sig.connect(slot)
        if data_dir is not None:
            self._data_dir = Path(data_dir)
        self._data_log = data_log

    def close(self) -> None:
        """Unsubscribe, send what is queued (bounded by the retry delays), stop the worker."""
        for sig, slot in self._links:
            try:
                sig.disconnect(slot)
            except Exception:
                pass
        self._links = []
        thread = self._thread
        if thread is not None:
            self._stop.set()
            try:
                self._q.put_nowait(None)
            except queue.Full:
                pass
            thread.join(self.timeout_s + 1.0)
        self._thread = None

    # ------------------------------------------------------------------ events (any thread; never block)
    def _on_run_ended(self, record: Any) -> None:
        s = self.settings
        state = getattr(record, "state", "?")
        if state == "failed" and not s.on_run_failed:
            return
        if state != "failed" and not s.on_run_finished:
            return
        what = "FAILED" if state == "failed" else state
        lines = [f"Run {record.index} of {record.key} {what} on rig {self.rig_name}.",
                 f"Trials: {record.n_trials}" + (f" of {record.total_trials}" if record.total_trials else ""),
                 f"Started: {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(record.started))}"]
        if record.ended:
            lines.append(f"Ended: {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(record.ended))}")
        if record.error:
            lines += ["", f"Error: {record.error}", "", record.traceback or ""]
        lines += ["", "expInfo:"] + [f"  {k}: {v}" for k, v in record.exp_info.items()]
        self.notify(f"[{self.rig_name}] run {record.index} {record.key}: {what}", "\n".join(lines))

    def _on_instrument(self, name: str, state: str, message: str = "") -> None:
        if state == INSTRUMENT_DOWN and self.settings.on_instrument_down:
            self.notify(f"[{self.rig_name}] instrument {name} is down",
                        f"Instrument {name} on rig {self.rig_name} went down: {message or 'no detail'}")

    def notify(self, subject: str, body: str) -> bool:
        """Queue one mail to every address in the settings; ``False`` when the queue is full (logged)."""
        s = self.settings
        if not (s.enabled and s.host and s.to_addrs):
            return False
        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = s.from_addr or (s.user or f"rigconsole@{self.rig_name}")
        msg["To"] = ", ".join(s.to_addrs)
        msg.set_content(body)
        try:
            self._q.put_nowait(msg)
        except queue.Full:
            log.error("notifications: %d mails waiting; dropped %r", MAX_QUEUED, subject)
            return False
        return True

    # ------------------------------------------------------------------ worker
    def _work(self) -> None:
        next_disk = 0.0
        while True:
            try:
                msg = self._q.get(timeout=min(self.disk_check_s, 1.0))
            except queue.Empty:
                msg = None
            if msg is not None:
                self._deliver(msg)
            elif self._stop.is_set() and self._q.empty():
                return
            now = time.monotonic()
            if self._data_dir is not None and now >= next_disk and not self._stop.is_set():
                next_disk = now + self.disk_check_s
                self._check_disk()
            if self.settings.report_hours > 0 and now - self._last_report >= self.settings.report_hours * 3600:
                self._last_report = now
                self._report()

    def _check_disk(self) -> None:
        limit = self.settings.disk_low_gb
        if limit <= 0:
            return
        try:
            free_gb = shutil.disk_usage(self._data_dir).free / 1e9
        except OSError as err:
            log.warning("notifications: cannot read the free space of %s: %s", self._data_dir, err)
            return
        if free_gb < limit and not self._disk_warned:
            self._disk_warned = True
            self.notify(f"[{self.rig_name}] data disk low: {free_gb:.1f} GB free",
                        f"The data folder {self._data_dir} on rig {self.rig_name} has {free_gb:.2f} GB free "
                        f"(warning below {limit:g} GB). Free some space before the next run.")
        elif free_gb >= limit * 1.1:
            self._disk_warned = False

    def _report(self) -> None:
        dl = self._data_log() if callable(self._data_log) else self._data_log
        if dl is None:
            return
        last = dl.logged_last_values()
        names = self.settings.report_variables or sorted(last)
        rows = [f"  {n}: {last[n][1]:g} at {time.strftime('%H:%M:%S', time.localtime(last[n][0]))}"
                for n in names if last.get(n)]
        self.notify(f"[{self.rig_name}] report", "Last values:\n" + ("\n".join(rows) or "  (none logged)"))

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
                log.warning("notifications: mail server %s failed (attempt %d of %d): %s",
                            self.settings.host, attempt, len(delays), err)
                continue
            self.sent.append(str(msg["Subject"]))
            return
        log.error("notifications: gave up on %r after %d attempts", msg["Subject"], len(delays))
