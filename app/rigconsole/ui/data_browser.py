"""The data browser: a window on one past (or live) session ``.h5`` file.

Opens the file with the lazy reader, ``DataLog(path, readonly=True)`` (a
snapshot read on demand; a live file opens through HDF5 SWMR), in a worker
thread, then shows (reading no series until one is plotted; the first variable
is plotted at once only up to ``DataBrowser.AUTO_PLOT_MAX`` entries):

- the runs (number, experiment, outcome, trials, started);
- the selected run: its details and expInfo, its trial table (a lazy
  :class:`TrialTableModel`: only the visible cells are formatted, 100k rows are
  fine), and its numeric trial columns in the plot;
- the logged variables (length, unit) with a plot (:class:`~.variable_plots.VariablePlot`),
  the parameters and metadata, the datasets and the annotations;
- "Export to CSV…": the files of ``rigconsole data FILE --csv DIR``, in a worker thread.

A file that is not HDF5, HDF5 not written by Rig Console, truncated or left
open by a crash gives a one-line message in the window saying what to do
(e.g. run ``rigconsole data recover FILE``), never an exception.
"""

from __future__ import annotations

import html
import math
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..datalog import DataLog
from ..datalog.export import export_csv
from ..notifications import one_line
from ..views.palette import ERROR, run_look
from .data_widgets import TrialTableModel, cell_text, fill_kv, kv_table, plain_table, run_in_thread
from .variable_plots import PlotSource, VariablePlot

__all__ = ["DataBrowser", "TrialTableModel", "open_error_message"]


def _when(t: Any) -> str:
    if t is None or (isinstance(t, float) and math.isnan(t)):
        return "–"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(t)))


def _duration(a: Any, b: Any) -> str:
    if a is None or b is None:
        return "–"
    s = float(b) - float(a)
    m, s = divmod(int(round(s)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def open_error_message(path: str | Path, exc: BaseException) -> str:
    """One line saying why ``path`` cannot be browsed and what to do.

    DataLog's own errors already say it (not HDF5 → pick a session file;
    truncated / not closed → ``rigconsole data recover FILE``); anything else
    is treated as damage.
    """
    from ..datalog.errors import DataLogError

    text = one_line(exc, with_type=False)
    if isinstance(exc, (DataLogError, FileNotFoundError)):
        if isinstance(exc, FileNotFoundError) and exc.strerror:
            text = exc.strerror
        return text
    return f"{path} cannot be read ({text}); run `rigconsole data recover {path}`"


class DataBrowser(QMainWindow):
    """A window on one session ``.h5`` file (readonly).

    Args:
        path: the session file.
        load_async: open the file in a worker thread (default). False opens it now.

    Signals:
        loaded(): the file is open and shown.
        failed(str): the one-line message shown instead.
        exported(list): the CSV paths written by :meth:`export_csv`.

    Attributes tests use: ``log`` (the readonly DataLog or None), ``error_text``
    (str, "" when fine), ``runs_tree``, ``expinfo_table``, ``run_form``,
    ``trials_view``/``trials_model``, ``variables_list``, ``plot``
    (VariablePlot), ``params_table`` (parameters, then metadata sections),
    ``datasets_table``, ``annotations_table``, ``tabs``, ``export_action``,
    ``message`` (the error QLabel).
    """

    #: the first variable is plotted on opening only up to this many entries
    AUTO_PLOT_MAX = 2_000_000

    loaded = Signal()
    failed = Signal(str)
    exported = Signal(list)

    def __init__(self, path: str | Path, *, load_async: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.log: DataLog | None = None
        self.error_text = ""
        self.plot: VariablePlot | None = None
        self._relays: list[QObject] = []
        self._dialog: QFileDialog | None = None
        self.setWindowTitle(f"{self.path.name} – Rig Console data")
        self.setObjectName("rigconsole_data_browser")
        self.resize(1200, 760)

        self.export_action = QAction("Export to CSV…", self)
        self.export_action.setToolTip("Write one CSV per run's trial table, per logged variable, and the parameters")
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.setEnabled(False)
        self.export_action.triggered.connect(self.ask_export)
        self.reload_action = QAction("Reload", self)
        self.reload_action.setToolTip("Open the file again (a live file shows newer data)")
        self.reload_action.setShortcut(QKeySequence.StandardKey.Refresh)
        self.reload_action.triggered.connect(self.reload)
        tb = self.addToolBar("Data")
        tb.setObjectName("data_toolbar")
        tb.setMovable(False)
        tb.addAction(self.export_action)
        tb.addAction(self.reload_action)
        fm = self.menuBar().addMenu("&File")
        fm.addAction(self.export_action)
        fm.addAction(self.reload_action)
        fm.addSeparator()
        close = QAction("Close", self)
        close.setShortcut(QKeySequence.StandardKey.Close)
        close.triggered.connect(self.close)
        fm.addAction(close)

        self.stack = QStackedWidget(self)
        self.setCentralWidget(self.stack)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setStyleSheet("font-size: 14px; padding: 40px;")
        self.stack.addWidget(self.message)
        self._build_body()
        self.stack.addWidget(self.body)
        self.statusBar().showMessage(str(self.path))
        self.open(load_async=load_async)

    # ------------------------------------------------------------------ building
    def _build_body(self) -> None:
        self.body = QWidget(self)
        lay = QVBoxLayout(self.body)
        lay.setContentsMargins(8, 6, 8, 6)
        self.header = QLabel(self.body)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.header)

        split = QSplitter(Qt.Orientation.Horizontal, self.body)
        lay.addWidget(split, 1)

        left = QWidget(split)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        runs_box = QGroupBox("Runs", left)
        rl = QVBoxLayout(runs_box)
        self.runs_tree = QTreeWidget(runs_box)
        self.runs_tree.setHeaderLabels(["#", "experiment", "outcome", "trials", "started"])
        self.runs_tree.setRootIsDecorated(False)
        self.runs_tree.setAlternatingRowColors(True)
        self.runs_tree.setUniformRowHeights(True)
        self.runs_tree.currentItemChanged.connect(self._run_chosen)
        rl.addWidget(self.runs_tree)
        ll.addWidget(runs_box, 3)
        info_box = QGroupBox("Run", left)
        il = QVBoxLayout(info_box)
        self.run_form = QFormLayout()
        self.run_form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        il.addLayout(self.run_form)
        self.expinfo_label = QLabel("expInfo", info_box)
        self.expinfo_label.setStyleSheet("font-weight: 600; margin-top: 4px;")
        il.addWidget(self.expinfo_label)
        self.expinfo_table = kv_table(info_box)
        self.expinfo_table.setHorizontalHeaderLabels(["field", "value"])
        il.addWidget(self.expinfo_table, 1)
        ll.addWidget(info_box, 4)
        split.addWidget(left)

        self.tabs = QTabWidget(split)
        # trials
        self.trials_model = TrialTableModel(parent=self)
        self.trials_view = QTableView(self.tabs)
        self.trials_view.setModel(self.trials_model)
        self.trials_view.setAlternatingRowColors(True)
        self.trials_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.trials_view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vh = self.trials_view.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 6)
        hh = self.trials_view.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setDefaultSectionSize(110)
        self.tabs.addTab(self.trials_view, "Trials")
        # plot: variables + trial columns
        plot_page = QSplitter(Qt.Orientation.Horizontal, self.tabs)
        vbox = QWidget(plot_page)
        vl = QVBoxLayout(vbox)
        vl.setContentsMargins(0, 0, 0, 0)
        vlab = QLabel("Logged variables", vbox)
        vlab.setStyleSheet("font-weight: 600;")
        vl.addWidget(vlab)
        self.variables_list = QListWidget(vbox)
        self.variables_list.currentItemChanged.connect(self._variable_chosen)
        vl.addWidget(self.variables_list, 1)
        hint = QLabel("Trial columns of the selected run are in the plot's list.", vbox)
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #666; font-size: 11px;")
        vl.addWidget(hint)
        plot_page.addWidget(vbox)
        self.plot_holder = QWidget(plot_page)
        self.plot_holder_layout = QVBoxLayout(self.plot_holder)
        self.plot_holder_layout.setContentsMargins(0, 0, 0, 0)
        plot_page.addWidget(self.plot_holder)
        plot_page.setStretchFactor(1, 1)
        plot_page.setSizes([220, 700])
        self.tabs.addTab(plot_page, "Plot")
        # parameters, datasets
        self.params_table = kv_table(self.tabs)
        self.tabs.addTab(self.params_table, "Parameters")
        self.datasets_table = plain_table(self.tabs, ["dataset", "arrays", "shape", "dtype"])
        self.tabs.addTab(self.datasets_table, "Datasets")
        self.annotations_table = plain_table(self.tabs, ["time", "source", "kind", "text"])
        self.tabs.addTab(self.annotations_table, "Annotations")
        split.addWidget(self.tabs)
        split.setStretchFactor(1, 1)
        split.setSizes([400, 800])

    # ------------------------------------------------------------------ opening
    def open(self, *, load_async: bool = True) -> None:
        """(Re)open the file; shows "Opening…" until it is read."""
        self._show_message(f"Opening {self.path} …", error=False)
        self.export_action.setEnabled(False)
        if load_async:
            self._relays.append(run_in_thread(lambda: DataLog(self.path, readonly=True), self._opened))
        else:
            try:
                res, err = DataLog(self.path, readonly=True), None
            except Exception as exc:  # noqa: BLE001 - shown in the window
                res, err = None, exc
            self._opened(res, err)

    def reload(self) -> None:
        """Open the file again (a file still being written shows its newer data)."""
        self._close_log()
        self.open()

    def _opened(self, log: DataLog | None, err: BaseException | None) -> None:
        self._relays = [r for r in self._relays if r is not self.sender()]
        if err is not None or log is None:
            self.error_text = open_error_message(self.path, err or RuntimeError("unknown error"))
            self._show_message(self.error_text, error=True)
            self.statusBar().showMessage("Could not open the file", 0)
            self.failed.emit(self.error_text)
            return
        if self.isHidden() and self.property("closed"):
            log.close()
            return
        self.log = log
        self.error_text = ""
        try:
            self._populate()
        except Exception as exc:  # noqa: BLE001 - damaged content: say so, do not crash
            self.error_text = open_error_message(self.path, exc)
            self._show_message(self.error_text, error=True)
            self.failed.emit(self.error_text)
            return
        self.stack.setCurrentWidget(self.body)
        self.export_action.setEnabled(True)
        self.statusBar().showMessage(str(self.path))
        self.loaded.emit()

    def _show_message(self, text: str, *, error: bool) -> None:
        if error:
            self.message.setText(f"<b style='color:{ERROR}'>Cannot open this data file.</b><br><br>{_html(text)}")
        else:
            self.message.setText(_html(text))
        self.stack.setCurrentWidget(self.message)

    def _populate(self) -> None:
        log = self.log
        assert log is not None
        runs = log.runs()
        names = sorted(log.logged_variables())
        params = log.parameters()
        dsets = sorted(log.dataset_names())
        self.header.setText(
            f"<span style='font-size:15px; font-weight:600'>{_html(self.path.name)}</span>"
            f"&nbsp;&nbsp;<span style='color:#555'>created {_when(log.t0)} · {len(runs)} runs · "
            f"{len(names)} logged variables · {len(params)} parameters · {len(dsets)} datasets</span>"
        )
        self.runs_tree.clear()
        for r in runs:
            info = log.run_info(r)
            num, _, _ = r.split("/", 1)[1].partition("_")
            it = QTreeWidgetItem(
                [num, info["experiment"], info["outcome"] or "not ended", str(info["n_trials"]), _when(info["started"])]
            )
            it.setData(0, Qt.ItemDataRole.UserRole, r)
            it.setTextAlignment(3, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if info["outcome"]:
                it.setForeground(2, _brush(run_look(info["outcome"]).colour))
            self.runs_tree.addTopLevelItem(it)
        for i in range(5):
            self.runs_tree.resizeColumnToContents(i)

        self.variables_list.clear()
        for n in names:  # lengths and units only: a big file's series are read when plotted
            unit = log.variable_info(n)["unit"]
            it = QListWidgetItem(f"{n}{f' [{unit}]' if unit else ''}   ({log.variable_length(n):,} values)")
            it.setData(Qt.ItemDataRole.UserRole, n)
            self.variables_list.addItem(it)

        meta = [(f"metadata: {sec}", log.metadata(sec)) for sec in log.metadata_sections()]
        fill_kv(self.params_table, sorted(params.items()) + meta)
        self.datasets_table.setRowCount(len(dsets))
        for i, n in enumerate(dsets):
            shape, dtype, count = log.dataset_shape(n)  # no array read
            for j, v in enumerate([n, str(count), "×".join(map(str, shape)), str(dtype)]):
                self.datasets_table.setItem(i, j, QTableWidgetItem(v))
        self.datasets_table.resizeColumnsToContents()
        notes = log.annotations()
        self.annotations_table.setRowCount(len(notes))
        for i, a in enumerate(notes):
            for j, v in enumerate([_when(a["t"]), a["source"], a["kind"], a["text"]]):
                self.annotations_table.setItem(i, j, QTableWidgetItem(v))

        if self.plot is not None:
            self.plot.close_plot()
            self.plot.setParent(None)
            self.plot.deleteLater()
        first_run = runs[0] if runs else None
        # plot the first variable at once unless it is big (it is read whole when plotted)
        small = bool(names) and log.variable_length(names[0]) <= self.AUTO_PLOT_MAX
        self.plot = VariablePlot(
            log,
            names[0] if small else None,
            axis="time",
            follow=False,
            run=first_run,
            live=False,
            auto_source=small or not names,
            parent=self.plot_holder,
        )
        self.plot_holder_layout.addWidget(self.plot)
        if runs:
            self.runs_tree.setCurrentItem(self.runs_tree.topLevelItem(0))
        else:
            self._show_run(None)
        if small:
            self.variables_list.setCurrentRow(0)

    # ------------------------------------------------------------------ selection
    def runs(self) -> list[str]:
        """Run paths listed, oldest first."""
        return [
            self.runs_tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)
            for i in range(self.runs_tree.topLevelItemCount())
        ]

    def current_run(self) -> str | None:
        it = self.runs_tree.currentItem()
        return it.data(0, Qt.ItemDataRole.UserRole) if it is not None else None

    def select_run(self, run: str) -> None:
        """Show ``run`` (``"runs/0001_x"``): its details, expInfo, trial table and trial columns in the plot."""
        for i in range(self.runs_tree.topLevelItemCount()):
            it = self.runs_tree.topLevelItem(i)
            if it.data(0, Qt.ItemDataRole.UserRole) == run:
                self.runs_tree.setCurrentItem(it)
                return
        raise KeyError(f"no run {run!r} in {self.path.name}; runs: {', '.join(self.runs()) or 'none'}")

    def _run_chosen(self, current: QTreeWidgetItem | None, _previous: Any = None) -> None:
        self._show_run(current.data(0, Qt.ItemDataRole.UserRole) if current is not None else None)

    def _show_run(self, run: str | None) -> None:
        while self.run_form.rowCount():
            self.run_form.removeRow(0)
        if run is None or self.log is None:
            self.trials_model.set_table({})
            self.expinfo_table.setRowCount(0)
            self.run_form.addRow(QLabel("No runs in this file.", self))
            self.tabs.setTabText(0, "Trials")
            return
        info = self.log.run_info(run)
        a = info["attrs"]
        rows: list[tuple[str, str]] = [
            ("run", run.split("/", 1)[1]),
            ("experiment", info["experiment"]),
            ("outcome", info["outcome"] or "not ended (console still running, or it crashed)"),
            ("started", _when(info["started"])),
            ("ended", _when(info["ended"])),
            ("duration", _duration(info["started"], info["ended"])),
            ("trials", f"{info['n_trials']:,}"),
            ("frames", f"{info['n_frames']:,}"),
        ]
        if "dropped_frames" in a:
            rows.append(("dropped frames", str(a["dropped_frames"])))
        for k, v in sorted(a.items()):
            if k in ("dropped_frames", "error"):
                continue
            rows.append((k, cell_text(v) if not isinstance(v, (list, dict)) else ", ".join(map(str, v))))
        for k, v in rows:
            lab = QLabel(_html(v), self)
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            lab.setWordWrap(True)
            self.run_form.addRow(f"{k}:", lab)
        if a.get("error"):
            err = QLabel(_html(str(a["error"]).strip().splitlines()[-1]), self)
            err.setToolTip(str(a["error"]))
            err.setStyleSheet(f"color: {ERROR};")
            err.setWordWrap(True)
            self.run_form.addRow("error:", err)
        fill_kv(self.expinfo_table, list(info["expInfo"].items()))
        self.trials_model.set_table(self.log.trials(run))
        self.trials_view.resizeColumnsToContents()
        hh = self.trials_view.horizontalHeader()
        for c in range(self.trials_model.columnCount()):
            if hh.sectionSize(c) > 220:
                hh.resizeSection(c, 220)
        self.tabs.setTabText(0, f"Trials ({info['n_trials']:,})")
        if self.plot is not None:
            self.plot.set_run(run)

    def _variable_chosen(self, current: QListWidgetItem | None, _previous: Any = None) -> None:
        if current is not None and self.plot is not None:
            self.plot.set_source(PlotSource("variable", current.data(Qt.ItemDataRole.UserRole)))

    # ------------------------------------------------------------------ export
    def ask_export(self) -> None:
        """Non-modal folder dialog; the chosen folder receives the CSV files."""
        dlg = QFileDialog(self, "Export to CSV: choose a folder", str(self.path.parent))
        dlg.setFileMode(QFileDialog.FileMode.Directory)
        dlg.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dlg.fileSelected.connect(self.export_csv)
        self._dialog = dlg
        dlg.open()

    def export_csv(self, folder: str | Path) -> None:
        """Write the CSV files into ``folder`` in a worker thread; ``exported(paths)`` when done.

        Same files as ``rigconsole data FILE --csv DIR`` (``rigconsole.datalog.export.export_csv``).
        Errors (e.g. a read-only folder) show in the status bar.
        """
        if self.log is None:
            return
        log, out = self.log, Path(folder)
        self.export_action.setEnabled(False)
        self.statusBar().showMessage(f"Exporting to {out} …", 0)

        def done(paths: list[Path] | None, err: BaseException | None) -> None:
            self.export_action.setEnabled(self.log is not None)
            if err is not None:
                self.statusBar().showMessage(
                    f"Export failed: {one_line(err, with_type=False)}; choose another folder", 0
                )
                return
            self.statusBar().showMessage(f"Exported {len(paths or [])} CSV files to {out}", 0)
            self.exported.emit(list(paths or []))

        self._relays.append(run_in_thread(lambda: export_csv(log, out), done))

    # ------------------------------------------------------------------ lifecycle
    def _close_log(self) -> None:
        if self.plot is not None:
            self.plot.close_plot()
        if self.log is not None:
            self.log.close()
            self.log = None

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt
        self.setProperty("closed", True)
        self._close_log()
        super().closeEvent(event)


def _html(s: str) -> str:
    return html.escape(str(s))


def _brush(colour: str):
    from PySide6.QtGui import QBrush, QColor

    return QBrush(QColor(colour))
