"""A frame budget whose time left the test sets (rigconsole.frame_budget.FrameBudget)."""

from __future__ import annotations

import math

from rigconsole.frame_budget import IDLE


class ManualBudget:
    """``time_left()`` returns :attr:`left` (seconds; ``inf``: no run); the rest is IDLE's."""

    refresh_hz = 60.0

    def __init__(self, left: float = math.inf) -> None:
        self.left = left

    @property
    def running(self) -> bool:
        return math.isfinite(self.left)

    def time_left(self) -> float:
        return self.left

    def wait_for_quiet(self, timeout_s: float, need_s: float = 0.0) -> bool:
        return True

    def submit(self, fn, *args, **kwargs):
        return IDLE.submit(fn, *args, **kwargs)
