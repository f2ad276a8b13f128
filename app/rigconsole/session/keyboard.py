"""Keyboard input that only the stimulus window receives.

PsychoPy Builder keyboards default to the Psychtoolbox backend, which reads
keys globally: keys a technician types into the console would reach the
experiment as responses. The ``event`` backend reads keys from PsychoPy's own
(pyglet) window only, so the session forces it.

In PsychoPy 2026.2.5 the ``event`` backend of ``KeyboardDevice`` is broken:
``dispatchMessages`` passes ``[name, time]`` lists to ``parseMessage``, which
stores the list itself as the key name (so ``keyList=['space']`` never
matches), and it drops every key but the first of each poll.
:func:`install_event_backend_fix` replaces ``dispatchMessages`` for the
``event`` backend only: every key pressed since the last poll becomes one
``KeyPress`` whose name is the key and whose ``rt``/``tDown`` is the press time
on the device clock. The ``event`` backend sees presses only (no releases),
so, as in PsychoPy, such keys have ``duration=None`` and are returned by
``getKeys(waitRelease=False)`` (Builder's "register keypress on press").
"""
from __future__ import annotations

__all__ = ["install_event_backend_fix"]

_installed = False


def install_event_backend_fix() -> None:
    """Patch ``psychopy.hardware.keyboard.KeyboardDevice.dispatchMessages`` (idempotent)."""
    global _installed
    if _installed:
        return
    from psychopy.hardware import keyboard as kb

    original = kb.KeyboardDevice.dispatchMessages

    def dispatchMessages(self):
        if kb.KeyboardDevice._backend != "event":
            return original(self)
        from psychopy import event

        for name, t in event.getKeys(modifiers=False, timeStamped=self.clock):
            press = kb.KeyPress(code=None, tDown=t, name=name)
            press.rt = t
            self.receiveMessage(press)

    dispatchMessages.__wrapped__ = original
    kb.KeyboardDevice.dispatchMessages = dispatchMessages
    _installed = True
