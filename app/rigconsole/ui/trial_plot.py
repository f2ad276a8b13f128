"""The main window's trial plot: the running experiment's numeric trial columns against trial number.

A dock around one :class:`~.plots.LivePlot`, fed the way every live plot is:
its timer polls a :class:`~rigconsole.views.plot_sources.TrialFeed` on the
session's data log from the UI thread, so nothing here runs inside the
experiment's ``nextEntry()``; the redraw then waits for a pump with room
before the next stimulus frame (:meth:`~.plots.LivePlot.has_time`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QComboBox, QDockWidget, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..frame_budget import FrameBudget
from ..views.plot_sources import TrialBatch, TrialFeed, default_columns, trial_number
from .plots import LivePlot

__all__ = ["TrialPlotDock"]


class TrialPlotDock(QDockWidget):
    """Numeric trial data of the newest run in the data log, against trial number (1 = first trial).

    Every number column the experiment stored with ``addData`` becomes a
    series (expInfo values are not plotted by default). A combo chooses what
    is drawn: the default columns (see
    :func:`~rigconsole.views.plot_sources.default_columns`), all numeric
    columns, or one column. A new run in the log clears the plot.

    Args:
        parent: the main window.
        data_log: the session :class:`~rigconsole.datalog.DataLog` (or None; see :meth:`use_data_log`).
        poll_hz: how often the log is asked for new rows.
        max_fps: redraws per second at most.

    Attributes:
        plot: the :class:`~.plots.LivePlot` (``"grow"`` range mode, x = trial number).
        key: the plot's :class:`~.plots.SeriesKey` above it.
        controls: a ``QHBoxLayout`` above the plot.
        column_combo: the ``QComboBox`` (item data: ``"auto"``, ``"all"`` or a column name).
        info: the "trial n" label.
        rows: the trial rows of this run seen so far (number cells only).
        run: the data-log group of the run shown (None before the first).
    """

    AUTO = "auto"
    ALL = "all"

    def __init__(
        self, parent: QWidget | None = None, *, data_log: Any = None, poll_hz: float = 10.0, max_fps: float = 10.0
    ):
        super().__init__("Trial data", parent)
        self.setObjectName("dock_trial_data")
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        self.controls = QHBoxLayout()
        lay.addLayout(self.controls)
        self.plot = LivePlot(body, x_label="trial", max_fps=max_fps, range_mode="grow")
        # a painted one-line key above the plot, not pyqtgraph's LegendItem (see SeriesKey)
        self.key = self.plot.make_key(body)
        lay.addWidget(self.key)
        lay.addWidget(self.plot, 1)
        self.setWidget(body)
        self.rows: list[dict[str, float]] = []
        self.run: str | None = None
        self._feed = TrialFeed(data_log)
        self.plot.use_notes(data_log)  # notebook notes: markers at their trial
        self._exclude: set[str] = set()
        self._columns: list[str] = []
        self._new_columns: list[str] = []
        self._info_text: str | None = None
        self.column_combo = QComboBox(self)
        self.column_combo.setToolTip("Which numeric trial columns to plot against trial number")
        # a long column name elides in the box, not widen the console (one screen: the stimulus window beside it)
        self.column_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.column_combo.setMinimumContentsLength(8)
        self.column_combo.addItem("Response measures (auto)", self.AUTO)
        self.column_combo.addItem("All numeric columns", self.ALL)
        self.column_combo.currentIndexChanged.connect(self._apply_choice)
        self.info = QLabel("No trials yet", self)
        self.info.setStyleSheet("color: palette(mid);")
        self.info.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # fixed size: a per-trial setText must not re-lay-out the main window (costs frames)
        from .run_panel import fix_size

        fix_size(self.info, "trial 00000 of 00000")
        self.controls.addWidget(QLabel("Plot:", self))
        self.controls.addWidget(self.column_combo)
        self.controls.addStretch(1)
        self.controls.addWidget(self.info)
        self.plot.flushing.connect(self._before_redraw)
        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(max(20, int(1000 / poll_hz)))
        self.poll_timer.timeout.connect(self.poll)
        self.poll_timer.start()

    # ------------------------------------------------------------ the plot's surface, for the window and tests
    @property
    def items(self) -> dict[str, Any]:
        """``{series name: item}`` drawn now."""
        return self.plot.series_items

    @property
    def deferred_redraws(self) -> int:
        return self.plot.deferred_redraws

    def use_budget(self, budget: FrameBudget | None) -> None:
        """Redraw only when it fits ``budget.time_left()`` (None: whenever due); see :meth:`LivePlot.has_time`."""
        self.plot.use_budget(budget)

    def redraw_cost(self) -> float:
        return self.plot.redraw_cost()

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A column's ``(trial numbers, values)`` as arrays."""
        return self.plot.series(name)

    def series_names(self) -> list[str]:
        return self.plot.series_names()

    def visible_series(self) -> list[str]:
        return self.plot.visible_series()

    def flush(self) -> None:
        """Bring the combo, the label and the plot up to date with the rows received (redraws now)."""
        self.plot.flush()

    # ------------------------------------------------------------ data in
    def use_data_log(self, data_log: Any) -> None:
        """Plot the runs of another data log (a new data folder); the plot clears at the next poll."""
        self._feed.use_data_log(data_log)
        self.plot.use_notes(data_log)

    @property
    def data_log(self) -> Any:
        return self._feed.data_log

    def poll(self) -> bool:
        """Read the rows new in the log (cheap when none: a row count); True if any arrived.

        Only appends numbers; the combo, the label and the drawing follow at the
        next redraw that fits before a stimulus frame.
        """
        batch = self._feed.poll()
        if batch is not None and batch.reset:
            self._start_run(batch)
        self.plot.poll_notes("trial", self.run)
        if batch is None:
            return False
        self._add_rows(batch)
        return True

    def _start_run(self, batch: TrialBatch) -> None:
        self.run = batch.run
        self.rows.clear()
        self._columns.clear()
        self._new_columns.clear()
        self._exclude = set(batch.exp_info)
        self.plot.clear_series()
        blocker = self.column_combo.blockSignals(True)
        while self.column_combo.count() > 2:
            self.column_combo.removeItem(2)
        self.column_combo.blockSignals(blocker)
        self._info_text = f"run {batch.run.split('/', 1)[-1]}"
        self._apply_choice()

    def _add_rows(self, batch: TrialBatch) -> None:
        numeric = {k: v for k, v in batch.columns.items() if v.dtype.kind == "f"}
        k_rows = batch.n_trials - batch.first_row
        ok = {k: np.isfinite(col) for k, col in numeric.items()}
        for k in numeric:
            if not ok[k].any():
                continue  # no number in this column yet: not a series
            # only the finite cells: a trial without this value is no point, the line joins its neighbours
            self.plot.add_points(k, batch.points(k), finite_only=True)
            if k not in self._columns:
                self._columns.append(k)
                self._new_columns.append(k)
        for i in range(k_rows):
            self.rows.append({k: float(col[i]) for k, col in numeric.items() if ok[k][i]})
        if k_rows:
            self._info_text = f"trial {trial_number(batch.n_trials - 1)}"

    def _before_redraw(self) -> None:
        """The plot is about to redraw: new columns into the combo, the label's new text."""
        if self._new_columns:
            new, self._new_columns = self._new_columns, []
            blocker = self.column_combo.blockSignals(True)
            for k in new:
                self.column_combo.addItem(k, k)
            self.column_combo.blockSignals(blocker)
            self.plot.choose_visible(self.chosen_columns())
        if self._info_text is not None:
            self.info.setText(self._info_text)
            self._info_text = None

    def chosen_columns(self) -> list[str]:
        """The columns the combo's choice selects, given the columns seen so far."""
        choice = self.column_combo.currentData()
        if choice == self.AUTO:
            return default_columns(self._columns, self._exclude)
        if choice == self.ALL:
            return list(self._columns)
        return [choice] if choice in self.plot.series_names() else []

    def _apply_choice(self, *_: Any) -> None:
        self.plot.set_visible_series(self.chosen_columns())
