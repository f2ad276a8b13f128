"""Live plots of one source each: :class:`VariablePlot` and :class:`VariablePlotDock`.

A plot shows one :class:`~rigconsole.views.plot_sources.PlotSource` of a
:class:`~rigconsole.datalog.DataLog`: a logged variable (with its unit from
``variable_info`` on the y axis), a numeric trial column of a run
(``"trial: key_resp.rt"``; live plots follow the newest run, the data browser
pins one run) or the run's frame intervals, against one of two x axes:

- ``"time"``: clock time (epoch seconds under a :class:`pyqtgraph.DateAxisItem`).
  For trial columns the time of a row is ``run started + thisRow.t`` (the run's
  start is the experiment clock's zero); a run without ``thisRow.t`` falls
  back to the trial number.
- ``"trial"``: the trial number for trial columns (1 = the first trial,
  :func:`~rigconsole.views.plot_sources.trial_number`), the entry number for
  logged variables (1 = the first ``add_entry``), the frame number (from 1).

The plot is the console's one :class:`~.plots.LivePlot` (``"follow"`` range
mode), fed the way every live plot is: a :class:`QTimer` (5 Hz by default)
polls a :class:`~rigconsole.views.plot_sources.SourceFeed` on the UI thread
for what is new and appends it into preallocated numpy buffers that grow by
doubling; nothing is connected to the log's events, so no plot code runs
inside the experiment's calls. A poll waits for a pump with room for its
measured cost (:meth:`~.plots.LivePlot.has_time`). The plot gets views of the
buffers; a logged variable or frame intervals are a ``"line"`` series (peak
downsampling, clip to view: a 1,000,000-point series stays smooth to pan,
figures in docs/performance.md ("Live plots")), a trial column ``"points"``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..frame_budget import FrameBudget
from ..views.palette import SERIES
from ..views.plot_sources import FRAMES, TRIAL_PREFIX, PlotSource, PointBuffer, SourceFeed, axis_label
from .budget import PaintGate
from .plots import LivePlot

__all__ = ["PlotSource", "VariablePlot", "VariablePlotDock", "TRIAL_PREFIX", "FRAMES", "AXES"]

#: The two x axes.
AXES = ("time", "trial")
#: Line colour: the first series colour, as the trial plot's first series.
LINE_COLOUR = SERIES[0]


class VariablePlot(QWidget):
    """A source picker, an axis toggle, a follow toggle and one pyqtgraph plot of a DataLog source.

    Args:
        data_log: a :class:`~rigconsole.datalog.DataLog` (live, or readonly for the data browser).
        source: what to show first (``PlotSource``, a combo label such as
            ``"trial: key_resp.rt"``, or None: the first variable available).
        axis: ``"time"`` or ``"trial"``.
        follow: auto-scroll to the newest point (turned off when the user pans).
        run: the run whose trial columns are offered (``"runs/0001_x"``); None
            follows the newest run (a live console).
        live: poll the log on a timer (``poll_hz`` times a second). The data
            browser passes False (it reads once).
        auto_source: with no ``source``, show the first one available (False: none until chosen).

    Signals:
        changed(): source, axis or follow changed (layouts are saved on it).

    Attributes tests and benchmarks use: ``plot`` (:class:`~.plots.LivePlot`), ``item``
    (the series' plot item), ``source_combo``, ``axis_button``, ``follow_button``,
    ``status`` (QLabel), ``timer``.
    """

    changed = Signal()

    def __init__(
        self,
        data_log,
        source: PlotSource | str | None = None,
        *,
        axis: str = "time",
        follow: bool = True,
        run: str | None = None,
        live: bool = True,
        poll_hz: float = 5.0,
        auto_source: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if axis not in AXES:
            raise ValueError(f"axis must be one of {AXES}, got {axis!r}")
        self.log = data_log
        self._pinned_run = run
        self._run: str | None = run
        self._axis = axis
        self._follow = follow
        self._known_vars: frozenset[str] = frozenset()
        self._known_cols: tuple[str, ...] = ()
        self._numeric_cols: list[str] = []
        self._has_frames = False
        self._closed = False
        if isinstance(source, str):
            source = PlotSource.from_label(source)
        self._source: PlotSource | None = source
        self._feed = SourceFeed(data_log, source, run)

        self._build_ui()
        self.plot.use_notes(data_log)  # notebook notes: markers at their time or trial
        self.refresh_sources()
        if self._source is None and auto_source:
            first = self._first_source()
            if first is not None:
                self._source = first
                self._feed.set_source(first)
        self._sync_combo()
        self._apply_axis_item()

        #: polls skipped for lack of time (a count)
        self.deferred_polls = 0
        self.timer = QTimer(self)
        self.timer.setInterval(max(20, int(1000 / poll_hz)))
        self.timer.timeout.connect(self.poll)
        if live:
            self.timer.start()
        self.poll()

    # ------------------------------------------------------------------ UI
    def _build_ui(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.controls = bar
        self.source_combo = QComboBox(self)
        self.source_combo.setToolTip("Logged variable or trial column to plot")
        self.source_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.source_combo.setMinimumContentsLength(14)
        self.source_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.source_combo.activated.connect(self._combo_activated)
        bar.addWidget(self.source_combo, 1)

        self.axis_button = QToolButton(self)
        self.axis_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.axis_button.setToolTip("x axis: clock time, or trial (entry) number")
        self.axis_button.clicked.connect(lambda: self.set_axis("trial" if self._axis == "time" else "time"))
        bar.addWidget(self.axis_button)

        self.follow_button = QToolButton(self)
        self.follow_button.setText("Follow")
        self.follow_button.setCheckable(True)
        self.follow_button.setChecked(self._follow)
        self.follow_button.setToolTip("Keep the newest point in view (panning turns it off)")
        self.follow_button.toggled.connect(self.set_follow)
        bar.addWidget(self.follow_button)
        lay.addLayout(bar)

        self.plot = LivePlot(self, range_mode="follow", follow=self._follow)
        self.plot.setMenuEnabled(True)
        self.plot.followChanged.connect(self.set_follow)
        lay.addWidget(self.plot, 1)

        self.status = QLabel(self)
        self.status.setStyleSheet("color: #555; font-size: 11px;")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.status)

    def _update_axis_button(self) -> None:
        self.axis_button.setText("x: time" if self._axis == "time" else "x: trial #")

    def _apply_axis_item(self) -> None:
        if self._axis == "time" and self._time_available():
            self.plot.set_time_axis(True, "time")
        else:
            kind = self._source.kind if self._source is not None else "variable"
            self.plot.set_time_axis(False, {"trial": "trial", "frames": "frame #"}.get(kind, "entry #"))
        self.plot.setLabel("left", axis_label(self.log, self._source))
        self._update_axis_button()

    def _time_available(self) -> bool:
        return self._source is None or self._source.kind != "trial" or self._feed.trial_time_ok

    # ------------------------------------------------------------------ public API
    @property
    def source(self) -> PlotSource | None:
        return self._source

    @property
    def axis(self) -> str:
        return self._axis

    @property
    def follow(self) -> bool:
        return self._follow

    @property
    def run(self) -> str | None:
        """The run whose trial columns are offered (None before the first run)."""
        return self._run

    def use_budget(self, budget: FrameBudget | None) -> None:
        """Poll and redraw only when it fits ``budget.time_left()`` (None: whenever due); see :meth:`LivePlot.has_time`."""
        self.plot.use_budget(budget)

    @property
    def item(self) -> Any:
        """The plot item of the source's series (a ``PlotDataItem``, or a ``SeriesItem`` for a trial column), or None."""
        return self.plot.series_items.get(self._series_name())

    def _series_name(self) -> str:
        return self._source.label if self._source is not None else ""

    def use_data_log(self, data_log) -> None:
        """Plot from another data log (a new data folder): the same source, read from its start."""
        self.log = data_log
        self._known_vars = frozenset()
        self._known_cols = ()
        self._has_frames = False
        self._feed.use_data_log(data_log)
        self.plot.use_notes(data_log)
        self.refresh_sources()
        self.poll()

    def state(self) -> dict[str, Any]:
        """``{"kind", "name", "axis", "follow"}``: what a saved layout keeps (``Settings.plot_layout`` entries)."""
        d = asdict(self._source) if self._source else {"kind": "", "name": ""}
        return {**d, "axis": self._axis, "follow": self._follow}

    def set_source(self, source: PlotSource | str | None) -> None:
        """Show another source (a ``PlotSource`` or a combo label); reloads its data."""
        if isinstance(source, str):
            source = PlotSource.from_label(source)
        if source == self._source:
            return
        self._source = source
        self._sync_combo()
        self._feed.set_source(source)
        self.plot.clear_series()
        self.poll()
        self._apply_axis_item()
        self.changed.emit()

    def set_run(self, run: str | None) -> None:
        """Offer (and plot) the trial columns of ``run``; None follows the newest run."""
        if run == self._pinned_run and run == self._run:
            return
        self._pinned_run = run
        self._known_cols = ()
        self._feed.pin(run)
        self.refresh_sources()
        self.poll()

    def set_axis(self, axis: str) -> None:
        """``"time"`` or ``"trial"``; redraws from the buffers (no re-read)."""
        if axis not in AXES:
            raise ValueError(f"axis must be one of {AXES}, got {axis!r}")
        if axis == self._axis:
            return
        self._axis = axis
        self._apply_axis_item()
        self._draw(rescale=True)
        self.changed.emit()

    def set_follow(self, on: bool) -> None:
        """Keep the newest point at the right edge (the view width is kept)."""
        on = bool(on)
        if on != self.follow_button.isChecked():
            with QSignalBlocker(self.follow_button):
                self.follow_button.setChecked(on)
        if on == self._follow:
            return
        self._follow = on
        self.plot.set_follow(on)
        self.changed.emit()

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` as drawn (copies), x per the current axis."""
        x, y = self._xy()
        return x.copy(), y.copy()

    def point_count(self) -> int:
        """Points held for the current source."""
        return self._buffer().n

    def refresh_sources(self) -> bool:
        """Update the source combo if variables or trial columns appeared; True if it changed.

        Cheap when nothing changed: a copy of the variable-name set and of the
        newest run's column-name list.
        """
        changed = False
        names = frozenset(self.log.logged_variables())
        if names != self._known_vars:
            self._known_vars = names
            changed = True
        run = self._pinned_run
        if run is None:
            runs = self.log.runs()
            run = runs[-1] if runs else None
        cols: tuple[str, ...] = ()
        if run is not None:
            try:
                cols = tuple(self.log.trial_columns(run))
            except KeyError:
                cols = ()
        if run != self._run:
            self._run = run
            self._has_frames = False
            changed = True
        if run is not None and not self._has_frames:
            try:
                self._has_frames = self.log.run_info(run)["n_frames"] > 0
            except KeyError:
                self._has_frames = False
            changed = changed or self._has_frames
        if cols != self._known_cols:
            self._known_cols = cols
            self._numeric_cols = self._numeric_columns(run, cols) if cols else []
            changed = True
        if changed:
            self._sync_combo()
        return changed

    def _numeric_columns(self, run: str | None, cols: tuple[str, ...]) -> list[str]:
        if run is None:
            return []
        table = self.log.trials(run)
        return [c for c in cols if c in table and table[c].dtype.kind == "f"]

    def sources(self) -> list[str]:
        """Labels listed in the combo: logged variables (sorted), ``trial: <column>`` in PsychoPy order, frame intervals."""
        return [self.source_combo.itemText(i) for i in range(self.source_combo.count())]

    def _available(self) -> list[PlotSource]:
        out = [PlotSource("variable", n) for n in sorted(self._known_vars)]
        out += [PlotSource("trial", c) for c in self._numeric_cols]
        if self._has_frames:
            out.append(PlotSource("frames", FRAMES))
        return out

    def _first_source(self) -> PlotSource | None:
        av = self._available()
        return av[0] if av else None

    def _sync_combo(self) -> None:
        av = self._available()
        if self._source is not None and self._source not in av:
            av.append(self._source)  # restored layout: keep it, data may come later
        with QSignalBlocker(self.source_combo):
            self.source_combo.clear()
            for s in av:
                self.source_combo.addItem(s.label, s)
            if self._source is not None:
                self.source_combo.setCurrentIndex(av.index(self._source))
            else:
                self.source_combo.setCurrentIndex(-1)
                self.source_combo.setPlaceholderText("nothing logged yet")

    def _combo_activated(self, index: int) -> None:
        src = self.source_combo.itemData(index)
        if isinstance(src, PlotSource):
            self.set_source(src)

    # ------------------------------------------------------------------ data in
    def poll_cost(self) -> float:
        """Expected cost of the next poll and repaint, seconds: the largest of the last 8 measured."""
        return self.plot.redraw_cost()

    def poll(self) -> None:
        """Fetch what is new since the last poll and redraw if anything arrived (the timer calls this).

        While a run is served, a poll whose measured cost does not fit before the
        next stimulus frame is skipped until a tick that has the time
        (:meth:`LivePlot.has_time`, the cost rule of every live plot).
        """
        if self._closed:
            return
        if not self.plot.has_time():
            self.deferred_polls += 1
            return
        with self.plot.timed_update():
            self._poll()

    def _poll(self) -> None:
        self.refresh_sources()
        src = self._source
        if src is None:
            self.status.setText("Nothing logged yet: the plot starts when a variable or trial arrives.")
            return
        had_time = self._feed.trial_time_ok
        got = self._feed.poll()
        self._poll_notes()
        if got is None:
            return
        style = "points" if src.kind == "trial" else "line"
        self.plot.add_points(self._series_name(), got, style=style, colour=LINE_COLOUR)
        if had_time != self._feed.trial_time_ok and self._axis == "time":
            self._apply_axis_item()
        self._draw(rescale=got[0])

    def _poll_notes(self) -> None:
        """Notebook notes as markers: at their time on a time axis, at their trial on a trial-number axis."""
        timed = self._axis == "time" and self._time_available()
        axis = "time" if timed else ("trial" if self._source is not None and self._source.kind == "trial" else "")
        self.plot.poll_notes(axis, self._run)

    # ------------------------------------------------------------------ drawing
    def _buffer(self) -> PointBuffer:
        return self.plot.points(self._series_name()) or PointBuffer(0)

    def _xy(self) -> tuple[np.ndarray, np.ndarray]:
        b = self._buffer()
        n = b.n
        if self._axis == "time" and self._time_available():
            return b.t[:n], b.y[:n]
        return b.idx[:n], b.y[:n]

    def _draw(self, rescale: bool = False) -> None:
        """Redraw the plot now (inside the measured poll), x per the axis; ``rescale``: fit the whole series."""
        self.plot.set_x_column("t" if self._axis == "time" and self._time_available() else "index")
        self._update_status()
        if rescale or self._buffer().n == 0:
            self.plot.rescale()
        self.plot.flush()

    def _update_status(self) -> None:
        buf = self._buffer()
        n = buf.n
        src = self._source
        if src is None:
            return
        if n == 0:
            where = f" in {self._run.split('/', 1)[1]}" if src.kind == "trial" and self._run else ""
            self.status.setText(f"{src.label}: no values yet{where}")
            return
        ys = buf.y[:n]
        fin = np.flatnonzero(np.isfinite(ys[-1000:]))
        last = f"last {ys[-1000:][fin[-1]]:.6g}" if len(fin) else "no numbers yet"
        what = {"trial": "trials", "frames": "frames"}.get(src.kind, "values")
        note = ""
        if src.kind == "trial" and self._axis == "time" and not self._feed.trial_time_ok:
            note = "  (no thisRow.t column: x is the trial number)"
        run = f"  {self._run.split('/', 1)[1]}" if src.kind == "trial" and self._run else ""
        self.status.setText(f"{n:,} {what}{run}   {last}{note}")

    # ------------------------------------------------------------------ lifecycle
    def close_plot(self) -> None:
        """Stop the timer (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.timer.stop()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt
        self.close_plot()
        super().closeEvent(event)


class VariablePlotDock(QDockWidget):
    """A dock holding one :class:`VariablePlot`; several can be open at once.

    Args: as :class:`VariablePlot`, plus ``parent`` (the main window) and
    ``object_name`` (stable name for ``QMainWindow.saveState``).

    Signals:
        changed(): source, axis or follow changed.
        closed(dock): the user closed the dock (its close button or ``close()``).

    Attributes: ``view`` (the VariablePlot), ``close_button``.
    """

    changed = Signal()
    closed = Signal(object)

    def __init__(
        self,
        data_log,
        source: PlotSource | str | None = None,
        *,
        axis: str = "time",
        follow: bool = True,
        run: str | None = None,
        live: bool = True,
        poll_hz: float = 5.0,
        parent: QWidget | None = None,
        object_name: str = "dock_variable_plot",
    ) -> None:
        super().__init__("Plot", parent)
        self.setObjectName(object_name)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.view = VariablePlot(
            data_log, source, axis=axis, follow=follow, run=run, live=live, poll_hz=poll_hz, parent=self
        )
        self.close_button = QToolButton(self.view)
        self.close_button.setText("✕")
        self.close_button.setToolTip("Close this plot")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.close)
        self.view.controls.addWidget(self.close_button)
        self.setWidget(self.view)
        self.setMinimumWidth(240)  # its controls ask for more; not more: the console stays narrow on one screen
        self.view.changed.connect(self._view_changed)
        self._retitle()
        self._done = False
        #: the :class:`~rigconsole.ui.budget.PaintGate` of the dock while it floats (see :meth:`use_budget`)
        self.paint_gate: PaintGate | None = None

    def _retitle(self) -> None:
        s = self.view.source
        self.setWindowTitle(f"Plot: {s.label}" if s else "Plot")

    def _view_changed(self) -> None:
        self._retitle()
        self.changed.emit()

    def state(self) -> dict[str, Any]:
        """What a saved layout keeps: ``{"kind", "name", "axis", "follow"}``."""
        return self.view.state()

    def use_budget(self, budget: FrameBudget | None) -> None:
        """Poll, redraw and (when floating) repaint only when it fits before the next stimulus frame."""
        self.view.use_budget(budget)
        if self.paint_gate is not None:
            self.paint_gate.close()
        self.paint_gate = PaintGate(self, budget.time_left) if budget is not None else None

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt
        super().closeEvent(event)
        if event.isAccepted() and not self._done:
            self._done = True
            self.view.close_plot()
            self.closed.emit(self)
