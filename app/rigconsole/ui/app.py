"""The composition root: everything the console is made of is wired here, in order.

logging → exception hooks → QApplication → qasync loop → the rig core
(:class:`rigconsole.rig.Rig`: the Session, the session data log and its
recorder, the rig's components) → bridge and run controller → main window.
Nothing else creates these.
"""
from __future__ import annotations

import asyncio
import logging
import sys
import threading
from pathlib import Path

from . import _BlockOtherQtBindings  # noqa: F401  (pins Qt to PySide6 first)

from ..session.runs import disconnect_all

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
    """The running console: the rig core and the views the composition root made.

    Attributes:
        app, loop: the QApplication and the qasync loop.
        rig: the :class:`rigconsole.rig.Rig` (session, data log, components).
        bridge, controller, window, data_tools: the views and their Qt glue.
        settings: the settings the console started with.
        reporter: the :class:`ErrorReporter` installed.
    """

    def __init__(self, app, loop, rig, bridge, controller, window, data_tools, settings, reporter, links=()):
        self.app = app
        self.loop = loop
        self.rig = rig
        self.bridge = bridge
        self.controller = controller
        self.window = window
        self.data_tools = data_tools
        self.settings = settings
        self.reporter = reporter
        self._links = list(links)

    @property
    def session(self):
        """The rig's Session."""
        return self.rig.session

    @property
    def data_log(self):
        """The rig's session data log (replaced when the data folder changes)."""
        return self.rig.data_log

    def close(self) -> None:
        disconnect_all(self._links)
        self.data_tools.close()
        self.window.close()
        self.bridge.close()
        self.rig.close()
        self.reporter.uninstall()


def build_console(root: Path | None = None, *, settings=None, data_dir: Path | None = None,
                  simulated_vsync_hz: float | None = None, show: bool = True, instruments: bool = True) -> Console:
    """Wire the console (no event loop started). Tests call this; :func:`main` runs it.

    Order: exception hooks → QApplication → qasync loop → settings → the rig
    core (:class:`rigconsole.rig.Rig`: session, stimulus window, data log and
    recorder, the rig file's instruments) → bridge and run controller → main
    window, data tools and the Instruments dock.

    Args:
        instruments: connect the rig file's instruments (``settings.rig_file``,
            default the bundled simulated rig); ``False`` for none.
    """
    from PySide6.QtWidgets import QApplication
    import qasync

    from ..rig import Rig
    from ..settings import load_settings
    from .bridge import SessionBridge
    from .controller import RunController
    from .data_tools import attach_data_tools
    from PySide6.QtCore import Qt

    from .instruments_dock import InstrumentsDock
    from .psychopy_gui import install as install_psychopy_gui
    from .single_instance import set_application_identity
    from .main_window import MainWindow
    from .plot_sources import PlotSource

    reporter = ErrorReporter()
    reporter.install()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    set_application_identity(app)  # name, icon, desktop file
    try:  # psychopy.gui's dialogs on PySide6, for experiments that open them
        install_psychopy_gui()
    except Exception as err:  # the console still runs; experiments that open a dialog will fail
        log.error("psychopy.gui is not available (%s: %s); experiments that open PsychoPy dialogs will fail",
                  type(err).__name__, err)
    loop = qasync.QEventLoop(app, already_running=False)
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(reporter.asyncio_handler)

    settings = settings or load_settings()
    rig = Rig(settings, root=root, data_dir=data_dir, simulated_vsync_hz=simulated_vsync_hz,
              instruments=instruments, remote=True)
    settings = rig.settings
    warm = rig.session.warm_up()
    log.info("stimulus window ready (%.2f s to load PsychoPy's drawing code)", warm)
    log.info("session data log: %s", rig.data_log.path)
    bridge = SessionBridge(rig.session)
    controller = RunController(rig.session, rig=rig)  # the rig: dry runs' data folder
    window = MainWindow(rig.session, bridge, controller, settings, apply_settings=rig.apply_settings)
    window.use_data_log(rig.data_log)
    data_tools = attach_data_tools(window, rig.data_log, settings)
    # views subscribe, the rig announces: a new data folder's log, a write error (from the
    # writer thread; show_banner marshals it to the GUI thread)
    links = [(rig.events.data_log_changed, window.use_data_log), (rig.events.write_error, window.show_banner)]
    if instruments:
        dock = InstrumentsDock(parent=window)
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        window.restoreDockWidget(dock)
        show_instruments(rig, dock, loop)
        links.append((rig.events.settings_applied, lambda _s: show_instruments(rig, dock, loop)))
        if not settings.plot_layout:  # first launch: the instruments' first channels, plotting live
            for inst in list((rig.instruments.instruments if rig.instruments else {}).values())[:2]:
                if inst.channels:
                    data_tools.new_plot(PlotSource("variable", inst.variable(next(iter(inst.channels)))))
    for sig, slot in links:
        sig.connect(slot)
    if show:
        window.show()
    return Console(app, loop, rig, bridge, controller, window, data_tools, settings, reporter, links)


def show_instruments(rig, dock, loop) -> None:
    """Show the rig's instruments in ``dock`` (or its rig file's problems) and run the
    rig file's monitoring tasks on ``loop`` (the console's qasync loop)."""
    manager = rig.instruments
    dock.set_manager(manager)
    if manager is not None:
        manager.start_monitoring(loop)
    elif rig.rig_file_error is not None:
        dock.show_rig_error(rig.rig_file_error)


def main(root: Path | None = None) -> int:
    """Open the console and run its event loop until the window closes.

    In order: logging (and the rotating log file in the platform's log folder),
    the single-instance guard (a second launch brings the running console
    forward and returns 0 at once, before PsychoPy loads), the error dialog
    (an uncaught error shows its message and the log file's path; the console
    keeps running), then :func:`build_console`.
    """
    from ..logfiles import setup_log_file
    from .error_dialog import install_error_dialog
    from .single_instance import claim_single_instance

    setup_logging()
    log_path = setup_log_file()
    instance = claim_single_instance()
    if instance is None:
        print("Rig Console is already running: brought it forward", flush=True)
        return 0
    try:
        install_error_dialog(log_path)
        log.info("Rig Console starting (log file %s)", log_path)
        console = build_console(root)
        log.info("Rig Console ready: %d experiments in %s", len(console.session.experiment_files), console.session.root)
        with console.loop:
            console.loop.run_until_complete(console.window.closed_future())
        console.close()
    finally:
        instance.close()
    return 0
