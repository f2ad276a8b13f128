"""The rig's instruments: one worker thread each, readings into the data log, signals for views.

:class:`InstrumentManager` is a Rig component (``start(rig)``, ``close()``).
It writes into the session data log (the :class:`~rigconsole.datalog.DataLog` API):

- each reading as the logged variable ``"<instrument>.<channel>"``
  (``add_entry``, timestamped when the reply arrived: the entry is added
  right after the reply is parsed), its unit with ``describe_variable``;
- each connection-state change once, as an annotation
  (``source="instrument:<name>"``, ``kind="state"``), so a gap in a trace
  is explicit in the file;
- at each connection, the instrument's ``*IDN?`` reply and settings as
  metadata ``"instrument/<name>"`` (provenance).

A data log that fails (closed, full disk) never stops an instrument: the
failure is logged once per instrument and polling goes on.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Mapping
from functools import partial
from types import MappingProxyType
from typing import Any

from psygnal import Signal, SignalGroup

from ..frame_budget import IDLE, FrameBudget
from ..notifications import Severity, notifications, one_line
from .config import RigConfig
from .instrument import ConnectionState, Instrument, Reading

__all__ = ["InstrumentManager", "InstrumentEvents"]

log = logging.getLogger("rigconsole.instruments")


class InstrumentEvents(SignalGroup):
    """Signals of an :class:`InstrumentManager` (psygnal, no Qt).

    Emitted from the instruments' worker threads (``task_failed`` from the
    monitoring loop's thread): a view marshals them to its GUI thread.
    """

    #: (instrument, state: a ConnectionState value, one-line message) on each change
    state_changed = Signal(str, str, str)
    #: (instrument, channel, t epoch s, value, unit) for each reading
    reading = Signal(str, str, float, float, str)
    #: (task name, one-line message) when a monitoring task raised (it is restarted): for the
    #: instruments' history view; the technician is told through :mod:`rigconsole.notifications`
    task_failed = Signal(str, str)


class InstrumentManager:
    """All instruments of a rig file. Thread-safe.

    ``InstrumentManager(config, data_log=None, budget=IDLE)``; :meth:`start`
    connects every enabled instrument; :meth:`close` stops them. Experiments
    reach it as ``thisSession.instruments`` (:meth:`start` hands
    :attr:`instruments` to ``Session.use_instruments``). It subscribes to each
    instrument's :class:`~rigconsole.instruments.instrument.InstrumentSignals`
    and is the monitoring tasks' :class:`~rigconsole.instruments.tasks.MonitorPort`.
    """

    def __init__(self, config: RigConfig, *, data_log: Any = None, budget: FrameBudget = IDLE):
        self.config = config
        self.events = InstrumentEvents()
        self._budget = budget
        self._log = data_log
        self._log_lock = threading.Lock()
        self._log_failed: set[str] = set()
        self._described: set[str] = set()
        self._rig: Any = None
        self._monitor: Any = None
        self._started = False
        self._instruments = {
            name: Instrument(name, cfg, config, budget=budget) for name, cfg in config.instruments.items()
        }
        for inst in self._instruments.values():
            inst.events.connected.connect(partial(self._connected, inst))
            inst.events.state_changed.connect(partial(self._state_changed, inst))
            inst.events.reading.connect(partial(self._reading, inst))

    # ------------------------------------------------------------------ public

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        """{name: Instrument}, read-only."""
        return MappingProxyType(self._instruments)

    def __getitem__(self, name: str) -> Instrument:
        try:
            return self._instruments[name]
        except KeyError:
            raise KeyError(
                f"no instrument {name!r} in rig {self.config.rig!r}; it has {', '.join(self._instruments) or 'none'}"
            ) from None

    @property
    def budget(self) -> FrameBudget:
        return self._budget

    @property
    def data_log(self) -> Any:
        return self._log

    def use_budget(self, budget: FrameBudget | None) -> None:
        """The frame budget workers ask before decoding and logging (``IDLE`` when ``None``)."""
        self._budget = budget or IDLE
        for inst in self._instruments.values():
            inst.use_budget(self._budget)

    def use_data_log(self, data_log: Any) -> None:
        """Log into this DataLog from now on (``None``: stop logging). Re-describes the
        variables and re-writes connected instruments' metadata into the new file."""
        with self._log_lock:
            self._log = data_log
            self._log_failed.clear()
            self._described.clear()
        if data_log is None:
            return
        for inst in self._instruments.values():
            self._describe(inst)
            if inst.state in (ConnectionState.CONNECTED, ConnectionState.DEGRADED):
                self._save_metadata(inst, inst.idn or "")

    def start(self, rig: Any = None) -> None:
        """Connect every enabled instrument (returns at once; connections happen in the workers).

        With a ``rig`` (the Rig core), use its data log and frame budget,
        follow ``rig.events.data_log_changed``, and offer the instruments to
        experiments (``rig.session.use_instruments``: ``thisSession.instruments``).
        """
        if rig is not None:
            self._rig = rig
            self.use_budget(rig.frame_budget)
            self.use_data_log(rig.data_log)
            rig.events.data_log_changed.connect(self.use_data_log)
            rig.session.use_instruments(self.instruments)
        elif self._log is not None:
            self.use_data_log(self._log)
        self._started = True
        for inst in self._instruments.values():
            if inst.config.enabled:
                inst.connect()

    def close(self) -> None:
        """Stop the monitoring tasks and every worker, closing their resources. Idempotent.

        Workers stop in parallel; a worker blocked in I/O is waited for at
        most its I/O timeout plus 1 s (it is a daemon thread).
        """
        self.stop_monitoring()
        if self._rig is not None:
            try:
                self._rig.events.data_log_changed.disconnect(self.use_data_log)
            except Exception:  # noqa: BLE001 - already disconnected
                pass
            try:
                self._rig.session.use_instruments(None)
            except Exception:  # noqa: BLE001 - the session may be closed first
                pass
            self._rig = None
        for inst in self._instruments.values():
            inst.stop(timeout=0)
        deadline = time.monotonic() + max((i.config.timeout_s for i in self._instruments.values()), default=0) + 1.0
        for inst in self._instruments.values():
            inst.stop(timeout=max(0.0, deadline - time.monotonic()))
        self._started = False

    def wait_connected(self, timeout: float = 5.0, names: list[str] | None = None) -> bool:
        """Block until the named (default: all enabled) instruments are connected, or ``timeout`` s."""
        insts = (
            [self._instruments[n] for n in names]
            if names
            else [i for i in self._instruments.values() if i.config.enabled]
        )
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if all(i.state == ConnectionState.CONNECTED for i in insts):
                return True
            time.sleep(0.01)
        return all(i.state == ConnectionState.CONNECTED for i in insts)

    def start_monitoring(self, loop: asyncio.AbstractEventLoop, tasks: list | None = None) -> Any:
        """Run the rig file's monitoring tasks (or ``tasks``, coroutine functions) on ``loop``.

        Thread-safe; returns the :class:`~rigconsole.instruments.tasks.Monitor`.
        A task file that cannot be loaded is reported through ``task_failed``.
        """
        from .tasks import Monitor, load_tasks

        self.stop_monitoring()
        if tasks is None:
            tasks = []
            if self.config.monitoring is not None:
                try:
                    tasks = load_tasks(self.config.resolve(self.config.monitoring.file), self.config.monitoring.tasks)
                except Exception as err:  # noqa: BLE001 - one line to the UI, never a crash
                    msg = one_line(err, with_type=False)
                    notifications.notify(f"monitoring tasks: {msg}", source="monitoring")
                    self._emit(self.events.task_failed, self.config.monitoring.file, msg)
        self._monitor = Monitor(self, loop, tasks)
        self._monitor.start()
        return self._monitor

    def stop_monitoring(self) -> None:
        mon, self._monitor = self._monitor, None
        if mon is not None:
            mon.stop()

    # ------------------------------------------------------------------ data log (called from workers)

    def add_entry(self, *args: Mapping[str, Any], **values: Any) -> float | None:
        """Log values in the current data log (for monitoring tasks); ``None`` when there is none."""
        return self._call_log("entries", "add_entry", *args, **values)

    def describe_variable(
        self, name: str, *, unit: str = "", description: str = "", source: str = "monitoring"
    ) -> None:
        """Describe a variable a monitoring task logs (its unit, in the data log); nothing without a log."""
        self._call_log("monitoring", "describe_variable", name, unit=unit, description=description, source=source)

    def report_task_failure(self, task: str, message: str) -> None:
        """A monitoring task raised ``message`` (one line; it is restarted): ``task_failed``
        and an annotation (``kind="error"``) in the data log."""
        notifications.notify(f"monitoring task {task} raised {message} (restarting it)", source="monitoring")
        self._emit(self.events.task_failed, task, message)
        self._call_log(
            f"task {task}",
            "add_annotation",
            f"monitoring task {task} raised {message}",
            source=f"monitoring:{task}",
            kind="error",
        )

    def _call_log(self, who: str, method: str, *args: Any, **kwargs: Any) -> Any:
        dl = self._log
        if dl is None:
            return None
        try:
            return getattr(dl, method)(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - logging must never stop an instrument
            key = f"{who}:{method}"
            if key not in self._log_failed:
                self._log_failed.add(key)
                log.warning("instrument %s: the data log refused %s: %s", who, method, err)
            return None

    def _describe(self, inst: Instrument) -> None:
        for ch_name, ch in inst.channels.items():
            var = inst.variable(ch_name)
            if var in self._described:
                continue
            self._described.add(var)
            self._call_log(
                inst.name,
                "describe_variable",
                var,
                unit=ch.unit,
                description=ch.description or f"{inst.name} {ch_name}",
                source=f"instrument:{inst.name}",
            )

    def _save_metadata(self, inst: Instrument, idn: str) -> None:
        cfg = inst.config
        self._call_log(
            inst.name,
            "save_metadata",
            f"instrument/{inst.name}",
            {
                "idn": idn,
                "resource": cfg.resource,
                "backend": cfg.backend,
                "driver": cfg.driver or "",
                "rig": self.config.rig,
                "connected_at": time.time(),
                "channels": {
                    k: {"unit": c.unit, "period_s": c.period_s, "query": c.query or "", "property": c.property or ""}
                    for k, c in inst.channels.items()
                },
                "settings": cfg.model_dump(mode="json"),
            },
        )

    def _connected(self, inst: Instrument, idn: str) -> None:
        self._describe(inst)
        self._save_metadata(inst, idn)

    def _state_changed(self, inst: Instrument, state: ConnectionState, message: str) -> None:
        text = f"{inst.name}: {state.value}" + (f" ({message})" if message else "")
        if state == ConnectionState.DOWN:  # the technician hears of it (status bar and log), once per fall
            notifications.notify(f"instrument {text}", Severity.WARNING, source="instrument")
        else:
            level = logging.WARNING if state == ConnectionState.DEGRADED else logging.INFO
            log.log(level, "instrument %s", text)
        self._call_log(
            inst.name,
            "add_annotation",
            text,
            source=f"instrument:{inst.name}",
            kind="state",
            state=state.value,
            message=message,
        )
        self._emit(self.events.state_changed, inst.name, state.value, message)

    def _reading(self, inst: Instrument, r: Reading) -> None:
        self._call_log(inst.name, "add_entry", {inst.variable(r.channel): r.value})
        self._emit(self.events.reading, inst.name, r.channel, r.t, r.value, r.unit)

    def _emit(self, signal: Any, *args: Any) -> None:
        """Emit to the views; a failing subscriber is logged (once per signal), never stops a worker."""
        try:
            signal.emit(*args)
        except Exception as err:  # noqa: BLE001 - a view's bug must not take an instrument down
            key = f"emit:{signal.name}"
            if key not in self._log_failed:
                self._log_failed.add(key)
                log.error("a subscriber to instruments' %s failed: %s", signal.name, err)
