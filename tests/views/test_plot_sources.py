"""The Qt-free feeds of the live plots: one trial numbering (trial 1 is the first), the remote stream feed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rigconsole.views.plot_sources import PlotSource, SourceFeed, StreamFeed, TrialFeed, default_columns, trial_number


@pytest.fixture
def log(tmp_path):
    from rigconsole.datalog import DataLog

    with DataLog(tmp_path / "s.h5") as log:
        yield log


def test_trial_number_is_thisN_plus_one():
    assert trial_number(0) == 1
    np.testing.assert_array_equal(trial_number(np.arange(3)), [1, 2, 3])


def test_every_feed_numbers_trials_as_psychopy_thisN_plus_one(log):
    run = log.start_run("x", {"participant": "p"})
    for n in range(4):  # as a Builder loop stores them: trials.thisN 0, 1, 2, 3
        log.add_trial(run, {"trials.thisN": n, "rt": 0.3 + n / 10})
    feed = SourceFeed(log, PlotSource("trial", "rt"))
    reset, _t, idx, y = feed.poll()
    thisn = log.trials(run)["trials.thisN"]
    assert reset
    np.testing.assert_array_equal(idx, thisn + 1)
    np.testing.assert_allclose(y, 0.3 + np.arange(4) / 10)
    log.add_trial(run, {"trials.thisN": 4, "rt": 0.9})
    _reset, _t, idx, _y = feed.poll()  # only what is new, still counted from the run's first trial
    np.testing.assert_array_equal(idx, [5])
    batch = TrialFeed(log).poll()  # the trial plot's feed: rows from 0, numbers from trial_number
    assert batch.first_row == 0 and trial_number(batch.first_row) == 1 and batch.n_trials == 5


def test_entries_and_frames_count_from_one_too(log):
    for i in range(3):
        log.add_entry(v=float(i))
    _r, _t, idx, _y = SourceFeed(log, PlotSource("variable", "v")).poll()
    np.testing.assert_array_equal(idx, [1, 2, 3])
    run = log.start_run("x", {})
    log.add_frame_intervals(run, [1 / 60, 1 / 60])
    _r, _t, idx, y = SourceFeed(log, PlotSource("frames", "frame intervals")).poll()
    np.testing.assert_array_equal(idx, [1, 2])
    np.testing.assert_allclose(y, [1000 / 60] * 2)


def test_stream_feed_gives_history_then_new_values_and_keeps_the_last_points():
    feed = StreamFeed(max_points=8)
    _r, t, _i, _y = feed.poll()  # nothing yet: an empty first batch
    assert _r and len(t) == 0
    feed.add(10.0, 1.0)
    feed.add_history([1.0, 2.0], [0.5, None])  # older than what streamed in: goes first
    reset, t, idx, y = feed.poll()
    assert reset
    np.testing.assert_array_equal(t, [1.0, 2.0, 10.0])
    assert y[0] == 0.5 and math.isnan(y[1]) and y[2] == 1.0  # no reading: NaN, the line breaks there
    np.testing.assert_array_equal(idx, [1, 2, 3])
    assert feed.poll() is None
    feed.add(11.0, "2.5")
    reset, t, idx, y = feed.poll()
    assert not reset and list(t) == [11.0] and list(y) == [2.5] and list(idx) == [4]
    for k in range(20):
        feed.add(12.0 + k, k)
    reset, t, _idx, y = feed.poll()
    assert len(feed) <= 8 + 8 // 4 and reset  # old points dropped: the plot redraws what is kept
    assert t[-1] == 31.0 and feed.last() == 19.0


def test_default_columns_prefer_response_measures():
    assert default_columns(["trials.thisN", "key_resp.rt", "key_resp.corr", "stim.started"]) == [
        "key_resp.rt",
        "key_resp.corr",
    ]
    assert default_columns(["trials.thisN", "level", "stim.started", "participant"], exclude=["participant"]) == [
        "level"
    ]
