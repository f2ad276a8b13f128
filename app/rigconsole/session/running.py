"""The PsychoPy ``Session`` methods that act on the running experiment's ExperimentHandler.

PsychoPy's ``Session`` (``psychopy/session.py``) offers these as thin calls on
``Session.currentExperiment`` (a ``psychopy.data.ExperimentHandler``): its
expInfo, its trials and loops, annotations and data, and sending data to a
liaison. :class:`RunningExperimentAPI` keeps their names, arguments and
return values (``False`` or ``None`` when no experiment runs) and is mixed
into :class:`rigconsole.session.Session`, which supplies ``currentExperiment``,
``runs``, ``liaison`` and ``priorityThreshold``.
"""

from __future__ import annotations

import logging
from typing import Any

from .driver import NOT_STARTED, PAUSED
from .trial_nav import end_trial, is_navigable

__all__ = ["RunningExperimentAPI"]

log = logging.getLogger("rigconsole.session")


class RunningExperimentAPI:
    """PsychoPy API methods over ``self.currentExperiment`` (see the module docstring)."""

    currentExperiment: Any

    @property
    def runs(self) -> list:  # the Session's (the ExperimentHandler of every ended run)
        raise NotImplementedError

    liaison: Any
    priorityThreshold: Any

    # ---------------------------------------------------------------- expInfo
    def getCurrentExpInfo(self):
        """The running experiment's expInfo, or ``False`` when none runs (PsychoPy API)."""
        if self.currentExperiment is None:
            return False
        return self.currentExperiment.extraInfo

    def setCurrentExpInfoItem(self, key, value):
        """Set one key, or several (a list or tuple of keys), of the running experiment's
        expInfo (PsychoPy API); one value for every key, or one value per key.

        Returns:
            ``True`` as PsychoPy documents (PsychoPy 2026.2's own returns ``None``);
            ``False`` when no experiment runs.
        """
        expInfo = self.getCurrentExpInfo()
        if expInfo is False:
            return expInfo
        keys = key if isinstance(key, (list, tuple)) else [key]
        values = value if isinstance(value, (list, tuple)) else [value] * len(keys)
        for k, v in zip(keys, values):
            expInfo[k] = v
        return True

    def getCurrentExpInfoItem(self, key):
        """A value of the running experiment's expInfo (PsychoPy API).

        Args:
            key: one key, or a list or tuple of keys (PsychoPy 2026.2's own raises
                ``TypeError`` for a list: it looks the list up as a key first).

        Returns:
            The value; ``{key: value}`` for several keys; ``False`` when no
            experiment runs or the key is not there.

        Raises:
            KeyError: one of several keys is not there (as in PsychoPy).
        """
        expInfo = self.getCurrentExpInfo()
        if expInfo is False:
            return expInfo
        if isinstance(key, (list, tuple)):
            return {k: expInfo[k] for k in key}
        if key in expInfo:
            return expInfo[key]
        return False

    def updateCurrentExpInfo(self, other):
        """Update the running experiment's expInfo from the mapping ``other`` (PsychoPy API).
        Returns ``True``, or ``False`` when no experiment runs."""
        expInfo = self.getCurrentExpInfo()
        if expInfo is False:
            return expInfo
        expInfo.update(other)
        return True

    # ------------------------------------------------------------------ trials
    def getStatus(self):
        """``psychopy.constants`` status of the current experiment; NOT_STARTED when none (PsychoPy API)."""
        if self.currentExperiment is None:
            return NOT_STARTED
        return self.currentExperiment.status

    def pauseLoop(self):
        """Pause the current loop of the running experiment, from its next iteration (PsychoPy API).

        Returns:
            ``True`` as PsychoPy documents (PsychoPy 2026.2's own returns ``None``);
            ``False`` when no experiment runs or it is not in a loop.
        """
        if self.currentExperiment is None:
            log.warning("Could not pause loop as there is no experiment running.")
            return False
        if self.currentExperiment.currentLoop is self.currentExperiment:
            log.warning("Could not pause loop as the current experiment is not in a loop.")
            return False
        self.currentExperiment.currentLoop.status = PAUSED
        return True

    def getAllTrials(self):
        """``(trials, index)``: every trial of the current loop (``psychopy.data.Trial``,
        oldest first) and the current one's index, ``([None], 0)`` outside a
        ``TrialHandler2`` loop; ``None`` when no experiment runs (PsychoPy API)."""
        if self.currentExperiment is None:
            return None
        return self.currentExperiment.getAllTrials()

    def getCurrentTrial(self, asDict=False):
        """The current trial (``psychopy.data.Trial``, or its dict with ``asDict``); ``None``
        when no experiment runs or it is not in a loop (PsychoPy API)."""
        if self.currentExperiment is None:
            return None
        trial = self.currentExperiment.getCurrentTrial()
        if asDict and trial is not None:
            trial = trial.getDict()
        return trial

    def getFutureTrial(self, n=1, asDict=False):
        """The trial ``n`` places ahead, without advancing (``psychopy.data.Trial`` or a
        dict); ``None`` past the last trial, outside a loop or with no experiment (PsychoPy API)."""
        if self.currentExperiment is None:
            return None
        trial = self.currentExperiment.getFutureTrial(n)
        if asDict and trial is not None:
            trial = trial.getDict()
        return trial

    def getFutureTrials(self, n=1, start=0, asDict=False):
        """``n`` trials from ``start`` places ahead, as :meth:`getFutureTrial` gives them;
        a list of ``n`` items, ``None`` beyond the last trial (PsychoPy API)."""
        return [self.getFutureTrial(start + i, asDict=asDict) for i in range(n)]

    def next(self):
        """Move on to the next trial (in a trials loop) or the next Routine (PsychoPy API);
        ``None`` when no experiment runs, else what the ExperimentHandler returns.

        In a ``TrialHandler2`` loop the trial in progress ends and the loop goes on to the
        next trial, as documented (:func:`.trial_nav.end_trial`); PsychoPy's calls
        ``skipTrials(1)``, which, navigating as PsychoPy documents it (:mod:`.trial_nav`),
        would skip a trial."""
        exp = self.currentExperiment
        if exp is None:
            return None
        loop = exp.getCurrentLoop(isTrials=True)
        if loop is not exp and is_navigable(loop):
            end_trial(loop)
            return None
        return exp.next()

    def skipTrials(self, n=1):
        """Skip ``n`` trials ahead in the current loop, those between marked skipped; past the
        last trial, to the last (PsychoPy API). ``None`` when no experiment runs."""
        if self.currentExperiment is None:
            return None
        return self.currentExperiment.skipTrials(n)

    def rewindTrials(self, n=1):
        """Go ``n`` trials back in the current loop (PsychoPy API). ``None`` when no experiment runs."""
        if self.currentExperiment is None:
            return None
        return self.currentExperiment.rewindTrials(n)

    def cueTrial(self, trial, isTrials=True):
        """Queue ``trial`` (an index, dict or ``Trial``) to come next in the current loop
        (PsychoPy API; ``isTrials`` is accepted and unused, as in PsychoPy). ``None`` when
        no experiment runs."""
        if self.currentExperiment is None:
            return None
        return self.currentExperiment.cueTrial(trial)

    # -------------------------------------------------------------------- data
    def addAnnotation(self, value):
        """Annotate the data file and the log at this point (PsychoPy API)."""
        from psychopy import logging as pslogging

        if hasattr(self.currentExperiment, "addAnnotation"):
            self.currentExperiment.addAnnotation(value)
        pslogging.info(value)
        return True

    def addData(self, name, value, row=None, priority=None):
        """Add a value to the current trial row and the log (PsychoPy API)."""
        from psychopy import logging as pslogging

        if hasattr(self.currentExperiment, "addData"):
            self.currentExperiment.addData(name, value, row=row, priority=priority)
        pslogging.data(f"NAME={name}, PRIORITY={priority}, VALUE={value}")
        return True

    def sendExperimentData(self, key=None):
        """Send a run's data to the liaison, if any (PsychoPy API)."""
        if self.liaison is None:
            return None
        runs = list(self.runs) + ([self.currentExperiment] if self.currentExperiment is not None else [])
        if key is None:
            if not runs:
                return False
            key = runs[-1].name
        for run in reversed(runs):
            if run.name == key:
                self.sendToLiaison(run)
                return True
        return False

    def sendToLiaison(self, value):
        """Send a string, a dict or an ExperimentHandler's data (JSON) to the liaison server
        (PsychoPy API). ``True`` when sent; ``None`` (and a warning) when there is no liaison."""
        if self.liaison is None:
            log.warning("Could not send data to liaison server as none is initialised for this Session.")
            return None
        from psychopy import data

        if isinstance(value, data.ExperimentHandler):
            value = value.getJSON(priorityThreshold=self.priorityThreshold)
        self.liaison.broadcastSync(message=value)
        return True
