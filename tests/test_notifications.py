"""The Qt-free notification dispatcher: one log record and one announcement per notification,
the exception hooks of every thread, and an exception's one line."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading

import pytest

from rigconsole.notifications import Notification, NotificationManager, Severity, one_line


def test_one_line_takes_the_first_non_empty_line_and_the_type():
    assert one_line(ValueError("\n  bad value\nmore detail")) == "ValueError: bad value"
    assert one_line(KeyError()) == "KeyError"
    assert one_line(OSError("disk full"), with_type=False) == "disk full"
    assert one_line(RuntimeError(""), with_type=False) == "RuntimeError"
    assert one_line("first\nsecond") == "first"


def test_dispatch_logs_once_and_announces_once(caplog):
    m = NotificationManager()
    got: list[Notification] = []
    m.notified.connect(got.append)
    with caplog.at_level(logging.INFO, logger="rigconsole"):
        m.notify("instrument psu: down (refused)\nsecond line", Severity.WARNING, source="instrument")
    assert [(n.message, n.severity, n.source) for n in got] == [
        ("instrument psu: down (refused)", Severity.WARNING, "instrument")
    ]
    records = [r for r in caplog.records if "psu" in r.getMessage()]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    assert m.counts[Severity.WARNING] == 1 and m.counts[Severity.ERROR] == 0


def test_a_subscriber_that_raises_never_reaches_the_caller():
    m = NotificationManager()

    def broken(_n):
        raise RuntimeError("a view's bug")

    m.notified.connect(broken)
    n = m.notify("data log: writing failed", source="data log")
    assert n.message == "data log: writing failed"


def test_the_hooks_of_every_thread_dispatch_uncaught_errors_with_their_traceback():
    m = NotificationManager()
    got: list[Notification] = []
    m.notified.connect(got.append)
    m.install_hooks()
    try:
        assert sys.excepthook == m.sys_hook and threading.excepthook == m.thread_hook
        try:
            raise ValueError("main thread")
        except ValueError:
            sys.excepthook(*sys.exc_info())

        def worker():
            raise RuntimeError("worker thread")

        t = threading.Thread(target=worker, name="visa")
        t.start()
        t.join()

        loop = asyncio.new_event_loop()
        loop.set_exception_handler(m.asyncio_handler)

        async def broken():
            raise KeyError("task")

        async def main():
            task = loop.create_task(broken())
            await asyncio.sleep(0.01)
            loop.call_exception_handler({"message": "boom", "exception": task.exception(), "task": task})

        loop.run_until_complete(main())
        loop.close()
    finally:
        m.uninstall_hooks()
    assert sys.excepthook is not m.sys_hook and threading.excepthook is not m.thread_hook
    assert [n.message for n in got] == [
        "ValueError: main thread",
        "RuntimeError: worker thread (in thread visa)",
        "KeyError: 'task' (in an asyncio task)",
    ]
    assert all(n.uncaught and n.severity == Severity.ERROR and "Traceback" in n.details for n in got)


def test_keyboard_interrupt_quits_instead_of_reporting():
    m = NotificationManager()
    quit_called = []
    got: list[Notification] = []
    m.notified.connect(got.append)
    m.install_hooks(on_interrupt=lambda: quit_called.append(True))
    try:
        m.sys_hook(KeyboardInterrupt, KeyboardInterrupt(), None)
    finally:
        m.uninstall_hooks()
    assert quit_called == [True] and got == []


@pytest.mark.parametrize("severity", list(Severity))
def test_severities_are_logging_levels(severity):
    assert logging.getLevelName(int(severity)) == severity.name
