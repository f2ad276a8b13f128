"""Monitoring tasks, pymanip style: ``async def task(rig)`` coroutines run on the console's loop.

As in pymanip's ``AsyncSession.monitor`` (pymanip 0.4.4), a task is one
iteration of a loop that the monitor runs while the rig is monitoring: the
task body reads, logs and ``await rig.sleep(s)``; it does not loop itself::

    async def room_temperature(rig):
        t = await rig["thermometer"].aread("temperature")   # runs in the instrument's worker
        rig.add_entry(room_temperature=t)
        await rig.sleep(10)                                  # returns early when monitoring stops

A task that raises is reported through its port
(:meth:`MonitorPort.report_task_failure`: a notification for the technician and
a data-log annotation, ``kind="error"``) and
restarted after a delay that doubles up to 30 s; it never takes the console
down. Tasks must not block: instrument queries are awaited
(:meth:`~rigconsole.instruments.Instrument.aquery`, ``aread``, ``aset``).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import inspect
import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..notifications import one_line

if TYPE_CHECKING:
    from .instrument import Instrument

__all__ = ["Monitor", "MonitorPort", "MonitorRig", "load_tasks"]

log = logging.getLogger("rigconsole.instruments.tasks")

RESTART_FIRST_S = 1.0
RESTART_MAX_S = 30.0


def load_tasks(path: str | Path, names: list[str] | None = None) -> list[Callable]:
    """The coroutine functions of a monitoring file: ``names`` in order, or every public ``async def``.

    Raises ImportError (the file fails to import, a name is missing) or
    TypeError (a name is not an ``async def``), with one line saying which.
    """
    p = Path(path)
    mod_name = "rigconsole_monitoring_" + hashlib.sha1(str(p.resolve()).encode()).hexdigest()[:10]
    spec = importlib.util.spec_from_file_location(mod_name, p)
    if spec is None or spec.loader is None:
        raise ImportError(f"{p}: not a Python file")
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except Exception as err:  # noqa: BLE001 - one line for the user
        raise ImportError(f"{p.name}: cannot load the monitoring tasks: {one_line(err)}") from None
    if names is None:
        return [
            fn
            for n, fn in vars(mod).items()
            if not n.startswith("_") and inspect.iscoroutinefunction(fn) and fn.__module__ == mod_name
        ]
    out = []
    for n in names:
        fn = getattr(mod, n, None)
        if fn is None:
            raise ImportError(f"{p.name} has no task {n!r}")
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"{p.name}: {n!r} must be an 'async def {n}(rig)' coroutine function")
        out.append(fn)
    return out


class MonitorPort(Protocol):
    """What the monitor and its tasks use of the rig's instruments (the
    :class:`~rigconsole.instruments.InstrumentManager` implements it)."""

    @property
    def instruments(self) -> Mapping[str, Instrument]: ...

    def __getitem__(self, name: str) -> Instrument: ...

    def add_entry(self, *args: Mapping[str, Any], **values: Any) -> float | None: ...

    def describe_variable(
        self, name: str, *, unit: str = "", description: str = "", source: str = "monitoring"
    ) -> None: ...

    def report_task_failure(self, task: str, message: str) -> None: ...


class MonitorRig:
    """What a monitoring task gets as ``rig``: instruments, ``add_entry``, ``sleep``, ``running``."""

    def __init__(self, port: MonitorPort, stop: asyncio.Event):
        self._port = port
        self._stop = stop

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        return self._port.instruments

    def __getitem__(self, name: str) -> Instrument:
        return self._port[name]

    @property
    def running(self) -> bool:
        """``False`` once monitoring is stopping (pymanip's ``sesn.running``)."""
        return not self._stop.is_set()

    def add_entry(self, *args: Mapping[str, Any], **values: Any) -> float | None:
        """Log values in the session data log (pymanip ``add_entry``); epoch s, ``None`` with no log."""
        return self._port.add_entry(*args, **values)

    def describe_variable(self, name: str, *, unit: str = "", description: str = "") -> None:
        """Give a variable the task logs its unit (stored in the session file; ``source`` the task file)."""
        self._port.describe_variable(name, unit=unit, description=description, source="monitoring")

    async def sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; returns early (``False``) when monitoring stops, else ``True``."""
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=max(0.0, float(seconds)))
        except asyncio.TimeoutError:
            return True
        return False

    async def query(self, instrument: str, text: str) -> str:
        """Awaitable SCPI query of a named instrument (runs in its worker)."""
        return await self._port[instrument].aquery(text)


class Monitor:
    """Runs monitoring tasks on an asyncio loop (thread-safe :meth:`start` / :meth:`stop`)."""

    def __init__(self, port: MonitorPort, loop: asyncio.AbstractEventLoop, tasks: list[Callable]):
        self._port = port
        self._loop = loop
        self._fns = list(tasks)
        self._tasks: list[asyncio.Task] = []
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        #: {task name: number of times it raised}
        self.failures: dict[str, int] = {}

    @property
    def task_names(self) -> list[str]:
        return [fn.__name__ for fn in self._fns]

    def start(self) -> None:
        def go() -> None:
            self._stop = asyncio.Event()
            rig = MonitorRig(self._port, self._stop)
            self._tasks = [
                self._loop.create_task(self._runner(fn, rig), name=f"monitor:{fn.__name__}") for fn in self._fns
            ]
            self._started.set()

        if _on_loop(self._loop):
            go()
        else:
            self._loop.call_soon_threadsafe(go)

    def stop(self) -> None:
        """Ask the tasks to stop (their ``rig.sleep`` returns); cancel those still running after 1 s."""

        def halt() -> None:
            if self._stop is not None:
                self._stop.set()
            tasks = list(self._tasks)
            if tasks:
                self._loop.call_later(1.0, lambda: [t.cancel() for t in tasks if not t.done()])

        if self._loop.is_closed():
            return
        if _on_loop(self._loop):
            halt()
        else:
            try:
                self._loop.call_soon_threadsafe(halt)
            except RuntimeError:  # the loop closed meanwhile
                pass

    async def _runner(self, fn: Callable, rig: MonitorRig) -> None:
        name = fn.__name__
        delay = RESTART_FIRST_S
        while rig.running:
            try:
                await fn(rig)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - logged and restarted, never taking the console down
                self.failures[name] = self.failures.get(name, 0) + 1
                msg = one_line(err)
                log.debug("monitoring task %s raised; restarting in %.0f s", name, delay, exc_info=True)
                self._port.report_task_failure(name, msg)
                if not await rig.sleep(delay):
                    return
                delay = min(delay * 2, RESTART_MAX_S)
                continue
            delay = RESTART_FIRST_S  # a clean iteration: the next failure restarts quickly again
            await asyncio.sleep(0)  # a task that never awaits still lets the loop run


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
