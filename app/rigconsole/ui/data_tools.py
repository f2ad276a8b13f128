"""Data tools of the main window: live plot docks and the past-session data browser.

:func:`attach_data_tools` adds two entries to menus its caller hands it (the
main window declares its ``file_menu`` and ``view_menu`` where it builds them)
and returns the :class:`DataTools` that owns what they open:

- "View → New plot…": a :class:`~rigconsole.ui.variable_plots.VariablePlotDock`
  on the session's data log, docked on the right; several at once;
- "File → Open data file…": a :class:`~rigconsole.ui.data_browser.DataBrowser`
  on a session ``.h5`` file (non-modal file dialog: a modal ``exec()`` would
  stall the frame loop, which pumps Qt events between flips).

The plot docks are restored from ``Settings.plot_layout`` (a list of
``{"kind": "variable"|"trial"|"frames", "name", "axis": "time"|"trial", "follow"}``)
when attached and written back (and saved with ``save_settings``) whenever a
plot is added, changed or closed by the user. Closing the DataTools itself
(app shutdown) keeps the layout.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu

from ..frame_budget import IDLE, FrameBudget
from ..settings import Settings, save_settings
from ..views.plot_sources import KINDS
from .data_browser import DataBrowser
from .variable_plots import AXES, PlotSource, VariablePlotDock

__all__ = ["DataTools", "attach_data_tools"]

log = logging.getLogger(__name__)


class DataTools(QObject):
    """Owns the plot docks and data browsers opened from one main window.

    Attributes:
        plots: the open :class:`VariablePlotDock` s, oldest first.
        browsers: the open :class:`DataBrowser` windows.
        new_plot_action, open_data_action: the menu QActions.

    Args:
        main_window: where the plot docks dock (right dock area).
        data_log: the console session's :class:`~rigconsole.datalog.DataLog`;
            :meth:`use_data_log` replaces it.
        settings: ``plot_layout`` is read now and written back (``save_settings``)
            on every plot change unless ``save=False``.
        file_menu, view_menu: the menus "Open data file…" and "New plot…" go
            first in (the main window's ``file_menu`` and ``view_menu``).
        budget: the frame-budget port the plot docks ask before polling and
            repainting (:data:`~rigconsole.frame_budget.IDLE` without a stimulus window).
    """

    def __init__(
        self,
        main_window: QMainWindow,
        data_log,
        settings: Settings,
        *,
        file_menu: QMenu,
        view_menu: QMenu,
        budget: FrameBudget = IDLE,
        save: bool = True,
    ) -> None:
        super().__init__(main_window)
        self.window = main_window
        self.log = data_log
        self._budget = budget
        self.settings = settings
        self._save = save
        self.plots: list[VariablePlotDock] = []
        self.browsers: list[DataBrowser] = []
        self._closing = False
        self._restoring = False
        self._serial = 0
        self._dialog: QFileDialog | None = None

        self.new_plot_action = QAction("New plot…", main_window)
        self.new_plot_action.setToolTip("Plot a logged variable or trial column live in a new dock")
        self.new_plot_action.setShortcut(QKeySequence("Ctrl+Shift+P"))
        self.new_plot_action.triggered.connect(lambda: self.new_plot())
        self.open_data_action = QAction("Open data file…", main_window)
        self.open_data_action.setToolTip("Browse a past session's .h5 data file")
        self.open_data_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.open_data_action.triggered.connect(self.ask_open_browser)

        view = view_menu
        first = view.actions()[0] if view.actions() else None
        view.insertAction(first, self.new_plot_action)
        if first is not None:
            view.insertSeparator(first)
        first = file_menu.actions()[0] if file_menu.actions() else None
        file_menu.insertAction(first, self.open_data_action)
        if first is not None:
            file_menu.insertSeparator(first)

        self.restore_layout(settings.plot_layout)

    def use_data_log(self, data_log) -> None:
        """Plot from another data log (a new data folder): every open dock keeps its source."""
        if data_log is self.log:
            return
        self.log = data_log
        for dock in self.plots:
            dock.view.use_data_log(data_log)

    # ------------------------------------------------------------------ plots
    def new_plot(
        self, source: PlotSource | str | None = None, *, axis: str = "time", follow: bool = True
    ) -> VariablePlotDock:
        """Open a plot dock on the main window (right dock area) and save the layout."""
        self._serial += 1
        while self.window.findChild(VariablePlotDock, f"dock_plot_{self._serial}") is not None:
            self._serial += 1
        dock = VariablePlotDock(
            self.log, source, axis=axis, follow=follow, parent=self.window, object_name=f"dock_plot_{self._serial}"
        )
        self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock, Qt.Orientation.Vertical)
        self.window.restoreDockWidget(dock)  # its place from the window's saved state, if any
        # poll and repaint (when floating) only when it fits before the next stimulus frame
        dock.use_budget(self._budget)
        dock.changed.connect(self._layout_changed)
        dock.closed.connect(self._dock_closed)
        self.plots.append(dock)
        dock.show()
        self._layout_changed()
        return dock

    def layout(self) -> list[dict[str, Any]]:
        """The open plots as ``Settings.plot_layout`` entries."""
        return [d.state() for d in self.plots]

    def restore_layout(self, layout: list[dict[str, Any]]) -> None:
        """Open one dock per entry (entries that make no sense are skipped and logged)."""
        self._restoring = True
        try:
            for entry in layout or []:
                try:
                    kind = entry.get("kind", "variable")
                    name = entry.get("name")
                    axis = entry.get("axis", "time")
                    if kind not in KINDS or not isinstance(name, str) or axis not in AXES:
                        raise ValueError(entry)
                    src = PlotSource(kind, name) if name else None
                    self.new_plot(src, axis=axis, follow=bool(entry.get("follow", True)))
                except Exception as exc:  # noqa: BLE001 - a bad entry must not stop the console
                    log.warning("plot layout entry %r skipped (%s)", entry, exc)
        finally:
            self._restoring = False

    def _dock_closed(self, dock: VariablePlotDock) -> None:
        if self._closing:
            return
        if dock in self.plots:
            self.plots.remove(dock)
        self.window.removeDockWidget(dock)
        dock.deleteLater()
        self._layout_changed()

    def _layout_changed(self) -> None:
        if self._closing or self._restoring:
            return
        self.settings.remember_plot_layout(self.layout())
        if self._save:
            try:
                save_settings(self.settings)
            except OSError as exc:
                log.warning("could not save the plot layout (%s)", exc)

    # ------------------------------------------------------------------ browser
    def ask_open_browser(self) -> None:
        """Non-modal file dialog; the chosen file opens in a DataBrowser."""
        dlg = QFileDialog(
            self.window,
            "Open a session data file",
            str(self.settings.data_dir),
            "Session data (*.h5 *.hdf5);;All files (*)",
        )
        dlg.setFileMode(QFileDialog.FileMode.ExistingFile)
        dlg.fileSelected.connect(self.open_browser)
        self._dialog = dlg
        dlg.open()

    def open_browser(self, path: str | Path) -> DataBrowser:
        """Open ``path`` in a new :class:`DataBrowser` window (shown; errors appear in it, never raised)."""
        b = DataBrowser(path)
        b.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        b.destroyed.connect(lambda *_: self.browsers.remove(b) if b in self.browsers else None)
        self.browsers.append(b)
        b.show()
        return b

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close every dock and browser (the saved layout is kept). Idempotent."""
        if self._closing:
            return
        self._closing = True
        for d in list(self.plots):
            d.view.close_plot()
            d.close()
            self.window.removeDockWidget(d)
            d.deleteLater()
        self.plots.clear()
        for b in list(self.browsers):
            b.close()
        self.browsers.clear()
        for act in (self.new_plot_action, self.open_data_action):
            for w in act.associatedObjects():
                if isinstance(w, QMenu):
                    w.removeAction(act)


def attach_data_tools(
    main_window: QMainWindow,
    data_log,
    settings: Settings,
    *,
    file_menu: QMenu,
    view_menu: QMenu,
    budget: FrameBudget = IDLE,
    save: bool = True,
) -> DataTools:
    """Add "View → New plot…" and "File → Open data file…" to the menus given and restore saved plot docks.

    Arguments as :class:`DataTools`. The caller (the composition root) follows a new data
    log itself: ``data_log_changed`` → :meth:`DataTools.use_data_log`.

    Returns the :class:`DataTools` (``.plots``, ``.open_browser(path)``, ``.close()``).
    """
    return DataTools(
        main_window, data_log, settings, file_menu=file_menu, view_menu=view_menu, budget=budget, save=save
    )
