"""The frame pump's time budget: what the console is told it may spend, the flip margin, overruns."""

from __future__ import annotations

import math
import time

import pytest


@pytest.mark.timing
def test_time_left_is_inf_outside_a_pump_and_bounded_inside(exp_root, make_session):
    s = make_session(exp_root, scan=True, simulated_vsync_hz=60)
    hook = s.frame_hook
    assert hook.time_left() == math.inf
    seen = []
    hook.pump = lambda budget_s: seen.append((budget_s, hook.time_left()))
    assert s.runExperiment("simple/simple.py", {"participant": "p", "nTrials": 20})
    assert len(seen) >= 20
    for budget, left in seen:
        # a pump processes events for at most its budget; measured work may use the
        # frame's slack, which is never more than a refresh period less the flip's margin
        assert 0 < budget <= hook.budget_s + 1e-9
        assert 0 < left < 1 / 60 - hook.margin_s + 1e-9
    assert any(left > budget + 0.002 for budget, left in seen), "the slack is offered beyond the budget"
    assert hook.time_left() == math.inf


@pytest.mark.timing
def test_margin_follows_the_measured_flip(exp_root, make_session):
    """A slow swap (7 ms here) leaves the console less of each frame, never more than half of it."""
    s = make_session(exp_root, scan=True, simulated_vsync_hz=60)
    hook = s.frame_hook
    real_flip = hook._orig_flip

    def slow_flip(*a, **k):
        time.sleep(0.007)
        return real_flip(*a, **k)

    budgets = []
    hook._orig_flip = slow_flip
    hook.pump = lambda budget_s: budgets.append(hook.time_left())
    assert s.runExperiment("simple/simple.py", {"participant": "p", "nTrials": 30})
    assert 0.008 <= hook.margin <= 0.5 / 60 + 1e-9
    # once measured, the pump only gets what is left after the margin
    late = budgets[len(budgets) // 2 :]
    assert late and max(late) < 1 / 60 - 0.008


@pytest.mark.timing
def test_pump_running_past_the_vertical_blank_counts_as_an_overrun(exp_root, make_session):
    s = make_session(exp_root, scan=True, simulated_vsync_hz=60)
    s.frame_hook.pump = lambda budget_s: None
    assert s.runExperiment("simple/simple.py", {"participant": "p", "nTrials": 10})
    assert s.run_records[-1].frame_stats["console_overruns"] == 0

    s.frame_hook.pump = lambda budget_s: time.sleep(0.02)  # ignores its budget
    assert s.runExperiment("simple/simple.py", {"participant": "p", "nTrials": 10})
    stats = s.run_records[-1].frame_stats
    assert stats["console_overruns"] >= 3
    assert stats["dropped_frames"] >= stats["console_overruns"] - 1  # the first frame has no interval


@pytest.mark.timing
def test_background_writers_are_let_in_while_the_main_thread_waits_for_the_blank(exp_root, make_session):
    import threading

    s = make_session(exp_root, scan=True, simulated_vsync_hz=60)
    hook = s.frame_hook
    assert hook.wait_for_vsync_wait(0.0) is True  # no run: never waits
    waits = []
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            if hook.recording:
                t0 = time.perf_counter()
                ok = hook.wait_for_vsync_wait(0.5, need_s=0.004)
                room = hook._quiet_until - time.perf_counter()
                waits.append((ok, time.perf_counter() - t0, room))
                time.sleep(0.02)
            else:
                time.sleep(0.001)

    th = threading.Thread(target=writer)
    th.start()
    try:
        assert s.runExperiment("simple/simple.py", {"participant": "p", "nTrials": 20})
    finally:
        stop.set()
        th.join(5)
    # while frames are flipped, a writer is let in within a frame; a run's stretches
    # with no flips (stimuli being made before the first frame) make it wait longer
    let_in = sorted(dt for ok, dt, _ in waits if ok)
    assert len(let_in) >= 10
    assert let_in[len(let_in) // 2] < 2 / 60
    # ... with the time it asked for still left before the blank (give or take the thread's wake-up)
    rooms = sorted(room for ok, _, room in waits if ok)
    assert rooms[len(rooms) // 10] > 0.003
    assert not hook._waiting_for_vsync.is_set()  # cleared when the run is over


def test_simulated_blanks_stay_on_the_vsync_grid_when_the_sleep_wakes_late(monkeypatch):
    """A busy machine wakes the vsync sleep late; the next frame's blank (and so the
    console's deadline) must still be the grid's tick, not the late wake-up + a period."""
    from rigconsole.session import frames

    class Win:
        def flip(self, *a, **k):
            return None

    hook = frames.FrameHook(lambda now: None, simulated_vsync_hz=60)
    hook.attach(Win())
    real_sleep = time.sleep
    monkeypatch.setattr(frames.time, "sleep", lambda s: real_sleep(s + 0.004))  # 4 ms late every time
    period = 1 / 60
    hook.win.flip()  # the first flip starts the grid
    tick0 = hook._last_vsync
    for _ in range(8):
        hook.win.flip()
        ticks = (hook._last_vsync - tick0) / period
        assert abs(ticks - round(ticks)) < 1e-6
        assert time.perf_counter() - hook._last_vsync >= 0.0035  # woke late, the blank did not move
    blank = hook._next_blank(time.perf_counter())
    ticks = (blank - tick0) / period
    assert abs(ticks - round(ticks)) < 1e-6


_NO_FLIPS = '''
"""Sets up for 0.5 s with no flips (a conditions file, stimuli), then runs a few frames."""
import time
from psychopy import data, visual
from psychopy.constants import STARTED

expName = "noflips"
expInfo = {"participant": "p", "date|hid": "", "expName|hid": expName}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name=expName, extraInfo=expInfo, savePickle=False, saveWideText=False,
                                  dataFileName=f"{dataDir}/data/{expName}")


def prepare(seconds):
    total, t_end = 0, time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        total += sum(i * i for i in range(200))
    return total


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    thisExp.status = STARTED
    prepare(0.5)
    stim = visual.TextStim(win, text="x")
    for _ in range(5):
        stim.draw()
        win.flip()
'''


def _one_script_session(tmp_path, make_session, name, source):
    """A session (simulated 60 Hz vsync) whose root holds one script, ``name/name.py``,
    and whose console pump only records when it is called; returns ``(session, served)``."""
    root = tmp_path / "root"
    (root / name).mkdir(parents=True)
    (root / name / f"{name}.py").write_text(source)
    s = make_session(root, scan=True, simulated_vsync_hz=60)
    served: list[float] = []
    s.frame_hook.pump = lambda budget_s: served.append(time.perf_counter())
    return s, served


@pytest.mark.timing
def test_stall_guard_serves_the_console_while_an_experiment_sets_up_without_flipping(tmp_path, make_session):
    """Half a second of Python with no flips: the console is still served every few tens of ms,
    and when the run is over the guard's timer is off and SIGALRM is back to what it was."""
    import signal

    s, served = _one_script_session(tmp_path, make_session, "noflips", _NO_FLIPS)
    handler = signal.getsignal(signal.SIGALRM)
    t0 = time.perf_counter()
    assert s.runExperiment("noflips/noflips.py", {"participant": "p"})
    during = [t for t in served if t0 + 0.1 < t < t0 + 0.45]  # inside prepare(), past the run's start-up
    gaps = [b - a for a, b in zip(during, during[1:])]
    assert len(during) >= 6, served
    assert max(gaps) < 0.1, gaps
    assert s.frame_hook.guard.interruptions >= 6
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) == handler


_RECORDS_ENTRY = """
import time

from psychopy import data, visual
from psychopy.constants import STARTED

expName = "entry"
expInfo = {"participant": "p"}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name=expName, extraInfo=expInfo, savePickle=False, saveWideText=False,
                                  dataFileName=f"{dataDir}/data/{expName}")


def run(expInfo, thisExp, win, globalClock=None):
    thisExp.addData("entered", time.perf_counter())
    thisExp.nextEntry()
    thisExp.status = STARTED
    stim = visual.TextStim(win, text="x")
    for _ in range(3):
        stim.draw()
        win.flip()
"""


def test_the_console_is_served_once_the_run_is_running_before_the_experiment_draws(tmp_path, make_session):
    """Between the run's RUNNING announcement and the experiment's ``run()`` there is no flip;
    the console is served there, so its state shows before the experiment's first frame,
    whose first draw (textures made) may miss two blanks."""
    s, served = _one_script_session(tmp_path, make_session, "entry", _RECORDS_ENTRY)
    running, rows = [], []
    s.events.run_state_changed.connect(
        lambda rec: running.append(time.perf_counter()) if rec.state == "running" else None
    )
    s.events.trial_added.connect(lambda rec, row: rows.append(row))
    assert s.runExperiment("entry/entry.py", {"participant": "p"})
    entered = rows[0]["entered"]
    assert running and running[0] < entered
    assert any(running[0] < t < entered for t in served), (running, entered, served)


def test_stall_guard_stays_off_when_the_experiment_owns_sigalrm(tmp_path, make_session):
    """An experiment process whose own SIGALRM handler is set keeps it: no guard for that run."""
    import signal

    s, _ = _one_script_session(tmp_path, make_session, "noflips", _NO_FLIPS)
    mine = []
    previous = signal.signal(signal.SIGALRM, lambda *a: mine.append(1))
    try:
        assert s.runExperiment("noflips/noflips.py", {"participant": "p"})
        assert s.frame_hook.guard.interruptions == 0 and not mine
        assert signal.getsignal(signal.SIGALRM) is not signal.SIG_DFL
    finally:
        signal.signal(signal.SIGALRM, previous)


def _virtual_frame_loop(monkeypatch, pump_s=None):
    """A FrameHook on a virtual clock under a simulated 60 Hz vsync, with a console pump
    that takes ``pump_s`` seconds (``None``: all the budget it is given).

    Returns ``(frame, pumps, hook)``: ``frame(draw_s, flip_s)`` draws for ``draw_s`` and
    flips (PsychoPy's flip taking ``flip_s``); ``pumps`` collects ``(start, budget_s)``.
    """
    from types import SimpleNamespace

    from rigconsole.session import frames

    clock = SimpleNamespace(now=100.0)

    def sleep(seconds):
        clock.now += max(0.0, seconds)

    monkeypatch.setattr(frames, "time", SimpleNamespace(perf_counter=lambda: clock.now, sleep=sleep))
    flip_s = {"next": 0.0005}

    class Win:
        def flip(self, *a, **k):
            sleep(flip_s["next"])

    pumps = []

    def pump(budget_s):
        pumps.append((clock.now, budget_s))
        sleep(budget_s if pump_s is None else min(pump_s, budget_s))

    hook = frames.FrameHook(lambda now: None, pump=pump, simulated_vsync_hz=60)
    hook.attach(Win())
    hook.win.flip()

    def frame(draw_s, flip):
        sleep(draw_s)  # the experiment draws
        flip_s["next"] = flip
        hook.win.flip()

    return frame, pumps, hook


def test_one_frame_without_slack_is_enough_to_serve_the_console_after_its_flip(monkeypatch):
    """On a virtual clock: a frame whose pump used its whole budget, then a frame with no
    slack, then one that misses its blank. The console must not go unserved for three
    refresh periods (50 ms at 60 Hz) across that: it is served after the slack-less flip."""
    frame, pumps, hook = _virtual_frame_loop(monkeypatch)  # a busy console: takes all it is given
    period = 1 / 60
    for _ in range(10):
        for draw_s, flip in ((0.007, 0.0005), (0.0135, 0.0005), (0.015, 0.002)):
            frame(draw_s, flip)
    starts = [t for t, _ in pumps]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert len(starts) >= 20
    assert max(gaps) < 2.5 * period, [round(g / period, 2) for g in gaps]
    assert hook.overruns == 0


def test_a_light_console_is_served_after_the_flip_before_a_frame_that_misses_its_blank(monkeypatch):
    """On a virtual clock: a quick frame (its pump, with little to do, ends early in the
    slack), then a frame that draws until its blank has passed and flips with no slack left
    before the next: it goes out one blank late, and the console cannot be served inside it.
    Served after the quick frame's flip too, the console is never left unserved for more than
    2.5 periods (at 1.2 periods it was 2.8: 47 ms at 60 Hz, over 50 ms with any jitter). That
    extra pump is short: it takes its time from the next frame's drawing."""
    frame, pumps, hook = _virtual_frame_loop(monkeypatch, pump_s=0.0003)
    period = 1 / 60
    for _ in range(10):
        frame(0.003, 0.0005)
        frame(0.0295, 0.0005)
    starts = [t for t, _ in pumps]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert len(starts) >= 20
    assert max(gaps) < 2.5 * period, [round(g / period, 2) for g in gaps]
    budgets = sorted({round(b, 4) for _, b in pumps})
    assert budgets[0] == hook.AFTER_FLIP_BUDGET_S, budgets
    assert hook.overruns == 0
