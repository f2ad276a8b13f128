"""One instrument: its worker thread, its polled channels, its connection state.

Every VISA call of an instrument runs on that instrument's own worker thread
(pyvisa sessions are not shared across threads), never on the main thread nor
in a stimulus frame. Readers get the last polled value without any I/O (as
QCoDeS' Monitor serves cached values); a query goes to the worker and comes
back as a :class:`concurrent.futures.Future` (or blocks the caller for it).

Connection states (:class:`ConnectionState`)::

    disconnected -> connecting -> connected <-> degraded (a timeout, a bad reply)
                                      |             | (down_after_timeouts in a row, a lost link)
                                      v             v
                                     down -> reconnecting (re-opening with backoff) -> connected

A timeout re-opens the resource at once (a late reply must not be taken for
the answer to the next query). While an instrument is down, requests fail at
once with :class:`InstrumentDownError` instead of waiting.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from enum import Enum
from typing import Any

from psygnal import Signal, SignalGroup

from ..frame_budget import IDLE, FrameBudget
from ..notifications import one_line
from .config import ChannelConfig, InstrumentConfig, RigConfig
from .links import BadReplyError, driver_channels, driver_class, open_link, parse_reading, prepare_backend

__all__ = [
    "Instrument",
    "InstrumentSignals",
    "ConnectionState",
    "Reading",
    "InstrumentError",
    "InstrumentDownError",
    "InstrumentTimeoutError",
    "SetpointError",
    "BadReplyError",
]

log = logging.getLogger("rigconsole.instruments")


class ConnectionState(str, Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DEGRADED = "degraded"
    DOWN = "down"
    RECONNECTING = "reconnecting"


@dataclass(frozen=True)
class Reading:
    """One polled reading: ``t`` epoch seconds when the reply arrived, ``value`` in ``unit``."""

    channel: str
    t: float
    value: float
    unit: str


class InstrumentError(RuntimeError):
    """An instrument request that failed; the message names the instrument."""


class InstrumentDownError(InstrumentError):
    """The instrument is not connected (down, reconnecting or disconnected)."""


class InstrumentTimeoutError(InstrumentError):
    """No reply within the instrument's I/O timeout."""


class SetpointError(ValueError):
    """A setpoint value outside its limits, or an unknown setpoint or command; nothing was sent."""


_STOP = object()
_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"


def _is_timeout(err: BaseException) -> bool:
    try:
        import pyvisa
        from pyvisa import constants
    except ImportError:  # pragma: no cover
        return False
    return isinstance(err, pyvisa.errors.VisaIOError) and err.error_code == constants.StatusCode.error_timeout


class InstrumentSignals(SignalGroup):
    """What one :class:`Instrument` announces (psygnal, no Qt), from its worker thread.

    The :class:`~rigconsole.instruments.InstrumentManager` connects to these
    (data log, views); the instrument knows nothing of who listens. A slot
    that raises is logged and never stops the worker.
    """

    #: (idn: the ``*IDN?`` reply, "" without one) when the resource opened, before ``state_changed``
    connected = Signal(str)
    #: (state: ConnectionState, one-line message) on each change of state
    state_changed = Signal(object, str)
    #: (Reading) for each polled or requested reading
    reading = Signal(object)


class Instrument:
    """A configured instrument. Made by :class:`~rigconsole.instruments.InstrumentManager`.

    Thread-safe: any thread may read values and submit requests. Values are
    floats in the channel's unit; times are epoch seconds. It announces
    through :attr:`events` (:class:`InstrumentSignals`).

    Args:
        budget: the frame-budget port the worker asks before decoding and
            logging (:meth:`use_budget` replaces it).
    """

    def __init__(self, name: str, config: InstrumentConfig, rig: RigConfig, *, budget: FrameBudget = IDLE):
        self.name = name
        self.config = config
        self.events = InstrumentSignals()
        self._rig = rig
        self._budget = budget
        self._problem: str | None = None
        channels = dict(config.channels)
        if config.driver and not channels:
            try:
                channels = driver_channels(driver_class(config.driver))
            except ImportError as err:
                self._problem = str(err)
        self.channels: dict[str, ChannelConfig] = channels
        self._raw_setpoints = [
            (
                sp_name,
                sp,
                re.compile("^" + re.escape(sp.command.split("{")[0].strip()) + r"\s*" + _NUMBER + r"\s*$", re.I),
            )
            for sp_name, sp in config.setpoints.items()
        ]
        self._lock = threading.Lock()
        self._last: dict[str, Reading] = {}
        self._state = ConnectionState.DISCONNECTED
        self._message = ""
        self._idn: str | None = None
        self._jobs: queue.Queue = queue.Queue()
        self._want = False
        self._thread: threading.Thread | None = None
        self._link: Any = None
        self._timeouts = 0
        self._backoff = config.retry.backoff_first_s
        self._retry_at = 0.0
        self._due: dict[str, float] = {}
        self._cycle_cpu: list[float] = []
        self._cpu_s = 0.0

    def use_budget(self, budget: FrameBudget | None) -> None:
        """The frame budget the worker asks before decoding and logging (``IDLE`` when ``None``)."""
        self._budget = budget or IDLE

    def _announce(self, signal: Any, *args: Any) -> None:
        """Emit one of :attr:`events`; a failing subscriber is logged, never stops the worker."""
        try:
            signal.emit(*args)
        except Exception:  # noqa: BLE001 - a subscriber's bug must not take an instrument down
            log.exception("instrument %s: a subscriber to %s failed", self.name, signal.name)

    # ------------------------------------------------------------------ reading without I/O

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def message(self) -> str:
        """Why the instrument is in its state (one line), e.g. the last error."""
        return self._message

    @property
    def idn(self) -> str | None:
        """The ``*IDN?`` reply at the last connection, ``None`` before."""
        return self._idn

    @property
    def cpu_time_s(self) -> float:
        """CPU time the worker thread has used so far, seconds (its GIL-holding cost, roughly)."""
        return self._cpu_s

    def units(self) -> dict[str, str]:
        """{channel: unit}."""
        return {k: c.unit for k, c in self.channels.items()}

    def variable(self, channel: str) -> str:
        """The logged variable a channel's readings go to: ``"<instrument>.<channel>"``."""
        return f"{self.name}.{channel}"

    def last(self, channel: str | None = None) -> Reading | None:
        """The last polled :class:`Reading` of a channel (no I/O), ``None`` before the first."""
        with self._lock:
            return self._last.get(self._channel(channel))

    def value(self, channel: str | None = None) -> float | None:
        """The last polled value of a channel, in its unit (no I/O); ``None`` before the first reading."""
        r = self.last(channel)
        return None if r is None else r.value

    def readings(self) -> dict[str, Reading]:
        """{channel: last Reading} for channels read at least once (no I/O)."""
        with self._lock:
            return dict(self._last)

    def __getitem__(self, channel: str) -> float | None:
        return self.value(channel)

    def _channel(self, channel: str | None) -> str:
        if channel is None:
            if len(self.channels) == 1:
                return next(iter(self.channels))
            raise KeyError(f"{self.name} has channels {', '.join(self.channels) or 'none'}; name one")
        if channel not in self.channels:
            raise KeyError(f"{self.name} has no channel {channel!r}; it has {', '.join(self.channels) or 'none'}")
        return channel

    # ------------------------------------------------------------------ requests (run in the worker)

    def query_async(self, text: str) -> Future:
        """Send a SCPI query in the worker; the future gives the reply (str, stripped).

        The future raises :class:`InstrumentDownError` at once while the
        instrument is not connected, :class:`InstrumentTimeoutError` after its
        ``timeout_s``.
        """
        return self._submit("query", text)

    def write_async(self, text: str) -> Future:
        """Send a SCPI command (no reply expected); the future gives ``None`` once written."""
        return self._submit("write", text)

    def read_async(self, channel: str | None = None) -> Future:
        """Read a channel now (not the cached value); the future gives the value (float)."""
        return self._submit("read", self._channel(channel))

    def set_async(self, setpoint: str, value: float) -> Future:
        """Set a setpoint; raises :class:`SetpointError` here, before any I/O, when out of limits."""
        sp = self.config.setpoints.get(setpoint)
        if sp is None:
            raise SetpointError(
                f"{self.name} has no setpoint {setpoint!r}; it has {', '.join(self.config.setpoints) or 'none'}"
            )
        v = float(value)
        if not (sp.min <= v <= sp.max):
            raise SetpointError(
                f"{self.name}.{setpoint} = {v:g} {sp.unit} is outside its limits [{sp.min:g}, {sp.max:g}] {sp.unit}; nothing was sent"
            )
        return self._submit("write", sp.command.format(value=v))

    def command_async(self, command: str) -> Future:
        """Send a named command from the rig file."""
        text = self.config.commands.get(command)
        if text is None:
            raise SetpointError(
                f"{self.name} has no command {command!r}; it has {', '.join(self.config.commands) or 'none'}"
            )
        return self._submit("query" if text.rstrip().endswith("?") else "write", text)

    def send_async(self, text: str) -> Future:
        """The console's command line: a query when the text has '?', else a write (reply ``""``).

        A raw command that sets a setpoint (e.g. ``VOLT 500`` for a
        ``VOLT {value}`` setpoint) is held to that setpoint's limits too.
        """
        text = text.strip()
        if not text:
            raise SetpointError("empty command")
        for sp_name, _sp, pat in self._raw_setpoints:
            m = pat.match(text)
            if m is not None:
                self.set_async(sp_name, float(m.group(1)))  # raises when out of limits
        if "?" in text:
            return self._submit("query", text)
        fut: Future = Future()
        inner = self._submit("write", text)
        inner.add_done_callback(lambda f: fut.set_exception(f.exception()) if f.exception() else fut.set_result(""))
        return fut

    def _wait(self, fut: Future, timeout: float | None) -> Any:
        limit = timeout if timeout is not None else self.config.timeout_s * 2 + self.config.open_timeout_s
        try:
            return fut.result(limit)
        except FutureTimeout:
            raise InstrumentTimeoutError(f"{self.name}: no answer within {limit:g} s") from None

    def query(self, text: str, timeout: float | None = None) -> str:
        """Blocking :meth:`query_async`: the caller waits up to ``timeout`` s (default: twice
        ``timeout_s`` plus ``open_timeout_s``). In a frame loop this costs that wait: see docs/instruments.md."""
        return self._wait(self.query_async(text), timeout)

    def write(self, text: str, timeout: float | None = None) -> None:
        """Blocking :meth:`write_async`."""
        self._wait(self.write_async(text), timeout)

    def read(self, channel: str | None = None, timeout: float | None = None) -> float:
        """Blocking :meth:`read_async`."""
        return self._wait(self.read_async(channel), timeout)

    def set(self, setpoint: str, value: float, timeout: float | None = None) -> None:
        """Blocking :meth:`set_async`."""
        self._wait(self.set_async(setpoint, value), timeout)

    def command(self, command: str, timeout: float | None = None) -> Any:
        """Blocking :meth:`command_async`."""
        return self._wait(self.command_async(command), timeout)

    async def aquery(self, text: str) -> str:
        """Awaitable :meth:`query_async` (monitoring tasks)."""
        return await asyncio.wrap_future(self.query_async(text))

    async def aread(self, channel: str | None = None) -> float:
        """Awaitable :meth:`read_async` (monitoring tasks)."""
        return await asyncio.wrap_future(self.read_async(channel))

    async def aset(self, setpoint: str, value: float) -> None:
        """Awaitable :meth:`set_async`."""
        await asyncio.wrap_future(self.set_async(setpoint, value))

    def _submit(self, kind: str, arg: Any) -> Future:
        fut: Future = Future()
        if self._state not in (ConnectionState.CONNECTED, ConnectionState.DEGRADED):
            fut.set_exception(
                InstrumentDownError(
                    f"{self.name} is {self._state.value}" + (f": {self._message}" if self._message else "")
                )
            )
            return fut
        self._jobs.put((kind, arg, fut))
        return fut

    # ------------------------------------------------------------------ lifecycle (any thread)

    def connect(self) -> None:
        """Connect (in the worker; returns at once). Starts the worker thread if needed."""
        if self._problem is not None:
            self._set_state(ConnectionState.DOWN, self._problem)
            return
        self._want = True
        self._retry_at = 0.0
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name=f"instrument-{self.name}", daemon=True)
            self._thread.start()
        else:
            self._jobs.put(("wake", None, None))

    def disconnect(self) -> None:
        """Close the resource (in the worker; returns at once); polling stops until :meth:`connect`."""
        self._want = False
        self._jobs.put(("wake", None, None))

    def stop(self, timeout: float | None = None) -> None:
        """Stop the worker and close the resource. Waits up to ``timeout`` s (default: the I/O timeout + 1 s)."""
        self._want = False
        self._jobs.put((_STOP, None, None))
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(self.config.timeout_s + 1.0 if timeout is None else timeout)

    # ------------------------------------------------------------------ the worker thread

    def _set_state(self, state: ConnectionState, message: str = "") -> None:
        if state == self._state:
            self._message = message or self._message
            return
        self._state, self._message = state, message
        self._announce(self.events.state_changed, state, message)

    def _run(self) -> None:
        try:
            while True:
                self._cpu_s = time.thread_time()
                if self._want and self._link is None:
                    wait = self._retry_at - time.monotonic()
                    if wait <= 0:
                        self._try_connect()
                        continue
                elif not self._want and self._link is not None:
                    self._close_link()
                    self._set_state(ConnectionState.DISCONNECTED, "disconnected by the console")
                    continue
                elif not self._want:
                    wait = None
                    self._set_state(ConnectionState.DISCONNECTED, "disconnected by the console")
                else:
                    wait = max(0.0, min(self._due.values(), default=time.monotonic() + 1.0) - time.monotonic())
                try:
                    job = self._jobs.get(timeout=wait)
                except queue.Empty:
                    job = None
                if job is not None:
                    kind, arg, fut = job
                    if kind is _STOP:
                        break
                    if fut is not None:
                        self._do(kind, arg, fut)
                    continue
                if self._link is not None:
                    self._poll_due()
        except BaseException:  # noqa: BLE001 - a worker must say why it died
            log.exception("instrument %s: worker failed", self.name)
            self._set_state(ConnectionState.DOWN, "worker failed (see the log)")
        finally:
            self._close_link()
            self._cpu_s = time.thread_time()
            self._fail_pending()
            if self._state not in (ConnectionState.DOWN,):
                self._set_state(ConnectionState.DISCONNECTED, "stopped")

    def _fail_pending(self) -> None:
        while True:
            try:
                _, _, fut = self._jobs.get_nowait()
            except queue.Empty:
                return
            if fut is not None and not fut.done():
                fut.set_exception(InstrumentDownError(f"{self.name} is {self._state.value}"))

    def _close_link(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.close()

    def _try_connect(self) -> None:
        first = self._state not in (ConnectionState.RECONNECTING,)
        if first:
            prepare_backend(self.config, self._rig)
            self._set_state(ConnectionState.CONNECTING, f"opening {self.config.resource}")
        try:
            link = open_link(self.config, self._rig)
            idn = link.query(self.config.idn).strip() if self.config.idn else ""
        except Exception as err:  # noqa: BLE001 - any failure to open is "down", with its message
            try:
                link.close()  # type: ignore[possibly-undefined]
            except Exception:  # noqa: BLE001
                pass
            why = _why(err, self.config)
            if first:
                self._set_state(ConnectionState.DOWN, why)
            self._schedule_retry(why)
            return
        self._link = link
        self._idn = idn or None
        self._timeouts = 0
        self._backoff = self.config.retry.backoff_first_s
        now = time.monotonic()
        self._due = {k: now for k in self.channels}
        self._announce(self.events.connected, idn)
        self._set_state(ConnectionState.CONNECTED, idn or self.config.resource)

    def _schedule_retry(self, why: str) -> None:
        delay = self._backoff
        self._backoff = min(self._backoff * 2, self.config.retry.backoff_max_s)
        self._retry_at = time.monotonic() + delay
        self._set_state(
            ConnectionState.RECONNECTING,
            f"{why}; retrying every {self.config.retry.backoff_first_s:g}-{self.config.retry.backoff_max_s:g} s",
        )
        log.debug("instrument %s: next attempt in %.1f s (%s)", self.name, delay, why)

    def _lost(self, why: str) -> None:
        self._close_link()
        self._set_state(ConnectionState.DOWN, why)
        self._backoff = self.config.retry.backoff_first_s
        self._schedule_retry(why)

    def _io(self, fn: Callable[[], Any]) -> Any:
        """Run one I/O call; classify a failure (timeout -> degraded/down, lost link -> down)."""
        try:
            return fn()
        except BadReplyError:
            raise
        except Exception as err:  # noqa: BLE001 - classified below, re-raised as ours
            if _is_timeout(err):
                self._timeouts += 1
                why = f"no reply within {self.config.timeout_s:g} s"
                if self._timeouts >= self.config.retry.down_after_timeouts:
                    self._lost(f"{why} ({self._timeouts} times in a row)")
                    raise InstrumentTimeoutError(f"{self.name}: {why}") from None
                self._set_state(ConnectionState.DEGRADED, why)
                self._reopen()
                raise InstrumentTimeoutError(f"{self.name}: {why}") from None
            if isinstance(err, (ValueError, UnicodeDecodeError)) and not isinstance(err, OSError):
                raise BadReplyError(one_line(err)) from None
            why = _why(err, self.config)
            self._lost(why)
            raise InstrumentDownError(f"{self.name}: {why}") from None

    def _reopen(self) -> None:
        """After a timeout: re-open the resource so a late reply is not read as the next answer."""
        self._close_link()
        try:
            self._link = open_link(self.config, self._rig)
        except Exception as err:  # noqa: BLE001
            self._lost(_why(err, self.config))

    def _ok(self) -> None:
        self._timeouts = 0
        if self._state == ConnectionState.DEGRADED:
            self._set_state(ConnectionState.CONNECTED, "replying again")

    def _do(self, kind: str, arg: Any, fut: Future) -> None:
        if not fut.set_running_or_notify_cancel():
            return
        if self._link is None:
            fut.set_exception(InstrumentDownError(f"{self.name} is {self._state.value}: {self._message}"))
            return
        link = self._link
        try:
            if kind == "query":
                result = self._io(lambda: link.query(arg)).strip()
            elif kind == "write":
                result = self._io(lambda: link.write(arg))
            else:  # read
                result = self._read(arg)
            self._ok()
        except BaseException as err:  # noqa: BLE001 - handed to the caller
            fut.set_exception(err)
            return
        fut.set_result(result)

    def _read(self, channel: str) -> float:
        ch = self.channels[channel]
        link = self._link
        try:
            reply = self._io(lambda: link.read_channel(ch))
            t = time.time()
            value = parse_reading(ch, reply)
        except BadReplyError as err:
            self._set_state(ConnectionState.DEGRADED, f"bad reply for {channel}: {err}")
            raise
        reading = Reading(channel, t, value, ch.unit)
        with self._lock:
            self._last[channel] = reading
        self._announce(self.events.reading, reading)
        return value

    def _poll_due(self) -> None:
        now = time.monotonic()
        due = [k for k, t in self._due.items() if t <= now]
        if not due:
            return
        need = sorted(self._cycle_cpu)[len(self._cycle_cpu) // 2] if self._cycle_cpu else 0.0
        period = min(self.channels[k].period_s for k in due)
        try:  # hold the GIL for decoding and logging when the stimulus loop is waiting for its blank
            self._budget.wait_for_quiet(min(period / 2, 0.05), need)
        except Exception:  # noqa: BLE001 - a broken budget must not stop polling
            pass
        for k in due:
            if self._link is None:
                return
            c0 = time.thread_time()
            start = time.monotonic()
            per = self.channels[k].period_s
            nxt = self._due[k] + per
            self._due[k] = nxt if nxt > start else start + per  # no burst to catch up after a stall
            try:
                self._read(k)
                self._ok()
            except (InstrumentError, BadReplyError):
                pass
            self._cycle_cpu = (self._cycle_cpu + [time.thread_time() - c0])[-16:]


def _why(err: BaseException, cfg: InstrumentConfig) -> str:
    if _is_timeout(err):
        return f"no reply within {cfg.timeout_s:g} s"
    if isinstance(err, UnicodeDecodeError):
        return "garbage reply (not text)"
    text = str(err).strip().splitlines()
    msg = text[-1] if text else type(err).__name__
    if isinstance(err, ConnectionRefusedError) or "refused" in msg.lower():
        return f"{cfg.resource}: connection refused (is the instrument on?)"
    return f"{type(err).__name__}: {msg}"
