"""The main-thread command queue.

OpenGL work (the stimulus window, running an experiment) must happen on the
main thread. Any thread may submit a call; the main thread runs queued calls
when it drains the queue: from ``Session.start()`` when there is no Qt loop
(PsychoPy's behaviour), from the console's Qt/asyncio loop, and on every
``win.flip()`` while an experiment runs.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

__all__ = ["CommandQueue", "is_main_thread", "on_main_thread"]


def is_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def on_main_thread(commands: Callable[[Any], CommandQueue]) -> Callable[[Callable], Callable]:
    """Decorator for a method that must run on the main thread: called from another thread, it
    is run through ``commands(self)`` (the owner's session's command queue) and its result (or
    exception) returned to the caller, which waits; on the main thread it runs at once."""

    def decorate(method: Callable) -> Callable:
        def wrapper(self, *args, **kwargs):
            if not is_main_thread():
                return commands(self).call(method, self, *args, blocking=True, **kwargs)
            return method(self, *args, **kwargs)

        wrapper.__name__, wrapper.__doc__ = method.__name__, method.__doc__
        return wrapper

    return decorate


class CommandQueue:
    """A thread-safe FIFO of calls to run on the main thread.

    ``submit`` returns a :class:`concurrent.futures.Future` resolved with the
    call's return value or exception once the main thread has run it.
    The wake-up given to :meth:`set_wakeup` (by the console, through
    ``Session.connect_console``) is called from the submitting thread after
    each submit so the owner of the main loop can schedule a drain.
    """

    __slots__ = ("_calls", "_lock", "_wakeup")  # connect through set_wakeup, not attribute writes

    def __init__(self) -> None:
        self._calls: deque[tuple[Future, Callable[..., Any], tuple, dict]] = deque()
        self._lock = threading.Lock()
        self._wakeup: Callable[[], None] | None = None

    def set_wakeup(self, wakeup: Callable[[], None] | None) -> None:
        """Call ``wakeup()`` (from the submitting thread) after each submit; ``None``: none."""
        self._wakeup = wakeup

    def __len__(self) -> int:
        return len(self._calls)

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Queue ``fn(*args, **kwargs)`` for the main thread; thread-safe."""
        fut: Future = Future()
        with self._lock:
            self._calls.append((fut, fn, args, kwargs))
        wake = self._wakeup
        if wake is not None:
            try:
                wake()
            except Exception:  # a dead wakeup must not break the caller
                pass
        return fut

    def drain(self, max_calls: int | None = None) -> int:
        """Run queued calls on the calling (main) thread; returns how many ran.

        Draining may nest: a queued call that runs an experiment drains the
        queue again on every flip, so calls queued during a run still run in
        order (a second queued run then fails with ``RunInProgressError``).
        """
        ran = 0
        while max_calls is None or ran < max_calls:
            with self._lock:
                if not self._calls:
                    break
                fut, fn, args, kwargs = self._calls.popleft()
            if not fut.set_running_or_notify_cancel():
                continue
            ran += 1
            try:
                result = fn(*args, **kwargs)
            except BaseException as err:  # SystemExit from an experiment too
                fut.set_exception(err)
            else:
                fut.set_result(result)
        return ran

    def call(self, fn: Callable[..., Any], *args: Any, blocking: bool = True, **kwargs: Any) -> Any:
        """Run ``fn`` on the main thread, PsychoPy's ``blocking`` semantics.

        On the main thread the call runs at once. From another thread,
        ``blocking=False`` queues it and returns ``True`` at once (as
        PsychoPy's Session does); ``blocking=True`` queues it and waits for the
        main thread to run it, returning its result or raising its exception.
        """
        if is_main_thread():
            return fn(*args, **kwargs)
        fut = self.submit(fn, *args, **kwargs)
        if not blocking:
            return True
        return fut.result()
