"""Trial navigation that does what PsychoPy documents, installed on ``TrialHandler2`` during runs.

PsychoPy's ``TrialHandler2.skipTrials(n)`` / ``rewindTrials(n)`` say "skip ahead
n trials" and "rewind back n trials"; PsychoPy's own test experiment for them
(``psychopy/tests/data/test_session/root/testTrialNav``, run by
``psychopy/tests/test_session/test_Session.py::test_trial_navigation``) pins
what that means, case by case: called in trial ``k``, the loop's current trial
becomes ``k + n`` (``k - n``) at once (``trials.thisN``), the trial in progress
ends (its routine sees ``thisTrial.status == STOPPING``) and the loop goes on
with the trial after that one. Skipping past the last trial lands on the last,
rewinding past the first on the first. PsychoPy 2026.2's own code fails that
test ("Expected 4, got 3"): after a jump it cancels the loop's next step, so
the trial it landed on runs again, and a rewind right after a skip counts from
the wrong place. It also labels the row of the interrupted trial with the
loop values of the trial it jumped to, and ``cueTrial`` calls a ``prepend``
that lists do not have.

So, during a run (:func:`fixed_navigation`, entered by ``Session.runExperiment``):

- ``skipTrials(n)`` in trial ``k``: trial ``k`` ends; trials ``k+1 .. k+n`` are
  marked skipped (``Trial.skipped``, PsychoPy's ``skipped`` datum) and never run;
  the next trial to run is ``k+n+1``. ``Session.skipTrials``/``next`` reach it.
- ``rewindTrials(n)`` in trial ``k``: trial ``k`` ends; the next trial to run is
  ``k-n+1`` (so ``rewindTrials(1)`` runs trial ``k`` again); the trials between
  run again as fresh trials (their conditions, no data of the first pass).
- ``cueTrial(trial)``: a fresh copy of ``trial`` (a ``Trial``, or the index of an
  elapsed one) runs next.
- :func:`end_trial` (Rig Console): trial ``k`` ends and the loop goes on to the
  next trial.
- The row of the interrupted trial keeps its own loop values (``trials.thisN``
  is ``k``): the loop values the experiment's next ``nextEntry()`` would copy
  in are not copied while the loop still stands where the jump left it.

Each function here returns the loop's current trial afterwards, as PsychoPy's do.

Rig Console also lets a caller know when a given loop ends (:func:`watch_loop_end`): the
loop's ``__next__`` finds no trial left (it sets ``finished`` and raises StopIteration, as
the experiment's ``for`` statement reaches it), so the callback runs after the loop's last
trial and before whatever the experiment does next (the next routine or block).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["fixed_navigation", "end_trial", "fresh_trial", "is_navigable", "watch_loop_end", "unwatch_loop_end"]

log = logging.getLogger("rigconsole.session")

# psychopy.constants.STOPPING (literal so this module imports without psychopy)
STOPPING = -3

#: id(ExperimentHandler) -> (its entry, loop, trial): the row of an interrupted trial, kept with
#: its own loop values while ``loop.thisTrial is trial`` (see the module docstring); emptied when
#: :func:`fixed_navigation` ends (an ExperimentHandler is unhashable: it defines ``__eq__``)
_pinned: dict[int, tuple[Any, Any, Any]] = {}
#: id(loop) -> (loop, callback): called once when that loop ends (:func:`watch_loop_end`)
_loop_end: dict[int, tuple[Any, Callable[[Any], None]]] = {}


def watch_loop_end(loop: Any, callback: Callable[[Any], None]) -> None:
    """Call ``callback(loop)`` once, on the experiment's (main) thread, when ``loop`` ends: its
    ``__next__`` finds no trial left, after the last trial and before the experiment goes on
    past the loop. Replaces an earlier callback for that loop. Works while
    :func:`fixed_navigation` is entered (during a run); forgotten when it ends."""
    _loop_end[id(loop)] = (loop, callback)


def unwatch_loop_end(loop: Any) -> bool:
    """Forget :func:`watch_loop_end`'s callback for ``loop``; ``True`` if there was one."""
    return _loop_end.pop(id(loop), None) is not None


def _watched_next(original):
    def __next__(loop):
        try:
            return original(loop)
        except StopIteration:
            entry = _loop_end.get(id(loop))
            if entry is not None and entry[0] is loop:
                del _loop_end[id(loop)]
                try:
                    entry[1](loop)
                except Exception:  # a broken watcher never breaks the experiment
                    log.exception("the end-of-loop callback of %r failed", getattr(loop, "name", loop))
            raise

    __next__.__wrapped__ = original  # type: ignore[attr-defined]
    return __next__


def is_navigable(loop: Any) -> bool:
    """True for a loop these functions can move in: a ``psychopy.data.TrialHandler2``."""
    from psychopy.data import TrialHandler2

    return isinstance(loop, TrialHandler2)


def fresh_trial(loop: Any, trial: Any) -> Any:
    """A new ``psychopy.data.Trial`` with ``trial``'s place (thisN, thisRepN, thisTrialN,
    thisIndex) and its conditions from ``loop.trialList`` (no data of an earlier pass)."""
    from psychopy.data.trial import Trial

    conditions: dict = {}
    if loop.trialList and 0 <= trial.thisIndex < len(loop.trialList):
        conditions = dict(loop.trialList[trial.thisIndex] or {})
    return Trial(
        loop,
        thisN=trial.thisN,
        thisRepN=trial.thisRepN,
        thisTrialN=trial.thisTrialN,
        thisIndex=trial.thisIndex,
        data=conditions,
    )


def _interrupt(loop: Any) -> Any:
    """End the trial in progress (its routine sees STOPPING) and keep its row's loop values."""
    current = loop.thisTrial
    current.status = STOPPING
    exp = loop.getExp()
    if exp is not None:
        exp.updateEntryFromLoop(loop)  # the row holds trial k's values ...
    return exp, current


def _pin(exp: Any, loop: Any) -> None:
    if exp is not None:  # ... and keeps them while the loop stands where the jump left it
        _pinned[id(exp)] = (exp.thisEntry, loop, loop.thisTrial)


def _upcoming(loop: Any) -> list:
    if loop.upcomingTrials is None:
        loop.calculateUpcoming()
    return loop.upcomingTrials


def skip_trials(loop: Any, n: int = 1) -> Any:
    """``TrialHandler2.skipTrials`` as documented (see the module docstring)."""
    n = int(n)
    if n < 0:
        return rewind_trials(loop, -n)
    upcoming = _upcoming(loop)
    if n > len(upcoming):
        log.warning("asked to skip %d trials with %d to come: skipping to the last", n, len(upcoming))
        n = len(upcoming)
    if loop.thisTrial is None or n == 0:
        return loop.thisTrial
    exp, current = _interrupt(loop)
    for _ in range(n):
        loop.elapsedTrials.append(loop.thisTrial)
        loop.thisTrial = upcoming.pop(0)
        loop.thisTrial["skipped"] = True
    loop._cancelNextIteration = False
    _pin(exp, loop)
    log.info("%s: skipped from trial %d to %d", loop.name, current.thisN, loop.thisTrial.thisN)
    return loop.thisTrial


def rewind_trials(loop: Any, n: int = 1) -> Any:
    """``TrialHandler2.rewindTrials`` as documented (see the module docstring); ``-n`` counts as ``n``."""
    n = abs(int(n))
    elapsed = loop.elapsedTrials
    if n > len(elapsed):
        log.warning("asked to rewind %d trials with %d elapsed: rewinding to the first", n, len(elapsed))
        n = len(elapsed)
    if loop.thisTrial is None or n == 0:
        return loop.thisTrial
    upcoming = _upcoming(loop)
    exp, current = _interrupt(loop)
    rewound = elapsed[-n:]
    del elapsed[-n:]
    again = [fresh_trial(loop, t) for t in rewound[1:]] + [fresh_trial(loop, current)]
    upcoming[:0] = again
    loop.thisTrial = rewound[0]
    loop._cancelNextIteration = False
    _pin(exp, loop)
    log.info("%s: rewound from trial %d to %d", loop.name, current.thisN, loop.thisTrial.thisN)
    return loop.thisTrial


def cue_trial(loop: Any, trial: Any) -> Any:
    """``TrialHandler2.cueTrial`` as documented: ``trial`` (a ``Trial``, or the index of an elapsed
    trial) comes next. Raises IndexError (no such elapsed trial), TypeError (another kind)."""
    from psychopy.data.trial import Trial

    if isinstance(trial, int) and not isinstance(trial, bool):
        if not 0 <= trial < len(loop.elapsedTrials):
            raise IndexError(f"cannot cue trial {trial}: {len(loop.elapsedTrials)} trials have elapsed")
        trial = loop.elapsedTrials[trial]
    if not isinstance(trial, Trial):
        raise TypeError(f"cueTrial takes a Trial or an elapsed trial's index, not {type(trial).__name__}")
    _upcoming(loop).insert(0, fresh_trial(loop, trial))
    return loop.thisTrial


def end_trial(loop: Any) -> Any:
    """End the trial in progress; the loop goes on to the next trial (none is skipped)."""
    if loop.thisTrial is None:
        return None
    exp, _current = _interrupt(loop)
    loop._cancelNextIteration = False
    _pin(exp, loop)
    return loop.thisTrial


def _update_entry_from_loop(original):
    def updateEntryFromLoop(exp, thisLoop):
        pin = _pinned.get(id(exp))
        if pin is not None:
            entry, loop, trial = pin
            if entry is exp.thisEntry and loop is thisLoop and loop.thisTrial is trial:
                return None  # the interrupted trial's row keeps its own loop values
            if entry is not exp.thisEntry or loop.thisTrial is not trial:
                _pinned.pop(id(exp), None)
        return original(exp, thisLoop)

    updateEntryFromLoop.__wrapped__ = original  # type: ignore[attr-defined]
    return updateEntryFromLoop


@contextlib.contextmanager
def fixed_navigation() -> Iterator[None]:
    """Give ``psychopy.data.TrialHandler2`` the documented ``skipTrials``, ``rewindTrials`` and
    ``cueTrial`` (and keep an interrupted trial's row its own), and let :func:`watch_loop_end`
    see PsychoPy's loops end, until the block ends; PsychoPy's own come back afterwards. Not
    re-entrant (one run at a time)."""
    from psychopy.data import (
        ExperimentHandler,
        MultiStairHandler,
        PsiHandler,
        QuestHandler,
        QuestPlusHandler,
        StairHandler,
        TrialHandler,
        TrialHandler2,
        TrialHandlerExt,
    )

    loops = (
        TrialHandler,
        TrialHandler2,
        TrialHandlerExt,
        StairHandler,
        QuestHandler,
        QuestPlusHandler,
        PsiHandler,
        MultiStairHandler,
    )  # each defines its own __next__

    saved = [
        (TrialHandler2, "skipTrials", TrialHandler2.__dict__["skipTrials"]),
        (TrialHandler2, "rewindTrials", TrialHandler2.__dict__["rewindTrials"]),
        (TrialHandler2, "cueTrial", TrialHandler2.__dict__["cueTrial"]),
        (ExperimentHandler, "updateEntryFromLoop", ExperimentHandler.__dict__["updateEntryFromLoop"]),
    ]
    TrialHandler2.skipTrials = skip_trials
    TrialHandler2.rewindTrials = rewind_trials
    TrialHandler2.cueTrial = cue_trial
    ExperimentHandler.updateEntryFromLoop = _update_entry_from_loop(saved[3][2])
    for cls in loops:
        if "__next__" in cls.__dict__:
            saved.append((cls, "__next__", cls.__dict__["__next__"]))
            cls.__next__ = _watched_next(cls.__dict__["__next__"])  # type: ignore[method-assign]
    try:
        yield
    finally:
        for cls, name, fn in saved:
            setattr(cls, name, fn)
        _pinned.clear()
        _loop_end.clear()
