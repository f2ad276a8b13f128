"""The stimulus window: one PsychoPy window on the subject screen, kept open across runs.

A Session shares one ``psychopy.visual.Window`` between its runs (PsychoPy's
``Session.win``). Between runs it shows the rest message; an experiment that
closes it (``core.quit()`` does) gets a new one from the same parameters
before the next run. The session's :class:`.frames.FrameHook` is installed on
whichever window is current, so every flip serves the console.

Two choices are made here rather than by the caller's parameters:

- **The monitor.** Parameters with a ``monitor`` (the rig's profile, see
  :mod:`.monitor`) fix it: it wins over what experiments name. Without one,
  each run uses the monitor its experiment names, as plain PsychoPy does, or
  PsychoPy's default ``testMonitor`` (:func:`.monitor.monitor_for_experiment`);
  the window is made anew when that changes, and the log says once per
  monitor which one is used and that a rig profile makes ``deg`` and ``cm`` exact.
- **The place of a windowed stimulus window.** :meth:`StimulusWindow.set_free_area`
  (from the composition root, which knows the screens) gives the rectangle a
  window that is not full screen must keep to, e.g. beside the console on a
  one-screen computer: the window keeps its size where the rectangle allows and
  shrinks (keeping its aspect ratio) where it does not, and the log says so.

Pilot mode (:meth:`StimulusWindow.set_pilot`) shows PsychoPy's own piloting
indicator on the window (``Window.showPilotingIndicator``: an orange ``#EC9703``
border and "PILOTING: Switch to run mode before testing.", what a Builder script
shows when ``PILOTING`` and ``prefs.piloting['showPilotingIndicator']``). As the
window stays open across runs, the indicator is set again for every run from
the session's pilot state: a Builder script that turned it on in a pilot run
leaves no border on the next real run.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

from .frames import FrameHook

__all__ = ["StimulusWindow", "DEFAULT_WINDOW", "WINDOW_TITLE", "fit_into"]

log = logging.getLogger("rigconsole.session")
monitor_log = logging.getLogger("rigconsole.monitor")

#: ``psychopy.visual.Window`` arguments used when none were ever given
DEFAULT_WINDOW = {"size": [800, 600], "fullscr": False, "units": "height"}
#: the window title PsychoPy's Session sets
WINDOW_TITLE = "PsychoPy Session"
#: PsychoPy's ``Window`` size when none is given, pixels
_PSYCHOPY_SIZE = (800, 600)


def fit_into(size, area) -> tuple[tuple[int, int], tuple[int, int]]:
    """Where a window of ``size`` goes inside ``area``: its own size when the area holds it,
    else shrunk to fit with its aspect ratio kept; centred in the area.

    Args:
        size: ``(width, height)`` wanted, pixels.
        area: ``(x, y, width, height)`` in pixels from the top-left of the window's screen.

    Returns:
        ``((width, height), (x, y))``: the size and the top-left corner (PsychoPy's ``Window``
        ``size`` and ``pos``), in pixels.
    """
    w, h = (max(1, int(round(v))) for v in size)
    ax, ay, aw, ah = (int(v) for v in area)
    scale = min(1.0, aw / w, ah / h)
    nw, nh = max(1, int(w * scale)), max(1, int(h * scale))
    return (nw, nh), (ax + max(0, (aw - nw) // 2), ay + max(0, (ah - nh) // 2))


class StimulusWindow:
    """Holds the session's PsychoPy window and the parameters to remake it.

    Args:
        frame_hook: installed on every window this holds (see :mod:`.frames`).
        rest_msg: text shown between runs (PsychoPy's ``restMsg``).
        simulated_vsync_hz: the refresh rate reported for a display with no vsync.
    """

    def __init__(self, frame_hook: FrameHook, rest_msg: str = "Rest", simulated_vsync_hz: float | None = None):
        self._hook = frame_hook
        self.rest_msg = rest_msg
        self.simulated_vsync_hz = simulated_vsync_hz
        self._win: Any = None  # a psychopy.visual.Window (PsychoPy has no type information)
        self._params: dict[str, Any] | None = None
        self._free_area: tuple[int, int, int, int] | None = None
        self._experiment_monitor = None  # the monitor the last run's experiment named (no rig profile)
        self._said: set = set()  # the monitor and placement lines already logged (each is said once)
        self._pilot = False  # pilot mode (set_pilot): PsychoPy's piloting indicator, windowed, mouse
        self._pilot_border = True  # the indicator shows in pilot mode
        self._before_pilot: dict[str, Any] | None = None  # the full-screen parameters pilot mode replaced
        self._mouse_before: bool | None = None  # the mouse pointer's visibility before pilot mode

    @property
    def win(self):
        """The current ``psychopy.visual.Window`` (``None`` before the first is made)."""
        return self._win

    def adopt(self, win) -> None:
        """Make ``win`` (a ``psychopy.visual.Window``, or ``None``) the session window."""
        self._win = win
        if win is not None:
            self._hook.attach(win)
        else:
            self._hook.detach()

    def usable(self) -> bool:
        """``True`` when there is a window and it is not closed."""
        return self._win is not None and not getattr(self._win, "_closed", False)

    def ensure(self) -> None:
        """Open the window again from its last parameters if there is none or it was closed."""
        if self.usable():
            return
        params = dict(self._params or {})
        if self._win is not None:
            log.warning("the stimulus window was closed by the last run; opening it again")
        self.adopt(None)
        self.setup(params or dict(DEFAULT_WINDOW))

    def setup(self, params: dict[str, Any], recreate: bool = True) -> None:
        """Create the window, or update it in place, from ``Window`` arguments.

        A change of ``fullscr``, ``size``, ``pos`` or ``screen`` needs a new
        window (made when ``recreate``), as in PsychoPy's ``setupWindowFromParams``;
        so does a change of ``monitor`` here (PsychoPy ignores a new monitor for an
        open window, and its units would keep converting through the old one);
        ``color``, ``colorSpace``, ``backgroundImage``, ``backgroundFit`` and
        ``units`` are set in place. Parameters not given keep their last value for
        a window made again. A ``monitor`` of ``None`` (or none ever given) means
        the experiment's monitor (see the module docstring); a window that is not
        full screen keeps to the free area (:meth:`set_free_area`).
        """
        params = dict(params)
        self._params = {**(self._params or {}), **params}
        wanted = self._window_args()
        needs_recreate = False
        if self.usable() and "monitor" in params:
            from .monitor import same_monitor

            if not same_monitor(wanted["monitor"], getattr(self._win, "monitor", None)):
                needs_recreate = True
        if self.usable():
            placed = ("size", "pos") if self._placed(wanted) else ()
            for param in ("fullscr", "size", "pos", "screen"):
                if param in params or param in placed:
                    current: Any = getattr(self._win, param, None)
                    want: Any = wanted.get(param)  # None, or a sequence: list(None) falls back below
                    try:
                        same = list(current) == list(want)
                    except TypeError:
                        same = current == wanted.get(param)
                    if not same:
                        needs_recreate = True
        if needs_recreate and not recreate:  # as PsychoPy's setupWindowFromParams warns
            log.warning("these window parameters need a new window, but recreate=False: kept the open one")
        if self._win is not None and (not self.usable() or (recreate and needs_recreate)):
            try:
                if self.usable():
                    self._win.close()
            finally:
                self.adopt(None)
        if self._win is None:
            self._open(wanted)
        else:
            for name in ("color", "colorSpace", "backgroundImage", "backgroundFit", "units"):
                if name in params:
                    setattr(self._win, name, params[name])
        self._win.title = WINDOW_TITLE

    def _open(self, args: dict[str, Any]) -> None:
        """Make the window from ``args`` (:meth:`_window_args`) and adopt it."""
        from psychopy.visual import Window

        self.adopt(Window(**args))
        if self.simulated_vsync_hz:
            self._win._monitorFrameRate = float(self.simulated_vsync_hz)
        self._win.showMessage(self.rest_msg)
        self._apply_pilot()

    def _window_args(self) -> dict[str, Any]:
        """The ``Window`` arguments a window made now gets: the parameters given so far (a
        window made again keeps what earlier calls set), the monitor (the given one, else the
        experiment's or PsychoPy's default) and, for a window that is not full screen, the
        size and place within the free area."""
        args = dict(self._params or {})  # a window made again keeps what earlier calls set
        args.setdefault("checkTiming", False)
        if not args.get("monitor"):
            from .monitor import psychopy_default_monitor

            if self._experiment_monitor is None:
                self._experiment_monitor = psychopy_default_monitor()
            args["monitor"] = self._experiment_monitor
        if self._placed(args):
            wanted = tuple(args.get("size") or _PSYCHOPY_SIZE)
            size, pos = fit_into(wanted, self._free_area)
            args["size"], args["pos"] = list(size), list(pos)
            shrunk = tuple(size) != tuple(int(v) for v in wanted)
            what = (
                f"shrunk from {int(wanted[0])}x{int(wanted[1])} to {size[0]}x{size[1]} px to fit"
                if shrunk
                else f"kept at {size[0]}x{size[1]} px"
            )
            self._say(
                ("place", tuple(size), tuple(pos)),
                log,
                logging.WARNING if shrunk else logging.INFO,
                "stimulus window placed at (%d, %d) beside the console (one screen): %s",
                pos[0],
                pos[1],
                what,
            )
        return args

    def _placed(self, args: dict[str, Any]) -> bool:
        return self._free_area is not None and not args.get("fullscr")

    def _say(self, key, logger: logging.Logger, level: int, msg: str, *args) -> None:
        """Log ``msg`` once for ``key`` (the monitor and placement lines)."""
        if key not in self._said:
            self._said.add(key)
            logger.log(level, msg, *args)

    def set_free_area(self, area: tuple[int, int, int, int] | None, *, remake: bool = True) -> None:
        """Keep a window that is not full screen inside ``area``, or anywhere (``None``).

        The composition root calls this when the stimulus window would cover the
        console (one screen): ``area`` is the rectangle beside it. The window keeps
        its size where the area allows and shrinks (aspect ratio kept) where it does
        not. An open window whose size stays is moved there; one that must change
        size is made again when ``remake`` (not during a run: then the next window
        made gets it).

        Args:
            area: ``(x, y, width, height)``, pixels, from the top-left corner of the
                stimulus window's screen (PsychoPy's ``Window.pos`` convention), or ``None``.
            remake: make an open window again when its size must change.

        Raises:
            ValueError: a width or height that is not positive.
        """
        if area is not None:
            box = tuple(int(v) for v in area)
            if len(box) != 4 or box[2] <= 0 or box[3] <= 0:
                raise ValueError(f"free area {box!r}: give (x, y, width, height) with a positive width and height")
            area = (box[0], box[1], box[2], box[3])
        if area == self._free_area:
            return
        self._free_area = area
        if not self.usable() or area is None or (self._params or {}).get("fullscr"):
            return
        wanted = self._window_args()
        if [int(v) for v in self._win.size] == list(wanted["size"]) and self._move_to(wanted["pos"]):
            return
        if remake:
            self._reopen()

    def _move_to(self, pos) -> bool:
        """Move the open window's top-left corner to ``pos`` (pixels from its screen's); ``False``
        when its backend cannot (then it must be made again)."""
        handle = getattr(self._win, "winHandle", None)
        screen = getattr(handle, "screen", None)
        if handle is None or screen is None or not hasattr(handle, "set_location"):
            return False
        handle.set_location(int(pos[0] + screen.x), int(pos[1] + screen.y))
        self._win.pos = list(pos)
        return True

    @property
    def free_area(self) -> tuple[int, int, int, int] | None:
        """The area a windowed stimulus window keeps to (:meth:`set_free_area`), or ``None``."""
        return self._free_area

    def setup_with(self, module, expInfo) -> None:
        """Call an experiment module's ``setupWindow`` on this window; adopt a window it returns instead.

        First the monitor: the given one (the rig's) wins, with one log line when the
        experiment names another; without one, the experiment's (see the module
        docstring), and the window is made anew when it differs from the open one's.
        """
        self._use_monitor_of(module)
        win = module.setupWindow(expInfo=expInfo, win=self._win) if hasattr(module, "setupWindow") else None
        if win is not None and win is not self._win:
            self.adopt(win)
        if self._win is not None:
            self._win.title = WINDOW_TITLE
        self._apply_pilot()  # a Builder script shows the indicator when its PILOTING is on: the session decides

    @property
    def pilot(self) -> bool:
        """``True`` while the window shows PsychoPy's piloting indicator (see :meth:`set_pilot`)."""
        return self._pilot

    def set_pilot(
        self,
        on: bool,
        *,
        border: bool = True,
        windowed_size: tuple[int, int] | list[int] | None = None,
        mouse_visible: bool = False,
    ) -> None:
        """Pilot mode on the stimulus window (``True``), or back to how it was (``False``): PsychoPy's
        piloting settings (``prefs.piloting``, which a Builder script applies to a window it makes),
        applied to the one window that stays open across runs and undone after.

        The indicator is drawn by ``Window.flip`` into the next frame (a 10 px ``#EC9703`` border at
        PsychoPy's default, under what the experiment draws), on this window and on every window made
        or set up for a run while pilot mode is on (see the module docstring); turning pilot mode off
        hides it and clears the frame already drawn, so no border reaches the screen after it.

        Args:
            on: pilot mode on or off.
            border: show the indicator (``prefs.piloting['showPilotingIndicator']``).
            windowed_size: ``(width, height)`` in pixels: a full-screen window is made windowed at
                this size for pilot mode, and full screen again after it
                (``prefs.piloting['forceWindowed']``, ``['forcedWindowSize']``); ``None``: kept as it is.
            mouse_visible: show the mouse pointer in pilot mode (``prefs.piloting['forceMouseVisible']``);
                it is as before afterwards (a Builder script in pilot mode shows it and never hides it).
        """
        on = bool(on)
        if on and not self._pilot:
            self._pilot_border = bool(border)
            params = self._params or {}
            if windowed_size is not None and params.get("fullscr"):
                self._before_pilot = {"fullscr": True, "size": params.get("size")}
                self.setup({"fullscr": False, "size": [int(v) for v in windowed_size]})
            if self.usable():
                self._mouse_before = bool(self._win.mouseVisible)
                if mouse_visible:
                    self._win.mouseVisible = True
        elif not on and self._pilot:
            self._pilot = False
            self._apply_pilot()
            if self._before_pilot is not None:  # full screen again, as it was
                before, self._before_pilot = self._before_pilot, None
                size = before.pop("size")
                if size is None and self._params is not None:
                    self._params.pop("size", None)
                self.setup(before if size is None else {**before, "size": size})
            elif self.usable() and self._mouse_before is not None:
                self._win.mouseVisible = self._mouse_before
            self._mouse_before = None
            if self.usable():
                self._win.clearBuffer()  # flip() drew the indicator into the next frame already
        self._pilot = on
        self._apply_pilot()

    def _apply_pilot(self) -> None:
        if not self.usable():
            return
        if self._pilot and self._pilot_border:
            self._win.showPilotingIndicator()
        else:
            self._win.hidePilotingIndicator()

    def _use_monitor_of(self, module) -> None:
        from .monitor import (
            describe_monitor,
            monitor_for_experiment,
            reconcile_monitor,
            same_monitor,
            script_monitor_name,
        )

        name = script_monitor_name(module)
        given = (self._params or {}).get("monitor")
        if given:  # the rig's profile (or the caller's monitor) wins, as PsychoPy keeps an open window's
            if hasattr(given, "getWidth") and ("rig", name) not in self._said:
                self._said.add(("rig", name))
                reconcile_monitor(name, given)
            return
        mon, why = monitor_for_experiment(name)
        self._say(
            ("monitor", mon.name, why),
            monitor_log,
            logging.WARNING,
            "no rig monitor profile: deg and cm units use the monitor %s (%s); a rig monitor profile in "
            'Settings ("monitor" in the settings file) makes deg and cm exact',
            describe_monitor(mon),
            why,
        )
        if self._win is not None and same_monitor(mon, getattr(self._win, "monitor", None)):
            return
        self._experiment_monitor = mon
        if self.usable():  # made anew with this monitor: PsychoPy converts units through the window's
            self._reopen()
            self._win.hideMessage()

    def _reopen(self) -> None:
        """Close the open window and make it again from :meth:`_window_args`."""
        try:
            if self.usable():
                self._win.close()
        finally:
            self.adopt(None)
        self._open(self._window_args())
        self._win.title = WINDOW_TITLE

    def frame_rate(self, retest: bool = False) -> float:
        """The window's frame rate, Hz: measured once (or again with ``retest``), or the simulated rate."""
        if retest or self._win._monitorFrameRate is None:
            self._win._monitorFrameRate = self.simulated_vsync_hz or self._win.getActualFrameRate()
        return self._win._monitorFrameRate

    def show_rest(self) -> None:
        """Show the rest message on a grey background (between runs)."""
        self.ensure()
        self._win.showMessage(self.rest_msg)
        self._win.color = "grey"
        self._win.flip()

    def warm_up(self) -> float:
        """Load PsychoPy's lazily loaded drawing machinery before any run; returns seconds taken.

        The first stimuli a process creates import and initialise fonts
        (freetype), text layout, shaders and textures: measured ~0.3-0.5 s
        with no flip, which would freeze the console at the start of the
        first run. This draws one of each common stimulus into the back
        buffer and clears it (nothing is shown).
        """
        from psychopy import visual

        t0 = time.perf_counter()
        self.ensure()
        win = self._win
        stims = [
            visual.TextStim(win, text="warm-up", height=0.05),
            visual.TextBox2(win, text="warm-up", letterHeight=0.05, size=(0.5, 0.1)),
            visual.GratingStim(win, tex="sin", mask="gauss", size=0.2),
            visual.ImageStim(win, image=None, size=0.1),
            visual.Rect(win, width=0.1, height=0.1),
            visual.Circle(win, radius=0.05),
        ]
        for stim in stims:
            try:
                stim.draw()
            except Exception:  # a stimulus type this rig cannot draw: not our business here
                log.debug("warm-up: could not draw %s", type(stim).__name__, exc_info=True)
        win.clearBuffer()
        tidy_heap()
        return time.perf_counter() - t0

    def close(self) -> None:
        """Close the window (if open) and forget it."""
        if self._win is not None:
            try:
                if not getattr(self._win, "_closed", False):
                    self._win.close()
            finally:
                self.adopt(None)


def tidy_heap() -> None:
    """Collect garbage now and move every live object out of the collector's view.

    A full (generation 2) garbage collection scans every object of the
    process: measured 25-150 ms here with PsychoPy, Qt and pandas loaded,
    a stall in the middle of a run. ``gc.freeze()`` keeps the objects that
    exist now out of later collections, so collections during a run only
    scan what the run allocates. Called after the warm-up and after every
    run (when no experiment is running).
    """
    gc.collect()
    gc.freeze()
