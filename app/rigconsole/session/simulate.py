"""A simulated participant, for dry runs: inputs generated inside PsychoPy's own input path.

A technician checks a new experiment before a participant arrives by letting
a :class:`SimulatedParticipant` take it. Everything it does enters where a
real participant's input enters, through the stimulus window's pyglet event
handlers, so no X key tool is needed and it works on every platform:

- **keys**: it watches which keys the experiment's keyboards poll for
  (:func:`.keyboard.add_poll_observer`), and when a keyboard starts waiting
  it presses one of the accepted keys after a plausible response time (a
  log-normal RT, median :attr:`rt_median_s`) and releases it after a short
  hold, dispatching ``on_key_press``/``on_key_release`` on the window; so
  press- and release-registered keyboards, RTs and durations all work.
  ``escape`` is never pressed. The experiment's own ``psychopy.event.getKeys``
  polls count too, ``event.waitKeys`` included (it never flips, so the
  participant then steps from the polls). With ``p_respond < 1`` it sometimes withholds
  (go/no-go), but answers a keyboard that keeps waiting after
  :attr:`max_wait_s`.
- **mouse**: when the experiment polls the mouse (``Mouse.getPressed``), it
  moves the pointer with PsychoPy's ``Mouse.setPos`` and dispatches
  ``on_mouse_press``/``on_mouse_release`` on the window: on a point of an
  unrated slider it draws (a rating; two tries each), else on a stimulus the
  experiment tests clicks against (``obj.contains(mouse)``,
  ``mouse.isPressedIn(obj)``, Builder's buttons), else on the window's centre.

- **text**: an editable ``TextBox2`` that is drawn and still empty gets a short
  answer typed into it, one character at a time, through the window's ``on_text``
  handler (PsychoPy passes it to the window's current editable; a tab typed
  there moves to the next editable); a keyboard that then waits for ``return`` submits it.
- **forms**: a ``visual.Form`` that is drawn and not complete is answered item by
  item: its visible sliders are rated by clicking (as any slider) and its text
  items typed into; when those are done it scrolls down with the mouse wheel
  (``on_mouse_scroll``), as a participant would, until the form is complete and
  the routine's button can be clicked.

What it could not do is named by :func:`waiting_inputs`: the started
components of the current routine that wait for an input, e.g.
``"typing into the text box (TextBox2 'answer')"``, ``"a microphone recording
(Microphone 'mic')"``.

Times are drawn from seeded generators (``numpy.random.SeedSequence(seed)``: one stream for keys, one for the mouse),
so a dry run repeats. The participant acts after every flip of the window
it is attached to (``win.callOnFlip``, re-registered each flip), so it needs
no hook in the experiment.

Usage (the run driver)::

    sp = SimulatedParticipant(seed=1)
    sp.attach(session.win)
    session.runExperiment(key, expInfo)
    sp.detach()
    sp.actions      # what it did: [{"t": s, "kind": "key_press", "key": "space", ...}, ...]

Qt-free.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import keyboard as _keyboard

__all__ = ["SimulatedParticipant", "waiting_inputs"]

log = logging.getLogger("rigconsole.simulate")

NEVER_PRESS = frozenset({"escape"})


@dataclass
class _Wait:
    """One keyboard's waiting: from the first poll with a key list to a gap in its polls."""

    keys: tuple[str, ...] | None
    first: float
    last: float
    press_at: float
    key: str | None
    respond: bool
    rt: float = 0.0
    hold: float = 0.1
    done_at: float | None = None
    last_frame: int = -10


@dataclass
class _Pending:
    at: float
    kind: str
    args: tuple = ()
    info: dict = field(default_factory=dict)


class SimulatedParticipant:
    """A participant that answers the experiment's keyboards, mice and sliders (see the module doc).

    Args:
        seed: seed of the participant's random generator (repeatable runs).
        rt_median_s: median response time, s (log-normal).
        rt_sigma: log-normal sigma of the response time.
        hold_s: ``(min, max)`` key/button hold time, s (uniform).
        p_respond: probability of answering a keyboard before :attr:`max_wait_s`.
        max_wait_s: a keyboard still waiting this long after it started is answered, s.
        default_key: pressed when a keyboard accepts any key.

    Attributes:
        actions: what it did, in order: dicts with ``t`` (experiment time, ``psychopy.clock.getTime()``
            s), ``kind`` (``key_press``, ``key_release``, ``mouse_press``,
            ``mouse_release``, ``withheld``), and ``key``/``rt``/``pos``/``target``.
    """

    #: polls of one key list further apart than this end one waiting (s), unless they came on
    #: consecutive frames (a frame that takes longer than this to draw, e.g. a big form's at 1x
    #: under a loaded machine, does not end a wait: :meth:`_recent`)
    GAP_S = 0.25
    #: a keyboard answered and still polled this long after is answered again (s)
    REPEAT_AFTER_S = 2.0
    #: between flips (``event.waitKeys``), the participant steps at most this often on polls (s)
    POLL_STEP_S = 0.002

    def __init__(
        self,
        seed: int | None = 0,
        *,
        rt_median_s: float = 0.45,
        rt_sigma: float = 0.25,
        hold_s: tuple[float, float] = (0.06, 0.16),
        p_respond: float = 1.0,
        max_wait_s: float = 3.0,
        default_key: str = "space",
    ):
        if not 0.0 <= p_respond <= 1.0:
            raise ValueError(f"p_respond must be within 0..1, not {p_respond}")
        self.seed = seed
        # separate streams: how many clicks a run takes does not change the key presses' draws
        keys_seq, mouse_seq = np.random.SeedSequence(seed).spawn(2)
        self.rng = np.random.default_rng(keys_seq)
        self.mouse_rng = np.random.default_rng(mouse_seq)
        self.rt_median_s, self.rt_sigma = float(rt_median_s), float(rt_sigma)
        self.hold_s = (float(hold_s[0]), float(hold_s[1]))
        self.p_respond = float(p_respond)
        self.max_wait_s = float(max_wait_s)
        self.default_key = default_key
        self.actions: list[dict[str, Any]] = []
        self.win: Any = None  # a psychopy.visual.Window while attached
        self._waits: dict[tuple[str, ...] | None, _Wait] = {}
        self._pending: list[_Pending] = []
        self._mouse_wait: dict[str, Any] | None = None
        self._clickables: list[Any] = []
        self._sliders: list[Any] = []
        self._patched: list[tuple[type, str, Any]] = []
        self._attached = False
        self._mouse_off = False
        self._slider_tries: dict[int, int] = {}
        self._last_poll_step = 0.0
        self._texts: list[Any] = []  # editable text boxes drawn and still to type into
        self._typing: dict[str, Any] | None = None
        self._forms: list[Any] = []
        self._typed: set[int] = set()
        self._typed_focus_tries = 0
        self._clicked: set[int] = set()
        self._frames = 0  # flips seen while attached
        #: how many new inputs it has given: a slider or a stimulus clicked for the first time, a
        #: text box typed into, a form scrolled (a dry run's watchdog counts them as progress: a
        #: form's items or a routine's sliders take longer than the stuck limit to answer
        #: without a data row); key presses are not counted (an open-ended routine may take
        #: keys for ever)
        self.progress = 0

    # ------------------------------------------------------------------ lifecycle
    def attach(self, win, thisExp=None) -> None:
        """Start taking part on ``win`` (a ``psychopy.visual.Window``); idempotent.

        ``thisExp`` is accepted for the run driver's convenience and not needed.
        """
        if self._attached:
            return
        _keyboard.install_event_backend_fix()
        _keyboard.watch_window(win)
        self.win = win
        self._attached = True
        _keyboard.add_poll_observer(self._on_key_poll)
        self._observe_mouse_and_sliders()
        self._observe_event_keys()
        win.callOnFlip(self._tick)
        log.info("simulated participant attached (seed %s)", self.seed)

    def detach(self) -> None:
        """Stop taking part (releases any key or button it holds); idempotent."""
        if not self._attached:
            return
        self._attached = False
        _keyboard.remove_poll_observer(self._on_key_poll)
        for cls, name, orig in reversed(self._patched):
            setattr(cls, name, orig)
        self._patched.clear()
        for p in self._pending:
            if p.kind in ("key_release", "mouse_release"):
                self._do(p)
        self._pending.clear()
        self._waits.clear()
        log.info("simulated participant detached after %d actions", len(self.actions))

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.detach()

    # --------------------------------------------------------------------- timing
    def _rt(self, rng=None) -> float:
        rt = float((rng or self.rng).lognormal(np.log(self.rt_median_s), self.rt_sigma))
        return min(max(rt, 0.15), 2.5)

    def _hold(self, rng=None) -> float:
        return float((rng or self.rng).uniform(*self.hold_s))

    # ----------------------------------------------------------------------- keys
    def _choose_key(self, keyList, ignoreKeys) -> str | None:
        ignore = set(ignoreKeys or ()) | NEVER_PRESS
        if not keyList:
            return self.default_key if self.default_key not in ignore else None
        options = [k for k in keyList if isinstance(k, str) and k not in ignore and _symbol(k) is not None]
        if not options:
            return None
        return options[int(self.rng.integers(len(options)))]

    def _on_key_poll(self, device, keyList, ignoreKeys, waitRelease) -> None:
        if not self._attached:
            return
        keys = tuple(keyList) if keyList else None
        if keys is not None and all(k in NEVER_PRESS for k in keys):
            return
        now = _now()
        w = self._waits.get(keys)
        again = w is not None and w.done_at is not None and now - w.done_at > self.REPEAT_AFTER_S
        if w is None or not self._recent(w.last, w.last_frame, now) or again:  # a fresh wait, or one asked again
            key = self._choose_key(keyList, ignoreKeys)
            respond = bool(self.rng.random() < self.p_respond)
            rt = self._rt()
            press_at = now + (rt if respond else self.max_wait_s)
            w = _Wait(
                keys=keys, first=now, last=now, press_at=press_at, key=key, respond=respond, rt=rt, hold=self._hold()
            )
            self._waits[keys] = w
        w.last, w.last_frame = now, self._frames

    # ------------------------------------------------------------- event.getKeys
    def _observe_event_keys(self) -> None:
        """Answer the experiment's own ``psychopy.event.getKeys`` polls, ``event.waitKeys`` included.

        Only calls from the experiment (or from ``waitKeys``) count: the keyboard
        device's own ``event.getKeys`` calls (``psychopy.hardware``, this package)
        are seen by the poll observer already. ``waitKeys`` never flips, so the
        participant also steps from these polls (at most every
        :attr:`POLL_STEP_S`), not only after flips.
        """
        from psychopy import event

        me = self
        orig = event.__dict__["getKeys"]

        def getKeys(keyList=None, *a, **kw):
            if me._attached:
                caller = sys._getframe(1).f_globals.get("__name__", "")
                if not caller.startswith(("psychopy.hardware", "rigconsole.")):
                    me._on_key_poll(None, keyList, None, False)
                    now = _now()
                    if now - me._last_poll_step >= me.POLL_STEP_S:
                        me._last_poll_step = now
                        try:
                            me._step(now)
                        except Exception:  # the participant must never break the experiment
                            log.exception("the simulated participant failed; it stops")
                            me.detach()
            return orig(keyList, *a, **kw)

        event.getKeys = getKeys
        self._patched.append((event, "getKeys", orig))

    # ---------------------------------------------------------------------- mouse
    def _observe_mouse_and_sliders(self) -> None:
        from psychopy import event, visual
        from psychopy.visual import basevisual

        me = self

        def patch(cls, name, make):
            orig = cls.__dict__[name]
            setattr(cls, name, make(orig))
            self._patched.append((cls, name, orig))

        def getPressed(orig):
            def getPressed(mouse, *a, **kw):
                if me._attached and mouse.win is me.win:
                    me._on_mouse_poll()
                return orig(mouse, *a, **kw)

            return getPressed

        def contains(orig):
            def contains(stim, *a, **kw):
                # Builder's clickable test is `obj.contains(mouse)` (a slider's own area test passes units=)
                if me._attached and len(a) == 1 and not kw and isinstance(a[0], event.Mouse):
                    me._note_clickable(stim)
                return orig(stim, *a, **kw)

            return contains

        def isPressedIn(orig):
            def isPressedIn(mouse, shape, *a, **kw):
                if me._attached and mouse.win is me.win:
                    me._note_clickable(shape)  # Builder's buttons ask their mouse this every frame
                return orig(mouse, shape, *a, **kw)

            return isPressedIn

        def draw(orig):
            def draw(slider, *a, **kw):
                if (
                    me._attached
                    and not getattr(slider, "readOnly", False)
                    and not any(x is slider for x in me._sliders)
                ):
                    me._sliders.append(slider)
                return orig(slider, *a, **kw)

            return draw

        def text_draw(orig):
            def draw(box, *a, **kw):
                if (
                    me._attached
                    and getattr(box, "editable", False)
                    and id(box) not in me._typed
                    and not any(x is box for x in me._texts)
                ):
                    me._texts.append(box)
                return orig(box, *a, **kw)

            return draw

        def form_draw(orig):
            def draw(form, *a, **kw):
                if me._attached:
                    if not any(x is form for x in me._forms):
                        me._forms.append(form)
                    if not getattr(form, "complete", True):
                        me._on_mouse_poll()  # an incomplete form waits for the mouse (its sliders, its wheel)
                return orig(form, *a, **kw)

            return draw

        patch(visual.TextBox2, "draw", text_draw)
        patch(visual.Form, "draw", form_draw)
        patch(event.Mouse, "getPressed", getPressed)
        patch(event.Mouse, "isPressedIn", isPressedIn)
        patch(basevisual.ContainerMixin, "contains", contains)  # shapes, images
        patch(visual.TextBox2, "contains", contains)  # text boxes and buttons
        patch(visual.Slider, "draw", draw)

    def _note_clickable(self, stim) -> None:
        if not any(s is stim for s in self._clickables):
            self._clickables.append(stim)

    def _on_mouse_poll(self) -> None:
        now = _now()
        w = self._mouse_wait
        if (
            w is None
            or not self._recent(w["last"], w["last_frame"], now)
            or (w["done_at"] and now - w["done_at"] > 0.6)
        ):
            at = now + self._rt(self.mouse_rng)
            self._mouse_wait = w = {"first": now, "last": now, "at": at, "done_at": None, "last_frame": self._frames}
        w["last"], w["last_frame"] = now, self._frames

    def _recent(self, last: float, last_frame: int, now: float) -> bool:
        """A poll at ``last`` (s, on the participant's frame ``last_frame``) is part of the same
        waiting as one now: within :attr:`GAP_S`, or on this frame or the one before (however
        long the frames take to draw)."""
        return now - last <= self.GAP_S or self._frames - last_frame <= 1

    def _mouse_target(self):
        """Window-unit position to click and what it is: a slider point, a clickable stimulus, the centre."""
        from psychopy import layout

        win = self.win
        for slider in list(self._sliders):
            try:
                tries = self._slider_tries.get(id(slider), 0)
                if (
                    getattr(slider, "status", None) == -1
                    or tries >= 2
                    or slider.getRating() is not None
                    or any(slider is getattr(f, "scrollbar", None) for f in self._forms)
                ):
                    self._sliders.remove(slider)  # rated, over, or not rateable by clicking: move on
                    continue
                if not self._slider_in_view(slider):
                    continue  # a form's item scrolled out of view: it waits for the form to scroll
                self._slider_tries[id(slider)] = tries + 1
                if tries == 0:
                    self.progress += 1
                size = layout.Size(slider.size, units=slider.units, win=win).pix
                pos = layout.Position(slider.pos, units=slider.units, win=win).pix
                u = float(self.mouse_rng.uniform(0.1, 0.9)) - 0.5
                point = (pos[0] + u * size[0], pos[1]) if size[0] >= size[1] else (pos[0], pos[1] + u * size[1])
                return _pix_to_win(point, win), f"slider {getattr(slider, 'name', '')}".strip()
            except Exception:  # a slider this cannot read: not a reason to stop the run
                self._sliders.remove(slider)
        live = [s for s in self._clickables if getattr(s, "autoDraw", False) or getattr(s, "status", None) == 1]
        if live:
            stim = live[int(self.mouse_rng.integers(len(live)))]
            if id(stim) not in self._clicked:
                self._clicked.add(id(stim))
                self.progress += 1
            try:
                return _pix_to_win(
                    _centre_pix(stim, win), win
                ), f"stimulus {getattr(stim, 'name', type(stim).__name__)}"
            except Exception:
                pass
        return _pix_to_win((0.0, 0.0), win), "centre"

    # ----------------------------------------------------------------------- tick
    def _tick(self) -> None:
        if not self._attached:
            return
        self._frames += 1
        try:
            self._step(_now())
        except Exception:  # the participant must never break the experiment
            log.exception("the simulated participant failed; it stops")
            self.detach()
            return
        self.win.callOnFlip(self._tick)  # PsychoPy runs what a call schedules at the next flip

    def _step(self, now: float) -> None:
        for p in [p for p in self._pending if p.at <= now]:
            self._pending.remove(p)
            self._do(p)
        for w in self._waits.values():
            if w.done_at is not None or now < w.press_at:
                continue
            if self._typing is not None:  # typing first, then the key that submits it
                continue
            still_waiting = self._recent(w.last, w.last_frame, now)
            if not still_waiting:
                if not w.respond:
                    self._log("withheld", key=w.key)
                w.done_at = now
                continue
            w.done_at = now
            if w.key is None:
                continue
            self._do(_Pending(now, "key_press", (w.key,), {"rt": now - w.first, "rt_drawn": w.rt}))
            self._pending.append(_Pending(now + w.hold, "key_release", (w.key,)))
        self._type_step(now)
        m = self._mouse_wait
        if m is not None and m["done_at"] is None and now >= m["at"] and not self._mouse_off:
            m["done_at"] = now
            if self._recent(m["last"], m["last_frame"], now):
                try:
                    if not self._open_sliders() and self._form_scroll():
                        m["done_at"] = None
                        m["at"] = now + 0.05
                        return
                    pos, target = self._mouse_target()
                    self._do(_Pending(now, "mouse_press", (pos,), {"rt": now - m["first"], "target": target}))
                except Exception:  # the keys may still carry the run: stop clicking only
                    log.exception("the simulated participant cannot click here; it stops using the mouse")
                    self._mouse_off = True
                    return
                self._pending.append(_Pending(now + self._hold(self.mouse_rng), "mouse_release", (pos,)))

    # ----------------------------------------------------------------- typing
    #: what the participant types into a text box (one of these, drawn)
    ANSWERS = ("yes", "blue", "twelve", "no idea", "ok")
    #: mouse-wheel notches per scroll of a form
    SCROLL_NOTCHES = 3
    #: seconds between typed characters (experiment time)
    TYPE_INTERVAL_S = 0.12

    def _type_step(self, now: float) -> None:
        """Type into the editable text box the window edits now (one character per step)."""
        t = self._typing
        if t is None:
            live = [b for b in self._texts if id(b) not in self._typed and _is_live(b)]
            self._texts = live
            if not live:
                return
            box = live[0]
            if not self._is_current_editable(box):
                if (
                    t is None
                    and self.win.currentEditable is not None
                    and any(x is self.win.currentEditable for x in live[1:])
                ):
                    box = self.win.currentEditable
                else:  # a tab moves the window's focus to its next editable (PsychoPy's text handler)
                    self.win.winHandle.dispatch_event("on_text", "\t")
                    self._typed_focus_tries += 1
                    if self._typed_focus_tries > 2 * len(live) + 20:  # cannot focus it: leave it
                        self._typed.add(id(box))
                        self._typed_focus_tries = 0
                    return
            self._typed_focus_tries = 0
            answer = self.ANSWERS[int(self.rng.integers(len(self.ANSWERS)))]
            self._typing = t = {"box": box, "left": list(answer), "at": now + self._rt(), "answer": answer}
        if now < t["at"]:
            return
        box = t["box"]
        if not _is_live(box) or not t["left"]:
            self._typed.add(id(box))
            if not t["left"]:
                self.progress += 1
                self._log("typed", text=t["answer"], target=f"text box {getattr(box, 'name', '')}".strip())
            self._typing = None
            return
        self.win.winHandle.dispatch_event("on_text", t["left"].pop(0))
        t["at"] = now + self.TYPE_INTERVAL_S

    def _open_sliders(self) -> list:
        """Sliders drawn, in view, not rated, not a form's scrollbar, not given up on."""
        out = []
        for s in self._sliders:
            try:
                if (
                    self._slider_tries.get(id(s), 0) < 2
                    and getattr(s, "status", None) != -1
                    and s.getRating() is None
                    and self._slider_in_view(s)
                    and not any(s is getattr(f, "scrollbar", None) for f in self._forms)
                ):
                    out.append(s)
            except Exception:
                pass
        return out

    def _slider_in_view(self, slider) -> bool:
        """Not one of a form's items scrolled out of the form's box."""
        for form in self._forms:
            if _in_form(form, slider):
                try:
                    return abs(float(slider.pos[1]) - float(form.pos[1])) < float(form.size[1]) / 2
                except Exception:
                    return True
        return True

    def _is_current_editable(self, box) -> bool:
        return getattr(self.win, "currentEditable", None) is box

    def _form_scroll(self) -> bool:
        """Scroll a drawn, incomplete form down one notch when its visible items are answered;
        ``True`` if it scrolled."""
        for form in list(self._forms):
            if not _is_live(form) or getattr(form, "complete", True):
                self._forms.remove(form)
                continue
            if any(_in_form(form, s) for s in self._open_sliders()) or self._typing is not None:
                continue  # answer what is in view first
            handle = self.win.winHandle
            x, y = _win_to_pyglet(_pix_to_win(_centre_pix(form, self.win), self.win), self.win)
            handle.dispatch_event("on_mouse_scroll", x, y, 0, -self.SCROLL_NOTCHES)
            self._log("scroll", target=f"form {getattr(form, 'name', '')}".strip())
            self.progress += 1
            return True
        return False

    def _do(self, p: _Pending) -> None:
        handle = self.win.winHandle
        if p.kind in ("key_press", "key_release"):
            handle.dispatch_event("on_" + p.kind, _symbol(p.args[0]), 0)
            self._log(p.kind, key=p.args[0], **p.info)
            return
        from psychopy import event

        pos = p.args[0]
        if p.kind == "mouse_press":
            event.Mouse(win=self.win).setPos(pos)
        x, y = _win_to_pyglet(pos, self.win)
        handle.dispatch_event("on_" + p.kind, x, y, 1, 0)  # 1: pyglet's left button
        self._log(p.kind, pos=tuple(float(v) for v in pos), **p.info)

    def _log(self, kind: str, **info) -> None:
        self.actions.append({"t": _now(), "kind": kind, **info})

    def waiting_for(self) -> str:
        """The key lists the experiment is polling now, e.g. ``"['space'], any key"``; ``""`` when none."""
        now = _now()
        live = [w.keys for w in self._waits.values() if self._recent(w.last, w.last_frame, now)]
        return ", ".join("any key" if k is None else str(list(k)) for k in live)

    def given_since(self, t: float) -> str:
        """What it did since experiment time ``t`` (s), e.g. ``"12 key presses, 2 clicks"``; ``""`` when nothing."""
        kinds = {"key_press": "key press", "mouse_press": "click", "typed": "text typed", "scroll": "scroll"}
        counts: dict[str, int] = {}
        for a in self.actions:
            if a["t"] >= t and a["kind"] in kinds:
                counts[kinds[a["kind"]]] = counts.get(kinds[a["kind"]], 0) + 1
        return ", ".join(
            f"{n} {k}" + ("es" if n > 1 and k.endswith("ss") else "s" if n > 1 else "") for k, n in counts.items()
        )

    def summary(self) -> dict[str, int]:
        """``{kind: count}`` of :attr:`actions`."""
        out: dict[str, int] = {}
        for a in self.actions:
            out[a["kind"]] = out.get(a["kind"], 0) + 1
        return out


def _is_live(stim) -> bool:
    """Drawn now: auto-drawn, or a component whose status is STARTED (1)."""
    return bool(getattr(stim, "autoDraw", False)) or getattr(stim, "status", None) == 1


def _in_form(form, slider) -> bool:
    """``slider`` is one of ``form``'s response controls."""
    for item in getattr(form, "items", []) or []:
        if isinstance(item, dict) and item.get("responseCtrl") is slider:
            return True
    return False


#: (class name in the component's type's MRO, what the routine waits for), first match wins
_INPUTS = (
    ("Form", "completing the form"),
    ("Slider", "a rating on the slider"),
    ("ButtonStim", "a click on the button"),
    ("Keyboard", "a keypress"),
    ("KeyboardDevice", "a keypress"),
    ("Mouse", "a mouse click"),
    ("Microphone", "a microphone recording"),
    ("MicrophoneDevice", "a microphone recording"),
    ("Camera", "a camera recording"),
    ("MovieStim", "the movie playing to its end"),
    ("Sound", "the sound playing to its end"),
    ("ButtonBox", "a press on the button box"),
    ("BaseButtonGroup", "a press on the button box"),
    ("PanoramicImageStim", "Escape (a panorama viewer: the mouse and arrow keys look around, nothing ends it)"),
)


def waiting_inputs(routine) -> list[str]:
    """What a routine waits for: its started components that take an input (or play out).

    E.g. ``["typing into the text box (TextBox2 'answer')", "a keypress (Keyboard 'key_resp')"]``;
    ``[]`` when there is no routine or none of its components takes an input.
    Read from PsychoPy's public ``Routine.components`` and each component's ``status``.
    """
    out: list[str] = []
    for comp in list(getattr(routine, "components", None) or []):
        if getattr(comp, "status", None) != 1:  # psychopy.constants.STARTED
            continue
        names = [c.__name__ for c in type(comp).__mro__]
        what = None
        if "TextBox2" in names:
            what = "typing into the text box" if getattr(comp, "editable", False) else None
        else:
            what = next((text for cls, text in _INPUTS if cls in names), None)
        if what:
            given = _given(comp)
            out.append(
                f"{what} ({type(comp).__name__} {getattr(comp, 'name', '')!r})"
                + (f": given ({given}), the routine does not end on it" if given else "")
            )
    return out


def _given(comp) -> str:
    """What a started input component has got already: a slider's rating, a Builder keyboard's
    keys (``comp.keys``, which Builder's code sets); ``""`` when nothing (or it cannot tell)."""
    try:
        if "Slider" in [c.__name__ for c in type(comp).__mro__]:
            rating = comp.getRating()
            return "" if rating is None else f"rated {rating:g}" if isinstance(rating, (int, float)) else "rated"
        keys = comp.__dict__.get("keys")
        if isinstance(keys, str) and keys:
            return f"key {keys}"
        if isinstance(keys, list) and keys:
            return "keys " + ", ".join(str(k) for k in keys[-3:])
    except Exception:  # a component this cannot read: say nothing of it
        return ""
    return ""


def _now() -> float:
    """The experiment's time, s: PsychoPy's time base (``psychopy.clock.getTime``), so the
    participant's response times and waits are in the experiment's own time under a
    dry run's time warp (:mod:`.warp`)."""
    import psychopy.clock

    return psychopy.clock.getTime()


def _symbol(name: str) -> int | None:
    """The pyglet key symbol PsychoPy names ``name`` (see :func:`.keyboard.key_name`), or ``None``."""
    from pyglet.window import key

    for candidate in (name.upper(), "_" + name.upper(), "NUM_" + name.upper(), "ENTER" if name == "return" else ""):
        sym = getattr(key, candidate, None) if candidate else None
        if isinstance(sym, int) and _keyboard.key_name(sym) == name:
            return sym
    return None


def _centre_pix(stim, win):
    """The centre of a stimulus's drawn outline, pixels from the window centre (its anchor may
    put ``pos`` on a corner: Builder's buttons are anchored bottom-right)."""
    from psychopy import layout

    verts = getattr(stim, "verticesPix", None)
    if verts is not None and len(verts):
        arr = np.asarray(verts, dtype=float)
        return ((arr[:, 0].min() + arr[:, 0].max()) / 2, (arr[:, 1].min() + arr[:, 1].max()) / 2)
    return tuple(layout.Position(stim.pos, units=stim.units, win=win).pix)


def _pix_to_win(pix, win):
    from psychopy import layout

    return tuple(float(v) for v in getattr(layout.Position(tuple(pix), units="pix", win=win), win.units))


def _win_to_pyglet(pos, win) -> tuple[int, int]:
    """Window units (centre origin) to pyglet window coordinates (bottom-left origin, pixels)."""
    from psychopy import layout

    pix = layout.Position(tuple(pos), units=win.units, win=win).pix
    return int(round(pix[0] + win.size[0] / 2)), int(round(pix[1] + win.size[1] / 2))
