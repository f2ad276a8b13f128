"""The frame pump's time budget: what the console is told it may spend, the flip margin, overruns."""
from __future__ import annotations

import math
import time


def test_time_left_is_inf_outside_a_pump_and_bounded_inside(exp_root, make_session):
    s = make_session(exp_root, scan=True, simulated_vsync_hz=60)
    hook = s.frame_hook
    assert hook.time_left() == math.inf
    seen = []
    hook.pump = lambda budget_s: seen.append((budget_s, hook.time_left()))
    assert s.runExperiment("simple/simple.py", {"participant": "p", "nTrials": 20})
    assert len(seen) >= 20
    for budget, left in seen:
        assert 0 < left <= budget <= hook.budget_s + 1e-9
    assert hook.time_left() == math.inf


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
    late = budgets[len(budgets) // 2:]
    assert late and max(late) < 1 / 60 - 0.008


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
