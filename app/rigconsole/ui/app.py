"""The composition root: everything the console is made of is wired here, in order.

logging → exception hooks → QApplication → qasync loop → Session → data log
(one HDF5 file per console session) and its recorder → bridge and run
controller → main window. Nothing else creates these.
"""
from __future__ import annotations

import asyncio
import logging
import sys
import threading
from pathlib import Path

from . import _BlockOtherQtBindings  # noqa: F401  (pins Qt to PySide6 first)

log = logging.getLogger("rigconsole")


class ErrorReporter:
    """One place where uncaught errors become a log record; the app keeps running.

    Installed as ``sys.excepthook``, ``threading.excepthook`` and the asyncio
    loop's exception handler. The main window shows the records (log panel
    and status bar).
    """

    def __init__(self) -> None:
        self._orig_sys = sys.excepthook
        self._orig_threading = threading.excepthook

    def install(self) -> None:
        sys.excepthook = self.sys_hook
        threading.excepthook = self.thread_hook

    def uninstall(self) -> None:
        sys.excepthook = self._orig_sys
        threading.excepthook = self._orig_threading

    def sys_hook(self, etype, value, tb) -> None:
        if issubclass(etype, KeyboardInterrupt):
            from PySide6.QtWidgets import QApplication
            app = QApplication.instance()
            if app is not None:
                app.quit()
            return
        log.error("uncaught error: %s: %s", etype.__name__, value, exc_info=(etype, value, tb))

    def thread_hook(self, args) -> None:
        if args.exc_type is SystemExit:
            return
        log.error("uncaught error in thread %s: %s: %s", getattr(args.thread, "name", "?"),
                  args.exc_type.__name__, args.exc_value,
                  exc_info=(args.exc_type, args.exc_value, args.exc_traceback))

    def asyncio_handler(self, loop, context) -> None:
        exc = context.get("exception")
        msg = context.get("message", "asyncio error")
        if exc is not None:
            log.error("uncaught error in a task: %s: %s", type(exc).__name__, exc, exc_info=exc)
        else:
            log.error("asyncio: %s", msg)


def setup_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if not any(getattr(h, "_rigconsole", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._rigconsole = True
        root.addHandler(handler)
    root.setLevel(level)


class Console:
    """The running console: the objects the composition root made, for tests and the CLI."""

    def __init__(self, app, loop, session, data_log, recorder, bridge, controller, window, data_tools, settings, reporter):
        self.app = app
        self.loop = loop
        self.session = session
        self.data_log = data_log
        self.recorder = recorder
        self.bridge = bridge
        self.controller = controller
        self.window = window
        self.data_tools = data_tools
        self.settings = settings
        self.reporter = reporter

    def close(self) -> None:
        self.data_tools.close()
        self.window.close()
        self.bridge.close()
        self.recorder.close()
        self.session.close()
        self.data_log.close()
        self.reporter.uninstall()


def build_console(root: Path | None = None, *, settings=None, data_dir: Path | None = None,
                  simulated_vsync_hz: float | None = None, show: bool = True) -> Console:
    """Wire the console (no event loop started). Tests call this; :func:`main` runs it."""
    from PySide6.QtWidgets import QApplication
    import qasync

    from ..datalog import DataLog, new_session_path
    from ..session import Session
    from ..session.recorder import SessionRecorder
    from ..settings import load_settings
    from .bridge import SessionBridge
    from .controller import RunController
    from .data_tools import attach_data_tools
    from .main_window import MainWindow

    reporter = ErrorReporter()
    reporter.install()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Rig Console")
    app.setOrganizationName("rigconsole")
    loop = qasync.QEventLoop(app, already_running=False)
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(reporter.asyncio_handler)

    settings = settings or load_settings()
    if root is not None:
        settings.root = Path(root).absolute()
    if data_dir is not None:
        settings.data_dir = Path(data_dir).absolute()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    session = Session(
        settings.root, dataDir=settings.data_dir, win=settings.window.window_params(),
        simulated_vsync_hz=simulated_vsync_hz,
    )
    warm = session.warm_up()
    log.info("stimulus window ready (%.2f s to load PsychoPy's drawing code)", warm)
    data_log = DataLog(new_session_path(settings.data_dir))
    recorder = SessionRecorder(session, data_log)
    log.info("session data log: %s", data_log.path)
    bridge = SessionBridge(session)
    controller = RunController(session)
    window = MainWindow(session, bridge, controller, settings)
    data_tools = attach_data_tools(window, data_log, settings)
    session.scanRoot()
    for extra in settings.extra_experiments:
        if Path(extra).exists():
            session.addExperiment(extra)
    if show:
        window.show()
    return Console(app, loop, session, data_log, recorder, bridge, controller, window, data_tools, settings, reporter)


def main(root: Path | None = None) -> int:
    """Open the console and run its event loop until the window closes."""
    setup_logging()
    console = build_console(root)
    log.info("Rig Console ready: %d experiments in %s", len(console.session.experiment_files), console.session.root)
    with console.loop:
        console.loop.run_until_complete(console.window.closed_future())
    console.close()
    return 0
