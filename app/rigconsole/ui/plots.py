"""The one live-plot widget: :class:`LivePlot`, with its :class:`SeriesItem` and :class:`SeriesKey`.

Every live plot of the console draws with a :class:`LivePlot`: the main
window's trial plot (:mod:`.trial_plot`), the "New plot…" docks and the data
browser's plot (:mod:`.variable_plots`), and the remote observer window
(:mod:`.remote_observer`). They are all fed the same way: a Qt-free feed of
:mod:`rigconsole.views.plot_sources` (trial columns, logged variables, frame
timing, values streamed from a remote rig) is polled on the UI thread by the
view's timer, and what its ``poll()`` gives, ``(reset, t, index, y)``, goes
into the plot with :meth:`LivePlot.add_points` (kept in a
:class:`~rigconsole.views.plot_sources.PointBuffer` per series; the plot draws
views of it). Nothing is connected to the data log's events, so no plot code
runs inside the experiment's calls.

Cheap by design, because the console is served between stimulus frames with
a small time budget (a few ms):

- data in only stores numbers and marks a series dirty;
- a coalescing timer (at most ``max_fps`` redraws per second) pushes dirty
  series into their items, and the one cost rule (:meth:`LivePlot.has_time`)
  lets a redraw (or a poll and its redraw) go only when its measured cost
  (update plus repaint, :class:`~rigconsole.ui.budget.CostEstimate`) fits the
  time left before the next stimulus frame
  (:meth:`rigconsole.frame_budget.FrameBudget.time_left`); otherwise it waits
  for a pump with room;
- small series (trial data) are one :class:`SeriesItem` each (a polyline and
  dots drawn in one ``paint``), not a ``PlotDataItem``: pyqtgraph's scatter
  items cost milliseconds of Python per update and repaint, measured; long
  series (logged variables, frame intervals: up to millions of points) are a
  ``PlotDataItem`` with peak downsampling and clip-to-view;
- no grid: pyqtgraph grid lines cost ~13 ms per repaint on a
  software-rendered screen (measured).

The raster ``PlotWidget`` is used: pyqtgraph's OpenGL mode breaks PsychoPy's
drawing in the same process.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyqtgraph as pg
import pyqtgraph.functions as fn
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..frame_budget import IDLE, FrameBudget
from ..views.notebook import NoteFeed, note_label, note_x
from ..views.palette import SERIES
from ..views.plot_sources import PointBuffer
from .budget import CostEstimate

__all__ = ["LivePlot", "SeriesItem", "SeriesKey", "RANGE_MODES", "STYLES"]

#: how a :class:`LivePlot` keeps its view range (see :meth:`LivePlot.set_range_mode`)
RANGE_MODES = ("grow", "follow")
#: how a series is drawn: ``"points"`` (:class:`SeriesItem`, small series) or ``"line"`` (``PlotDataItem``, long series)
STYLES = ("points", "line")
_AXIS_TEXT = "#333333"
_AXIS_LINE = "#888888"


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


class LivePlot(pg.PlotWidget):
    """The console's one live plot: named series (y against x) redrawn when there is time for it.

    Args:
        parent: the parent widget.
        x_label, y_label: axis labels (with units, e.g. ``"time (s)"``).
        time_axis: clock time on x (x in epoch seconds, a ``DateAxisItem``); see :meth:`set_time_axis`.
        max_fps: timed redraws per second at most.
        range_mode: ``"grow"``: the view starts at x = 0 and grows in steps when data leaves it
            (the trial plot); ``"follow"``: the view fits the data, and while :attr:`follow` is on
            the newest point stays at the right edge (a pan that leaves it turns follow off).
        follow: the first value of :attr:`follow`.
        first_cost_s: redraw cost assumed before any redraw was measured, seconds.

    Signals:
        seriesChanged(): a series' item was added or removed (the key changed).
        flushing(): a redraw is starting (owners bring their labels up to date in it).
        followChanged(bool): :attr:`follow` changed (a pan by the user turns it off).

    Attributes:
        series_items: ``{series name: item}`` of the series drawn (:class:`SeriesItem` or ``PlotDataItem``).
        estimate: the redraw :class:`~rigconsole.ui.budget.CostEstimate` (update + repaint).
        deferred_redraws: timed redraws put off for lack of time (a count).
        key: the :class:`SeriesKey` made by :meth:`make_key`, or None.
        follow: keep the newest point in view (``"follow"`` mode).
    """

    #: redraw cost assumed before any redraw was measured, seconds
    FIRST_COST_S = 0.006
    #: how soon a redraw put off for lack of time is tried again, ms (in practice: the next pump)
    RETRY_MS = 2

    seriesChanged = Signal()
    flushing = Signal()
    followChanged = Signal(bool)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        x_label: str = "",
        y_label: str = "",
        time_axis: bool = False,
        max_fps: float = 10.0,
        range_mode: str = "grow",
        follow: bool = True,
        first_cost_s: float = FIRST_COST_S,
    ):
        if range_mode not in RANGE_MODES:
            raise ValueError(f"range_mode must be one of {RANGE_MODES}, got {range_mode!r}")
        super().__init__(parent=parent, background="w")
        self.estimate = CostEstimate(first_cost_s)
        self._update_s: float | None = None
        self._timing = 0  # nesting depth of measured updates (see timed_update)
        self._skip = False  # the measured update changed nothing: not recorded
        self._budget: FrameBudget = IDLE
        self.deferred_redraws = 0
        self.setDownsampling(auto=True, mode="peak")
        self.setClipToView(True)
        self._time_axis = False
        self.set_time_axis(time_axis, x_label)
        self._style_axis("left")
        if y_label:
            self.setLabel("left", y_label)
        self.range_mode = range_mode
        self.follow = follow
        self._manage_range = True
        self._range_set = False
        self._setting_range = False
        self._rescale = True
        if range_mode == "grow":
            self.disableAutoRange()  # see _grow_range
        self.getViewBox().sigRangeChangedManually.connect(self._user_changed_range)
        self.key: SeriesKey | None = None
        self.series_items: dict[str, Any] = {}
        self._styles: dict[str, str] = {}
        self._colours: dict[str, str] = {}
        self._data: dict[str, tuple[Any, Any]] = {}
        self._buffers: dict[str, PointBuffer] = {}
        self._x_column = "index"
        self._dirty: set[str] = set()
        self._visible: list[str] | None = None  # None: all
        self._newest: str | None = None  # the series that got data last ("follow" mode scrolls to its end)
        self._marker: pg.ScatterPlotItem | None = None
        self.notes = NoteFeed()
        self.note_items: list[pg.InfiniteLine] = []
        self._note_place: tuple[str, str | None] = ("", None)
        self._note_count = -1
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._interval_ms = max(1, int(1000 / max_fps))
        self._timer.setInterval(self._interval_ms)
        self._timer.timeout.connect(self._timed_flush)

    # ------------------------------------------------------------ the one cost rule
    def use_budget(self, budget: FrameBudget | None) -> None:
        """Redraw (and let owners poll) only when it fits ``budget.time_left()`` (None: whenever due)."""
        self._budget = IDLE if budget is None else budget

    def time_left(self) -> float:
        """Seconds left before the next stimulus frame (``inf`` outside runs)."""
        return self._budget.time_left()

    @property
    def costs(self) -> deque[float]:
        """The last 8 redraw costs, seconds (update + repaint; ``estimate.costs``)."""
        return self.estimate.costs

    def redraw_cost(self) -> float:
        """Expected cost of the next redraw, seconds (``estimate.expected()``)."""
        return self.estimate.expected()

    def has_time(self) -> bool:
        """The cost rule of every live plot: may a redraw (or a poll and its redraw) run now?

        True when its expected cost (:meth:`redraw_cost`) fits :meth:`time_left`. False
        otherwise, and the wait is counted (:meth:`defer`: a slow cost is forgotten after
        a while of waiting, see :class:`~rigconsole.ui.budget.CostEstimate`).
        """
        if self.time_left() < self.redraw_cost():
            self.defer()
            return False
        return True

    def defer(self) -> None:
        """A redraw was put off for lack of time (ages the estimate, see :class:`CostEstimate`)."""
        self.estimate.put_off()

    def update_done(self, seconds: float) -> None:
        """An update that took ``seconds`` just finished; its repaint follows and adds its own time."""
        self._update_s = seconds
        self.estimate.ran()

    def timed_update(self) -> _TimedUpdate:
        """``with plot.timed_update(): ...``: the block's time (a poll plus its redraw) is one measured update."""
        return _TimedUpdate(self)

    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt)
        t0 = time.perf_counter()
        super().paintEvent(ev)
        if self._update_s is not None:
            self.estimate.add(self._update_s + time.perf_counter() - t0)
            self._update_s = None

    # ------------------------------------------------------------ axes
    def _style_axis(self, side: str) -> None:
        ax = self.getPlotItem().getAxis(side)
        ax.setTextPen(_AXIS_TEXT)
        ax.setPen(_AXIS_LINE)
        ax.enableAutoSIPrefix(False)  # "key_resp.rt (x0.001)" misleads: show plain numbers

    def set_time_axis(self, on: bool, label: str = "") -> None:
        """Clock time on x (x in epoch seconds, shown as times of day) or plain numbers; with its label."""
        pi = self.getPlotItem()
        if on != self._time_axis or pi.getAxis("bottom") is None:
            axis = pg.DateAxisItem(orientation="bottom") if on else pg.AxisItem(orientation="bottom")
            pi.setAxisItems({"bottom": axis})
            self._time_axis = on
        self._style_axis("bottom")
        pi.setLabel("bottom", label or ("time" if on else ""))

    def make_key(self, parent: QWidget | None) -> SeriesKey:
        """A :class:`SeriesKey` (the drawn series' names in their colours) for the owner's layout."""
        self.key = SeriesKey(parent)
        self._update_key()
        return self.key

    # ------------------------------------------------------------ data in
    def set_series(self, name: str, x: Any, y: Any, *, style: str | None = None, colour: str | None = None) -> None:
        """Replace a series' points (``x``, ``y`` of equal length; numpy views are kept, not copied).

        ``style``: ``"points"`` or ``"line"`` (default: ``"line"`` past 5,000 points, else
        ``"points"``), fixed when the series is first drawn; ``colour``: any colour
        ``pg.mkColor`` takes (default: the next of :data:`rigconsole.views.palette.SERIES`).
        Drawn at the next redraw.
        """
        if style is not None:
            if style not in STYLES:
                raise ValueError(f"style must be one of {STYLES}, got {style!r}")
            self._styles.setdefault(name, style)
        if colour is not None:
            self._colours.setdefault(name, colour)
        self._data[name] = (x, y)
        self._mark(name)

    def add_points(
        self,
        name: str,
        points: tuple[bool, Any, Any, Any],
        *,
        finite_only: bool = False,
        style: str | None = None,
        colour: str | None = None,
    ) -> int:
        """Add what a feed's ``poll()`` gave to series ``name``: ``(reset, t, index, y)``.

        The one way a feed reaches the plot. ``t`` (epoch s), ``index`` (the point's
        number from 1) and ``y`` are arrays of one length; ``reset`` drops the series'
        earlier points first. They are kept in the series'
        :class:`~rigconsole.views.plot_sources.PointBuffer`; the plot draws views of it,
        x from the column :meth:`set_x_column` chose. ``finite_only`` keeps only points with
        a finite ``y`` (a trial without that response is no point, and the line joins its
        neighbours). ``style``, ``colour``: as :meth:`set_series`. Returns the points added.
        """
        reset, t, idx, y = points
        buf = self._buffers.get(name)
        if buf is None:
            buf = self._buffers[name] = PointBuffer(64)
        if reset:
            buf.clear()
        if finite_only:
            ok = np.isfinite(y)
            if not ok.all():
                t, idx, y = t[ok], idx[ok], y[ok]
        buf.extend(t, y, idx)
        self._show_buffer(name, buf, style=style, colour=colour)
        return len(y)

    def _show_buffer(self, name: str, buf: PointBuffer, **kw: Any) -> None:
        n = buf.n
        x = buf.t[:n] if self._x_column == "t" else buf.idx[:n]
        self.set_series(name, x, buf.y[:n], **kw)

    def points(self, name: str) -> PointBuffer | None:
        """The :class:`~rigconsole.views.plot_sources.PointBuffer` of a series fed with :meth:`add_points`."""
        return self._buffers.get(name)

    def set_x_column(self, column: str) -> None:
        """x of the series fed with :meth:`add_points`: ``"t"`` (clock time, epoch s) or ``"index"``
        (the point's number from 1: the trial number for trial columns). Redrawn at the next redraw."""
        if column not in ("t", "index"):
            raise ValueError(f"column must be 't' or 'index', got {column!r}")
        self._x_column = column
        for name, buf in self._buffers.items():
            self._show_buffer(name, buf)

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The data of a series as float arrays ``(x, y)`` (what will be drawn)."""
        xs, ys = self._data.get(name, ([], []))
        return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)

    def series_names(self) -> list[str]:
        return list(self._data)

    def set_visible_series(self, names: Iterable[str] | None) -> None:
        """Show only these series (``None``: all of them); redraws now."""
        self.choose_visible(names)
        self.flush()

    def choose_visible(self, names: Iterable[str] | None) -> None:
        """Show only these series (``None``: all) from the next redraw on."""
        self._visible = None if names is None else list(names)
        for name in self._visible or ():  # colours follow the order series are shown in
            if name in self._data:
                self._colour(name)
        self._dirty.update(self._data)

    def visible_series(self) -> list[str]:
        """Names of the series currently drawn."""
        return [n for n in self._data if self._visible is None or n in self._visible]

    def clear_series(self) -> None:
        """Drop every series and its plot item; the view range is managed again.

        (Not ``clear``: ``PlotWidget`` puts its ``PlotItem.clear`` on each instance.)
        """
        self._timer.stop()
        for item in self.series_items.values():
            self.removeItem(item)
        if self._marker is not None:
            self._marker.setData([], [])
        if self.key is not None:
            self.key.set_entries([])
        self._manage_range = True
        self._range_set = False
        self._rescale = True
        self.series_items.clear()
        self._colours.clear()
        self._styles.clear()
        self._data.clear()
        self._buffers.clear()
        self._dirty.clear()
        self._newest = None
        self.seriesChanged.emit()

    # ------------------------------------------------------------ notebook notes
    #: colour of the note markers (the notebook's orange, unlike every series colour)
    NOTE_COLOUR = "#d9480f"

    def use_notes(self, data_log: Any) -> None:
        """Mark the notes of ``data_log`` (None: none, or only notes given to :meth:`add_note`)."""
        self.notes.use_data_log(data_log)
        self._note_count = -1

    def add_note(self, row: dict[str, Any]) -> None:
        """Mark one note that arrived another way (a remote rig's stream), an annotation row."""
        self.notes.add(row)

    def poll_notes(self, axis: str, run: str | None = None) -> bool:
        """Read new notes and place the markers for this x ``axis`` (``"time"``, ``"trial"`` of ``run``, other: none).

        Each note is a vertical line at :func:`~rigconsole.views.notebook.note_x`, labelled with its
        marker code (or N), its text as the tooltip. Cheap when nothing changed. True if the markers changed.
        """
        self.notes.poll()
        notes = self.notes.notes
        if (axis, run) == self._note_place and len(notes) == self._note_count:
            return False
        self._note_place, self._note_count = (axis, run), len(notes)
        for item in self.note_items:
            self.removeItem(item)
        self.note_items = []
        pen = pg.mkPen(self.NOTE_COLOUR, width=1.5, style=Qt.PenStyle.DashLine)
        for row in notes:
            x = note_x(row, axis, run)
            if x is None:
                continue
            line = pg.InfiniteLine(
                pos=x,
                angle=90,
                movable=False,
                pen=pen,
                label=note_label(row),
                labelOpts={"position": 0.95, "color": self.NOTE_COLOUR, "fill": "#ffffffcc"},
            )
            line.setToolTip(f"{row.get('source', '')}: {row.get('text', '')}")
            line.setZValue(5)
            self.addItem(line, ignoreBounds=True)
            self.note_items.append(line)
        return True

    def note_marks(self) -> list[tuple[float, str]]:
        """``[(x, label)]`` of the note markers shown, in the order noted."""
        return [(float(i.value()), i.label.format) for i in self.note_items]

    # ------------------------------------------------------------ drawing
    def _colour(self, name: str) -> str:
        return self._colours.setdefault(name, SERIES[len(self._colours) % len(SERIES)])

    def _mark(self, name: str) -> None:
        self._dirty.add(name)
        self._newest = name
        if not self._timer.isActive():
            self._timer.start(self._interval_ms)

    def _timed_flush(self) -> None:
        if not self.has_time():
            # not enough time before the next stimulus frame: try again at the next pump
            self.deferred_redraws += 1
            self._timer.start(self.RETRY_MS)
            return
        self.flush()

    def _make_item(self, name: str, y: np.ndarray) -> Any:
        colour = self._colour(name)
        style = self._styles.setdefault(name, "line" if y.size > 5000 else "points")
        if style == "points":
            binary = y.size > 0 and bool(np.all((y == 0) | (y == 1)))
            return SeriesItem(colour, line=not binary, dot_px=7 if binary else 5)
        item = pg.PlotDataItem(pen=pg.mkPen(colour, width=1.5), connect="finite")
        item.setDownsampling(auto=True, method="peak")
        item.setClipToView(True)
        item.setSkipFiniteCheck(False)
        if self._marker is None:  # the newest point of a line, as a dot
            self._marker = pg.ScatterPlotItem(size=7, brush=pg.mkBrush(colour), pen=None)
            self.addItem(self._marker)
        return item

    def flush(self) -> None:
        """Push dirty series into their plot items now (the timer calls this when there is time)."""
        self._timer.stop()
        with self.timed_update():
            self.flushing.emit()
            dirty, self._dirty = self._dirty, set()
            added = False
            for name in dirty:
                if name not in self._data:
                    continue
                show = self._visible is None or name in self._visible
                item = self.series_items.get(name)
                if not show:
                    if item is not None:
                        self.removeItem(item)
                        del self.series_items[name]
                        added = True
                    continue
                xs, ys = self._data[name]
                x = xs if isinstance(xs, np.ndarray) else np.asarray(xs, dtype=float)
                y = ys if isinstance(ys, np.ndarray) else np.asarray(ys, dtype=float)
                if item is None:
                    item = self._make_item(name, y)
                    self.addItem(item)
                    self.series_items[name] = item
                    added = True
                item.setData(x, y)
                if name == self._newest and self._marker is not None and isinstance(item, pg.PlotDataItem):
                    if len(x) and math.isfinite(x[-1]) and math.isfinite(y[-1]):
                        self._marker.setData([x[-1]], [y[-1]])
                    else:
                        self._marker.setData([], [])
            if self.range_mode == "grow":
                if self._grow_range():
                    self._prepare_axes()
            elif dirty:
                self._follow_range()
            if added:
                self._update_key()
                self.seriesChanged.emit()
            if not dirty and self._timing == 1:
                self._skip = True  # nothing was updated: not a redraw to measure

    def _update_key(self) -> None:
        if self.key is not None:
            self.key.set_entries([(name, self._colours[name]) for name in self.series_items])

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
            axis = self.getAxis(name)
            if axis.picture is not None or not axis.isVisible():
                continue
            if scratch is None:
                scratch = QImage(1, 1, QImage.Format.Format_ARGB32_Premultiplied)
            painter = QPainter(scratch)
            try:
                axis.paint(painter, None, None)
            finally:
                painter.end()

    def _grow_range(self) -> bool:
        """``"grow"`` mode: grow the view in steps instead of auto-ranging on every update.

        pyqtgraph's auto-range re-lays-out both axes (tick text) on every
        ``setData``: 10-20 ms per update on a software-rendered screen,
        measured, which costs stimulus frames while a run is served. The range
        here only changes when data leaves it (x doubles, y gets 25 % margins),
        so most updates repaint just the curves. A pan or zoom by the user
        hands the range back to them until :meth:`clear_series`. Returns ``True``
        when it changed the range.
        """
        if not self._manage_range or not self.series_items:
            return False
        xs, ys = [], []
        for name in self.series_items:
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
        (vx0, vx1), (vy0, vy1) = self.viewRange() if self._range_set else ((0, 0), (0, 0))
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
            self._set_range(xRange=(vx0, vx1), yRange=(vy0, vy1), padding=0)
            self._range_set = True
        return changed

    def _set_range(self, **kwargs: Any) -> None:
        self._setting_range = True
        try:
            self.setRange(**kwargs)
        finally:
            self._setting_range = False

    # ------------------------------------------------------------ "follow" mode
    def rescale(self) -> None:
        """``"follow"`` mode: fit the whole data at the next redraw (a new source or axis)."""
        self._rescale = True
        self._dirty.update(self._data)

    def _newest_point(self) -> float | None:
        if self._newest is None or self._newest not in self.series_items:
            return None
        x, _ = self._data[self._newest]
        if not len(x):
            return None
        newest = float(x[-1])
        return newest if math.isfinite(newest) else None

    def _follow_range(self) -> None:
        vb = self.getViewBox()
        if self._rescale or not any(len(self._data[n][0]) for n in self.series_items):
            self._rescale = False
            vb.enableAutoRange(x=True, y=True)
            vb.setAutoVisible(y=True)
        if self.follow:
            self._scroll_to_newest()

    def _scroll_to_newest(self) -> None:
        newest = self._newest_point()
        if newest is None:
            return
        vb = self.getViewBox()
        if vb.autoRangeEnabled()[0]:
            return  # the whole series is in view and stays so
        (x0, x1), _ = vb.viewRange()
        width = x1 - x0
        if x0 <= newest <= x1 and newest >= x1 - 0.02 * width:
            return
        self._setting_range = True
        try:
            vb.setXRange(newest - 0.98 * width, newest + 0.02 * width, padding=0)
        finally:
            self._setting_range = False
        vb.enableAutoRange(y=True)
        vb.setAutoVisible(y=True)

    def set_follow(self, on: bool) -> None:
        """``"follow"`` mode: keep the newest point at the right edge (the view width is kept)."""
        on = bool(on)
        if on == self.follow:
            return
        self.follow = on
        if on:
            self._scroll_to_newest()
        self.followChanged.emit(on)

    def _user_changed_range(self, *_: Any) -> None:
        if self._setting_range:
            return
        if self.range_mode == "grow":
            self._manage_range = False
        elif self.follow:  # panning away from the newest point means: look there, stop following
            newest = self._newest_point()
            if newest is not None:
                (x0, x1), _ = self.getViewBox().viewRange()
                if not (x0 <= newest <= x1):
                    self.set_follow(False)


class _TimedUpdate:
    """The time of an update (poll, setData...) on a :class:`LivePlot`, nested blocks counted once."""

    def __init__(self, plot: LivePlot):
        self.plot = plot

    def __enter__(self) -> None:
        p = self.plot
        p._timing += 1
        if p._timing == 1:
            self.t0 = time.perf_counter()
            p._skip = False

    def __exit__(self, *exc: Any) -> None:
        p = self.plot
        p._timing -= 1
        if p._timing == 0 and not p._skip:
            p.update_done(time.perf_counter() - self.t0)
