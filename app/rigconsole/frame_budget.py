"""The frame-budget port: how anything that must work around stimulus frames asks for time.

Qt-free and dependency-free, the lowest layer: ``session`` (which implements
it: the frame pump) and ``datalog``, ``instruments``, ``remote`` and ``ui``
(which use it) may all import this module; none of them reaches into another
object's attributes for timing.

During a run the experiment owns the main thread and flips the stimulus
window once per refresh period (16.7 ms at 60 Hz). Work that shares the main
thread (a plot redraw, a window repaint, a coroutine on the qasync loop) or
the GIL (a worker thread writing HDF5, decoding a VISA reply, encoding JSON)
can make a frame late. The port answers three questions:

- :meth:`FrameBudget.time_left`: on the main thread, inside a console pump,
  how long may indivisible work still take before it costs a frame?
- :meth:`FrameBudget.wait_for_quiet`: on a worker thread, when is a good
  moment to hold the GIL for about ``need_s`` seconds (the main thread waits
  for the vertical blank and needs no GIL)?
- :meth:`FrameBudget.submit`: from any thread, run this on the main thread
  between frames (the main-thread command queue, drained at every flip and
  by the console's event loop).

:data:`IDLE` is the port with no stimulus window (a test, a tool): time is
never short, waits return at once, submitted calls run at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol, runtime_checkable

__all__ = ["FrameBudget", "IdleBudget", "IDLE"]


@runtime_checkable
class FrameBudget(Protocol):
    """What the frame pump offers the rest of the console (see the module docstring)."""

    @property
    def running(self) -> bool:
        """``True`` while a run's frames are being recorded (frames matter now)."""
        ...

    @property
    def refresh_hz(self) -> float:
        """The stimulus display's refresh rate, Hz (60.0 when unknown)."""
        ...

    def time_left(self) -> float:
        """Seconds main-thread console work may still take before it costs a frame.

        ``math.inf`` when no pump is running (no experiment is flipping).
        Call on the main thread only.
        """
        ...

    def wait_for_quiet(self, timeout_s: float, need_s: float = 0.0) -> bool:
        """Block a worker thread until the main thread waits for a vertical blank
        with at least ``need_s`` seconds of the wait left.

        Returns ``True`` at once when no run is in progress, ``False`` after
        ``timeout_s`` seconds with no such wait. Never call on the main thread.
        """
        ...

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Queue ``fn(*args, **kwargs)`` for the main thread (thread-safe).

        The future resolves with its result or exception once the main thread
        ran it: at the next flip during a run, else from the event loop.
        """
        ...


class IdleBudget:
    """The port where nothing is flipping: never short of time, waits return at once."""

    running = False
    refresh_hz = 60.0

    def time_left(self) -> float:
        return math.inf

    def wait_for_quiet(self, timeout_s: float, need_s: float = 0.0) -> bool:
        return True

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        fut.set_running_or_notify_cancel()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(err)
        return fut


#: the port with no stimulus window
IDLE: FrameBudget = IdleBudget()
