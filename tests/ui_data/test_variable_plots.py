"""VariablePlot / VariablePlotDock on real DataLog files: sources, incremental polling, axes."""

from __future__ import annotations

import numpy as np
import pytest

from support.budget import ManualBudget
from support.datalog_fill import fill_session


@pytest.fixture
def make_dock(qtbot):
    from rigconsole.ui.variable_plots import VariablePlotDock

    made = []

    def make(log, *args, **kw):
        kw.setdefault("poll_hz", 50)
        d = VariablePlotDock(log, *args, **kw)
        qtbot.addWidget(d)
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


def test_lists_variables_and_trial_columns(make_log, make_dock):
    log = make_log()
    fill_session(log, runs=1)
    d = make_dock(log)
    src = d.view.sources()
    assert src[:2] == ["pupil_mm", "temperature"]
    # numeric trial columns of the newest run, PsychoPy order; text columns left out
    assert src[2:] == ["trial: trials.thisN", "trial: key_resp.rt", "trial: key_resp.corr", "trial: thisRow.t"]
    assert d.view.source.label == "pupil_mm"
    assert d.windowTitle() == "Plot: pupil_mm"


def test_combo_refreshes_when_new_names_appear(make_log, make_dock, qtbot):
    log = make_log()
    d = make_dock(log)
    assert d.view.sources() == [] and d.view.source is None
    log.add_entry(flow=1.0)
    qtbot.waitUntil(lambda: d.view.sources() == ["flow"], timeout=2000)
    run = log.start_run("demo", {})
    log.add_trial(run, {"rt": 0.4})
    qtbot.waitUntil(lambda: "trial: rt" in d.view.sources(), timeout=2000)


def test_live_polling_appends_without_duplicates(make_log, make_dock, qtbot):
    log = make_log()
    log.add_entry(temperature=20.0)
    d = make_dock(log, "temperature")
    logged = 1
    for burst in range(6):
        for k in range(37):
            log.add_entry(temperature=20.0 + burst + k / 100)
            logged += 1
        d.view.poll()  # explicit poll plus whatever the timer does in between
        qtbot.wait(25)
    qtbot.waitUntil(lambda: d.view.point_count() == logged, timeout=2000)
    qtbot.wait(100)  # more timer polls must not add anything
    x, y = d.view.data()
    t, v = log.logged_variable("temperature")
    assert len(x) == logged == d.view.point_count()
    np.testing.assert_array_equal(x, t)
    np.testing.assert_array_equal(y, v)
    # what pyqtgraph holds is the same series
    xi, yi = d.view.item.getOriginalDataset()
    assert len(xi) == logged


def test_trial_column_live_polled_never_inside_add_trial(make_log, make_dock, qtbot):
    log = make_log()
    run = log.start_run("demo", {"participant": "p"})
    d = make_dock(log, "trial: rt", axis="trial")
    for k in range(25):
        log.add_trial(run, {"rt": 0.3 + k / 100, "thisRow.t": float(k)})
    # the rows are in the log, the plot has not run: it reads them at its next poll (UI thread)
    assert d.view.point_count() == 0
    qtbot.waitUntil(lambda: d.view.point_count() == 25, timeout=2000)
    x, y = d.view.data()
    np.testing.assert_array_equal(x, np.arange(1, 26))  # trial 1 is the first (PsychoPy's thisN + 1)
    np.testing.assert_allclose(y, 0.3 + np.arange(25) / 100)
    # a new run: the plot follows it, starting empty
    log.end_run(run, "finished")
    run2 = log.start_run("demo", {"participant": "q"})
    qtbot.waitUntil(lambda: d.view.run == run2 and d.view.point_count() == 0, timeout=2000)
    log.add_trial(run2, {"rt": 0.5, "thisRow.t": 1.0})
    qtbot.waitUntil(lambda: d.view.point_count() == 1, timeout=2000)


def test_axis_toggle(make_log, make_dock):
    import pyqtgraph as pg

    log = make_log()
    runs = fill_session(log, runs=1, trials=12)
    d = make_dock(log, "temperature")
    axis = lambda: d.view.plot.getPlotItem().getAxis("bottom")  # noqa: E731
    assert d.view.axis == "time" and isinstance(axis(), pg.DateAxisItem)
    t, _ = log.logged_variable("temperature")
    np.testing.assert_array_equal(d.view.data()[0], t)
    d.view.axis_button.click()
    assert d.view.axis == "trial" and not isinstance(axis(), pg.DateAxisItem)
    np.testing.assert_array_equal(d.view.data()[0], np.arange(1, len(t) + 1))  # entry 1 is the first
    # a trial column on the time axis: run start + thisRow.t
    d.view.set_source("trial: key_resp.corr")
    d.view.set_axis("time")
    started = log.run_info(runs[0])["started"]
    np.testing.assert_allclose(d.view.data()[0], started + 2.0 + 1.5 * np.arange(12))
    d.view.set_axis("trial")
    np.testing.assert_array_equal(d.view.data()[0], np.arange(1, 13))  # trial 1 is the first


def test_trial_time_axis_without_thisrow_t_falls_back(make_log, make_dock):
    log = make_log()
    run = log.start_run("demo", {})
    for k in range(5):
        log.add_trial(run, {"rt": 0.1 * k})
    d = make_dock(log, "trial: rt", axis="time")
    np.testing.assert_array_equal(d.view.data()[0], np.arange(1, 6))
    assert "thisRow.t" in d.view.status.text()


def test_follow_scrolls_to_newest_and_panning_stops_it(make_log, make_dock, qtbot):
    log = make_log()
    for i in range(500):
        log.add_entry(v=float(i))
    d = make_dock(log, "v", axis="trial", follow=True)
    vb = d.view.plot.getViewBox()
    vb.setXRange(0, 100, padding=0)  # a 100-entry window
    for i in range(500, 800):
        log.add_entry(v=float(i))
    qtbot.waitUntil(lambda: d.view.point_count() == 800, timeout=2000)
    d.view.poll()
    (x0, x1), _ = vb.viewRange()
    assert x0 <= 799 <= x1 and x1 - x0 == pytest.approx(100, rel=0.05)
    vb.sigRangeChangedManually.emit(vb.state["mouseEnabled"])  # a drag that keeps the newest point in view
    assert d.view.follow
    vb.setXRange(0, 50, padding=0)
    vb.sigRangeChangedManually.emit(vb.state["mouseEnabled"])  # as a drag away from it would
    assert not d.view.follow and not d.view.follow_button.isChecked()


def test_several_docks_and_close(make_log, make_dock, qtbot):
    log = make_log()
    fill_session(log, runs=1)
    a = make_dock(log, "temperature")
    b = make_dock(log, "trial: key_resp.rt", axis="trial")
    assert a.view.point_count() == 200 and b.view.point_count() == 30
    with qtbot.waitSignal(a.closed):
        a.close_button.click()
    assert not a.view.timer.isActive()
    log.add_entry(temperature=1.0)
    b.view.poll()
    assert b.view.point_count() == 30


def test_incremental_poll_of_1000_new_points_is_cheap(make_log, make_dock):
    import time

    log = make_log(flush_interval=1.0)
    # the 1,000,000-point figures are in benchmarks/bench_liveplot.py; here 20k keeps the test fast
    for i in range(20_000):
        log.add_entry(sig=float(i % 97))
    d = make_dock(log, "sig", follow=True)
    assert d.view.point_count() == 20_000
    for i in range(1000):
        log.add_entry(sig=float(i))
    s = time.perf_counter()
    d.view.poll()
    dt = time.perf_counter() - s
    assert d.view.point_count() == 21_000
    assert dt < 0.05, dt


def _measured_temperature_dock(make_log, make_dock, qtbot):
    """A shown dock on a logged ``temperature`` with one point, whose poll and repaint were measured."""
    log = make_log()
    log.add_entry(temperature=20.0)
    d = make_dock(log, "temperature")
    d.show()
    qtbot.waitExposed(d)
    qtbot.waitUntil(lambda: d.view.point_count() == 1, timeout=2000)
    qtbot.waitUntil(lambda: d.view.poll_cost() > 0, timeout=2000)
    return log, d


def test_polls_wait_for_time_between_stimulus_frames(make_log, make_dock, qtbot):
    log, d = _measured_temperature_dock(make_log, make_dock, qtbot)
    budget = ManualBudget(0.0)
    d.use_budget(budget)
    for k in range(5):
        log.add_entry(temperature=21.0 + k)
    log.flush()
    qtbot.waitUntil(lambda: d.view.deferred_polls >= 3, timeout=2000)
    assert d.view.point_count() == 1  # no time before the next frame: nothing fetched or drawn
    budget.left = 1.0
    qtbot.waitUntil(lambda: d.view.point_count() == 6, timeout=2000)


def test_one_slow_poll_does_not_hold_the_plot_back(make_log, make_dock, qtbot):
    """A poll measured far slower than usual is forgotten after a while of polls put off,
    so the plot keeps up during a run instead of waiting for its end."""
    log, d = _measured_temperature_dock(make_log, make_dock, qtbot)
    d.view.plot.estimate.stale_s = 0.2
    d.use_budget(ManualBudget(0.010))  # every pump has 10 ms before the next stimulus frame
    d.view.plot.costs.append(0.5)  # one poll and repaint took half a second
    before = d.view.deferred_polls
    log.add_entry(temperature=21.0)
    log.flush()
    qtbot.waitUntil(lambda: d.view.point_count() == 2, timeout=3000)
    assert d.view.deferred_polls > before  # it waited first ...
    # ... then forgot the slow one (on a loaded machine the first poll's own cost can be over
    # the 10 ms too and be forgotten as well, leaving no cost until this poll's is measured)
    assert 0.5 not in d.view.plot.costs


def test_units_in_the_axis_label_and_frame_intervals_as_a_source(make_log, make_dock, qtbot):
    log = make_log()
    log.describe_variable("luminance", unit="cd/m^2", source="instrument:photometer")
    log.add_entry(luminance=100.0)
    log.add_entry(plain=1.0)
    run = log.start_run("demo", {})
    log.add_frame_intervals(run, [1 / 60, 1 / 60, 2 / 60])
    d = make_dock(log, "luminance")
    assert d.view.plot.getPlotItem().getAxis("left").labelText == "luminance (cd/m^2)"
    d.view.set_source("plain")
    assert d.view.plot.getPlotItem().getAxis("left").labelText == "plain"
    assert "frame intervals" in d.view.sources()
    d.view.set_source("frame intervals")
    assert d.view.plot.getPlotItem().getAxis("left").labelText == "frame interval (ms)"
    x, y = d.view.data()
    np.testing.assert_allclose(y, [1000 / 60, 1000 / 60, 2000 / 60])
    started = log.run_info(run)["started"]
    np.testing.assert_allclose(x, started + np.cumsum([1 / 60, 1 / 60, 2 / 60]))  # time axis: when each frame ended
    log.add_frame_intervals(run, [1 / 60])
    qtbot.waitUntil(lambda: d.view.point_count() == 4, timeout=2000)
    d.view.set_axis("trial")
    np.testing.assert_array_equal(d.view.data()[0], [1, 2, 3, 4])  # frame 1 is the first
