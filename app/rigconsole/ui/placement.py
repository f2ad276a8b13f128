"""One screen: the console and the stimulus window side by side, not on top of each other.

On a computer with one screen (a laptop, a technician trying the console at a
desk), a stimulus window that is not full screen would open over the middle of
the screen, on top of the console. :func:`make_room_for_stimulus` finds the
room beside the console instead: the strip left or right of it when that
holds the stimulus window at its size, else the right part of the screen
after moving the console to the left edge and narrowing it (to no less than
half the screen, nor its minimum size). The rectangle it returns goes to the
session (``Session(stimulus_area=...)``, :meth:`Session.set_stimulus_area`),
whose window keeps its size there where it can and shrinks where it cannot
(:func:`rigconsole.session.window.fit_into`; the log says so).

The console's minimum width grows with what it shows (the session's
experiments, a long path), and Qt then widens it: :class:`StimulusPlacement`
places the stimulus window again when the console's size changes, between
runs (a window that keeps its size is only moved).

With two screens or more, or a full-screen stimulus window, nothing changes:
the function returns ``None``. Qt's screen geometry is in logical pixels; the
rectangle returned is in the device pixels PsychoPy's ``Window.pos`` and
``size`` use, from the top-left of the stimulus window's screen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QEvent, QObject, QRect, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

__all__ = ["make_room_for_stimulus", "StimulusPlacement"]

log = logging.getLogger("rigconsole.ui")

#: PsychoPy's ``Window`` size when none is given, pixels
_PSYCHOPY_SIZE = (800, 600)


def make_room_for_stimulus(console: QWidget, window_params: Mapping[str, Any]) -> tuple[int, int, int, int] | None:
    """Where the stimulus window goes so that it does not cover ``console``, on a one-screen computer.

    May move and narrow ``console`` (a shown top-level window) to make the room.

    Args:
        console: the console's main window, shown (its frame geometry is read).
        window_params: the stimulus window's ``psychopy.visual.Window`` arguments
            (``size``, ``pos``, ``fullscr`` are read; PsychoPy's defaults otherwise).

    Returns:
        ``(x, y, width, height)`` in device pixels from the top-left of the screen,
        for :meth:`rigconsole.session.Session.set_stimulus_area`; ``None`` when the
        stimulus window would not cover the console (two screens, full screen, or
        it lies elsewhere already).
    """
    screens = QGuiApplication.screens()
    if len(screens) != 1 or window_params.get("fullscr"):
        return None
    screen = screens[0]
    full, avail, dpr = screen.geometry(), screen.availableGeometry(), screen.devicePixelRatio()
    want_w, want_h = (max(1, round(v / dpr)) for v in (window_params.get("size") or _PSYCHOPY_SIZE))
    pos = window_params.get("pos")
    if pos:  # PsychoPy's pos: the top-left corner, from the screen's
        stim = QRect(full.x() + round(pos[0] / dpr), full.y() + round(pos[1] / dpr), want_w, want_h)
    else:  # PsychoPy (pyglet) centres it on the screen
        stim = QRect(full.x() + (full.width() - want_w) // 2, full.y() + (full.height() - want_h) // 2, want_w, want_h)
    frame = console.frameGeometry()
    if not frame.intersects(stim):
        return None
    left = frame.left() - avail.left()
    right = avail.right() - frame.right()
    if max(left, right) >= min(want_w, avail.width() // 2):  # a strip beside the console holds it: leave the console
        if right >= left:
            area = QRect(frame.right() + 1, avail.top(), right, avail.height())
        else:
            area = QRect(avail.left(), avail.top(), left, avail.height())
        log.info("one screen: the stimulus window goes beside the console")
    else:  # the console moves to the left edge and narrows to leave room on the right
        if console.isMaximized() or console.isFullScreen():
            console.showNormal()
            frame = console.frameGeometry()
        extra_w = frame.width() - console.width()  # the window manager's frame
        extra_h = frame.height() - console.height()
        floor = min(
            frame.width(),
            max(avail.width() // 2, console.minimumSizeHint().width() + extra_w, console.minimumWidth() + extra_w),
        )
        width = min(frame.width(), max(avail.width() - want_w, floor))
        height = min(frame.height(), avail.height())
        console.resize(width - extra_w, height - extra_h)
        console.move(avail.topLeft())
        frame = console.frameGeometry()
        area = QRect(frame.right() + 1, avail.top(), max(1, avail.right() - frame.right()), avail.height())
        log.info(
            "one screen: moved the console to the left edge (%dx%d) to make room for the stimulus window",
            frame.width(),
            frame.height(),
        )
    return (
        round((area.x() - full.x()) * dpr),
        round((area.y() - full.y()) * dpr),
        round(area.width() * dpr),
        round(area.height() * dpr),
    )


class StimulusPlacement(QObject):
    """Keeps the stimulus window beside the console on a one-screen computer.

    :meth:`place` now, and again 300 ms after the console's size last changed
    (between runs; during a run it waits for the run's end).

    Args:
        console: the console's main window.
        session: the :class:`~rigconsole.session.Session` (its ``set_stimulus_area``
            and ``current_run`` are used).
        window_params: returns the stimulus window's current ``Window`` arguments
            (the rig's settings: they may change).
    """

    def __init__(self, console: QWidget, session, window_params: Callable[[], Mapping[str, Any]]):
        super().__init__(console)
        self._console = console
        self._session = session
        self._window_params = window_params
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(300)
        self._timer.timeout.connect(self.place)
        console.installEventFilter(self)

    def place(self) -> None:
        """Give the session the room beside the console (or none: ``None``), now; during a run, later."""
        if self._session.current_run is not None:
            self._timer.start(1000)
            return
        self._session.set_stimulus_area(make_room_for_stimulus(self._console, self._window_params()))

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt)
        if obj is self._console and event.type() == QEvent.Type.Resize:
            self._timer.start(300)
        return False

    def close(self) -> None:
        """Stop following the console."""
        self._timer.stop()
        self._console.removeEventFilter(self)
