"""One notification path: everything the technician must hear about goes through here.

Modelled on napari's ``napari/utils/notifications.py``: one Qt-free
:class:`NotificationManager` whose :meth:`~NotificationManager.dispatch`
takes a :class:`Notification` with a :class:`Severity`, writes it to the log
once (the log file and the console's log panel) and announces it on
:attr:`NotificationManager.notified` (psygnal, from the calling thread). The
console's Qt side (:mod:`rigconsole.ui.error_dialog`) subscribes and shows
each notification once, by severity:

- an uncaught exception (``ERROR`` with a traceback in ``details``): the
  error dialog, naming the log file;
- any other ``ERROR`` (a data-log write error, a run that failed, a
  monitoring task that raised): the banner above the expInfo form;
- ``WARNING`` (an instrument went down): the status bar;
- ``INFO``: the log only.

What feeds it: the exception hooks of :meth:`NotificationManager.install_hooks`
(``sys.excepthook``, ``threading.excepthook`` and the asyncio loop's
exception handler), the rig core (data-log write errors), the instrument
manager (an instrument down, a monitoring task that raised) and the run
controller (runs that failed or were refused).

:data:`notifications` is the process's manager (napari's
``notification_manager``); tests and tools may make their own.
Qt-free and the lowest layer beside :mod:`rigconsole.frame_budget`: any
package may import it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from types import TracebackType
from typing import Any

from psygnal import Signal

__all__ = ["Severity", "Notification", "NotificationManager", "notifications", "one_line"]

log = logging.getLogger("rigconsole")


class Severity(IntEnum):
    """How loud a notification is; the values are :mod:`logging` levels (napari's
    ``NotificationSeverity`` names them as strings)."""

    INFO = logging.INFO
    WARNING = logging.WARNING
    ERROR = logging.ERROR


def one_line(err: BaseException | str, *, with_type: bool = True) -> str:
    """An exception's one line for a technician: ``"ValueError: first line of its message"``.

    The first non-empty line of ``str(err)``; the type name alone when the
    message is empty; without the type when ``with_type`` is false (or ``err``
    is already a message string). Never raises.
    """
    if isinstance(err, BaseException):
        lines = [ln for ln in str(err).strip().splitlines() if ln.strip()]
        first = lines[0].strip() if lines else ""
        name = type(err).__name__
        if not with_type:
            return first or name
        return f"{name}: {first}" if first else name
    lines = [ln for ln in str(err).strip().splitlines() if ln.strip()]
    return lines[0].strip() if lines else ""


@dataclass(frozen=True)
class Notification:
    """One thing to tell the technician.

    Attributes:
        message: one line, what happened and, when known, what to do.
        severity: :class:`Severity` (default ``ERROR``).
        source: where it comes from, in the field's words: ``"uncaught"``, ``"data log"``,
            ``"run"``, ``"instrument"``, ``"monitoring"``...
        details: the traceback text of an uncaught exception ("" otherwise).
    """

    message: str
    severity: Severity = Severity.ERROR
    source: str = ""
    details: str = ""

    @property
    def uncaught(self) -> bool:
        """An uncaught exception (the error dialog shows these)."""
        return self.source == "uncaught"

    def __str__(self) -> str:
        return f"{self.source}: {self.message}" if self.source else self.message


class NotificationManager:
    """Dispatches :class:`Notification` s: one log record each, then :attr:`notified`.

    Thread-safe: any thread may dispatch; subscribers are called on the
    dispatching thread (a Qt view marshals to its GUI thread). A subscriber
    that raises is logged and never reaches the dispatching code.

    Signals:
        notified(Notification): after the record was logged.
    """

    notified = Signal(object)

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or log
        self._hooks: tuple[Any, Any] | None = None
        self._on_interrupt: Callable[[], None] | None = None
        self._lock = threading.Lock()
        #: how many notifications were dispatched, by severity (a health figure for tests and the self-test)
        self.counts: dict[Severity, int] = {s: 0 for s in Severity}

    # ------------------------------------------------------------------ dispatch
    def dispatch(self, notification: Notification) -> Notification:
        """Log ``notification`` once and announce it on :attr:`notified`; returns it."""
        with self._lock:
            self.counts[notification.severity] += 1
        text = str(notification)
        if notification.details:
            self._log.log(int(notification.severity), "%s\n%s", text, notification.details.rstrip("\n"))
        else:
            self._log.log(int(notification.severity), "%s", text)
        try:
            self.notified.emit(notification)
        except Exception:  # noqa: BLE001 - a view's bug must not reach the code that reported
            self._log.debug("a notification subscriber failed", exc_info=True)
        return notification

    def notify(self, message: str, severity: Severity = Severity.ERROR, *, source: str = "") -> Notification:
        """Dispatch a one-line message (only its first line is kept: see :func:`one_line`)."""
        return self.dispatch(Notification(one_line(message) or "(no message)", Severity(severity), source))

    def receive_error(
        self, etype: type[BaseException], value: BaseException, tb: TracebackType | None, *, where: str = ""
    ) -> Notification:
        """An uncaught exception (``where``: "in thread X", "in an asyncio task"...) as an
        ``ERROR`` with its traceback in ``details`` (napari's ``receive_error``)."""
        details = "".join(traceback.format_exception(etype, value, tb))
        message = one_line(value)
        if where:
            message = f"{message} ({where})"
        return self.dispatch(Notification(message, Severity.ERROR, "uncaught", details))

    # ------------------------------------------------------------------ hooks
    def install_hooks(self, *, on_interrupt: Callable[[], None] | None = None) -> None:
        """Become ``sys.excepthook`` and ``threading.excepthook`` (idempotent). A
        ``KeyboardInterrupt`` on the main thread calls ``on_interrupt`` (quit) instead.
        For an asyncio loop: ``loop.set_exception_handler(manager.asyncio_handler)``."""
        if self._hooks is None:
            self._hooks = (sys.excepthook, threading.excepthook)
        self._on_interrupt = on_interrupt
        sys.excepthook = self.sys_hook
        threading.excepthook = self.thread_hook

    def uninstall_hooks(self) -> None:
        """Put back the hooks :meth:`install_hooks` replaced (idempotent)."""
        if self._hooks is not None:
            if sys.excepthook == self.sys_hook:
                sys.excepthook = self._hooks[0]
            if threading.excepthook == self.thread_hook:
                threading.excepthook = self._hooks[1]
            self._hooks = None

    def sys_hook(self, etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        """``sys.excepthook``: the main thread's (and qasync's async slots') uncaught errors."""
        if issubclass(etype, KeyboardInterrupt):
            if self._on_interrupt is not None:
                self._on_interrupt()
            return
        self.receive_error(etype, value, tb)

    def thread_hook(self, args: threading.ExceptHookArgs) -> None:
        """``threading.excepthook``: a worker thread's uncaught error (``SystemExit`` is quiet)."""
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "?"
        self.receive_error(args.exc_type, args.exc_value, args.exc_traceback, where=f"in thread {name}")

    def asyncio_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """An asyncio loop's exception handler: a task's or a callback's uncaught error."""
        exc = context.get("exception")
        if isinstance(exc, BaseException):
            self.receive_error(type(exc), exc, exc.__traceback__, where="in an asyncio task")
        else:
            self.notify(f"asyncio: {context.get('message', 'an error without an exception')}", source="uncaught")


#: the process's notification manager (napari's ``notification_manager``)
notifications = NotificationManager()
