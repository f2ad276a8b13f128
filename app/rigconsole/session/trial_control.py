"""Trial control during a run: repeat, skip, pause at the end of the loop, edit expInfo. Qt-free.

What the people at a rig do once a run has started (pyControl's Controls dialog
and Bpod's ParameterGUI are the anchors for changes made live), through
PsychoPy's Session API on the running experiment
(:class:`~.running.RunningExperimentAPI`) with navigation as PsychoPy documents
it (:mod:`.trial_nav`):

- **repeat** (:meth:`TrialControl.repeat_trial`): the trial in progress ends and
  runs again from its start (``cueTrial`` of a fresh copy); its first, cut-short
  row stays in the data, so the trial is there twice;
- **next** (:meth:`TrialControl.next_trial`): the trial in progress ends, the loop
  goes on to the next trial;
- **skip** (:meth:`TrialControl.skip_trials`): the trial in progress ends and the
  ``n`` trials after it are skipped (``skipTrials(n)``, marked ``skipped``);
- **pause_loop** (:meth:`TrialControl.pause_at_loop_end`): the loop in progress (the
  block) runs to its last trial and the run pauses right after it, before whatever
  comes next (the next routine or block), as the console's Pause does (the run state
  becomes ``paused``); Resume goes on. :meth:`TrialControl.cancel_loop_end_pause`
  cancels it while pending; :meth:`TrialControl.state` says whether one is
  (``pending_pause``);
- **pause_trial** (:meth:`TrialControl.pause_after_trial`): the run pauses when the
  loop next iterates, after the trial in progress (PsychoPy's ``pauseLoop``); Resume goes on;
- **exp_info** (:meth:`TrialControl.set_exp_info`): one expInfo value changes for
  the rows from now on (``setCurrentExpInfoItem``).

Repeat, next and skip need a ``psychopy.data.TrialHandler2`` loop (a Builder loop
of fixed trials); a staircase or a script without a PsychoPy loop cannot do them,
and :meth:`TrialControl.availability` says why, in one line (the console greys
the button with it as tooltip, the remote API answers it with 409).

Every action is recorded as an annotation of kind ``"trial-control"`` in the session
data log (who: ``"console"`` or ``"remote:<token name>"``; when: its time; what:
the text, where trials are numbered from 1 as the console shows them, and
``fields``: ``action``, ``run`` (run number), ``experiment``, ``loop``,
``trial`` (PsychoPy's 0-based ``thisN`` of the trial in progress, as a note's
``trial``) and the action's arguments, ``skipped`` as ``thisN`` too), and as PsychoPy's ``addAnnotation`` in the interrupted trial's row
(its ``notes`` column). Actions and reads may be asked for from any thread: they run on the
main thread (through the session's command queue, at the experiment's next flip,
as pause and stop do). :attr:`TrialControl.events` announces each one (psygnal).
"""

from __future__ import annotations

import logging
from typing import Any

from psygnal import Signal, SignalGroup

from .commands import on_main_thread
from .trial_nav import end_trial, is_navigable, unwatch_loop_end, watch_loop_end

__all__ = ["TrialControl", "TrialControlEvents", "TrialControlError", "ACTIONS", "ANNOTATION_KIND"]

log = logging.getLogger("rigconsole.session")

#: The actions, by the names the console, the remote API and the annotations use.
ACTIONS = ("repeat", "next", "skip", "pause_loop", "pause_trial", "exp_info")
#: The annotation kind of a trial-control action.
ANNOTATION_KIND = "trial-control"
# psychopy.constants.PAUSED / FINISHED (literal: this module imports without psychopy)
_PAUSED = 2
_FINISHED = -1


class TrialControlError(ValueError):
    """An action that cannot be done now; the message is the one-line reason."""


class TrialControlEvents(SignalGroup):
    """What :class:`TrialControl` announces, on the main thread.

    - ``acted(row)``: an action was done; ``row`` is its annotation
      (``{'t', 'source', 'kind', 'text', 'fields'}``).
    """

    acted = Signal(object)


#: control methods run on the main thread (the session's command queue) whatever thread calls them
_on_main_thread = on_main_thread(lambda tc: tc._session.commands)


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _coerce(key: str, old: Any, value: Any) -> Any:
    """``value`` as the type of expInfo's ``old`` value (str from a form, JSON from the remote)."""
    if isinstance(old, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "y", "on"):
            return True
        if text in ("0", "false", "no", "n", "off"):
            return False
        raise TrialControlError(f"expInfo {key!r} is true or false, not {value!r}")
    for kind in (int, float):
        if isinstance(old, kind) and not isinstance(old, bool):
            if isinstance(value, bool):
                raise TrialControlError(f"expInfo {key!r} is a number, not {value!r}")
            try:
                return kind(value) if kind is float or isinstance(value, int) else int(str(value).strip())
            except (TypeError, ValueError):
                name = "a whole number" if kind is int else "a number"
                raise TrialControlError(f"expInfo {key!r} is {name}, not {value!r}") from None
    if not isinstance(value, (str, int, float, bool)):
        raise TrialControlError(f"expInfo {key!r} takes text or a number, not {type(value).__name__}")
    return str(value) if isinstance(old, str) else value


class TrialControl:
    """Trial control of the session's running experiment (see the module docstring).

    Args:
        session: the rig's :class:`~rigconsole.session.Session` (its running experiment,
            command queue and data log).
    """

    def __init__(self, session: Any):
        self._session = session
        self.events = TrialControlEvents()
        #: the pending end-of-loop pause: ``(thisExp, loop, who)``, or ``None``
        self._armed: tuple[Any, Any, str] | None = None

    # ---------------------------------------------------------------- state
    def _where(self) -> tuple[Any, Any, Any]:
        """``(thisExp, trials loop or None, innermost loop or None)`` of the running experiment."""
        exp = self._session.currentExperiment
        if exp is None:
            return None, None, None
        trials = exp.getCurrentLoop(isTrials=True)
        inner = exp.getCurrentLoop(isTrials=False)
        return exp, (trials if trials is not exp else None), (inner if inner is not exp else None)

    @_on_main_thread
    def availability(self) -> dict[str, dict[str, Any]]:
        """``{action: {"enabled": bool, "reason": str}}`` for every action of :data:`ACTIONS`;
        ``reason`` is the one line saying why it cannot be done now (``""`` when it can)."""
        exp, trials, inner = self._where()
        out: dict[str, dict[str, Any]] = {}

        def put(action: str, reason: str) -> None:
            out[action] = {"enabled": not reason, "reason": reason}

        if exp is None:
            for a in ACTIONS:
                put(a, "no run in progress")
            return out
        loop = trials if trials is not None else inner
        if loop is None:
            nav = "this experiment runs its trials without a PsychoPy loop: there is no trial to repeat or skip"
        elif not is_navigable(loop):
            nav = (
                f"the running loop {getattr(loop, 'name', '')!r} is a {type(loop).__name__}: PsychoPy repeats "
                "and skips trials only in a TrialHandler2 loop (a loop of fixed trials), not a staircase"
            )
        elif trials is None:
            nav = (
                f"the running loop {getattr(loop, 'name', '')!r} is not a trials loop (its isTrials is off): "
                "PsychoPy repeats and skips trials only in a trials loop"
            )
        elif loop.thisTrial is None:
            nav = "no trial is in progress (the loop has not started its first trial or has ended)"
        else:
            nav = ""
        put("repeat", nav)
        put("next", nav)
        skip = nav
        if not skip and not (loop.upcomingTrials or []):
            skip = "no trial comes after this one in the loop"
        put("skip", skip)
        if inner is None:
            pause = "the run is not in a PsychoPy loop: there is no loop end to pause at"
            after = "the run is not in a PsychoPy loop: there is no trial end to pause at"
        elif getattr(inner, "status", None) == _PAUSED:
            pause = ""
            after = "a pause after this trial is already asked for"
        else:
            pause = after = ""
        armed = self._pending()
        if armed is not None:
            pause = (
                f"a pause at the end of loop {getattr(armed[1], 'name', '')!r} is already asked for (cancel it first)"
            )
        put("pause_loop", pause)
        put("pause_trial", after)
        put("exp_info", "")
        return out

    @_on_main_thread
    def upcoming(self, n: int = 5) -> list[dict[str, Any]]:
        """The next ``n`` trials of the running loop (``getFutureTrials``), nearest first:
        ``[{"thisN": int, "conditions": {name: value}, "skipped": bool}]``; ``[]`` when none runs,
        outside a TrialHandler2 loop, or at the end."""
        exp, trials, _inner = self._where()
        if exp is None or trials is None or not is_navigable(trials):
            return []
        out = []
        for t in self._session.getFutureTrials(max(0, int(n)), start=1):
            if t is None:
                break
            out.append({"thisN": int(t.thisN), "conditions": {str(k): _plain(v) for k, v in t.items()}})
        return out

    @_on_main_thread
    def state(self, n_upcoming: int = 5) -> dict[str, Any]:
        """JSON-friendly: ``{"running", "experiment", "run", "loop", "loop_type", "trial", "remaining",
        "actions" (:meth:`availability`), "upcoming" (:meth:`upcoming`), "exp_info",
        "pending_pause"}``; ``pending_pause`` is ``{"loop": name, "source": who}`` while a pause at the
        end of a loop is asked for and not yet done, else ``None`` (the remote
        API's ``GET /trial-control``, the console's dock)."""
        exp, trials, inner = self._where()
        loop = trials if trials is not None else inner
        rec = self._session.current_run
        current = getattr(loop, "thisTrial", None) if loop is not None else None
        remaining = None
        if loop is not None and is_navigable(loop):
            remaining = len(loop.upcomingTrials or [])
        info = self._session.getCurrentExpInfo() if exp is not None else False
        return {
            "running": exp is not None,
            "experiment": rec.key if rec is not None else None,
            "run": rec.index if rec is not None else None,
            "loop": getattr(loop, "name", None) if loop is not None else None,
            "loop_type": type(loop).__name__ if loop is not None else None,
            "trial": int(current.thisN) if current is not None and hasattr(current, "thisN") else None,
            "remaining": remaining,
            "actions": self.availability(),
            "upcoming": self.upcoming(n_upcoming),
            "exp_info": {str(k): _plain(v) for k, v in info.items()} if isinstance(info, dict) else {},
            "pending_pause": self._pending_state(),
        }

    # -------------------------------------------------------------- actions
    def _check(self, action: str) -> None:
        a = self.availability()[action]
        if not a["enabled"]:
            raise TrialControlError(f"cannot {_VERBS[action]}: {a['reason']}")

    @_on_main_thread
    def repeat_trial(self, who: str = "console") -> dict[str, Any]:
        """End the trial in progress and run it again from its start; returns the annotation row.

        Raises:
            TrialControlError: not possible now (the reason, one line).
        """
        self._check("repeat")
        _exp, loop, _inner = self._where()
        current = loop.thisTrial
        self._session.cueTrial(current)
        end_trial(loop)
        return self._record("repeat", who, f"repeat trial {current.thisN + 1}", loop=loop, trial=current)

    @_on_main_thread
    def next_trial(self, who: str = "console") -> dict[str, Any]:
        """End the trial in progress; the loop goes on to the next trial. Returns the annotation row.

        Raises:
            TrialControlError: not possible now.
        """
        self._check("next")
        _exp, loop, _inner = self._where()
        current = loop.thisTrial
        self._session.next()  # PsychoPy's Session.next: this trial ends, the loop goes on
        return self._record("next", who, f"end trial {current.thisN + 1}, go on to the next", loop=loop, trial=current)

    @_on_main_thread
    def skip_trials(self, n: int, who: str = "console") -> dict[str, Any]:
        """End the trial in progress and skip the ``n`` trials after it (``skipTrials(n)``; at most the
        trials left). Returns the annotation row (``fields["skipped"]``: their thisN).

        Raises:
            TrialControlError: ``n`` is not a whole number >= 1, or not possible now.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise TrialControlError(f"skip takes a whole number of trials >= 1, not {n!r}")
        self._check("skip")
        _exp, loop, _inner = self._where()
        current = loop.thisTrial
        before = len(loop.elapsedTrials)
        self._session.skipTrials(n)
        skipped = [int(t.thisN) for t in loop.elapsedTrials[before + 1 :]] + [int(loop.thisTrial.thisN)]
        numbers = ", ".join(str(n + 1) for n in skipped)
        text = f"end trial {current.thisN + 1} and skip {len(skipped)} trial(s) ({numbers})"
        return self._record("skip", who, text, loop=loop, trial=current, n=n, skipped=skipped)

    def _pending(self) -> tuple[Any, Any, str] | None:
        """The pending end-of-loop pause, if it belongs to the run in progress."""
        armed = self._armed
        if armed is not None and armed[0] is not self._session.currentExperiment:
            self._armed = armed = None  # that run ended before its loop did
        return armed

    def _pending_state(self) -> dict[str, Any] | None:
        armed = self._pending()
        if armed is None:
            return None
        return {"loop": getattr(armed[1], "name", None), "source": armed[2]}

    @_on_main_thread
    def pause_at_loop_end(self, who: str = "console") -> dict[str, Any]:
        """Ask for a pause at the end of the loop in progress (the innermost, its block): its
        remaining trials run, then, right after its last trial and before what comes next, the
        run pauses as the console's Pause does (``Session.pauseExperiment``; run state
        ``paused``); resume as any pause. :meth:`cancel_loop_end_pause` cancels it. Returns the
        annotation row (``fields["action"]``: ``"pause_loop"``); another is recorded when the pause
        is done (``"pause_loop_done"``).

        Raises:
            TrialControlError: not possible now (no run, not in a loop, one already pending).
        """
        self._check("pause_loop")
        exp, _trials, inner = self._where()
        current = getattr(inner, "thisTrial", None)
        self._armed = (exp, inner, who)
        watch_loop_end(inner, self._loop_ended)
        name = getattr(inner, "name", "")
        n = getattr(current, "thisN", None)
        text = f"pause at the end of loop {name!r}" + (f" (asked in trial {n + 1})" if n is not None else "")
        return self._record("pause_loop", who, text, loop=inner, trial=current)

    @_on_main_thread
    def cancel_loop_end_pause(self, who: str = "console") -> dict[str, Any]:
        """Cancel the pending pause at the end of a loop; returns the annotation row.

        Raises:
            TrialControlError: none is pending.
        """
        armed = self._pending()
        if armed is None:
            raise TrialControlError("cannot cancel the pause at the end of the loop: none is asked for")
        _exp, loop, _who = armed
        self._armed = None
        unwatch_loop_end(loop)
        current = getattr(loop, "thisTrial", None)
        text = f"cancel the pause at the end of loop {getattr(loop, 'name', '')!r}"
        return self._record("pause_loop_cancel", who, text, loop=loop, trial=current)

    def _loop_ended(self, loop: Any) -> None:
        """The watched loop has run its last trial (from its ``__next__``, on the main thread):
        pause the run here, before the experiment goes on past the loop."""
        armed = self._armed
        if armed is None or armed[1] is not loop:
            return
        exp, _loop, who = armed
        self._armed = None
        if exp is not self._session.currentExperiment or exp.status == _FINISHED:
            return  # the run is ending anyway
        last = loop.elapsedTrials[-1] if getattr(loop, "elapsedTrials", None) else None
        n = getattr(last, "thisN", None)
        if n is None:  # a staircase: its count of trials
            n = getattr(loop, "thisTrialN", None)
        name = getattr(loop, "name", "")
        text = f"paused at the end of loop {name!r}" + (f" after trial {n + 1}" if isinstance(n, int) else "")
        self._record("pause_loop_done", who, text, loop=loop, trial=last)
        self._session.pauseExperiment()
        self._hold_paused(exp)

    def _hold_paused(self, exp: Any) -> None:
        """Keep the run paused here (flipping the stimulus window: the frame hook serves the console
        and the command queue on each flip) until it is resumed or stopped. Without a window the
        experiment's own pause check does it at its next frame."""
        win = self._session.win
        if win is None:
            return
        import time

        period = 1.0 / 60.0
        while exp.status == _PAUSED:
            t = time.perf_counter()
            win.flip()
            self._session.frame_hook.pump_now(0.008)
            spent = time.perf_counter() - t
            if spent < period:  # no vsync: do not spin
                time.sleep(period - spent)

    @_on_main_thread
    def pause_after_trial(self, who: str = "console") -> dict[str, Any]:
        """Pause the run when its loop next iterates (PsychoPy's ``pauseLoop``): after the trial in
        progress. Resume as any pause (``Session.resumeExperiment``). Returns the annotation row.

        Raises:
            TrialControlError: not possible now.
        """
        self._check("pause_trial")
        _exp, trials, inner = self._where()
        current = getattr(inner, "thisTrial", None)
        self._session.pauseLoop()
        n = getattr(current, "thisN", None)
        text = "pause after this trial" + (f" (trial {n + 1})" if n is not None else "")
        return self._record("pause_trial", who, text, loop=inner, trial=current)

    @_on_main_thread
    def set_exp_info(self, key: str, value: Any, who: str = "console") -> dict[str, Any]:
        """Set the running experiment's expInfo ``key`` to ``value`` (``setCurrentExpInfoItem``), typed
        as its current value (a form's text ``"0.5"`` for a number). Rows stored from now on hold it.
        Returns the annotation row (``fields``: ``key``, ``old``, ``value``).

        Raises:
            TrialControlError: no run, no such key, or a value of the wrong kind.
        """
        self._check("exp_info")
        info = self._session.getCurrentExpInfo()
        if not isinstance(key, str) or key not in info:
            known = ", ".join(sorted(map(str, info))) or "none"
            raise TrialControlError(f"no expInfo field {key!r} in this run (fields: {known})")
        old = info[key]
        new = _coerce(key, old, value)
        self._session.setCurrentExpInfoItem(key, new)
        _exp, trials, inner = self._where()
        loop = trials if trials is not None else inner
        return self._record(
            "exp_info",
            who,
            f"expInfo {key}: {old!r} -> {new!r}",
            loop=loop,
            trial=getattr(loop, "thisTrial", None),
            key=key,
            old=_plain(old),
            value=_plain(new),
        )

    # ------------------------------------------------------------- records
    def _record(self, action: str, who: str, what: str, *, loop: Any, trial: Any, **extra: Any) -> dict[str, Any]:
        rec = self._session.current_run
        fields: dict[str, Any] = {
            "action": action,
            "run": rec.index if rec is not None else None,
            "experiment": rec.key if rec is not None else None,
            "loop": getattr(loop, "name", None),
            "trial": int(trial.thisN) if trial is not None and hasattr(trial, "thisN") else None,
            **extra,
        }
        text = f"trial control ({who}): {what}"
        self._session.addAnnotation(text)  # PsychoPy's: the interrupted trial's row, 'notes'
        t = None
        data_log = self._session.data_log
        if data_log is not None:
            try:
                t = data_log.add_annotation(text, source=who, kind=ANNOTATION_KIND, **fields)
            except Exception as err:  # the action is done; the log says why the record is missing
                log.error("the trial-control annotation could not be stored: %s", err)
        log.info("%s", text)
        if t is None:
            import time

            t = time.time()
        row = {"t": t, "source": who, "kind": ANNOTATION_KIND, "text": text, "fields": fields}
        self.events.acted.emit(row)
        return row


_VERBS = {
    "repeat": "repeat this trial",
    "next": "go on to the next trial",
    "skip": "skip trials",
    "pause_loop": "pause at the end of this loop",
    "pause_trial": "pause after this trial",
    "exp_info": "edit expInfo",
}
