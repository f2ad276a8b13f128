"""Keyboard input that only the stimulus window receives, with key presses and releases.

PsychoPy Builder keyboards default to the Psychtoolbox backend, which reads
keys globally: keys a technician types into the console would reach the
experiment as responses. The ``event`` backend reads keys from PsychoPy's own
(pyglet) window only, so the session forces it.

PsychoPy 2026.2.5's ``event`` backend of ``KeyboardDevice`` has three faults
this module fixes (:func:`install_event_backend_fix`, for the ``event``
backend only; the other backends are left alone):

- ``dispatchMessages`` passes ``[name, time]`` lists to ``parseMessage``, which
  stores the list itself as the key name (so ``keyList=['space']`` never
  matches), and it drops every key but the first of each poll;
- it sees presses only: PsychoPy's pyglet window has no ``on_key_release``
  handler, so keys never get a ``duration`` and ``getKeys(waitRelease=True)``
  (Builder's "register keypress on: release") never returns a key;
- ``getState`` asks a fresh, unattached ``KeyStateHandler`` (always ``False``).

Here every pyglet window gets an ``on_key_release`` handler (pushed on top of
PsychoPy's, never consuming the event), and each poll merges the presses from
PsychoPy's ``event`` buffer with those releases in time order, with the
Psychtoolbox backend's semantics (``psychopy/hardware/keyboard.py``,
``parseMessage``): a press becomes a ``KeyPress`` (``tDown`` on PsychoPy's
``core.getTime()`` clock, ``rt`` on the keyboard's clock, ``duration=None``);
its release sets ``duration = tUp - tDown`` (s) and delivers the same
``KeyPress`` again, so ``getKeys(waitRelease=False)`` returns it on press and
``getKeys(waitRelease=True)`` on release. ``clearEvents`` forgets keys still
held down, as Psychtoolbox's does. Times are those of the window's event
dispatch (every ``flip`` and every poll), as for the ``event`` backend's presses.

Key events enter through the pyglet window only (an X or OS key event, or a
simulated one dispatched on the window, see :mod:`.simulate`), so keys typed
into the console (a Qt window) never reach an experiment.
"""

from __future__ import annotations

import functools
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = [
    "install_event_backend_fix",
    "watch_window",
    "key_name",
    "add_poll_observer",
    "remove_poll_observer",
    "keys_down",
]

#: releases seen on watched windows and not yet polled: (key name, core.getTime() s)
_releases: deque = deque(maxlen=10000)
#: names of keys currently held down on a watched window (for ``getState``)
_down: set[str] = set()
_watched: weakref.WeakSet[Any] = weakref.WeakSet()
_observers: list[Callable[..., None]] = []
_installed = False


def key_name(symbol: int) -> str | None:
    """PsychoPy's key name for a pyglet key symbol (as ``psychopy.event._onPygletKey`` names it).

    Returns ``None`` for symbols pyglet cannot name (``user_key``: PsychoPy
    takes their name from the text event instead).
    """
    import pyglet

    name = pyglet.window.key.symbol_string(symbol).lower()
    if "user_key" in name:
        return None
    name = name.lstrip("_").lstrip("NUM_")  # sic: PsychoPy's own conversion
    return "return" if name == "enter" else name


def _now() -> float:
    from psychopy import core

    return core.getTime()


def _on_key_press(symbol, modifiers):
    name = key_name(symbol)
    if name is not None:
        _down.add(name)
    # None: PsychoPy's own handler (the window's on_key_press) still gets the event


def _on_key_release(symbol, modifiers):
    name = key_name(symbol)
    if name is not None:
        _down.discard(name)
        _releases.append((name, _now()))


def watch_window(win: Any) -> None:
    """Receive key releases from a window (a ``psychopy.visual.Window`` or a pyglet window); idempotent.

    Every open pyglet window is watched automatically at each keyboard poll;
    call this for a window that gets keys before its first poll.
    """
    handle = getattr(win, "winHandle", win)
    if handle is None or not hasattr(handle, "push_handlers") or handle in _watched:
        return
    handle.push_handlers(on_key_press=_on_key_press, on_key_release=_on_key_release)
    _watched.add(handle)


def _watch_open_windows() -> None:
    try:
        import pyglet.app
    except Exception:  # pragma: no cover - no pyglet, no windows
        return
    for handle in list(pyglet.app.windows):
        if handle not in _watched:
            watch_window(handle)


def keys_down() -> frozenset[str]:
    """Names of the keys held down on the watched windows now."""
    return frozenset(_down)


def add_poll_observer(fn: Callable[..., None]) -> None:
    """Call ``fn(device, keyList, ignoreKeys, waitRelease)`` on every ``event``-backend key poll.

    ``device`` is the polled ``KeyboardDevice``; the other arguments are those
    of ``KeyboardDevice.getKeys``. Lets a simulated participant see which keys
    the experiment is waiting for. An observer that raises is removed.
    """
    if fn not in _observers:
        _observers.append(fn)


def remove_poll_observer(fn: Callable[..., None]) -> None:
    """Stop calling ``fn`` (see :func:`add_poll_observer`); unknown ``fn`` is ignored."""
    if fn in _observers:
        _observers.remove(fn)


def _notify(device, keyList, ignoreKeys, waitRelease) -> None:
    import logging

    for fn in list(_observers):
        try:
            fn(device, keyList, ignoreKeys, waitRelease)
        except Exception:
            logging.getLogger(__name__).exception("a key poll observer failed; removed")
            remove_poll_observer(fn)


def install_event_backend_fix() -> None:
    """Patch ``psychopy.hardware.keyboard.KeyboardDevice`` for the ``event`` backend (idempotent).

    Replaces ``dispatchMessages``, ``clearEvents``, ``getKeys`` (to tell poll
    observers) and ``getState``; the originals stay as ``__wrapped__`` and run
    unchanged for the other backends. Watches the pyglet windows open now and,
    from their creation, every window PsychoPy's pyglet backend opens later.
    """
    global _installed
    _watch_open_windows()
    if _installed:
        return
    from psychopy import core
    from psychopy.hardware import keyboard as kb

    cls = kb.KeyboardDevice
    orig_dispatch, orig_clear = cls.dispatchMessages, cls.clearEvents
    orig_get_keys, orig_get_state = cls.getKeys, cls.getState

    def dispatchMessages(self):
        if cls._backend != "event":
            return orig_dispatch(self)
        from psychopy import event

        _watch_open_windows()
        presses = event.getKeys(modifiers=False, timeStamped=True)  # dispatches window events
        released = list(_releases)
        _releases.clear()
        # (time, 0 press / 1 release, name): a press and its release in one poll stay in order
        timeline = [(k[-1], 0, k[0]) for k in presses if len(k) == 2]
        timeline += [(t, 1, name) for name, t in released]
        timeline.sort(key=lambda e: (e[0], e[1]))
        # the keyboard's clock relative to core.monotonicClock (as event.getKeys(timeStamped=clock))
        offset = self.clock.getLastResetTime() - core.monotonicClock.getLastResetTime()
        for t, kind, name in timeline:
            if kind == 0:
                press = kb.KeyPress(code=None, tDown=t, name=name)
                press.rt = t - offset
                self._keysStillDown.append(press)
                self.receiveMessage(press)
                continue
            for press in self._keysStillDown:
                if press.name == name:
                    press.duration = t - press.tDown
                    self._keysStillDown.remove(press)
                    self.receiveMessage(press)
                    break

    def clearEvents(self, eventType=None):
        if cls._backend == "event":
            _watch_open_windows()
        result = orig_clear(self, eventType=eventType)
        if cls._backend == "event" and eventType in (None, "keyboard"):
            _releases.clear()
            self._keysStillDown.clear()
        return result

    def getKeys(self, keyList=None, ignoreKeys=None, waitRelease=True, clear=True):
        if cls._backend == "event" and _observers:
            _notify(self, keyList, ignoreKeys, waitRelease)
        return orig_get_keys(self, keyList=keyList, ignoreKeys=ignoreKeys, waitRelease=waitRelease, clear=clear)

    def getState(self, keys):
        if cls._backend != "event":
            return orig_get_state(self, keys)
        _watch_open_windows()
        from psychopy import event

        event.clearEvents("mouse")  # dispatches the windows' pending events, keeps the key buffer
        names = [keys] if isinstance(keys, str) else list(keys)
        state = [name in _down for name in names]
        return state[0] if len(state) == 1 else state

    for name, fn, orig in (
        ("dispatchMessages", dispatchMessages, orig_dispatch),
        ("clearEvents", clearEvents, orig_clear),
        ("getKeys", getKeys, orig_get_keys),
        ("getState", getState, orig_get_state),
    ):
        functools.update_wrapper(fn, orig, assigned=(), updated=())  # __wrapped__ only
        fn.__name__ = name
        setattr(cls, name, fn)
    _watch_new_windows()
    _installed = True


def _watch_new_windows() -> None:
    """Watch every pyglet window PsychoPy opens from now on, from its creation (before its first flip)."""
    try:
        from psychopy.visual.backends import pygletbackend
    except Exception:  # no display: windows cannot be made either
        return
    backend = pygletbackend.PygletBackend
    orig_init = backend.__init__
    if getattr(orig_init, "__wrapped__", None) is not None:
        return

    def __init__(self, *args, **kwargs):
        orig_init(self, *args, **kwargs)
        watch_window(getattr(self, "winHandle", None))

    functools.update_wrapper(__init__, orig_init, assigned=(), updated=())  # __wrapped__ only
    backend.__init__ = __init__
