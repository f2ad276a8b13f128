"""The live trial plot: fed from a real data log at its own polls, redraws wait for time between frames."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (for support.*)

from support.budget import ManualBudget  # noqa: E402


@pytest.fixture
def data_log(tmp_path):
    from rigconsole.datalog import DataLog

    log = DataLog(tmp_path / "session.h5")
    yield log
    log.close()


@pytest.fixture
def make_dock(qtbot, data_log):
    from rigconsole.ui.trial_plot import TrialPlotDock

    def make(**kw):
        dock = TrialPlotDock(data_log=data_log, poll_hz=50, **kw)
        qtbot.addWidget(dock)
        dock.show()
        return dock

    return make


def _feed(log, run, n, start=0):
    for i in range(start, start + n):
        log.add_trial(run, {"rt": 0.3 + 0.01 * i, "correct": i % 2, "participant": "p", "word": "go"})


def test_rows_are_read_from_the_log_at_the_plots_own_poll_never_inside_add_trial(make_dock, data_log, qtbot):
    dock = make_dock()
    run = data_log.start_run("x", {"participant": "p"})
    _feed(data_log, run, 3)
    assert dock.rows == []  # add_trial returned without running any plot code
    qtbot.waitUntil(lambda: len(dock.rows) == 3, timeout=3000)
    assert dock.run == run and list(dock.series("rt")[0]) == [1, 2, 3]
    assert "word" not in dock.series_names()  # text is not plotted


def test_redraw_waits_for_a_pump_with_time(make_dock, data_log, qtbot):
    dock = make_dock()
    budget = ManualBudget(0.0)  # no time before the next stimulus frame
    dock.use_budget(budget)
    run = data_log.start_run("x", {"participant": "p"})
    _feed(data_log, run, 3)
    # the rows are read (numbers only) ...
    qtbot.waitUntil(lambda: len(dock.rows) == 3, timeout=3000)
    # ... but nothing is drawn while there is no time for it
    qtbot.waitUntil(lambda: dock.deferred_redraws >= 3, timeout=3000)
    assert dock.items == {} and dock.column_combo.count() == 2 and dock.info.text() != "trial 3"
    budget.left = float("inf")
    qtbot.waitUntil(lambda: "rt" in dock.items, timeout=3000)
    assert sorted(dock.items) == ["correct", "rt"]
    assert dock.info.text() == "trial 3"
    assert dock.column_combo.findData("rt") >= 0 and dock.column_combo.findData("word") < 0
    # the redraw's cost was measured (update + the repaint that followed) and is what the next one asks for
    qtbot.waitUntil(lambda: len(dock.plot.costs) >= 1, timeout=3000)
    assert 0 < dock.redraw_cost() < 0.5
    # a redraw that needs more time than there is waits; one that fits goes ahead
    budget.left = dock.redraw_cost() / 2
    before = dock.deferred_redraws
    _feed(data_log, run, 1, start=3)
    qtbot.waitUntil(lambda: dock.deferred_redraws > before, timeout=3000)
    assert len(dock.items["rt"].getData()[0]) == 3
    budget.left = 1.0
    qtbot.waitUntil(lambda: len(dock.items["rt"].getData()[0]) == 4, timeout=3000)


def test_one_slow_redraw_does_not_hold_the_plot_back_for_the_rest_of_the_run(make_dock, data_log, qtbot):
    """The first redraw (it creates the plot items) can cost several times the later ones;
    while redraws are put off, the largest measured cost is forgotten every estimate.stale_s."""
    dock = make_dock()
    dock.plot.estimate.stale_s = 0.2
    dock.use_budget(ManualBudget(0.010))  # every pump has 10 ms before the next stimulus frame
    run = data_log.start_run("x", {})
    _feed(data_log, run, 2)
    qtbot.waitUntil(lambda: "rt" in dock.items, timeout=3000)
    qtbot.waitUntil(lambda: len(dock.plot.costs) >= 1, timeout=3000)
    dock.plot.costs.append(0.5)  # one redraw took half a second
    before = dock.deferred_redraws
    _feed(data_log, run, 1, start=2)
    qtbot.waitUntil(lambda: len(dock.items["rt"].getData()[0]) == 3, timeout=3000)
    assert dock.deferred_redraws > before  # it waited first ...
    # ... then forgot the slow one (on a loaded machine the first redraw's own cost can be over
    # the 10 ms too and be forgotten as well, leaving no cost until this redraw's is measured)
    assert 0.5 not in dock.plot.costs


def test_a_new_run_or_a_new_data_log_clears_the_plot(make_dock, data_log, qtbot, tmp_path):
    from rigconsole.datalog import DataLog

    dock = make_dock()
    run = data_log.start_run("x", {"participant": "p"})
    _feed(data_log, run, 4)
    qtbot.waitUntil(lambda: len(dock.rows) == 4, timeout=3000)
    data_log.end_run(run, "finished")
    run2 = data_log.start_run("y", {"participant": "p"})
    data_log.add_trial(run2, {"level": 2.0})
    qtbot.waitUntil(lambda: dock.run == run2 and len(dock.rows) == 1, timeout=3000)
    dock.flush()
    assert "rt" not in dock.series_names() and dock.visible_series() == ["level"]
    with DataLog(tmp_path / "other.h5") as other:
        dock.use_data_log(other)
        r = other.start_run("z", {})
        other.add_trial(r, {"rt": 0.5})
        qtbot.waitUntil(lambda: dock.run == r and len(dock.rows) == 1, timeout=3000)
        dock.use_data_log(None)  # nothing to read: the plot keeps what it shows
        assert dock.poll() is False


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


def test_key_names_each_drawn_series_in_its_colour(make_dock, data_log, qtbot):
    from rigconsole.views.palette import SERIES as PALETTE

    dock = make_dock()
    assert dock.key.entries == []
    run = data_log.start_run("x", {"participant": "p"})
    _feed(data_log, run, 2)
    qtbot.waitUntil(lambda: len(dock.rows) == 2, timeout=3000)
    dock.flush()
    assert sorted(dock.key.entries) == sorted([("rt", PALETTE[0]), ("correct", PALETTE[1])])
    assert sorted(dock.key.text().split(", ")) == ["correct", "rt"]
    img = dock.key.grab().toImage()
    colours = {img.pixelColor(i, j).name() for i in range(img.width()) for j in range(img.height())}
    assert PALETTE[0].lower() in colours and PALETTE[1].lower() in colours  # each dot painted in its colour
    combo = dock.column_combo
    combo.setCurrentIndex(combo.findData("correct"))
    assert [name for name, _ in dock.key.entries] == ["correct"]
    data_log.start_run("x", {})  # a new run: no series, no key
    qtbot.waitUntil(lambda: dock.key.entries == [], timeout=3000)


def test_axes_are_drawn_in_the_update_after_a_range_change(make_dock, data_log, qtbot):
    """After the view range grows, the axes' tick pictures are built by the redraw's update,
    so the repaint after it only plays them (a repaint with the axes in it missed frames)."""
    dock = make_dock()
    qtbot.waitExposed(dock)
    run = data_log.start_run("x", {})
    _feed(data_log, run, 2)
    qtbot.waitUntil(lambda: len(dock.rows) == 2, timeout=3000)
    dock.flush()
    qtbot.wait(50)
    x_range = dock.plot.viewRange()[0]
    n = int(x_range[1])
    _feed(data_log, run, n, start=2)  # past the right edge: the x range grows
    assert dock.poll()
    dock.flush()
    assert dock.plot.viewRange()[0][1] > x_range[1]
    bottom = dock.plot.getAxis("bottom")
    assert bottom.picture is not None  # drawn before any repaint
    picture = bottom.picture
    dock.plot.repaint()
    assert bottom.picture is picture  # the repaint played it, did not redraw it


def test_one_plot_widget_class_under_ui():
    """Every live plot is a LivePlot: no other class under ui/ is a pyqtgraph PlotWidget, none is made raw."""
    import re

    ui = Path(__file__).resolve().parents[2] / "app" / "rigconsole" / "ui"
    classes, raw = [], []
    for path in sorted(ui.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        classes += [(path.name, c) for c in re.findall(r"^class (\w+)\((?:pg\.)?PlotWidget\b", text, re.M)]
        raw += [path.name for _ in re.findall(r"\bPlotWidget\(", text) if path.name != "plots.py"]
        assert "pg.plot(" not in text and "PlotDataItem(" not in text or path.name == "plots.py", path.name
    assert classes == [("plots.py", "LivePlot")] and raw == []


def test_trial_plot_and_variable_plot_number_trials_alike(make_dock, data_log, qtbot):
    """One numbering: the first trial is trial 1 (PsychoPy's thisN + 1) in the console's trial plot,
    in a "New plot…" dock on a trial column, and in the trial plot's label."""
    from rigconsole.ui.variable_plots import VariablePlot

    dock = make_dock()
    run = data_log.start_run("x", {"participant": "p"})
    for n in range(3):
        data_log.add_trial(run, {"trials.thisN": n, "rt": 0.3 + n / 10})
    qtbot.waitUntil(lambda: len(dock.rows) == 3, timeout=3000)
    dock.flush()
    view = VariablePlot(data_log, "trial: rt", axis="trial", live=False)
    qtbot.addWidget(view)
    thisn = data_log.trials(run)["trials.thisN"]
    np.testing.assert_array_equal(dock.series("rt")[0], thisn + 1)
    np.testing.assert_array_equal(view.data()[0], thisn + 1)
    assert dock.info.text() == "trial 3"
    assert view.plot.getPlotItem().getAxis("bottom").labelText == "trial"
