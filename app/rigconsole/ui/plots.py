"""Live plots' drawing layer: :class:`PlotDock`, :class:`SeriesItem`, :class:`TimedPlotWidget`.

The trial plot (:mod:`.trial_plot`) and the one-source plots
(:mod:`.variable_plots`) draw with these; both are fed by the one data path
of :mod:`.plot_sources` (polled from the data log on the UI thread).

Cheap by design, because the console is served between stimulus frames with
a small time budget (a few ms):

- slots only append numbers to Python lists and mark a series dirty;
- a coalescing timer (at most ``max_fps`` redraws per second, default 10)
  pushes dirty series into their items, but only when the frame pump says
  the redraw (update plus repaint, measured on every redraw) fits in the
  time left before the next stimulus frame (``PlotDock.time_left``);
  otherwise it waits for a frame with room;
- each series is one :class:`SeriesItem` (a polyline and dots drawn in one
  ``paint``), not a ``PlotDataItem``: pyqtgraph's scatter items cost
  milliseconds of Python per update and repaint, measured.

The raster ``PlotWidget`` is used: pyqtgraph's OpenGL mode breaks PsychoPy's
drawing in the same process.
"""
from __future__ import annotations

import math
import numbers
import time
from collections import deque
from typing import Any, Iterable, Mapping

import numpy as np
import pyqtgraph as pg
import pyqtgraph.functions as fn
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QDockWidget, QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from ..frame_budget import IDLE, FrameBudget
from .budget import CostEstimate

__all__ = ["PlotDock", "SeriesItem", "SeriesKey", "TimedPlotWidget", "numeric_columns", "default_columns", "PALETTE"]

#: Colour cycle for series (colour-blind-safe Okabe-Ito palette).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#7f7f7f"]

# Column-name endings that are timestamps or loop counters, not trial measures.
_TIMESTAMP_SUFFIXES = (".started", ".stopped", ".t", "thisRow.t", "_time", ".time", "onset", "offset")
_COUNTER_SUFFIXES = (".thisN", ".thisTrialN", ".thisRepN", ".thisIndex", "thisN", "thisTrialN", "thisRepN", "thisIndex")
_PREFERRED_NAMES = ("rt", "correct", "accuracy", "corr", "acc")
_PREFERRED_SUFFIXES = (".rt", ".corr")


def _is_number(value: Any) -> bool:
    return isinstance(value, (numbers.Real, np.number)) and not isinstance(value, str)


def numeric_columns(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Columns with at least one finite numeric (or bool) value, in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        for k, v in row.items():
            if k not in seen and _is_number(v) and math.isfinite(float(v)):
                seen[k] = None
    return list(seen)


def is_timestamp(name: str) -> bool:
    """``True`` for columns that hold times of events (``x.started``, ``thisRow.t``, ...)."""
    return name.endswith(_TIMESTAMP_SUFFIXES)


def default_columns(columns: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
    """The columns plotted by default.

    Response measures when present (``rt``, ``correct``, ``accuracy`` and
    columns ending in ``.rt`` / ``.corr``); otherwise every column that is not
    a timestamp, a loop counter or an expInfo value (``exclude``).
    """
    exclude = set(exclude)
    cols = [c for c in columns if c not in exclude]
    preferred = [c for c in cols if c.lower() in _PREFERRED_NAMES or c.endswith(_PREFERRED_SUFFIXES)]
    if preferred:
        return preferred
    return [c for c in cols if not is_timestamp(c) and not c.endswith(_COUNTER_SUFFIXES)]

def _polygon(x: np.ndarray, y: np.ndarray) -> QPolygonF:
    poly = fn.create_qpolygonf(x.size)
    if x.size:
        arr = fn.ndarray_from_qpolygonf(poly)
        arr[:, 0] = x
        arr[:, 1] = y
    return poly


class SeriesItem(pg.GraphicsObject):
    """One series drawn as a line through its points and a dot at each point.

    A light replacement for ``PlotDataItem`` on small, live series (trial
    data: hundreds to thousands of points): the points are one
    ``QPolygonF`` drawn with ``drawPolyline`` and ``drawPoints`` (round,
    cosmetic pen), so an update and a repaint cost tens of microseconds of
    Python, not the milliseconds of pyqtgraph's per-point scatter items.
    Non-finite y values break the line and get no dot (PsychoPy writes no
    response as ``None``/NaN).

    Args:
        colour: any colour ``pg.mkColor`` accepts.
        line: draw the connecting line (``False``: dots only, e.g. 0/1 data).
        dot_px: dot diameter in screen pixels.
    """

    def __init__(self, colour: Any, line: bool = True, dot_px: float = 5.0):
        super().__init__()
        qcolour = pg.mkColor(colour)
        self._line_pen = pg.mkPen(qcolour, width=2) if line else None
        self._dot_pen = QPen(qcolour)
        self._dot_pen.setWidthF(dot_px)
        self._dot_pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        self._dot_pen.setCosmetic(True)
        self._dot_px = dot_px
        self._x = np.empty(0)
        self._y = np.empty(0)
        self._dots = QPolygonF()
        self._segments: list[QPolygonF] = []
        self._data_rect = QRectF()
        self._pad: tuple[float, float] | None = None

    def setData(self, x: np.ndarray, y: np.ndarray) -> None:
        """Replace the points: ``x``, ``y`` float arrays of shape (n,)."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        self.prepareGeometryChange()
        self._x, self._y = x, y
        ok = np.isfinite(x) & np.isfinite(y)
        self._dots = _polygon(x[ok], y[ok])
        self._segments = []
        if self._line_pen is not None and ok.any():
            # split at non-finite points: one polyline per finite run
            edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.view(np.int8), [0]))))
            for start, stop in zip(edges[::2], edges[1::2]):
                if stop - start > 1:
                    self._segments.append(_polygon(x[start:stop], y[start:stop]))
        if ok.any():
            xs, ys = x[ok], y[ok]
            self._data_rect = QRectF(xs.min(), ys.min(), xs.max() - xs.min(), ys.max() - ys.min())
        else:
            self._data_rect = QRectF()
        self.update()

    def getData(self) -> tuple[np.ndarray, np.ndarray]:
        """The points as given, ``(x, y)``."""
        return self._x, self._y

    def viewTransformChanged(self) -> None:  # pyqtgraph calls this on pan/zoom/resize
        self.prepareGeometryChange()
        self._pad = None

    def boundingRect(self) -> QRectF:
        if self._data_rect.isNull() and not self._x.size:
            return QRectF()
        if self._pad is None:
            px, py = self.pixelSize() if self.getViewBox() is not None else (0.0, 0.0)
            half = self._dot_px / 2 + 1
            self._pad = (abs(px) * half, abs(py) * half)
        dx, dy = self._pad
        return self._data_rect.adjusted(-dx, -dy, dx, dy)

    def paint(self, p: QPainter, *args: Any) -> None:
        if self._line_pen is not None:
            p.setPen(self._line_pen)
            for seg in self._segments:
                p.drawPolyline(seg)
        p.setPen(self._dot_pen)
        p.drawPoints(self._dots)


class SeriesKey(QWidget):
    """A one-line key: a dot in each series' colour and its name, painted directly.

    Replaces pyqtgraph's ``LegendItem`` for live plots: adding an entry to that
    cost 2.5-5 ms (a laid-out ``QGraphicsTextItem`` each) and a rich-text
    ``QLabel`` ~5 ms (a ``QTextDocument``), in the pump where a run's first
    trial arrives; this costs a ``QPainter.drawText`` per entry. Its height
    is fixed and its width ignored by layouts, so a change never re-lays-out
    the window.

    Attributes:
        entries: ``[(name, colour), ...]`` in drawing order (colour: any ``QColor`` name).
    """

    DOT_PX = 9
    GAP_PX = 14

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.entries: list[tuple[str, str]] = []
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.fontMetrics().height() + 4)

    def set_entries(self, entries: Iterable[tuple[str, str]]) -> None:
        """Show these ``(name, colour)`` pairs; repaints when they changed."""
        entries = list(entries)
        if entries != self.entries:
            self.entries = entries
            self.update()

    def text(self) -> str:
        """The names shown, as one line (``"rt, correct"``)."""
        return ", ".join(name for name, _ in self.entries)

    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = self.fontMetrics()
        mid = self.height() / 2
        x = 4.0
        for name, colour in self.entries:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(colour))
            p.drawEllipse(QRectF(x, mid - self.DOT_PX / 2, self.DOT_PX, self.DOT_PX))
            x += self.DOT_PX + 4
            p.setPen(self.palette().color(self.foregroundRole()))
            p.drawText(int(x), int(mid + (fm.ascent() - fm.descent()) / 2), name)
            x += fm.horizontalAdvance(name) + self.GAP_PX
        p.end()


class TimedPlotWidget(pg.PlotWidget):
    """A ``PlotWidget`` that measures what its redraws cost: an update plus the repaint after it.

    The owner reports how long each update (``setData`` and the like) took
    with :meth:`update_done`; the next repaint adds its own time and the sum
    goes into :attr:`estimate` (a :class:`~rigconsole.ui.budget.CostEstimate`:
    the largest of the last 8, the largest forgotten after a second of
    redraws put off with :meth:`defer`).

    Attributes:
        estimate: the redraw :class:`~rigconsole.ui.budget.CostEstimate`.
        costs: the last 8 redraw costs, seconds (update + repaint; ``estimate.costs``).
    """

    def __init__(self, *args: Any, first_cost_s: float = 0.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.estimate = CostEstimate(first_cost_s)
        self._update_s: float | None = None

    @property
    def costs(self) -> deque[float]:
        return self.estimate.costs

    def defer(self) -> None:
        """A redraw was put off for lack of time (ages the estimate, see :class:`CostEstimate`)."""
        self.estimate.put_off()

    def update_done(self, seconds: float) -> None:
        """An update that took ``seconds`` just finished; its repaint follows."""
        self._update_s = seconds
        self.estimate.ran()

    def redraw_cost(self) -> float:
        """Expected cost of the next redraw, seconds (``estimate.expected()``)."""
        return self.estimate.expected()

    def paintEvent(self, ev) -> None:
        t0 = time.perf_counter()
        super().paintEvent(ev)
        if self._update_s is not None:
            self.estimate.add(self._update_s + time.perf_counter() - t0)
            self._update_s = None


class PlotDock(QDockWidget):
    """A dock with one live plot of named series (y against x).

    Generic on purpose: the trial plot uses trial number on x; a data-log plot
    will use time (pass ``time_axis=True`` for a clock-time axis, x in epoch
    seconds).

    Args:
        title: dock title, also its ``objectName`` stem (for saved layouts).
        x_label, y_label: axis labels (with units, e.g. ``"time (s)"``).
        max_fps: redraws per second at most.

    Attributes:
        plot: the ``pyqtgraph.PlotWidget``.
        controls: a ``QHBoxLayout`` above the plot for extra widgets.
        items: ``{series name: SeriesItem}``.
        key: the :class:`SeriesKey` above the plot (each drawn series' colour and name).
        time_left(): seconds the console may still use before it costs a
            stimulus frame, from the :class:`~rigconsole.frame_budget.FrameBudget`
            given to :meth:`use_budget` (default ``IDLE``: ``inf``). A timed
            redraw waits until its measured cost fits.
        deferred_redraws: timed redraws put off for lack of time (a count).
    """

    #: redraw cost assumed before any redraw was measured, seconds
    FIRST_COST_S = 0.006
    #: how soon a redraw put off for lack of time is tried again, ms (in practice: the next pump)
    RETRY_MS = 2

    seriesChanged = Signal()

    def __init__(self, title: str, parent: QWidget | None = None, *, x_label: str = "", y_label: str = "",
                 time_axis: bool = False, max_fps: float = 10.0):
        super().__init__(title, parent)
        self.setObjectName("dock_" + "".join(ch if ch.isalnum() else "_" for ch in title.lower()))
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        self.controls = QHBoxLayout()
        lay.addLayout(self.controls)
        axis_items = {"bottom": pg.DateAxisItem()} if time_axis else None
        self.plot = TimedPlotWidget(parent=body, background="w", axisItems=axis_items,
                                    first_cost_s=self.FIRST_COST_S)
        # no grid: pyqtgraph grid lines cost ~13 ms per repaint on a software-rendered
        # screen (measured), which would cost frames while the console serves a run
        self.plot.setDownsampling(auto=True, mode="peak")
        self.plot.setClipToView(True)
        self.plot.disableAutoRange()  # see _update_range
        self._manage_range = True
        self._range_set = False
        self._setting_range = False
        self.plot.getViewBox().sigRangeChangedManually.connect(self._user_changed_range)
        if x_label:
            self.plot.setLabel("bottom", x_label)
        if y_label:
            self.plot.setLabel("left", y_label)
        # a painted one-line key above the plot, not pyqtgraph's LegendItem (see SeriesKey)
        self.key = SeriesKey(body)
        lay.addWidget(self.key)
        lay.addWidget(self.plot, 1)
        self.setWidget(body)
        self.items: dict[str, SeriesItem] = {}
        self._budget: FrameBudget = IDLE
        self.deferred_redraws = 0
        self._colours: dict[str, str] = {}
        self._data: dict[str, tuple[list[float], list[float]]] = {}
        self._dirty: set[str] = set()
        self._visible: list[str] | None = None  # None: all
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._interval_ms = max(1, int(1000 / max_fps))
        self._timer.setInterval(self._interval_ms)
        self._timer.timeout.connect(self._timed_flush)

    def use_budget(self, budget: FrameBudget | None) -> None:
        """Redraw only when it fits ``budget.time_left()`` (None: whenever due)."""
        self._budget = IDLE if budget is None else budget

    def time_left(self) -> float:
        """Seconds left before the next stimulus frame (``inf`` outside runs)."""
        return self._budget.time_left()

    # ------------------------------------------------------------ data in
    def set_series(self, name: str, x: Iterable[float], y: Iterable[float]) -> None:
        """Replace a series' data (x and y of equal length). Drawn at the next redraw."""
        self._data[name] = (list(map(float, x)), list(map(float, y)))
        self._mark(name)

    def append(self, name: str, x: float, y: float) -> None:
        """Add one point to a series (created if new). Drawn at the next redraw."""
        xs, ys = self._data.setdefault(name, ([], []))
        xs.append(float(x))
        ys.append(float(y))
        self._mark(name)

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The data of a series as arrays ``(x, y)`` (what will be drawn)."""
        xs, ys = self._data.get(name, ([], []))
        return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)

    def series_names(self) -> list[str]:
        return list(self._data)

    def set_visible_series(self, names: Iterable[str] | None) -> None:
        """Show only these series (``None``: all of them); redraws now."""
        self._choose_visible(names)
        self.flush()

    def _choose_visible(self, names: Iterable[str] | None) -> None:
        self._visible = None if names is None else list(names)
        for name in self._visible or ():  # colours follow the order series are shown in
            if name in self._data:
                self._colours.setdefault(name, PALETTE[len(self._colours) % len(PALETTE)])
        self._dirty.update(self._data)

    def visible_series(self) -> list[str]:
        """Names of the series currently drawn."""
        return [n for n in self._data if self._visible is None or n in self._visible]

    def clear(self) -> None:
        """Drop every series and its plot item."""
        self._timer.stop()
        for item in self.items.values():
            self.plot.removeItem(item)
        self.key.set_entries([])
        self._manage_range = True
        self._range_set = False
        self.items.clear()
        self._colours.clear()
        self._data.clear()
        self._dirty.clear()
        self.seriesChanged.emit()

    # ------------------------------------------------------------ drawing
    def _mark(self, name: str) -> None:
        self._dirty.add(name)
        if not self._timer.isActive():
            self._timer.start(self._interval_ms)

    def redraw_cost(self) -> float:
        """Expected cost of the next redraw, seconds: the largest of the last 8 measured."""
        return self.plot.redraw_cost()

    def _timed_flush(self) -> None:
        if self.time_left() < self.redraw_cost():
            # not enough time before the next stimulus frame: try again at the next pump
            self.plot.defer()
            self.deferred_redraws += 1
            self._timer.start(self.RETRY_MS)
            return
        self.flush()

    def flush(self) -> None:
        """Push dirty series into their plot items now (the timer calls this when there is time)."""
        self._timer.stop()
        t0 = time.perf_counter()
        dirty, self._dirty = self._dirty, set()
        added = False
        for name in dirty:
            if name not in self._data:
                continue
            show = self._visible is None or name in self._visible
            item = self.items.get(name)
            if not show:
                if item is not None:
                    self.plot.removeItem(item)
                    del self.items[name]
                    added = True
                continue
            x, y = self.series(name)
            if item is None:
                colour = self._colours.setdefault(name, PALETTE[len(self._colours) % len(PALETTE)])
                binary = y.size > 0 and bool(np.all((y == 0) | (y == 1)))
                item = SeriesItem(colour, line=not binary, dot_px=7 if binary else 5)
                self.plot.addItem(item)
                self.items[name] = item
                added = True
            item.setData(x, y)
        if self._update_range():
            self._prepare_axes()
        if added:
            self._update_key()
            self.seriesChanged.emit()
        if dirty:
            self.plot.update_done(time.perf_counter() - t0)

    def _update_key(self) -> None:
        self.key.set_entries([(name, self._colours[name]) for name in self.items])

    def _prepare_axes(self) -> None:
        """Draw the axes' ticks and labels now, into the pictures their next paint plays.

        After a range change pyqtgraph redraws an axis (tick values, text
        layout: 2-3 ms of Python each) inside the repaint, which then cost
        5-9 ms in one piece during runs and missed the frame's blank
        (measured). Done here, in the redraw's update, the work is split in
        two pieces that each fit a frame's slack, and the repaint only plays
        the pictures. ``AxisItem.paint`` builds its picture when it has none;
        it is called here on a 1x1 scratch image.
        """
        scratch = None
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            if axis.picture is not None or not axis.isVisible():
                continue
            if scratch is None:
                scratch = QImage(1, 1, QImage.Format.Format_ARGB32_Premultiplied)
            painter = QPainter(scratch)
            try:
                axis.paint(painter, None, None)
            finally:
                painter.end()

    def _update_range(self) -> bool:
        """Grow the view in steps instead of auto-ranging on every update.

        pyqtgraph's auto-range re-lays-out both axes (tick text) on every
        ``setData``: 10-20 ms per update on a software-rendered screen,
        measured, which costs stimulus frames while a run is served. The range
        here only changes when data leaves it (x doubles, y gets 25 % margins),
        so most updates repaint just the curves. A pan or zoom by the user
        hands the range back to them until :meth:`clear`. Returns ``True``
        when it changed the range.
        """
        if not self._manage_range or not self.items:
            return False
        xs, ys = [], []
        for name in self.items:
            x, y = self.series(name)
            if x.size:
                xs.append((np.nanmin(x), np.nanmax(x)))
            finite = y[np.isfinite(y)] if y.size else y
            if finite.size:
                ys.append((finite.min(), finite.max()))
        if not xs:
            return False
        x_hi = max(hi for _, hi in xs)
        y_lo = min(lo for lo, _ in ys) if ys else 0.0
        y_hi = max(hi for _, hi in ys) if ys else 1.0
        (vx0, vx1), (vy0, vy1) = self.plot.viewRange() if self._range_set else ((0, 0), (0, 0))
        changed = False
        if not self._range_set or x_hi > vx1:
            vx0, vx1 = 0.0, max(10.0, 2.0 * x_hi)
            changed = True
        if not self._range_set or y_lo < vy0 or y_hi > vy1:
            span = y_hi - y_lo
            if span < 1e-9:  # one value so far (e.g. a 0/1 column): a unit-sized view around it, not ±1e-10
                span = max(abs(y_hi), 1.0)
            vy0, vy1 = y_lo - 0.25 * span, y_hi + 0.25 * span
            changed = True
        if changed:
            self._setting_range = True
            try:
                self.plot.setRange(xRange=(vx0, vx1), yRange=(vy0, vy1), padding=0)
            finally:
                self._setting_range = False
            self._range_set = True
        return changed

    def _user_changed_range(self, *_) -> None:
        if not self._setting_range:
            self._manage_range = False
