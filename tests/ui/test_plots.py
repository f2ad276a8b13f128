"""The live trial plot: redraws wait for time between frames; SeriesItem draws what it is given."""
from __future__ import annotations

import math

import numpy as np


class _Run:
    index = 1
    key = "x/x.py"
    exp_info = {"participant": "p"}
    n_trials = 0
    total_trials = 10


def _feed(dock, rec, n):
    for i in range(n):
        rec.n_trials += 1
        dock.add_trial(rec, {"rt": 0.3 + 0.01 * i, "correct": i % 2, "participant": "p", "word": "go"})


def test_redraw_waits_for_a_pump_with_time(qtbot):
    from rigconsole.ui.plots import TrialPlotDock

    dock = TrialPlotDock()
    qtbot.addWidget(dock)
    dock.show()
    left = {"s": 0.0}  # no time before the next stimulus frame
    dock.time_left = lambda: left["s"]
    rec = _Run()
    dock.start_run(rec)
    _feed(dock, rec, 3)
    # the rows are kept at once (they arrive inside the experiment's nextEntry) ...
    assert len(dock.rows) == 3 and list(dock.series("rt")[0]) == [1, 2, 3]
    # ... but nothing is drawn while there is no time for it
    qtbot.waitUntil(lambda: dock.deferred_redraws >= 3, timeout=3000)
    assert dock.items == {} and dock.column_combo.count() == 2 and dock.info.text() != "trial 3 of 10"
    left["s"] = math.inf
    qtbot.waitUntil(lambda: "rt" in dock.items, timeout=3000)
    assert sorted(dock.items) == ["correct", "rt"]
    assert dock.info.text() == "trial 3 of 10"
    assert dock.column_combo.findData("rt") >= 0 and dock.column_combo.findData("word") < 0
    # the redraw's cost was measured (update + the repaint that followed) and is what the next one asks for
    qtbot.waitUntil(lambda: len(dock.plot.costs) >= 1, timeout=3000)
    assert 0 < dock.redraw_cost() < 0.5
    # a redraw that needs more time than there is waits; one that fits goes ahead
    left["s"] = dock.redraw_cost() / 2
    before = dock.deferred_redraws
    _feed(dock, rec, 1)
    qtbot.waitUntil(lambda: dock.deferred_redraws > before, timeout=3000)
    assert len(dock.items["rt"].getData()[0]) == 3
    left["s"] = 1.0
    qtbot.waitUntil(lambda: len(dock.items["rt"].getData()[0]) == 4, timeout=3000)


def test_one_slow_redraw_does_not_hold_the_plot_back_for_the_rest_of_the_run(qtbot):
    """The first redraw (it creates the plot items) can cost several times the later ones;
    while redraws are put off, the largest measured cost is forgotten every estimate.stale_s."""
    from rigconsole.ui.plots import TrialPlotDock

    dock = TrialPlotDock()
    qtbot.addWidget(dock)
    dock.show()
    dock.plot.estimate.stale_s = 0.2
    dock.time_left = lambda: 0.010  # every pump has 10 ms before the next stimulus frame
    rec = _Run()
    dock.start_run(rec)
    _feed(dock, rec, 2)
    qtbot.waitUntil(lambda: "rt" in dock.items, timeout=3000)
    qtbot.waitUntil(lambda: len(dock.plot.costs) >= 1, timeout=3000)
    dock.plot.costs.append(0.5)  # one redraw took half a second
    before = dock.deferred_redraws
    _feed(dock, rec, 1)
    qtbot.waitUntil(lambda: len(dock.items["rt"].getData()[0]) == 3, timeout=3000)
    assert dock.deferred_redraws > before  # it waited first ...
    # ... then forgot the slow one (on a loaded machine the first redraw's own cost can be over
    # the 10 ms too and be forgotten as well, leaving no cost until this redraw's is measured)
    assert 0.5 not in dock.plot.costs


def test_series_item_breaks_the_line_at_missing_values(qtbot):
    import pyqtgraph as pg

    from rigconsole.ui.plots import SeriesItem

    w = pg.PlotWidget()
    qtbot.addWidget(w)
    item = SeriesItem("#0072B2")
    w.addItem(item)
    x = np.arange(1, 8, dtype=float)
    y = np.array([1.0, 2.0, np.nan, 3.0, 4.0, 5.0, np.nan])
    item.setData(x, y)
    assert [seg.size() for seg in item._segments] == [2, 3]  # 1-2 and 4-6; 7 has no value
    assert item._dots.size() == 5
    gx, gy = item.getData()
    assert np.array_equal(gx, x) and np.array_equal(np.isnan(gy), np.isnan(y))
    r = item.boundingRect()
    assert r.left() < 1 and r.right() > 6 and r.top() < 1 and r.bottom() > 5
    dots = SeriesItem("#D55E00", line=False)
    dots.setData(x, np.array([0, 1, 0, 1, 1, 0, 1], dtype=float))
    assert dots._segments == [] and dots._dots.size() == 7
    w.addItem(dots)
    w.show()
    qtbot.waitExposed(w)
    img = w.grab().toImage()
    # something blue (the line/dots) and something orange (the 0/1 dots) was drawn
    colours = {img.pixelColor(i, j).name() for i in range(0, img.width(), 2) for j in range(0, img.height(), 2)}
    assert "#0072b2" in colours and "#d55e00" in colours


def test_key_names_each_drawn_series_in_its_colour(qtbot):
    from rigconsole.ui.plots import PALETTE, TrialPlotDock

    dock = TrialPlotDock()
    qtbot.addWidget(dock)
    dock.show()
    rec = _Run()
    dock.start_run(rec)
    assert dock.key.entries == []
    _feed(dock, rec, 2)
    dock.flush()
    assert sorted(dock.key.entries) == sorted([("rt", PALETTE[0]), ("correct", PALETTE[1])])
    assert sorted(dock.key.text().split(", ")) == ["correct", "rt"]
    dock.key.grab()  # paints without error
    combo = dock.column_combo
    combo.setCurrentIndex(combo.findData("correct"))
    assert [name for name, _ in dock.key.entries] == ["correct"]
    dock.start_run(rec)  # a new run: no series, no key
    assert dock.key.entries == []


def test_axes_are_drawn_in_the_update_after_a_range_change(qtbot):
    """After the view range grows, the axes' tick pictures are built by the redraw's update,
    so the repaint after it only plays them (a repaint with the axes in it missed frames)."""
    from rigconsole.ui.plots import TrialPlotDock

    dock = TrialPlotDock()
    qtbot.addWidget(dock)
    dock.show()
    qtbot.waitExposed(dock)
    rec = _Run()
    dock.start_run(rec)
    _feed(dock, rec, 2)
    dock.flush()
    qtbot.wait(50)
    x_range = dock.plot.viewRange()[0]
    _feed(dock, rec, int(x_range[1]))  # past the right edge: the x range grows
    dock.flush()
    assert dock.plot.viewRange()[0][1] > x_range[1]
    bottom = dock.plot.getAxis("bottom")
    assert bottom.picture is not None  # drawn before any repaint
    picture = bottom.picture
    dock.plot.repaint()
    assert bottom.picture is picture  # the repaint played it, did not redraw it
