"""Runs: data written, window reused, failures contained, pause/resume/stop from another thread."""

from __future__ import annotations

import csv
import threading
import time

import pytest

from rigconsole.session import RunInProgressError


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_run_writes_data_and_reuses_window(exp_root, make_session):
    s = make_session(exp_root, scan=True)
    win = s.win
    trials = []
    s.events.trial_added.connect(lambda rec, row: trials.append(row))
    assert s.runExperiment("simple/simple.py", {"participant": "p1", "nTrials": 4, "color": "blue"})
    rec = s.run_records[-1]
    assert rec.state == "finished" and rec.n_trials == 4
    assert [t["sq"] for t in trials] == [0, 1, 4, 9]
    assert trials[0]["label"] == "asset-ok"  # relative asset read from the experiment's folder
    csvs = [f for f in rec.data_files if f.endswith(".csv")]
    assert len(csvs) == 1
    rows = _rows(csvs[0])
    assert [r["sq"] for r in rows] == ["0", "1", "4", "9"]
    assert rows[0]["color"] == "blue" and rows[0]["participant"] == "p1"
    assert s.runs[-1] is rec.this_exp and s.currentExperiment is None
    # a second experiment reuses the same window
    assert s.runExperiment("json/named_like_a_package.py")
    assert s.win is win and not win._closed


def test_raising_experiment_fails_and_session_survives(exp_root, make_session):
    s = make_session(exp_root, scan=True)
    ended = []
    s.events.run_ended.connect(ended.append)
    with pytest.raises(ValueError, match="stimulus file missing"):
        s.runExperiment("failing/raises.py")
    rec = s.run_records[-1]
    assert rec.state == "failed" and rec.error.startswith("ValueError: stimulus file missing")
    assert "Traceback" in rec.traceback
    rows = _rows([f for f in rec.data_files if f.endswith(".csv")][0])  # partial data saved
    assert [r["trial"] for r in rows] == ["0", "1"]
    assert ended == [rec]
    assert s.runExperiment("simple/simple.py", {"participant": "after"}) is True


def test_core_quit_fails_the_run_and_window_comes_back(exp_root, make_session):
    s = make_session(exp_root, scan=True)
    assert s.runExperiment("quitter/quitter.py") is False
    rec = s.run_records[-1]
    assert rec.state == "failed" and "core.quit()" in rec.error
    assert s.win is not None and not s.win._closed  # reopened
    assert s.runExperiment("simple/simple.py", {"participant": "after"}) is True
    assert s.run_records[-1].state == "finished"


def test_second_run_is_refused_while_one_runs(exp_root, make_session):
    s = make_session(exp_root, scan=True)
    errors = []

    def on_trial(rec, row):
        if rec.n_trials == 1:
            try:
                s.runExperiment("simple/simple.py", {"participant": "x"})
            except RunInProgressError as err:
                errors.append(str(err))

    s.events.trial_added.connect(on_trial)
    s.runExperiment("simple/simple.py", {"participant": "p"})
    assert errors and "is still running" in errors[0]


def _controller_thread(s, script):
    """Run ``script(s)`` on another thread; returns (thread, list of failures)."""
    failures = []

    def target():
        try:
            script(s)
        except BaseException as err:  # surface assertion failures in the test
            failures.append(err)
            s.stopExperiment()

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, failures


def _wait(cond, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def test_pause_resume_stop_from_another_thread(exp_root, make_session):
    s = make_session(exp_root, scan=True, simulated_vsync_hz=60)
    states = []
    s.events.run_state_changed.connect(lambda rec: states.append(rec.state))
    module = s.experiments["endless/endless.py"]
    seen = {}

    def script(s):
        _wait(lambda: s.current_run is not None and s.current_run.n_trials >= 3)
        assert s.pauseExperiment() is True
        _wait(lambda: s.current_run.state == "paused")
        n = s.current_run.n_trials
        frames_before = len(s.frame_hook.intervals)
        time.sleep(0.5)
        seen["trials_while_paused"] = s.current_run.n_trials - n
        seen["flips_while_paused"] = len(s.frame_hook.intervals) - frames_before
        assert s.resumeExperiment() is True
        _wait(lambda: s.current_run.n_trials >= n + 3)
        # a blocking call from another thread runs on the main thread and returns its result
        seen["status"] = s.commands.call(s.getStatus, blocking=True)
        assert s.stopExperiment() is True

    t, failures = _controller_thread(s, script)
    assert s.runExperiment("endless/endless.py") is True
    t.join(5)
    assert not failures, failures
    rec = s.run_records[-1]
    assert rec.state == "stopped"
    assert seen["trials_while_paused"] == 0
    assert seen["flips_while_paused"] >= 10  # the window kept being refreshed while paused
    assert seen["status"] == 1  # STARTED
    assert states[:4] == ["running", "paused", "running", "stopped"]
    assert module.pauseCalls == []  # the console's pause loop replaced the spinning one


def test_script_that_ignores_status_is_paused_and_stopped(exp_root, make_session):
    s = make_session(exp_root, scan=True, stop_grace_s=0.3)
    seen = {}

    def script(s):
        _wait(lambda: s.current_run is not None and s.current_run.n_trials >= 2)
        s.pauseExperiment()
        _wait(lambda: s.current_run.state == "paused")
        n = s.current_run.n_trials
        time.sleep(0.3)
        seen["paused_trials"] = s.current_run.n_trials - n
        s.resumeExperiment()
        time.sleep(0.1)
        s.stopExperiment()

    t, failures = _controller_thread(s, script)
    assert s.runExperiment("ignorer/ignorer.py") is True
    t.join(5)
    assert not failures, failures
    assert s.run_records[-1].state == "stopped"
    assert seen["paused_trials"] == 0


def test_queue_non_blocking_from_thread_and_start_stop(exp_root, make_session):
    """PsychoPy's pattern: queue runExperiment(blocking=False) from a thread, drain with start()."""
    s = make_session(exp_root, scan=True)
    results = {}

    def script():
        results["queued"] = s.runExperiment("simple/simple.py", {"participant": "q"}, blocking=False)
        _wait(lambda: len(s.run_records) == 1 and s.run_records[0].state == "finished")
        results["blocking"] = s.runExperiment("json/named_like_a_package.py", blocking=True)
        s.stop()

    t = threading.Thread(target=script, daemon=True)
    t.start()
    s.start()  # returns when the thread calls stop()
    t.join(5)
    assert results == {"queued": True, "blocking": True}
    assert [r.key for r in s.run_records] == ["simple/simple.py", "json/named_like_a_package.py"]


@pytest.mark.timing
def test_frame_stats_recorded(exp_root, make_session):
    s = make_session(exp_root, scan=True, simulated_vsync_hz=60)
    batches = []
    s.events.frame_intervals.connect(lambda rec, b: batches.append(list(b)))
    s.runExperiment("simple/simple.py", {"participant": "p", "nTrials": 40})
    stats = s.run_records[-1].frame_stats
    assert stats["n_frames"] >= 100
    assert 15.0 < stats["p50_ms"] < 18.5
    assert sum(len(b) for b in batches) == stats["n_frames"]


def test_pump_never_nests(exp_root, make_session):
    """Console code run by the pump must not be pumped into again (by a flip or the stall guard)."""
    s = make_session(exp_root, scan=True)
    depth = {"now": 0, "max": 0, "calls": 0}

    def pump(budget_s):
        depth["now"] += 1
        depth["calls"] += 1
        depth["max"] = max(depth["max"], depth["now"])
        try:
            time.sleep(0.03)  # longer than the stall limit: the guard would fire inside
            sum(i for i in range(20000))  # Python calls the profile hook counts
            s.frame_hook.pump_now()  # an explicit nested attempt
        finally:
            depth["now"] -= 1

    s.frame_hook.pump = pump
    assert s.runExperiment("simple/simple.py", {"participant": "p", "nTrials": 3})
    assert depth["calls"] >= 9 and depth["max"] == 1
