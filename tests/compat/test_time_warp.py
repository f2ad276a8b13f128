"""The dry run's time warp (rigconsole.session.warp): PsychoPy's clocks N times faster than the
wall clock, routines timed in seconds and in frames N times shorter, the simulated participant's
RTs in the experiment's own time, and nothing of the warp left for a real run after it."""

from __future__ import annotations

import csv
import shutil
import statistics
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _csv_rows(rec):
    with open(next(f for f in rec.data_files if f.endswith(".csv")), newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------------------- the clock itself
def test_parse_speed():
    from rigconsole.session.warp import parse_speed

    assert parse_speed("10") == 10.0 and parse_speed("2.5x") == 2.5 and parse_speed("MAX") == "max"
    assert parse_speed(None) == 1.0 and parse_speed(4) == 4.0
    for bad in ("0", "-3", "fast", "nan", "inf"):
        with pytest.raises(ValueError, match="give a number above 0"):
            parse_speed(bad)


def test_every_psychopy_clock_runs_n_times_faster_and_comes_back():
    import psychopy.clock
    from psychopy import core

    from rigconsole.session.warp import TimeWarp, active_warp

    orig = psychopy.clock.getTime
    made_before = core.Clock()
    warp = TimeWarp(20, frame_hz=60)
    with warp:
        assert active_warp() is warp
        clock, countdown = core.Clock(), core.CountdownTimer(2.0)
        mono0, wall0 = core.monotonicClock.getTime(), time.perf_counter()
        core.wait(1.0)  # one second of experiment time: 1/20 s of wall time
        wall = time.perf_counter() - wall0
        assert 0.04 < wall < 0.25, wall
        assert clock.getTime() == pytest.approx(20 * wall, rel=0.15)
        assert core.monotonicClock.getTime() - mono0 == pytest.approx(20 * wall, rel=0.15)
        assert countdown.getTime() == pytest.approx(2.0 - 20 * wall, abs=0.3)
        with pytest.raises(RuntimeError, match="one dry run at a time"):
            TimeWarp(5).install()
    assert psychopy.clock.getTime is orig and active_warp() is None
    assert warp.speed_reached == pytest.approx(20, rel=0.05)
    # after it: real time again, for clocks made before and during the warp alike
    t_before, w0 = made_before.getTime(), time.perf_counter()
    core.wait(0.2)
    assert made_before.getTime() - t_before == pytest.approx(time.perf_counter() - w0, abs=0.02)


def test_max_warp_takes_one_refresh_period_per_flip():
    """'max': the rate follows the wall time per flip, so each flip is one frame (1/60 s) of
    experiment time; a stretch with no flips runs in real time after two frames' worth.
    (A wall clock the test steps, so a loaded machine does not change the frames.)"""
    import psychopy.clock

    from rigconsole.session.warp import TimeWarp

    wall = [100.0]
    warp = TimeWarp("max", frame_hz=60, wall_clock=lambda: wall[0])
    with warp:
        times = []
        for i in range(60):
            wall[0] += 0.002 if i % 2 else 0.004  # frames of 2 and 4 ms: 3 ms on average
            warp.on_flip()
            times.append(psychopy.clock.getTime())
        steps = [b - a for a, b in zip(times[30:], times[31:])]
        assert statistics.mean(steps) == pytest.approx(1 / 60, rel=0.1)  # one period a flip
        assert warp.rate == pytest.approx((1 / 60) / 0.003, rel=0.15)  # about 5.6x
        # between flips: fast for two frames' worth, then real time (loading, core.wait)
        t0 = psychopy.clock.getTime()
        wall[0] += 0.5
        assert psychopy.clock.getTime() - t0 == pytest.approx(0.5 + 2 / 60 - 2 / 60 / warp.rate, abs=1e-6)
    assert 2.0 < warp.speed_reached < 2.6  # (60 frames + 0.5 s) of experiment time in 0.68 s
    # capped: a frame that costs nothing runs at MAX_RATE, never faster
    fast = TimeWarp("max", frame_hz=60, wall_clock=lambda: wall[0])
    with fast:
        for _ in range(50):
            wall[0] += 1e-7
            fast.on_flip()
        assert fast.rate == TimeWarp.MAX_RATE


FRAMES_AND_SECONDS = """
from psychopy import visual, data, core

expName = 'timed'
expInfo = {'participant': 'p', 'date|hid': '', 'expName|hid': expName}

def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name=expName, extraInfo=expInfo, dataFileName=f"{dataDir}/{expName}")

def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    import time
    for kind in ('frames', 'seconds', 'wait'):
        clock, wall0 = core.Clock(), time.perf_counter()
        if kind == 'frames':
            for _ in range(120):       # 2 s at 60 Hz, counted in frames
                win.flip()
        elif kind == 'seconds':
            timer = core.CountdownTimer(2.0)
            while timer.getTime() > 0:  # 2 s on a routine timer
                win.flip()
        else:
            core.wait(2.0)
        thisExp.addData('kind', kind)
        thisExp.addData('experiment_s', clock.getTime())
        thisExp.addData('wall_s', time.perf_counter() - wall0)
        thisExp.nextEntry()
"""


def _timed_session(tmp_path, make_session):
    root = tmp_path / "root"
    (root / "timed").mkdir(parents=True)
    (root / "timed" / "timed.py").write_text(FRAMES_AND_SECONDS)
    s = make_session(root, simulated_vsync_hz=60)
    assert s.addExperiment("timed/timed.py"), s.experiment_files["timed/timed.py"].error
    return s


def test_routines_in_frames_and_in_seconds_end_n_times_sooner_then_a_real_run_keeps_real_time(tmp_path, make_session):
    """A warped dry run (10x), then a real run in the same session: the real run's clocks and
    frames keep the wall clock's pace (nothing of the warp leaks)."""
    import psychopy.clock

    from rigconsole.session.qa import dry_run

    orig = psychopy.clock.getTime
    s = _timed_session(tmp_path, make_session)
    report = dry_run(s, "timed/timed.py", {"participant": "w"}, speed=10)
    assert report.outcome == "completed", report.to_text()
    rows = {r["kind"]: r for r in _csv_rows(s.run_records[-1])}
    for kind in ("frames", "seconds", "wait"):
        exp_s, wall_s = float(rows[kind]["experiment_s"]), float(rows[kind]["wall_s"])
        # 2 s of the experiment's own time, never less; more on a loaded machine (a frame drawn late
        # is dropped at 600 Hz, a 10 ms sleep of core.wait that wakes late is 10x late)
        assert exp_s > 1.95 and exp_s == pytest.approx(10 * wall_s, rel=0.15), (kind, exp_s, wall_s)
        assert rows[kind]["time_warp"] == "10x"  # the data say they were time-warped
    assert report.speed == "10x" and report.speed_reached > 4
    assert report.experiment_s > 5.5 and report.wall_s < report.experiment_s / 3
    assert "speed 10x" in report.to_text()

    # a real run after it, same session, same window: real time
    assert psychopy.clock.getTime is orig
    assert s.frame_budget.refresh_hz == 60
    assert s.runExperiment("timed/timed.py", {"participant": "real"})
    rows = {r["kind"]: r for r in _csv_rows(s.run_records[-1])}
    for kind in ("frames", "seconds", "wait"):
        exp_s, wall_s = float(rows[kind]["experiment_s"]), float(rows[kind]["wall_s"])
        assert exp_s == pytest.approx(wall_s, abs=0.05), kind  # the clock against the wall clock
        assert exp_s == pytest.approx(2.0, abs=0.25), kind
        assert "time_warp" not in rows[kind]
    assert s.run_records[-1].frame_stats["refresh_hz"] == 60


# ------------------------------------------------------- RTs in the experiment's own time
def _gonogo_rts(s, speed, participant):
    from rigconsole.session.qa import dry_run

    report = dry_run(
        s, "gonogo/gonogo.py", {"participant": "rt01", "nTrials": 30}, participant=participant, speed=speed
    )
    assert report.outcome == "completed", report.to_text()
    rows = [r for r in _csv_rows(s.run_records[-1]) if r.get("key") == "space"]
    recorded = [float(r["rt"]) for r in rows]
    drawn = [a["rt_drawn"] for a in participant.actions if a["kind"] == "key_press"]
    return report, recorded, drawn


def test_warped_and_real_time_dry_runs_give_the_participants_rts(tmp_path, make_session):
    """The bundled go/no-go at 10x and at 1x, the same simulated participant (median RT 0.40 s,
    log-normal sigma 0.2): in both, the RTs in the data (the experiment's own time) are the
    participant's drawn RTs plus at most about a frame, and their median is the participant's."""
    from rigconsole.session.simulate import SimulatedParticipant

    root = tmp_path / "res"
    shutil.copytree(REPO / "resources" / "experiments" / "gonogo", root / "gonogo")
    s = make_session(root, simulated_vsync_hz=60)
    assert s.addExperiment("gonogo/gonogo.py"), s.experiment_files["gonogo/gonogo.py"].error
    settings = dict(rt_median_s=0.40, rt_sigma=0.2, max_wait_s=0.6)
    results = {}
    for speed in (10, 1):
        report, recorded, drawn = _gonogo_rts(s, speed, SimulatedParticipant(seed=5, **settings))
        n = min(len(recorded), len(drawn))
        assert n >= 15, (speed, n)
        lags = [r - d for r, d in zip(recorded[:n], drawn[:n])]
        assert -0.005 < statistics.median(lags) < 0.04, (speed, lags)  # the flip after the press time
        assert statistics.median(recorded) == pytest.approx(0.40, rel=0.12), (speed, recorded)
        results[speed] = (report, recorded)
    warped, real = results[10][1], results[1][1]
    assert statistics.median(warped) == pytest.approx(statistics.median(real), abs=0.04)
    assert statistics.pstdev(warped) == pytest.approx(statistics.pstdev(real), abs=0.04)
    assert results[10][0].wall_s < results[1][0].wall_s / 3
