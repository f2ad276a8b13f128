"""The composition root: everything the console is made of is wired here, in order.

Start-up comes in two phases, so the console window is on the screen before
PsychoPy is loaded (a technician who double-clicks sees it at once):

1. :func:`start_console`: exception hooks (into the one notification path,
   :mod:`rigconsole.notifications`) → QApplication → qasync loop → settings →
   the bridge and run controller on a
   :class:`~rigconsole.session.surface.PendingSession` (no experiments yet) →
   the main window with its menus, docks and the Instruments dock, shown with
   "Loading PsychoPy…" in its status bar and every run action disabled → the
   notification presenter (error dialog, banner, status bar). Nothing here
   imports PsychoPy.
2. :meth:`Console.load_rig` (or :meth:`Console.load_rig_later`, which runs it
   as the event loop's next steps once the window has painted): psychopy.gui on
   PySide6 → the rig core (:class:`rigconsole.rig.Rig`: the Session and its
   stimulus window, the session data log and its recorder, the instruments,
   the remote server) → PsychoPy's drawing code warmed up → the bridge,
   controller and window switched to the rig's session, the data tools, the
   instruments shown. Then the experiment list is filled and Run enabled.

:func:`build_console` does both at once (tests, the self-test, benchmarks);
:func:`main` shows the window first. Nothing else creates these.

Wiring: every view is built here and connected here, through the signals and
methods it declares (``rig.events.data_log_changed`` → ``window.use_data_log``
and ``data_tools.use_data_log``; the notifications → the presenter → the
window's ``show_notice``/``show_status``; the window's ``file_menu`` and
``view_menu`` → the data tools). No view looks another up.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path

from ..notifications import NotificationManager, notifications, one_line
from ..session.runs import disconnect_all
from ..session.surface import PendingSession
from . import _BlockOtherQtBindings  # noqa: F401  (pins Qt to PySide6 first)

log = logging.getLogger("rigconsole")


class _ConsoleStreamHandler(logging.StreamHandler):
    """The console's stderr handler (one, however often :func:`setup_logging` runs)."""


def setup_logging(level: int = logging.INFO) -> None:
    """Log records of ``level`` and above to stderr, once."""
    root = logging.getLogger()
    if not any(isinstance(h, _ConsoleStreamHandler) for h in root.handlers):
        handler = _ConsoleStreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)


class Console:
    """The running console: the rig core and the views the composition root made.

    Attributes:
        app, loop: the QApplication and the qasync loop.
        rig: the :class:`rigconsole.rig.Rig` (session, data log, components); ``None``
            until :meth:`load_rig` built it.
        bridge, controller, window: the views and their Qt glue (they exist from
            :func:`start_console` on; they show the rig's session once it is loaded).
        data_tools: the :class:`~rigconsole.ui.data_tools.DataTools`; ``None`` until the rig is loaded.
        instruments_dock: the Instruments dock, or ``None`` (``instruments=False``).
        settings: the settings the console started with (the window's and the rig's).
        notifications: the :class:`~rigconsole.notifications.NotificationManager` whose
            exception hooks are installed (the process's, :data:`rigconsole.notifications.notifications`).
        presenter: the :class:`~rigconsole.ui.error_dialog.NotificationPresenter` showing them.
        load_error: the exception that stopped :meth:`load_rig_later`, or ``None``.
    """

    #: the status-bar messages of the start-up steps, in order (:meth:`load_rig`)
    LOADING_STEPS = (
        "Loading PsychoPy…",
        "Opening the stimulus window…",
        "Loading PsychoPy's drawing code…",
        "Connecting the console…",
    )

    def __init__(
        self,
        app,
        loop,
        bridge,
        controller,
        window,
        settings,
        notifications: NotificationManager,
        presenter,
        *,
        instruments_dock=None,
        simulated_vsync_hz: float | None = None,
        instruments: bool = True,
    ):
        self.app = app
        self.loop = loop
        self.rig = None
        self.bridge = bridge
        self.controller = controller
        self.window = window
        self.data_tools = None
        self.plan_panel = None  # the Plan dock (plan_panel.PlanPanel), once the rig is attached
        self.preview_dock = None  # the Subject screen dock (preview_dock.PreviewDock), once the rig is attached
        self.notebook = None  # the lab notebook (notes_panel.Notebook), once the rig is attached
        self.trial_control = None  # the Trial control dock (trial_control.TrialControlDock), once attached
        self.instruments_dock = instruments_dock
        self.settings = settings
        self.notifications = notifications
        self.presenter = presenter
        self.load_error: BaseException | None = None
        self._simulated_vsync_hz = simulated_vsync_hz
        self._instruments = instruments
        self._links: list = []
        self._step = 0
        self._closed = False
        self._watcher = None
        self._placement = None

    @property
    def ready(self) -> bool:
        """``True`` once the rig is loaded and the window shows its session."""
        return self._step >= len(self.LOADING_STEPS)

    @property
    def session(self):
        """The rig's Session (``None`` while the rig is loading)."""
        return self.rig.session if self.rig is not None else None

    @property
    def data_log(self):
        """The rig's session data log (replaced when the data folder changes; ``None`` while loading)."""
        return self.rig.data_log if self.rig is not None else None

    # ------------------------------------------------------------------ loading
    def load_rig(self) -> None:
        """Run the remaining start-up steps now (see the module docstring); returns when the
        console is ready. Errors propagate (the console stays in its loading state)."""
        while not self.ready and not self._closed:
            self._next_step()

    def load_rig_later(self) -> None:
        """Run the start-up steps on the event loop, one per turn, starting once the window
        has painted (within 1 s otherwise), so the window is on the screen first and
        repaints its status bar between steps. An error in a step is reported as an
        uncaught error (the error dialog shows it with the log file's path), kept in
        :attr:`load_error` and shown in the window, which stays up without a rig."""
        from PySide6.QtCore import QTimer

        self._watcher = _FirstPaint(self.window, self._later)
        QTimer.singleShot(1000, self._later)  # not painted (hidden, offscreen): go on anyway

    def _later(self) -> None:
        from PySide6.QtCore import QTimer

        if self._watcher is not None:
            log.debug("start-up: the window painted (or 1 s passed): loading the rig")
            self._watcher.close()
            self._watcher = None
            QTimer.singleShot(0, self._step_later)

    def _step_later(self) -> None:
        from PySide6.QtCore import QTimer

        if self._closed or self.ready or self.load_error is not None:
            return
        try:
            self._next_step()
        except Exception as err:
            self.load_error = err
            self.window.set_loading(
                f"Rig Console could not start the rig: {one_line(err)}", settings=True
            )  # e.g. pick another root folder (apply_settings retries)
            # → the error dialog, with the log path
            self.notifications.receive_error(type(err), err, err.__traceback__, where="starting the rig")
            return
        if not self.ready:
            QTimer.singleShot(0, self._step_later)

    def _next_step(self) -> None:
        step = self._step
        self.window.set_loading(self.LOADING_STEPS[step])
        self.window.statusBar().repaint()  # shown before the step blocks the loop
        t0, c0 = time.perf_counter(), time.process_time()
        (self._load_psychopy, self._build_rig, self._warm_up, self._attach)[step]()
        log.info(
            "start-up: %s took %.2f s (%.2f s CPU)",
            self.LOADING_STEPS[step].rstrip("…"),
            time.perf_counter() - t0,
            time.process_time() - c0,
        )
        self._step = step + 1

    def _load_psychopy(self) -> None:
        from .psychopy_gui import install as install_psychopy_gui

        try:  # psychopy.gui's dialogs on PySide6, for experiments that open them
            install_psychopy_gui()
        except Exception as err:  # the console still runs; experiments that open a dialog will fail
            log.error(
                "psychopy.gui is not available (%s); experiments that open PsychoPy dialogs will fail", one_line(err)
            )
        import psychopy.visual  # noqa: F401  (the stimulus window's code: the bulk of PsychoPy's import)

    def _build_rig(self) -> None:
        from ..rig import Rig
        from .placement import make_room_for_stimulus

        area = make_room_for_stimulus(self.window, self.settings.window.window_params())  # one screen: side by side
        self.rig = Rig(
            self.settings,
            simulated_vsync_hz=self._simulated_vsync_hz,
            instruments=self._instruments,
            remote=True,
            stimulus_area=area,
        )

    def _warm_up(self) -> None:
        warm = self.rig.session.warm_up()
        log.info("stimulus window ready (%.2f s to load PsychoPy's drawing code)", warm)

    def _attach(self) -> None:
        from ..views.plot_sources import PlotSource
        from .data_tools import attach_data_tools
        from .placement import StimulusPlacement

        rig, window = self.rig, self.window
        self.controller.use_session(rig.session, rig=rig)  # the rig: dry runs' data folder
        self.bridge.use_session(rig.session)
        window.attach_session(rig.session)
        window.use_data_log(rig.data_log)
        self.data_tools = attach_data_tools(
            window,
            rig.data_log,
            self.settings,
            file_menu=window.file_menu,
            view_menu=window.view_menu,
            budget=rig.frame_budget,
        )
        from .plan_panel import attach_plan_panel  # the rig's run queue: plans, reorder, skip, retry

        self.plan_panel = attach_plan_panel(window, rig)
        from .notes_panel import attach_notebook  # the lab notebook: Ctrl+N, the Notes dock

        self.notebook = attach_notebook(
            window,
            rig.data_log,
            toolbar=window.toolbar,
            after=window.stop_action,
            run_menu=window.run_menu,
            view_menu=window.view_menu,
            budget=rig.frame_budget,
            data_log_changed=rig.events.data_log_changed,
        )
        from .trial_control import attach_trial_control  # repeat, skip, pause at loop end, expInfo, upcoming

        self.trial_control = attach_trial_control(
            window,
            rig.queue.trial_control,
            view_menu=window.view_menu,
            budget=rig.frame_budget,
            tab_with=self.plan_panel,
        )
        from .preview_dock import attach_preview_dock  # the subject-screen preview (Settings > General)

        self.preview_dock = attach_preview_dock(
            window, rig.component("preview"), view_menu=window.view_menu, budget=rig.frame_budget
        )
        # views subscribe, the rig announces: a new data folder's log (write errors reach the
        # window through the notifications and the presenter)
        links = [
            (rig.events.data_log_changed, window.use_data_log),
            (rig.events.data_log_changed, self.data_tools.use_data_log),
        ]
        dock = self.instruments_dock
        if dock is not None:
            show_instruments(rig, dock, self.loop)
            links.append((rig.events.settings_applied, lambda _s: show_instruments(rig, dock, self.loop)))
            if not self.settings.plot_layout:  # first launch: the instruments' first channels, plotting live
                first = [
                    self.data_tools.new_plot(PlotSource("variable", inst.variable(next(iter(inst.channels)))))
                    for inst in list((rig.instruments.instruments if rig.instruments else {}).values())[:2]
                    if inst.channels
                ]
                for plot in first[1:]:  # tabs: the trial plot above keeps its height
                    window.tabifyDockWidget(first[0], plot)
                if first:
                    first[0].raise_()
        if not self.settings.window_state:  # no saved layout: the trial plot keeps room among the right-hand docks
            from PySide6.QtCore import Qt, QTimer

            QTimer.singleShot(  # once the docks are laid out
                0,
                lambda: window.resizeDocks(
                    [window.trial_plot], [max(220, window.height() // 3)], Qt.Orientation.Vertical
                ),
            )
        # one screen: the stimulus window beside the console as it now is (it widens with what it shows)
        self._placement = StimulusPlacement(window, rig.session, lambda: rig.settings.window.window_params())
        links.append((rig.events.settings_applied, lambda _s: self._placement.place()))
        for sig, slot in links:
            sig.connect(slot)
        self._links = links
        self._placement.place()
        log.info("Rig Console ready: %d experiments in %s", len(rig.session.experiment_files), rig.session.root)

    def apply_settings(self, settings) -> None:
        """The window's Settings… apply: the rig's :meth:`~rigconsole.rig.Rig.apply_settings`.

        When the rig could not be built (:attr:`load_error`, e.g. the root folder is on a
        drive that is not plugged in), the settings are checked and the start-up goes on
        from the step that failed, with them (the dialog adopts them first: the retry
        runs at the event loop's next turn).

        Raises:
            RuntimeError: the rig is still loading.
            NotADirectoryError: (no rig yet) the new root folder does not exist.
        """
        if self.rig is None:
            if self.load_error is None:
                raise RuntimeError("the rig is still loading: apply the settings once the console is ready")
            root = Path(settings.root).expanduser()
            if not root.is_dir():
                raise NotADirectoryError(f"experiment root folder does not exist: {root}")
            from PySide6.QtCore import QTimer

            log.info("start-up: loading the rig again with the new settings (root %s)", root)
            self.load_error = None
            QTimer.singleShot(0, self._step_later)
            return
        self.rig.apply_settings(settings)

    def set_remote_locked(self, locked: bool) -> bool:
        """The Settings lock: :meth:`~rigconsole.rig.Rig.set_remote_locked` (``False`` while the rig loads)."""
        return self.rig.set_remote_locked(locked) if self.rig is not None else False

    def close(self) -> None:
        self._closed = True
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None
        disconnect_all(self._links)
        if self.preview_dock is not None:
            self.preview_dock.unfollow()
        if self._placement is not None:
            self._placement.close()
        if self.data_tools is not None:
            self.data_tools.close()
        if self.plan_panel is not None:
            self.plan_panel.close_panel()
        self.controller.close()  # its queue timer stops before the rig (and its queue) goes
        self.window.close()
        self.bridge.close()
        if self.rig is not None:
            self.rig.close()
        self.presenter.close()
        self.notifications.uninstall_hooks()


class _FirstPaint:
    """Calls ``callback`` (once) when ``window`` gets its first repaint request; the
    callback's zero-delay timer then runs after that paint reached the screen."""

    def __init__(self, window, callback):
        from PySide6.QtCore import QEvent, QObject

        outer = self

        class _Filter(QObject):
            def eventFilter(self, obj, event):  # noqa: N802 (Qt)
                if event.type() == QEvent.Type.UpdateRequest and outer.callback is not None:
                    outer.callback()
                return False

        self.window = window
        self.callback = callback
        self._filter = _Filter(window)
        window.installEventFilter(self._filter)

    def close(self) -> None:
        self.callback = None
        if self._filter is not None:
            self.window.removeEventFilter(self._filter)
            self._filter.deleteLater()
            self._filter = None


def start_console(
    root: Path | None = None,
    *,
    settings=None,
    data_dir: Path | None = None,
    simulated_vsync_hz: float | None = None,
    show: bool = True,
    instruments: bool = True,
    log_path: Path | None = None,
) -> Console:
    """Phase 1 of start-up (see the module docstring): the console window, before PsychoPy.

    Order: exception hooks → QApplication → qasync loop → settings (``root`` and
    ``data_dir`` override theirs) → bridge and run controller on a
    :class:`PendingSession` → main window (menus, experiment list, docks, the
    Instruments dock unless ``instruments=False``) in its loading state; shown
    when ``show``. Then call :meth:`Console.load_rig` or :meth:`Console.load_rig_later`.

    Args:
        instruments: connect the rig file's instruments (``settings.rig_file``,
            default the bundled simulated rig) when the rig is built; ``False`` for none.
        log_path: the log file the error dialog names (``None``: "no log file").
    """
    import qasync
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from ..settings import load_settings
    from .bridge import SessionBridge
    from .controller import RunController
    from .error_dialog import NotificationPresenter
    from .main_window import MainWindow
    from .single_instance import set_application_identity

    # uncaught errors on every thread and in every task: one notification each
    notifications.install_hooks(on_interrupt=_quit_application)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    set_application_identity(app)  # name, icon, desktop file
    loop = qasync.QEventLoop(app, already_running=False)
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(notifications.asyncio_handler)

    settings = settings or load_settings()
    update = {}
    if root is not None:
        update["root"] = Path(root).absolute()
    if data_dir is not None:
        update["data_dir"] = Path(data_dir).absolute()
    if update:  # the window and the rig share one settings object (written back on close)
        settings = settings.model_copy(update=update)
    pending = PendingSession(Path(settings.root).absolute(), Path(settings.data_dir).absolute())
    bridge = SessionBridge(pending)
    controller = RunController(pending)
    holder: list[Console] = []
    window = MainWindow(
        pending,
        bridge,
        controller,
        settings,
        apply_settings=lambda s: holder[0].apply_settings(s),
        set_remote_locked=lambda locked: holder[0].set_remote_locked(locked),
    )
    window.set_loading(Console.LOADING_STEPS[0])
    dock = None
    if instruments:
        from .instruments_dock import InstrumentsDock

        dock = InstrumentsDock(parent=window)
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        window.restoreDockWidget(dock)
    # each notification shown once: a dialog, the window's banner or its status bar, by severity
    presenter = NotificationPresenter(
        notifications, log_path=log_path, show_banner=window.show_notice, show_status=window.show_status
    )
    console = Console(
        app,
        loop,
        bridge,
        controller,
        window,
        settings,
        notifications,
        presenter,
        instruments_dock=dock,
        simulated_vsync_hz=simulated_vsync_hz,
        instruments=instruments,
    )
    holder.append(console)
    if show:
        window.show()
    return console


def build_console(
    root: Path | None = None,
    *,
    settings=None,
    data_dir: Path | None = None,
    simulated_vsync_hz: float | None = None,
    show: bool = True,
    instruments: bool = True,
    log_path: Path | None = None,
) -> Console:
    """Wire the whole console at once (no event loop started). Tests call this; :func:`main`
    shows the window first (:func:`start_console`, then :meth:`Console.load_rig_later`).

    The console returned is ready: its rig (session, stimulus window, data log and
    recorder, the rig file's instruments) is built and the window shows it.
    Arguments as :func:`start_console`.

    Raises:
        NotADirectoryError: the root folder does not exist.
        OSError: the data folder or the session file cannot be created.
    """
    console = start_console(
        root,
        settings=settings,
        data_dir=data_dir,
        simulated_vsync_hz=simulated_vsync_hz,
        show=show,
        instruments=instruments,
        log_path=log_path,
    )
    try:
        console.load_rig()
    except BaseException:
        console.close()
        raise
    return console


def _quit_application() -> None:
    """Ctrl+C in the terminal (``KeyboardInterrupt`` on the main thread): quit the console."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        app.quit()


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
    forward and returns 0 at once, before PsychoPy loads), then the console
    window (:func:`start_console`: an uncaught error shows its message and
    the log file's path in a dialog; the console keeps running), and, as
    the event loop's next steps, PsychoPy and the rig (:meth:`Console.load_rig_later`).
    """
    from ..logfiles import setup_log_file
    from .single_instance import claim_single_instance

    setup_logging()
    log_path = setup_log_file()
    instance = claim_single_instance()
    if instance is None:
        print("Rig Console is already running: brought it forward", flush=True)
        return 0
    try:
        log.info("Rig Console starting (log file %s)", log_path)
        console = start_console(root, log_path=log_path)
        console.load_rig_later()
        with console.loop:
            console.loop.run_until_complete(console.window.closed_future())
        console.close()
    finally:
        instance.close()
    return 0
