"""The stimulus window: one PsychoPy window on the subject screen, kept open across runs.

A Session shares one ``psychopy.visual.Window`` between its runs (PsychoPy's
``Session.win``). Between runs it shows the rest message; an experiment that
closes it (``core.quit()`` does) gets a new one from the same parameters
before the next run. The session's :class:`.frames.FrameHook` is installed on
whichever window is current, so every flip serves the console.
"""
from __future__ import annotations

import gc
import logging
import time
from typing import Any

from .frames import FrameHook

__all__ = ["StimulusWindow", "DEFAULT_WINDOW", "WINDOW_TITLE"]

log = logging.getLogger("rigconsole.session")

#: ``psychopy.visual.Window`` arguments used when none were ever given
DEFAULT_WINDOW = {"size": [800, 600], "fullscr": False, "units": "height"}
#: the window title PsychoPy's Session sets
WINDOW_TITLE = "PsychoPy Session"


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
        self._win = None
        self._params: dict[str, Any] | None = None

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
        a window made again.
        """
        params = dict(params)
        self._params = {**(self._params or {}), **params}
        needs_recreate = False
        if self.usable() and "monitor" in params:
            from .monitor import same_monitor
            if not same_monitor(params["monitor"], getattr(self._win, "monitor", None)):
                needs_recreate = True
        if self.usable():
            for param in ("fullscr", "size", "pos", "screen"):
                if param in params:
                    current = getattr(self._win, param, None)
                    try:
                        same = list(current) == list(params[param])
                    except TypeError:
                        same = current == params[param]
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
            from psychopy.visual import Window
            params = dict(self._params)  # a window made again keeps what earlier calls set
            params.setdefault("checkTiming", False)
            self.adopt(Window(**params))
            if self.simulated_vsync_hz:
                self._win._monitorFrameRate = float(self.simulated_vsync_hz)
            self._win.showMessage(self.rest_msg)
        else:
            for name in ("color", "colorSpace", "backgroundImage", "backgroundFit", "units"):
                if name in params:
                    setattr(self._win, name, params[name])
        self._win.title = WINDOW_TITLE

    def setup_with(self, module, expInfo) -> None:
        """Call an experiment module's ``setupWindow`` on this window; adopt a window it returns instead."""
        win = module.setupWindow(expInfo=expInfo, win=self._win) if hasattr(module, "setupWindow") else None
        if win is not None and win is not self._win:
            self.adopt(win)
        if self._win is not None:
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
