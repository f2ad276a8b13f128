"""The console's main window.

Layout (a technician's view of one rig):

- toolbar: the Run / Pilot choice (PsychoPy's pilot mode, :mod:`.pilot`), Run (F5),
  Dry run (Ctrl+F5: a simulated participant, ending with a
  QA report, see :mod:`.qa_report`), Pause (F6), Resume (F7 / Shift+F6), Stop
  (Shift+F5) and the run-state pill;
- left dock "Experiments": the experiment list with Add…/Remove/Refresh;
- centre: the red banner for errors (:meth:`MainWindow.show_notice`: the
  form's own problems, and the ``ERROR`` notifications the composition root
  routes here), the selected experiment's expInfo form and the run status
  (trial n of N, elapsed, frame timing, last run, data files);
- right dock "Trial data": live plot of the running experiment's numeric trial
  data, read from the session's data log (:meth:`MainWindow.use_data_log`);
- bottom dock "Log": the Python log.

The window only subscribes to the bridge and calls the controller and the
session; it never starts a run itself (``RunController.run`` does, from a
zero-delay timer: never from a coroutine).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSizePolicy,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ..notifications import one_line
from ..session.runs import RunState
from ..session.surface import ConsoleSession
from ..settings import Settings, save_settings
from .budget import PaintGate
from .elided_label import ElidedLabel
from .experiment_list import ExperimentListPanel
from .expinfo_form import ExpInfoForm
from .log_panel import LogPanel
from .pilot import PilotControls
from .qa_report import DryRunView
from .run_panel import Banner, RunStatusPanel, StatePill, fix_size
from .trial_plot import TrialPlotDock
from .window_actions import FileMenuActions

__all__ = ["MainWindow"]

log = logging.getLogger("rigconsole.ui")


def _shortcut_text(seqs: list[QKeySequence]) -> str:
    return " or ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in seqs)


class MainWindow(FileMenuActions, QMainWindow):
    """Rig Console's main window.

    Args:
        session: the :class:`~rigconsole.session.surface.ConsoleSession` to show: the rig's
            :class:`rigconsole.session.Session`, or a
            :class:`~rigconsole.session.surface.PendingSession` until :meth:`attach_session`.
        bridge: :class:`rigconsole.ui.bridge.SessionBridge` of that session.
        controller: :class:`rigconsole.ui.controller.RunController`.
        settings: :class:`rigconsole.settings.Settings` (geometry, dock layout,
            last expInfo per experiment and added experiments are written back
            and saved on close).

    Attributes tests use:
        experiments: :class:`ExperimentListPanel` (``.tree``, ``.select(key)``, ``.details``).
        form: :class:`ExpInfoForm` (``values()``, ``set_values()``, ``validate()``).
        run_action, dry_run_action, pause_action, resume_action, stop_action: the toolbar QActions.
        dry_run_view: :class:`~rigconsole.ui.qa_report.DryRunView` (``.indicator``, ``.dialog``).
        add_action, remove_action, refresh_action, settings_action, quit_action, about_action.
        pill: :class:`StatePill` (``.state``).
        status_panel: :class:`RunStatusPanel`.
        banner: the red inline error :class:`Banner` (``.text()``, see :meth:`show_notice`).
        trial_plot: :class:`~rigconsole.ui.trial_plot.TrialPlotDock` (``.series(name)``,
            ``.visible_series()``, ``.rows``), fed from the data log (:meth:`use_data_log`).
        log_panel: :class:`LogPanel`; log_dock, experiments_dock: the docks.
        file_menu, run_menu, view_menu, help_menu: the menu-bar menus (the composition root
            hands ``file_menu`` and ``view_menu`` to the data tools).
        paint_gates: the :class:`~rigconsole.ui.budget.PaintGate` of the window (first) and of each dock.
    """

    def __init__(
        self,
        session: ConsoleSession,
        bridge,
        controller,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        apply_settings: Callable[[Settings], None],
        set_remote_locked: Callable[[bool], object] | None = None,
    ):
        super().__init__(parent)
        self.init_file_actions(apply_settings, set_remote_locked)
        self.session = session
        self.bridge = bridge
        self.controller = controller
        self.settings = settings
        self._closed_future: asyncio.Future | None = None
        self._closed = False
        self._key = ""
        self._busy = False
        self._loading: str | None = None  # start-up: the rig is not ready yet (see set_loading)
        self.setWindowTitle("Rig Console")
        self.setObjectName("rigconsole_main")
        self.resize(1280, 800)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)

        self._make_actions()
        self._make_central()
        self._make_docks()
        self._make_menus()
        self._make_toolbar()
        self.statusBar().showMessage("Ready", 3000)
        self.session_label = ElidedLabel()  # root and data paths: elided, the whole in its tooltip
        self.session_label.setStyleSheet("color: palette(mid); padding-right: 6px;")
        self.statusBar().addPermanentWidget(self.session_label)
        self.update_session_label()
        self.dry_run_view = DryRunView(controller, self)

        # views subscribe, models announce
        self._links = [
            (bridge.experimentsChanged, self._experiments_changed),
            (bridge.runStarted, self._run_started),
            (bridge.runStateChanged, self._run_state_changed),
            (bridge.runEnded, self._run_ended),
            (bridge.trialAdded, self._trial_added),
            (bridge.frameIntervals, self.status_panel.frame_intervals),
            (controller.busyChanged, self._busy_changed),
        ]
        for sig, slot in self._links:
            sig.connect(slot)

        self._restore_layout()
        # the rig may have registered its experiments before this window existed
        self.select_experiment(self.experiments.current_key())
        self._update_actions()
        # while a run is served, repaint the window (and a floating dock) only in a
        # pump with time for it before the next stimulus frame
        time_left = self.session.frame_budget.time_left
        self.paint_gates = [PaintGate(w, time_left) for w in (self, *self.findChildren(QDockWidget))]

    # ================================================================ building
    def _icon(self, name: str):
        return self.style().standardIcon(QStyle.StandardPixmap[name])

    def _action(self, text: str, slot, shortcuts=(), icon: str | None = None, tip: str = "") -> QAction:
        act = QAction(text, self)
        if icon:
            act.setIcon(self._icon(icon))
        seqs = [QKeySequence(s) if not isinstance(s, QKeySequence) else s for s in shortcuts]
        if seqs:
            act.setShortcuts(seqs)
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        tip = tip or text.replace("…", "").replace("&", "")
        act.setToolTip(f"{tip} ({_shortcut_text(seqs)})" if seqs else tip)
        act.setStatusTip(tip)
        act.triggered.connect(slot)
        self.addAction(act)
        return act

    def _make_actions(self) -> None:
        self.run_action = self._action(
            "&Run", self.run_selected, ["F5"], "SP_MediaPlay", "Run the selected experiment with this expInfo"
        )
        self.dry_run_action = self._action(
            "&Dry run",
            self.dry_run_selected,
            ["Ctrl+F5"],
            "SP_DialogApplyButton",
            "Dry run: run with a simulated participant; data go to dry-runs",
        )
        self.pause_action = self._action("&Pause", self.pause_run, ["F6"], "SP_MediaPause", "Pause the run")
        self.resume_action = self._action(
            "Res&ume", self.resume_run, ["F7", "Shift+F6"], "SP_MediaSeekForward", "Resume the paused run"
        )
        self.stop_action = self._action(
            "&Stop", self.stop_run, ["Shift+F5"], "SP_MediaStop", "Stop the run (its data so far are saved)"
        )
        self.add_action = self._action(
            "&Add experiment…",
            self.add_experiment,
            [QKeySequence.StandardKey.Open],
            "SP_FileDialogNewFolder",
            "Add an experiment file (.py or .psyexp)",
        )
        self.add_action.setIconText("Add…")
        self.remove_action = self._action(
            "&Remove experiment",
            self.remove_experiment,
            [],
            "SP_TrashIcon",
            "Remove the selected experiment from the list (the file is kept)",
        )
        self.remove_action.setIconText("Remove")
        self.refresh_action = self._action(
            "Re&fresh experiments",
            self.refresh_experiments,
            ["Ctrl+R"],
            "SP_BrowserReload",
            "Scan the root folder again and reload edited experiments",
        )
        self.refresh_action.setIconText("Refresh")
        self.settings_action = self._action("&Settings…", self.open_settings, [QKeySequence.StandardKey.Preferences])
        self.settings_action.setToolTip("Root folder, data folder and stimulus window")
        self.attach_action = self._action(
            "A&ttach to rig…", self.attach_to_rig, [], tip="Observe (or, with an operator token, control) another rig"
        )
        self.dashboard_action = self._action(
            "Rig &dashboard…", self.open_dashboard, [], tip="Several rigs at once: state, experiment, trial n of N"
        )
        self.quit_action = self._action("&Quit", self.close, ["Ctrl+Q"])
        self.about_action = self._action("&About Rig Console", self.show_about)

    def _make_central(self) -> None:
        central = QWidget(self)
        lay = QVBoxLayout(central)
        lay.setContentsMargins(6, 8, 6, 8)
        lay.setSpacing(8)
        self.banner = Banner(central)
        lay.addWidget(self.banner)

        self.title_label = ElidedLabel("", central, mode=Qt.TextElideMode.ElideRight)
        self.title_label.setStyleSheet("font-size: 15pt; font-weight: 600;")
        self.subtitle_label = ElidedLabel("", central)  # the experiment's path: elided, the whole in its tooltip
        self.subtitle_label.setStyleSheet("color: palette(mid);")
        lay.addWidget(self.title_label)
        lay.addWidget(self.subtitle_label)

        heading = QLabel("<b>expInfo</b>", central)
        lay.addWidget(heading)
        self.form = ExpInfoForm(central)
        self.form.edited.connect(self.banner.hide)
        self.pilot = PilotControls(self.form, self.controller.after_pilot, self)  # Run / Pilot (ui/pilot.py)
        scroll = QScrollArea(central)
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        lay.addWidget(scroll, 1)

        line = QFrame(central)
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        lay.addWidget(line)
        self.status_panel = RunStatusPanel(lambda: self.session.frame_budget.refresh_hz, central)
        self.status_panel.openFolderRequested.connect(self.open_folder)
        lay.addWidget(self.status_panel, 0)
        self.setCentralWidget(central)

    def _make_docks(self) -> None:
        self.experiments = ExperimentListPanel(
            self.session, (self.add_action, self.remove_action, self.refresh_action), self
        )
        self.experiments.currentKeyChanged.connect(self.select_experiment)
        self.experiments_dock = QDockWidget("Experiments", self)
        self.experiments_dock.setObjectName("dock_experiments")
        self.experiments_dock.setWidget(self.experiments)
        self.experiments_dock.setMinimumWidth(200)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.experiments_dock)

        self.trial_plot = TrialPlotDock(self, data_log=self.session.data_log)
        # redraw only when it fits before the next stimulus frame
        self.trial_plot.use_budget(self.session.frame_budget)
        self.trial_plot.setMinimumWidth(240)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.trial_plot)

        self.log_panel = LogPanel(self)
        self.log_dock = QDockWidget("Log", self)
        self.log_dock.setObjectName("dock_log")
        self.log_dock.setWidget(self.log_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_dock)
        self.resizeDocks([self.experiments_dock, self.trial_plot], [260, 440], Qt.Orientation.Horizontal)
        self.resizeDocks([self.log_dock], [170], Qt.Orientation.Vertical)

    def _make_menus(self) -> None:
        mb = self.menuBar()
        self.file_menu = file_menu = mb.addMenu("&File")
        file_menu.addAction(self.add_action)
        file_menu.addAction(self.refresh_action)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.attach_action)
        file_menu.addAction(self.dashboard_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self.run_menu = run_menu = mb.addMenu("&Run")
        for act in (self.run_action, self.dry_run_action, self.pause_action, self.resume_action, self.stop_action):
            run_menu.addAction(act)
        self.view_menu = mb.addMenu("&View")
        for dock in (self.experiments_dock, self.trial_plot, self.log_dock):
            self.view_menu.addAction(dock.toggleViewAction())
        self.help_menu = help_menu = mb.addMenu("&Help")
        help_menu.addAction(self.about_action)

    def _make_toolbar(self) -> None:
        tb = self.addToolBar("Run")
        tb.setObjectName("toolbar_run")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addWidget(self.pilot.switch)
        for act in (self.run_action, self.dry_run_action, self.pause_action, self.resume_action, self.stop_action):
            tb.addAction(act)
        spacer = QWidget(tb)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tb.addWidget(spacer)
        self.run_summary = ElidedLabel("", tb, mode=Qt.TextElideMode.ElideRight)
        self.run_summary.setStyleSheet("padding-right: 10px;")
        self.run_summary.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        fix_size(self.run_summary, "an experiment name · run 000 · trial 00000 of 00000")
        tb.addWidget(self.run_summary)
        self.pilot.place_badge(tb)  # PILOT while a pilot run is in progress (ui/pilot.py)
        self.pill = StatePill(tb)
        tb.addWidget(self.pill)
        margin = QWidget(tb)
        margin.setFixedWidth(6)
        tb.addWidget(margin)
        self.toolbar = tb

    # ================================================================ state
    def _update_actions(self) -> None:
        rec = self.session.current_run
        state = rec.state if rec is not None else None
        busy = self._busy or rec is not None or self._loading is not None
        entry = self.session.experiment_files.get(self._key) if self._key else None
        self.run_action.setEnabled(not busy and entry is not None and not entry.broken)
        self.dry_run_action.setEnabled(self.run_action.isEnabled())
        self.pause_action.setEnabled(state in (RunState.RUNNING,))
        self.resume_action.setEnabled(state == RunState.PAUSED)
        self.stop_action.setEnabled(state in (RunState.STARTING, RunState.RUNNING, RunState.PAUSED))
        self.remove_action.setEnabled(entry is not None and not busy)
        self.refresh_action.setEnabled(not busy)
        self.add_action.setEnabled(not busy)
        self.form.setEnabled(not busy)
        self.pilot.switch.setEnabled(not busy)
        self.experiments.tree.setEnabled(not busy)

    def _set_pill(self, rec=None) -> None:
        if rec is None or rec.state in (RunState.FINISHED, RunState.STOPPED):
            self.pill.set_state("idle")
        else:
            self.pill.set_state(rec.state)
        if rec is not None and rec.state in (RunState.STARTING, RunState.RUNNING, RunState.PAUSED):
            self.run_summary.setText(f"{Path(rec.key).stem} · run {rec.index} · {self._trial_text(rec)}")
        else:
            self.run_summary.setText("")

    @staticmethod
    def _trial_text(rec) -> str:
        return f"trial {rec.n_trials} of {rec.total_trials}" if rec.total_trials else f"trial {rec.n_trials}"

    def update_session_label(self) -> None:
        self.session_label.setText(f"root: {self.session.root}   ·   data: {self.session.dataDir}")

    # ================================================================ slots: bridge
    def _experiments_changed(self) -> None:
        self.experiments.refresh()
        self._update_actions()

    def _run_started(self, rec) -> None:
        self.banner.hide()
        self.pilot.run_started(rec)
        self.status_panel.run_started(rec)
        self._set_pill(rec)
        self._update_actions()
        self.statusBar().showMessage(f"Run {rec.index} of {rec.key} started", 5000)

    def _run_state_changed(self, rec) -> None:
        self._set_pill(rec)
        self._update_actions()

    def _trial_added(self, rec, row: dict) -> None:
        # the bridge delivers this in a pump after nextEntry() returned: a wake-up for the
        # trial plot, which reads the new rows from the data log (its one data path)
        self.trial_plot.poll()
        self.status_panel.update_trials(rec)
        self.run_summary.setText(f"{Path(rec.key).stem} · run {rec.index} · {self._trial_text(rec)}")

    def _run_ended(self, rec) -> None:
        self.trial_plot.poll()  # the run's last rows, before its summary shows
        self.trial_plot.flush()
        self.status_panel.run_ended(rec)
        self.pilot.run_ended(rec)
        self._set_pill(rec)
        self._update_actions()
        if rec.state == RunState.FAILED:
            self.statusBar().showMessage(f"Run {rec.index} of {rec.key} failed: {rec.error}")
        else:
            self.statusBar().showMessage(f"Run {rec.index} of {rec.key} {rec.state}: {rec.n_trials} trials", 10000)

    def _busy_changed(self, busy: bool) -> None:
        self._busy = busy
        if busy and self.session.current_run is None:
            self.pill.set_state(RunState.STARTING)
        elif not busy and self.pill.state == RunState.STARTING:
            self.pill.set_state("idle")
        self._update_actions()

    # ================================================================ start-up
    def set_loading(self, message: str, *, settings: bool = False) -> None:
        """Start-up, the rig not built yet: ``message`` in the status bar; Run, the experiment
        actions and the form stay disabled until :meth:`attach_session`, and Settings… too
        unless ``settings`` (the rig failed to load: the technician may fix its settings)."""
        self._loading = message
        self.statusBar().showMessage(message)
        self.experiments.show_message(
            f"{message} The experiments are listed when the rig is ready."
            + (" Fix it in File → Settings…" if settings else "")
        )
        self.settings_action.setEnabled(settings)
        self._update_actions()

    def attach_session(self, session: ConsoleSession) -> None:
        """Show the rig's ``session`` (the window was built on a :class:`~rigconsole.session.surface.PendingSession`;
        its bridge and controller were pointed at ``session`` first) and end the start-up state."""
        self.session = session
        self._loading = None
        self.settings_action.setEnabled(True)
        for gate in self.paint_gates:
            gate.close()
        self.paint_gates = [PaintGate(g.window, session.frame_budget.time_left) for g in self.paint_gates]
        self.trial_plot.use_budget(session.frame_budget)
        self.update_session_label()
        self.experiments.use_session(session)  # refills the list and selects (→ select_experiment)
        self._update_actions()
        self.statusBar().showMessage("Ready", 3000)

    # ================================================================ data log
    def use_data_log(self, data_log) -> None:
        """Feed the trial plot from ``data_log`` (the session's :class:`~rigconsole.datalog.DataLog`);
        the composition root calls it again when the rig opens a new data log."""
        self.trial_plot.use_data_log(data_log)
        self.update_session_label()  # a pilot run's or a dry run's data go to their own folder meanwhile

    def show_notice(self, text: str) -> None:
        """One line in the red banner above the form (until dismissed, the form edited or a run
        starts) and in the status bar. GUI thread. Logs nothing: an ``ERROR`` notification
        routed here was logged by its dispatcher; the form's own problems are input, not errors."""
        line = one_line(text) or "error"
        self.banner.show_message(line)
        self.statusBar().showMessage(line, 15000)

    def show_status(self, text: str) -> None:
        """One line in the status bar for 15 s (``WARNING`` notifications). GUI thread."""
        self.statusBar().showMessage(one_line(text), 15000)

    # ================================================================ selection
    def select_experiment(self, key: str) -> None:
        """Show an experiment: title, details and its expInfo form (last values remembered);
        ``""`` shows none."""
        if self._key and self._key in self.session.experiment_files and self.form.fields:
            self._remember_values(self._key)
        self._key = key
        entry = self.session.experiment_files.get(key) if key else None
        if entry is None:
            self.title_label.setText("No experiment selected")
            self.subtitle_label.setText("Select an experiment in the list on the left.")
            self.form.set_fields([])
        elif entry.broken:
            self.title_label.setText(Path(key).stem)
            self.subtitle_label.setText(f"Cannot run: {entry.error}")
            self.form.set_fields([])
        else:
            self.title_label.setText(Path(key).stem)
            kind = "Builder experiment" if entry.kind == "builder" else "Python script"
            self.subtitle_label.setText(f"{kind} · {entry.path}")
            try:
                fields = self.session.expInfoFields(key)
            except Exception as err:  # reloaded and now broken
                self.subtitle_label.setText(f"Cannot run: {err}")
                self.form.set_fields([])
            else:
                self.form.set_fields(fields, self.settings.last_exp_info.get(key))
                self.pilot.fill_form()
        self._update_actions()

    def _remember_values(self, key: str) -> None:
        values = {k: v for k, v in self.form.values().items() if isinstance(v, (str, int, float, bool)) or v is None}
        self.settings.last_exp_info[key] = values

    def current_key(self) -> str:
        """The selected experiment's key ("" when none)."""
        return self._key

    # ================================================================ slots: actions
    def run_selected(self) -> bool:
        """Run (F5): validate the form, remember its values, ask the controller to run."""
        values = self._values_to_run()
        return values is not None and self.pilot.run(self._key, values, self.controller.run)

    def dry_run_selected(self) -> bool:
        """Dry run (Ctrl+F5): the Dry run dialog (speed, seed), then as Run, with a simulated
        participant answering; data in the data folder's ``dry-runs``; its QA report opens when
        it ends (:attr:`dry_run_view`)."""
        values = self._values_to_run()
        return values is not None and self.dry_run_view.ask(self._key, values) is not None

    def _values_to_run(self) -> dict | None:
        """The form's values when a run may start (remembered and saved), else ``None`` (error shown)."""
        if not self._key:
            self.show_notice("Select an experiment to run.")
            return None
        if self.controller.busy:
            self.show_notice("A run is already in progress: stop it first.")
            return None
        problem = self.form.validate()
        if problem:
            self.show_notice(problem)
            return None
        self._remember_values(self._key)
        try:
            save_settings(self.settings)
        except OSError as err:
            log.warning("could not save settings: %s", err)
        return self.form.values()

    def pause_run(self) -> None:
        if not self.controller.pause():
            self.statusBar().showMessage("Nothing to pause", 3000)

    def resume_run(self) -> None:
        if not self.controller.resume():
            self.statusBar().showMessage("Nothing to resume", 3000)

    def stop_run(self) -> None:
        if self.controller.stop():
            self.statusBar().showMessage("Stopping the run…", 5000)

    def open_folder(self, folder: str) -> None:
        if not self.status_panel.open_folder(folder):
            self.statusBar().showMessage(f"Could not open {folder}", 5000)

    # ================================================================ lifecycle
    def closed_future(self) -> asyncio.Future:
        """A future resolved (with ``None``) when the window has closed."""
        if self._closed_future is None:
            self._closed_future = asyncio.get_event_loop().create_future()
            if self._closed:
                self._closed_future.set_result(None)
        return self._closed_future

    def _restore_layout(self) -> None:
        try:
            if self.settings.geometry:
                self.restoreGeometry(QByteArray.fromBase64(self.settings.geometry.encode("ascii")))
            if self.settings.window_state:
                self.restoreState(QByteArray.fromBase64(self.settings.window_state.encode("ascii")))
        except Exception:  # opaque bytes from an older layout: ignore
            log.debug("could not restore the window layout", exc_info=True)

    def save_layout(self) -> None:
        """Store geometry, dock layout and the form's values into the settings, and save them."""
        self.settings.remember_window(
            bytes(self.saveGeometry().toBase64()).decode("ascii"), bytes(self.saveState().toBase64()).decode("ascii")
        )
        if self._key and self._key in self.session.experiment_files and self.form.fields:
            self._remember_values(self._key)
        try:
            save_settings(self.settings)
        except OSError as err:
            log.warning("could not save settings: %s", err)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt)
        if self.session.current_run is not None or self.controller.busy:
            event.ignore()
            self.show_notice("A run is in progress: stop it (Shift+F5) before closing Rig Console.")
            return
        self.save_layout()
        for sig, slot in self._links:
            try:
                sig.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        self._links = []
        self.dry_run_view.close()
        self.log_panel.close_handler()
        self.close_remote_windows()
        super().closeEvent(event)
        self._closed = True
        fut = self._closed_future
        if fut is not None and not fut.done():
            fut.set_result(None)
