"""A remote rig's trial plot: the run's response measures by trial, running accuracy, median RT.

What the console's own trial plot shows with "Response measures (auto)", seen
from afar: the rig's server computes the measures once per trial
(:class:`rigconsole.views.trial_measures.TrialMeasures`) and sends them with
each ``trial`` event (``measures``: the columns to plot, the running accuracy,
the median RT); this view draws the trial row's values of those columns
against the trial number, and prints the summary line. Notebook notes of the
run show as markers at their trial.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..views.palette import NEUTRAL, SERIES
from ..views.plot_sources import as_float
from ..views.trial_measures import format_summary
from .plots import LivePlot

__all__ = ["RemoteTrialView"]


class RemoteTrialView(QWidget):
    """The trial plot of a remote rig, fed the stream's ``trial`` and ``annotation`` events.

    Attributes:
        plot: the :class:`~.plots.LivePlot` (x = trial number, 1 = first trial); ``key``: its series key.
        summary: the label "accuracy 83% · median RT 412 ms · 24 trials".
        measures: the last ``measures`` received (``None`` before the first trial).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("Trial data")
        self.title.setStyleSheet("font-weight: 700; color: #1d2330")
        self.summary = QLabel("No trials yet")
        self.summary.setStyleSheet(f"color: {NEUTRAL}; font-size: 13px")
        self.plot = LivePlot(self, x_label="trial", range_mode="grow")
        self.plot.setMinimumHeight(180)
        self.key = self.plot.make_key(self)
        lay.addWidget(self.title)
        lay.addWidget(self.summary)
        lay.addWidget(self.key)
        lay.addWidget(self.plot, 1)
        self.measures: dict[str, Any] | None = None
        self._run_index: int | None = None
        self._run_group: str | None = None
        self._points: dict[str, tuple[list[float], list[float]]] = {}
        self._dirty = False

    def on_trial(self, ev: dict[str, Any]) -> None:
        """A ``trial`` event: ``run_index``, ``n`` (trials so far), ``row`` and ``measures``."""
        if ev.get("run_index") != self._run_index:
            self._run_index = ev.get("run_index")
            self._run_group = None
            self._points.clear()
            self.plot.clear_series()
        n = int(ev.get("n") or 0)
        self.measures = ev.get("measures")
        cols = (self.measures or {}).get("columns") or []
        for col in cols:
            y = as_float((ev.get("row") or {}).get(col))
            if math.isfinite(y):
                xs, ys = self._points.setdefault(col, ([], []))
                xs.append(float(n))
                ys.append(y)
        self._dirty = True

    def load_run(self, run_index: int, group: str, page: dict[str, Any], notes: list[dict[str, Any]]) -> None:
        """Start from a run's trials so far (attaching mid-run): ``page`` from ``GET runs/{id}/trials``
        (with the rig's ``measures``), ``notes`` its annotations. Trials that already arrived live and are
        newer than the page are kept, with their (newer) measures."""
        live = self._points if self._run_index == run_index else {}
        live_measures = self.measures if live else None
        self._run_index, self._run_group = run_index, group
        self._points = {}
        self.plot.clear_series()
        self.measures = page.get("measures")
        start = int(page.get("start") or 0)
        n_page = int(page.get("n_trials") or 0)
        for col in (self.measures or {}).get("columns") or []:
            for i, v in enumerate((page.get("trials") or {}).get(col) or []):
                y = as_float(v)
                if math.isfinite(y):
                    xs, ys = self._points.setdefault(col, ([], []))
                    xs.append(float(start + i + 1))
                    ys.append(y)
        for col, (xs_live, ys_live) in live.items():
            for x, y in zip(xs_live, ys_live):
                if x > n_page:
                    xs, ys = self._points.setdefault(col, ([], []))
                    xs.append(x)
                    ys.append(y)
        if live_measures and int(live_measures.get("n") or 0) > int((self.measures or {}).get("n") or 0):
            self.measures = live_measures
        for row in notes:
            self.plot.add_note(row)
        self._dirty = True

    def on_note(self, row: dict[str, Any]) -> None:
        """An ``annotation`` event's row: notes of the run running now become markers at their trial."""
        run = (row.get("fields") or {}).get("run")
        if run is not None and self._run_group is None and self._run_index is not None:
            self._run_group = run  # a note taken live belongs to the run being watched
        self.plot.add_note(row)
        self._dirty = True

    def redraw(self) -> None:
        """Draw what arrived since the last redraw (the window's redraw timer calls this)."""
        if not self._dirty or not self.plot.has_time():
            return
        self._dirty = False
        with self.plot.timed_update():
            cols = (self.measures or {}).get("columns") or []
            self.plot.set_visible_series(cols or None)
            for i, col in enumerate(cols):  # colour by place in the columns, as the page draws them
                if col in self._points:
                    xs, ys = self._points[col]
                    self.plot.set_series(
                        col, np.asarray(xs), np.asarray(ys), style="line", colour=SERIES[i % len(SERIES)]
                    )
            self.plot.poll_notes("trial", self._run_group)
            self.summary.setText(format_summary(self.measures) or "No trials yet")
            self.plot.flush()


class AccuracySparkline(QWidget):
    """A small painted line of a run's running accuracy by trial (0-1), with the last value as text.

    Fed the ``spark`` list of a trial event's ``measures`` (None before the first scored trial);
    fixed size, so a per-trial update never re-lays-out its parent (a dashboard tile).

    Attributes:
        values: the accuracies drawn (None: not scored yet).
    """

    COLOUR = "#0072B2"  # views.palette.SERIES[0]

    def __init__(self, parent: QWidget | None = None, *, width: int = 200, height: int = 26) -> None:
        super().__init__(parent)
        self.setFixedSize(width, height)
        self.values: list[float | None] = []
        self.setToolTip("running accuracy by trial")

    def set_values(self, values: list[float | None] | None) -> None:
        """Show ``values`` (running accuracy 0-1 per trial); an empty list clears it."""
        self.values = list(values or [])
        self.update()

    def text(self) -> str:
        """The text drawn: ``"accuracy 83%"``, or empty before the first scored trial."""
        last = next((v for v in reversed(self.values) if v is not None), None)
        return f"accuracy {last * 100:.0f}%" if last is not None else ""

    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt)
        from PySide6.QtCore import QPointF
        from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF

        text = self.text()
        if not text:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        tw = p.fontMetrics().horizontalAdvance("accuracy 100%") + 6
        w, h = self.width() - tw - 2, self.height() - 4
        p.setPen(QPen(QColor("#eaecf0"), 1))
        p.drawLine(0, 2 + h, w, 2 + h)
        pts = [(i, v) for i, v in enumerate(self.values) if v is not None]
        n = max(len(self.values) - 1, 1)
        poly = QPolygonF([QPointF(i / n * w, 2 + (1 - v) * h) for i, v in pts])
        p.setPen(QPen(QColor(self.COLOUR), 1.6))
        p.drawPolyline(poly)
        p.setPen(QColor("#475467"))
        p.drawText(w + 6, 0, tw, self.height(), 0x0081, text)  # AlignLeft | AlignVCenter
        p.end()
