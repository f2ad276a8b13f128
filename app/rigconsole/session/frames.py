"""The frame pump: one event loop for the stimulus window and the console.

Experiments (Builder's and plain scripts) are blocking loops that call
``win.flip()`` once per frame on the main thread. The console's Qt/asyncio loop
lives on the same thread, so it only runs when the experiment lets it. The
:class:`FrameHook` wraps the session window's ``flip`` so that on every flip it

1. lets the console process its pending events (``pump(budget_s)``) in the
   slack the experiment leaves before the vertical blank,
2. records the frame interval (for dropped-frame statistics),
3. runs the session's per-frame work (main-thread command queue, status),
4. serves the console briefly after the flip too when it was last served
   over half a refresh period ago (see
   :attr:`FrameHook.AFTER_FLIP_SERVE_PERIODS`), and
5. makes PsychoPy's GL context current again after each pump.

Stretches with no flips (an experiment loading stimuli, reading a conditions
file, saving, waiting in ``core.wait``) would stall the console.
:class:`.stall.StallGuard` covers them, under an explicit rule of where it may
serve and what console code may then touch (see :mod:`.stall`). It is only
active while a run is in progress.

Console work that cannot be split (a plot redraw) asks :meth:`FrameHook.time_left`
before it starts. The HDF5 writer thread, which holds the GIL while h5py
writes, waits for the main thread to wait for the vertical blank
(:meth:`FrameHook.wait_for_vsync_wait`).

Under Xvfb there is no vsync; ``simulated_vsync_hz`` makes ``flip`` return on
the next tick of a fixed-rate grid, as a real display's vertical blank would.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import numpy as np

from ..frame_budget import IDLE
from .stall import StallGuard

__all__ = ["FrameHook", "StallGuard", "FrameStats", "frame_stats"]

log = logging.getLogger(__name__)

Pump = Callable[[float], None]


class FrameStats(dict):
    """Frame statistics: ``n_frames``, ``dropped_frames``, ``p50_ms``, ``p99_ms``, ``max_ms``, ``refresh_hz``."""


def frame_stats(intervals_s: np.ndarray | list[float], refresh_hz: float) -> FrameStats:
    """Summarise frame intervals.

    A dropped frame is an interval longer than 1.5 refresh periods; an interval
    of k periods counts ``round(interval / period) - 1`` dropped frames (the
    convention of PsychoPy's ``Window.nDroppedFrames`` with
    ``refreshThreshold = 1.5 / rate``, counting each missed refresh).

    Args:
        intervals_s: flip-to-flip intervals, seconds, shape (n,).
        refresh_hz: the display's refresh rate, Hz.
    """
    arr = np.asarray(intervals_s, dtype=float)
    period = 1.0 / refresh_hz
    if arr.size == 0:
        return FrameStats(
            n_frames=0, dropped_frames=0, p50_ms=math.nan, p99_ms=math.nan, max_ms=math.nan, refresh_hz=refresh_hz
        )
    late = arr[arr > 1.5 * period]
    dropped = int(np.sum(np.maximum(np.rint(late / period) - 1, 1))) if late.size else 0
    return FrameStats(
        n_frames=int(arr.size),
        dropped_frames=dropped,
        p50_ms=float(np.percentile(arr, 50) * 1e3),
        p99_ms=float(np.percentile(arr, 99) * 1e3),
        max_ms=float(arr.max() * 1e3),
        refresh_hz=refresh_hz,
    )


class FrameHook:
    """Wraps a PsychoPy ``Window.flip`` with the console's per-frame work.

    Args:
        on_frame: called after every flip with the flip's return time
            (``time.perf_counter()`` seconds); may raise to abort a run.
        pump: the console's event pump, ``pump(budget_s)``; ``None`` when
            there is no UI (CLI runs).
        budget_s: time the pump may take per frame, seconds. With a 60 Hz
            display an experiment has ~16.7 ms per frame; the default 4 ms
            leaves it ~12 ms to draw.
        simulated_vsync_hz: when set, ``flip`` returns on the next tick of a
            fixed grid at this rate (for displays with no vsync, e.g. Xvfb).
    """

    def __init__(
        self,
        on_frame: Callable[[float], None],
        pump: Pump | None = None,
        budget_s: float = 0.004,
        simulated_vsync_hz: float | None = None,
        submit: Callable[..., Future] | None = None,
    ):
        self.on_frame = on_frame
        self._submit = submit
        self.pump = pump
        self.budget_s = budget_s
        self.simulated_vsync_hz = simulated_vsync_hz
        self.win = None
        self._orig_flip: Callable[..., Any] = _not_hooked
        self.recording = False
        self.intervals: list[float] = []
        self._last_flip: float | None = None
        self._last_vsync: float | None = None
        #: least time kept free before each vertical blank for PsychoPy's own flip, seconds;
        #: the margin used is the larger of this and the flips measured (see :attr:`margin`)
        self.margin_s = 0.004
        self._flip_s: deque[float] = deque(maxlen=60)
        self._margin = self.margin_s
        #: frames whose before-flip pump ran past the vertical blank (the console cost the frame)
        self.overruns = 0
        self._switch_interval: float | None = None
        # set while the main thread waits for the vertical blank (and needs no GIL),
        # which comes at ``_quiet_until`` (perf_counter seconds)
        self._waiting_for_vsync = threading.Event()
        self._quiet_until = 0.0
        #: when the console is served: "after_flip" (at the start of each frame, up to
        #: ``budget_s``) or "before_flip" (in the slack left before the vertical blank)
        self.pump_phase = os.environ.get("RIGCONSOLE_PUMP_PHASE", "before_flip")
        self._pumping = False
        #: ``time.perf_counter()`` by which the running pump must hand back (``inf``: no pump running)
        self.deadline = math.inf
        self.guard = StallGuard(self.pump_now)
        self._last_served = time.perf_counter()  # when a pump last handed back
        self._warp = None  # a dry run's time warp (.warp.TimeWarp), or None
        # the before-swap step (the subject-screen preview's read-back), see set_before_swap
        self._before_swap: Callable[[Any, float, bool], None] | None = None
        self._this_blank: float | None = None  # the blank the frame being flipped goes out at

    # -- the frame-budget port (rigconsole.frame_budget.FrameBudget) -----------
    @property
    def running(self) -> bool:
        """``True`` while a run's frames are being recorded (frames matter now)."""
        return self.recording

    def wait_for_quiet(self, timeout_s: float, need_s: float = 0.0) -> bool:
        """The port's name for :meth:`wait_for_vsync_wait` (worker threads only)."""
        return self.wait_for_vsync_wait(timeout_s, need_s)

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Queue ``fn(*args, **kwargs)`` for the main thread (thread-safe): the session's
        command queue, drained at every flip and by the console's event loop.
        With no queue given at construction, runs it at once (as :data:`IDLE` does)."""
        if self._submit is None:
            return IDLE.submit(fn, *args, **kwargs)
        return self._submit(fn, *args, **kwargs)

    def set_before_swap(self, fn: Callable[[Any, float, bool], None] | None) -> None:
        """Call ``fn(win, room_s, recording)`` inside each flip, right before the buffer swap: the
        back buffer then holds the frame this flip shows, complete (PsychoPy's ``autoDraw``
        stimuli and its frame buffer object drawn). ``room_s`` is :meth:`swap_room`; ``fn`` must
        take less (the subject-screen preview's read-back, :mod:`.preview`). ``None``: no step.

        It wraps the window's ``backend.swapBuffers`` on the instance, as :meth:`attach` wraps
        ``flip``; a step that raises is logged once and switched off.
        """
        self._before_swap = fn
        if self.win is not None:
            self._wrap_swap(self.win)

    def swap_room(self) -> float:
        """Seconds work may take now, inside a flip before its swap, without costing the frame:
        the time to this frame's vertical blank less the flip's :attr:`margin` (the whole flip's
        measured cost, kept for what is left of it). ``0.0`` when the blank is not known (the
        first flip, a ``"max"`` time warp)."""
        blank = self._this_blank
        if blank is None:
            return 0.0
        return blank - self._margin - time.perf_counter()

    def _wrap_swap(self, win: Any) -> None:
        backend = getattr(win, "backend", None)
        if backend is None or "swapBuffers" in vars(backend):
            return
        real = backend.swapBuffers

        def swap(*args: Any, **kwargs: Any) -> Any:
            step = self._before_swap
            if step is not None:
                try:
                    step(win, self.swap_room(), self.recording)
                except Exception:  # the console's step: never the experiment's error, and not again
                    self._before_swap = None
                    log.exception("the before-swap step failed; it is off until set again")
            return real(*args, **kwargs)

        backend.swapBuffers = swap

    def set_pump(self, pump: Pump | None) -> None:
        """Serve this console pump, ``pump(budget_s)``, between frames (``None``: no console)."""
        self.pump = pump

    # -- installation -------------------------------------------------------
    def attach(self, win: Any) -> None:
        """Install on ``win`` (replaces ``win.flip`` on the instance)."""
        if self.win is win:
            return
        self.detach()
        self.win = win
        self._orig_flip = win.flip
        win.flip = self._flip
        if self.simulated_vsync_hz:
            win._monitorFrameRate = float(self.simulated_vsync_hz)
        if self._before_swap is not None:
            self._wrap_swap(win)

    def set_time_warp(self, warp) -> None:
        """Pace flips for a dry run's time warp (:class:`.warp.TimeWarp`; ``None``: real time again).

        While it is set the vertical blank is simulated, ``warp.wall_hz()`` times per wall
        second (a ``"max"`` warp's blank does not wait), :attr:`refresh_hz` is that wall
        rate (frame statistics are in wall time), and the warp hears of every flip. On a
        real display the window's own vsync is switched off meanwhile and back on after.
        """
        if warp is self._warp:
            return
        self._warp = warp
        self._last_vsync = None  # a new grid
        self._flip_s.clear()
        self._margin = self.margin_s
        if not self.simulated_vsync_hz and self.win is not None:
            try:
                self.win.winHandle.set_vsync(warp is None)
            except Exception:  # a backend without it: flips then wait for the real blank
                log.debug("could not switch the window's vsync", exc_info=True)

    def detach(self) -> None:
        if self.win is not None:
            self.win.__dict__.pop("flip", None)
            backend = getattr(self.win, "backend", None)
            if backend is not None:
                vars(backend).pop("swapBuffers", None)
        self.win = None
        self._orig_flip = _not_hooked

    #: serve the console after a flip when it was last served longer ago than this many
    #: refresh periods. The next frame may miss its blank (a slow draw or swap), and
    #: the console cannot be served inside it (GL code, or the swap blocking in C):
    #: the console then goes unserved from its last pump to the end of that late
    #: frame, two periods from this flip. Served here when it was last served more
    #: than half a period ago, that is at most 2.5 periods (42 ms at 60 Hz) plus the
    #: machine's wake-up latency; at 1.2 periods (sessions 4-5) such stretches reached
    #: 50-65 ms in traces of the frame benchmark (docs/performance.md). A pump before
    #: the flip that ran until the frame's margin leaves no such pump to do.
    AFTER_FLIP_SERVE_PERIODS = 0.5
    #: the after-flip pump's budget, seconds: short, since it takes its time from the
    #: drawing of the next frame. Timers, input and the session's announcements are
    #: handled; a repaint or plot redraw that does not fit in it (``time_left()``)
    #: waits for a frame's slack.
    AFTER_FLIP_BUDGET_S = 0.001
    #: after a frame with no slack (last served more than this many periods ago) the
    #: after-flip pump is the only one that frame gets: it may take
    #: :attr:`SLACKLESS_BUDGET_S`. One such frame is enough (at 1.5, a slack-less
    #: frame then a late one left the console unserved for 3 periods); an experiment
    #: with no slack in any frame gets this pump after every flip.
    SLACKLESS_PERIODS = 1.2
    SLACKLESS_BUDGET_S = 0.003

    # -- recording ------------------------------------------------------------
    #: the interpreter's GIL switch interval during a run, seconds (Python's default: 0.005)
    RUN_SWITCH_INTERVAL_S = 0.001

    def start_recording(self) -> None:
        """Start a run's frame record. While it lasts, a thread holding the GIL
        (the HDF5 writer) hands it back to the experiment after at most
        :attr:`RUN_SWITCH_INTERVAL_S` instead of Python's 5 ms."""
        self.intervals = []
        self._last_flip = None
        self.overruns = 0
        if self._switch_interval is None:
            self._switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(self.RUN_SWITCH_INTERVAL_S)
        self.recording = True

    def stop_recording(self) -> list[float]:
        self.recording = False
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None
        out, self.intervals = self.intervals, []
        return out

    @property
    def refresh_hz(self) -> float:
        """The vertical blank's rate, Hz of wall time (under a time warp: the warped rate)."""
        warp = self._warp
        if warp is not None:
            return warp.wall_hz() or warp.frame_hz * warp.rate
        if self.simulated_vsync_hz:
            return float(self.simulated_vsync_hz)
        rate = getattr(self.win, "_monitorFrameRate", None) if self.win is not None else None
        return float(rate) if rate else 60.0

    # -- the per-frame work -------------------------------------------------
    def _wait_vsync(self, blank: float | None) -> float:
        """Sleep until ``blank``, the simulated vsync's next tick; return it.

        The ticks form a fixed grid from the first flip (``None``: this is the
        first, it starts the grid now): :meth:`_next_blank` counts whole
        periods from the last tick.
        """
        if blank is None:
            return time.perf_counter()
        delay = blank - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        return blank

    def pump_now(self, budget_s: float | None = None, room_until: float | None = None) -> None:
        """Let the console process events, then give PsychoPy its GL context back.

        Args:
            budget_s: how long the pump may process events, seconds (default ``budget_s``).
            room_until: ``perf_counter()`` time until which console work costs the
                experiment nothing (the flip's slack: the blank less the flip's margin);
                work gated by :meth:`time_left` may use it. Default: the end of the budget.
        """
        pump = self.pump
        if pump is None or self._pumping:
            # never nest: console code run by the pump (e.g. a plot's paint) is
            # Python the stall guard sees; pumping again inside it breaks Qt
            return
        self._pumping = True
        budget = self.budget_s if budget_s is None else budget_s
        self.deadline = time.perf_counter() + budget if room_until is None else room_until
        try:
            pump(budget)
        finally:
            self._pumping = False
            self.deadline = math.inf
            self.restore_context()
            self._last_served = time.perf_counter()
            self.guard.served()

    def wait_for_vsync_wait(self, timeout_s: float, need_s: float = 0.0) -> bool:
        """Block (another thread) until the main thread waits for a vertical blank
        with at least ``need_s`` seconds of the wait left.

        For background work that holds the GIL (h5py writes): done while the
        experiment waits for the blank, it does not delay the drawing of a
        frame. Returns at once when no run is being recorded; ``False`` after
        ``timeout_s`` seconds with no such wait seen.
        """
        if not self.recording:
            return True
        deadline = time.perf_counter() + timeout_s
        while True:
            left = deadline - time.perf_counter()
            if left <= 0 or not self._waiting_for_vsync.wait(left):
                return False
            room = self._quiet_until - time.perf_counter()
            if room >= need_s:
                return True
            # too little of this wait is left: let this frame go, try the next
            time.sleep(max(0.0, min(room + 0.0005, deadline - time.perf_counter())))

    def serve_if_due(self, after_s: float = 0.01) -> None:
        """Serve the console now if it has not been served for ``after_s`` seconds.

        For the session's own long steps with no flips (a run's wrap-up:
        saving data, flushing PsychoPy's log), called between them, where no
        lock is held and nothing is being drawn.
        """
        if time.perf_counter() - self._last_served > after_s:
            self.pump_now()

    def time_left(self) -> float:
        """Seconds the console may still take before it costs the experiment a frame.

        Console work that cannot be split (a plot redraw) asks before it
        starts and waits for a pump with room when the answer is too small.
        In a pump before the flip this is the frame's whole slack (the blank
        less the flip's margin), which may be more than the pump's event
        budget: the budget bounds how long events are processed, not what a
        measured piece of work may use. After the flip (the next frame's
        drawing is still to come) it is the pump's budget. ``inf`` when no
        pump is running (the console's own event loop runs: no experiment is
        flipping).
        """
        return self.deadline - time.perf_counter()

    def restore_context(self) -> None:
        win = self.win
        if win is None or getattr(win, "_closed", False):
            return
        try:
            # make PsychoPy's context current again; its state (bound FBO,
            # textures) belongs to the context and is kept
            from psychopy.visual import globalVars

            win.winHandle.switch_to()
            globalVars.currWindow = win
        except Exception:
            log.debug("could not restore the GL context", exc_info=True)

    @property
    def margin(self) -> float:
        """Time kept free before each vertical blank for PsychoPy's flip, seconds.

        Under a simulated vsync: the 90th percentile of the last 60 measured
        flips (PsychoPy's ``win.flip`` up to its return, the swap included)
        plus 1 ms, at least :attr:`margin_s` and at most half a refresh
        period. On a real display the swap blocks until the blank, so a
        flip's cost cannot be told from its wait: :attr:`margin_s`.
        """
        return self._margin

    def _note_flip(self, seconds: float) -> None:
        times = self._flip_s
        times.append(seconds)
        if len(times) >= 10:
            p90 = sorted(times)[int(0.9 * (len(times) - 1))]
            self._margin = min(max(self.margin_s, p90 + 0.001), 0.5 / self.refresh_hz)

    def _next_blank(self, now: float) -> float | None:
        """The vertical blank this flip will be shown at (``perf_counter`` seconds).

        The one after the last flip; when the experiment calls ``flip`` after
        that blank has passed, the frame is already late and goes out at the
        following blank, so the time until then is the console's to use too.
        """
        last = self._last_vsync
        if last is None or (self._warp is not None and self._warp.is_max):
            return None
        period = 1.0 / self.refresh_hz
        blank = last + period
        if now > blank:
            blank += period * math.ceil((now - blank) / period)
        return blank

    def _flip(self, *args: Any, **kwargs: Any) -> Any:
        # Serve the console in the time the experiment leaves before the next
        # vertical blank (it has drawn its frame and would only wait), never
        # longer than ``budget_s``; an experiment that used its whole frame
        # gets no pump here, and the stall guard serves the console if frames
        # stop coming.
        if self._before_swap is not None:
            self._this_blank = self._next_blank(time.perf_counter())
        if self.pump_phase == "before_flip":
            now = time.perf_counter()
            blank = self._next_blank(now)
            # the slack: time left before this frame's blank, less the flip's margin
            slack = blank - now - self._margin if blank is not None else 0.0
            if blank is not None and slack > 0.001:
                self.pump_now(min(slack, self.budget_s), room_until=blank - self._margin)
                if time.perf_counter() > blank:
                    self.overruns += 1
        try:
            if self.simulated_vsync_hz or self._warp is not None:
                t_flip = time.perf_counter()
                result = self._orig_flip(*args, **kwargs)
                now = time.perf_counter()
                self._note_flip(now - t_flip)
                blank = self._next_blank(now)
                self._quiet_until = blank or 0.0
                self._waiting_for_vsync.set()
                blank = self._wait_vsync(blank)
            else:
                # a real display: the swap inside PsychoPy's flip waits for the
                # blank, so its duration is not the flip's cost: the margin
                # stays at ``margin_s``
                self._quiet_until = self._next_blank(time.perf_counter()) or 0.0
                self._waiting_for_vsync.set()
                result = self._orig_flip(*args, **kwargs)
                blank = None
        finally:
            self._waiting_for_vsync.clear()
        now = time.perf_counter()
        # the blank this frame went out at: under a simulated vsync the grid's
        # tick (the sleep returns late by up to several ms on a busy machine,
        # and a blank taken from it would promise the next frame time it does
        # not have); on a real display, when the swap returned
        self._last_vsync = blank if blank is not None else now
        if self.recording:
            if self._last_flip is not None:
                self.intervals.append(now - self._last_flip)
            self._last_flip = now
        if self._warp is not None:
            self._warp.on_flip()
        self.on_frame(now)
        if self.pump_phase == "after_flip":
            self.pump_now()
        else:
            unserved = (time.perf_counter() - self._last_served) * self.refresh_hz  # periods
            if unserved > self.AFTER_FLIP_SERVE_PERIODS:
                budget = self.SLACKLESS_BUDGET_S if unserved > self.SLACKLESS_PERIODS else self.AFTER_FLIP_BUDGET_S
                self.pump_now(min(self.budget_s, budget))
        return result


def _not_hooked(*_args: Any, **_kwargs: Any) -> Any:
    """The stimulus window's flip while no window is hooked (never called then)."""
    raise RuntimeError("the frame pump is not hooked to a stimulus window")
