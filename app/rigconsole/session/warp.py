"""A time warp for dry runs: PsychoPy's clock runs N times faster than the wall clock.

A 25-minute experiment need not take 25 minutes to check. During a dry run a
:class:`TimeWarp` replaces PsychoPy's time base, ``psychopy.clock.getTime``,
which every PsychoPy clock reads through its module: ``core.getTime``,
``core.monotonicClock``, every ``Clock`` and ``CountdownTimer`` (Builder's
routine timers among them), ``core.wait``, ``event.waitKeys``, the keyboard's
and the mouse's timestamps (``psychopy.event`` stamps them with
``core.getTime()``) and the window's frame times. Experiment time then runs
``speed`` times faster than the wall clock, so routines timed in seconds end
N times sooner; the simulated vertical blank comes N times as often
(:meth:`wall_hz`, used by :class:`~.frames.FrameHook` and the compatibility
matrix's plain runner), so routines timed in frames end N times sooner too, and
the cost of drawing a frame is the real limit.

``speed="max"`` runs as fast as frames can be drawn: the simulated blank does
not wait, and after every flip (:meth:`on_flip`) the warp sets its rate so that
one flip takes one refresh period of experiment time (the rate follows a moving
average of the wall time per flip, within 1..:attr:`MAX_RATE`); a stretch with no
flips runs in real time after two periods (:attr:`TimeWarp.KNEE_FRAMES`).

Times an experiment records (RTs, onsets, ``globalClock``) are in its own time,
so a simulated participant's RTs look like a participant's. The warp is
continuous (experiment time never goes back while it is installed) and leaves
nothing behind: :meth:`uninstall` puts PsychoPy's own time base back, so a real
run after a dry run reads the real clock (a ``Clock`` made during the dry run
belongs to it and is not meant to be read after).

Usage::

    warp = TimeWarp(10, frame_hz=60)
    with warp:                         # install() ... uninstall()
        session.runExperiment(key, expInfo)
    warp.speed_reached                 # experiment seconds per wall second

Qt-free; imports psychopy only when installed.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable

__all__ = ["TimeWarp", "parse_speed", "active_warp", "format_speed", "MAX"]

log = logging.getLogger("rigconsole.warp")

#: the speed that runs as fast as frames can be drawn
MAX = "max"

_lock = threading.Lock()
_active: TimeWarp | None = None


def parse_speed(value: str | float | int | None) -> float | str:
    """A speed from the command line or a dialog: a number > 0 (``1`` is real time) or ``"max"``.

    Raises:
        ValueError: not a positive number nor ``"max"`` (a one-line message saying what to give).
    """
    if value is None:
        return 1.0
    if isinstance(value, str):
        text = value.strip().lower()
        if text == MAX:
            return MAX
        text = text[:-1] if text.endswith("x") else text  # "10x"
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"speed {value!r}: give a number above 0 (e.g. 10) or 'max'") from None
    else:
        number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"speed {value!r}: give a number above 0 (e.g. 10) or 'max'")
    return number


def format_speed(speed: float | str) -> str:
    """``"10x"``, ``"1x (real time)"``, ``"max"``."""
    if speed == MAX:
        return "max"
    return f"{float(speed):g}x" + (" (real time)" if float(speed) == 1.0 else "")


def active_warp() -> TimeWarp | None:
    """The installed warp, or ``None`` (a real run's time)."""
    return _active


def _not_installed() -> float:
    raise RuntimeError("the time warp is not installed")


class TimeWarp:
    """Experiment time running ``speed`` times faster than the wall clock (see the module doc).

    Args:
        speed: experiment seconds per wall second (> 0), or ``"max"``.
        frame_hz: the display's refresh rate in experiment time, Hz (the
            simulated blank comes at ``frame_hz * speed`` per wall second).
        wall_clock: the wall time base, s (default: PsychoPy's own ``psychopy.clock.getTime``
            as it was when installed; a test may give its own).

    Raises:
        ValueError: a speed that is neither a number > 0 nor ``"max"``.

    Attributes:
        speed: as given (a float or ``"max"``).
        frame_hz: as given.
        wall_s, experiment_s: after :meth:`uninstall`, the wall and experiment
            time it was installed for, s (while installed, the time so far).
    """

    #: the fastest a ``"max"`` warp runs (experiment s per wall s)
    MAX_RATE = 1000.0
    #: weight of the newest flip in a ``"max"`` warp's moving average of the wall time per flip
    EMA_WEIGHT = 0.2
    #: a ``"max"`` warp runs fast for this many refresh periods after a flip, then in real time
    #: until the next flip: a stretch with no flips (loading stimuli, ``core.wait``) is not
    #: sped up by a rate that was measured on frames
    KNEE_FRAMES = 2.0

    def __init__(
        self, speed: float | str = 1.0, *, frame_hz: float = 60.0, wall_clock: Callable[[], float] | None = None
    ):
        self.speed = parse_speed(speed)
        self.frame_hz = float(frame_hz) if frame_hz and frame_hz > 0 else 60.0
        self._rate = 1.0 if self.speed == MAX else float(self.speed)
        self._knee = math.inf  # wall seconds after the current piece's start that run at ``_rate``
        self._wall: Callable[[], float] = _not_installed  # the wall clock, once installed
        self._wall_clock = wall_clock
        self._orig = None
        self._wall0 = self._exp0 = 0.0  # the current linear piece: exp = _exp0 + (wall - _wall0) * _rate
        self._start_wall = self._start_exp = 0.0
        self._last_flip_wall: float | None = None
        self._ema: float | None = None
        self.wall_s = self.experiment_s = 0.0
        self.installed = False
        self._last_blank: float | None = None

    # ------------------------------------------------------------------ state
    @property
    def is_max(self) -> bool:
        return self.speed == MAX

    @property
    def rate(self) -> float:
        """Experiment seconds per wall second now."""
        return self._rate

    def wall_hz(self) -> float | None:
        """How often the simulated vertical blank comes per wall second; ``None`` for ``"max"``
        (it does not wait: the next flip is the next blank)."""
        if self.is_max:
            return None
        return self.frame_hz * float(self.speed)

    @property
    def speed_reached(self) -> float:
        """Experiment seconds per wall second over the warp so far (NaN before any time passed)."""
        wall, exp = self._elapsed()
        return exp / wall if wall > 0 else math.nan

    def _elapsed(self) -> tuple[float, float]:
        if not self.installed:
            return self.wall_s, self.experiment_s
        wall = self._wall()
        return wall - self._start_wall, self._exp_at(wall) - self._start_exp

    # ------------------------------------------------------------------ clock
    def _exp_at(self, wall: float) -> float:
        d = wall - self._wall0
        if d <= self._knee:
            return self._exp0 + d * self._rate
        return self._exp0 + self._knee * self._rate + (d - self._knee)  # no flips for a while: real time

    def getTime(self) -> float:
        """Experiment time in PsychoPy's time base, s (what ``psychopy.clock.getTime`` returns while installed)."""
        return self._exp_at(self._wall())

    def wall_time(self) -> float:
        """PsychoPy's own (wall) time base, s, installed or not."""
        if self._wall is not _not_installed:
            return self._wall()
        import psychopy.clock

        return psychopy.clock.getTime()

    def _set_rate(self, rate: float) -> None:
        wall = self._wall()
        self._exp0, self._wall0, self._rate = self._exp_at(wall), wall, rate
        if self.is_max:  # two frames' worth at this rate, then real time until the next flip
            self._knee = self.KNEE_FRAMES / (self.frame_hz * rate)

    def on_flip(self, wall: float | None = None) -> None:
        """A flip happened (the frame pump calls this). A ``"max"`` warp sets its rate so that a
        flip takes one refresh period of experiment time; a fixed speed does nothing."""
        if not self.is_max or not self.installed:
            return
        wall = self._wall() if wall is None else wall
        last, self._last_flip_wall = self._last_flip_wall, wall
        if last is None:
            return
        dt = max(wall - last, 1e-5)
        self._ema = dt if self._ema is None else self._ema + self.EMA_WEIGHT * (dt - self._ema)
        self._set_rate(min(max((1.0 / self.frame_hz) / self._ema, 1.0), self.MAX_RATE))

    def wait_blank(self) -> None:
        """After a flip of a window with no frame pump (plain PsychoPy, the compatibility
        matrix): wait for the simulated vertical blank, the next tick of a grid at
        :meth:`wall_hz` per wall second (a frame drawn late goes out at the tick after),
        then :meth:`on_flip`. A ``"max"`` warp does not wait."""
        import time

        hz = self.wall_hz()
        if hz is not None and self.installed:
            period, now = 1.0 / hz, time.perf_counter()
            last = self._last_blank
            blank = now if last is None else last + period * max(1, math.ceil((now - last) / period))
            if blank > now:
                time.sleep(blank - now)
            self._last_blank = blank
        self.on_flip()

    # ----------------------------------------------------------- install / remove
    def install(self) -> None:
        """Make PsychoPy's clocks run on this warp's time.

        Raises:
            RuntimeError: another warp is installed (one dry run at a time).
        """
        global _active
        import psychopy.clock

        with _lock:
            if _active is self:
                return
            if _active is not None:
                raise RuntimeError("another time warp is installed (one dry run at a time)")
            orig = psychopy.clock.getTime
            self._orig = orig
            self._wall = self._wall_clock or orig
            now = self._wall()
            self._wall0 = self._exp0 = self._start_wall = self._start_exp = now
            self._last_flip_wall, self._ema = None, None
            psychopy.clock.getTime = self.getTime
            self.installed = True
            _active = self
        log.info("time warp installed: %s", format_speed(self.speed))

    def uninstall(self) -> None:
        """Put PsychoPy's own time base back (idempotent); keeps :attr:`wall_s` and :attr:`experiment_s`."""
        global _active
        import psychopy.clock

        with _lock:
            if not self.installed:
                return
            self.wall_s, self.experiment_s = self._elapsed()
            if psychopy.clock.getTime == self.getTime:
                psychopy.clock.getTime = self._orig
            else:  # someone replaced it after us: theirs stays, ours is no longer called
                log.warning("psychopy.clock.getTime was replaced during the time warp; left as it is")
            self.installed = False
            if _active is self:
                _active = None
        log.info(
            "time warp removed: %.1f s of experiment time in %.1f s (%.1fx)",
            self.experiment_s,
            self.wall_s,
            self.speed_reached,
        )

    def __enter__(self) -> TimeWarp:
        self.install()
        return self

    def __exit__(self, *exc) -> None:
        self.uninstall()

    def __repr__(self) -> str:
        return f"TimeWarp({format_speed(self.speed)}, frame_hz={self.frame_hz:g})"
