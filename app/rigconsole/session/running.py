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

__all__ = ["RunningExperimentAPI"]

log = logging.getLogger("rigconsole.session")


class RunningExperimentAPI:
    """PsychoPy API methods over ``self.currentExperiment`` (see the module docstring)."""

    currentExperiment: Any
    runs: list
    liaison: Any
    priorityThreshold: Any

    # ---------------------------------------------------------------- expInfo
    def getCurrentExpInfo(self):
        """The running experiment's expInfo, or ``False`` when none runs (PsychoPy API)."""
        if self.currentExperiment is None:
            return False
        return self.currentExperiment.extraInfo

    def setCurrentExpInfoItem(self, key, value):
        expInfo = self.getCurrentExpInfo()
        if expInfo is False:
            return expInfo
        keys = key if isinstance(key, (list, tuple)) else [key]
        values = value if isinstance(value, (list, tuple)) else [value] * len(keys)
        for k, v in zip(keys, values):
            expInfo[k] = v
        return True

    def getCurrentExpInfoItem(self, key):
        expInfo = self.getCurrentExpInfo()
        if expInfo is False:
            return expInfo
        if isinstance(key, (list, tuple)):
            return {k: expInfo[k] for k in key}
        if key in expInfo:
            return expInfo[key]
        return False

    def updateCurrentExpInfo(self, other):
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
        if self.currentExperiment is None:
            log.warning("Could not pause loop as there is no experiment running.")
            return False
        if self.currentExperiment.currentLoop is self.currentExperiment:
            log.warning("Could not pause loop as the current experiment is not in a loop.")
            return False
        self.currentExperiment.currentLoop.status = PAUSED
        return True

    def getAllTrials(self):
        if self.currentExperiment is None:
            return None
        return self.currentExperiment.getAllTrials()

    def getCurrentTrial(self, asDict=False):
        if self.currentExperiment is None:
            return None
        trial = self.currentExperiment.getCurrentTrial()
        if asDict and trial is not None:
            trial = trial.getDict()
        return trial

    def getFutureTrial(self, n=1, asDict=False):
        if self.currentExperiment is None:
            return None
        trial = self.currentExperiment.getFutureTrial(n)
        if asDict and trial is not None:
            trial = trial.getDict()
        return trial

    def getFutureTrials(self, n=1, start=0, asDict=False):
        return [self.getFutureTrial(start + i, asDict=asDict) for i in range(n)]

    def next(self):
        if self.currentExperiment is None:
            return None
        return self.currentExperiment.next()

    def skipTrials(self, n=1):
        if self.currentExperiment is None:
            return None
        return self.currentExperiment.skipTrials(n)

    def rewindTrials(self, n=1):
        if self.currentExperiment is None:
            return None
        return self.currentExperiment.rewindTrials(n)

    def cueTrial(self, trial, isTrials=True):
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
        if self.liaison is None:
            log.warning("Could not send data to liaison server as none is initialised for this Session.")
            return None
        from psychopy import data
        if isinstance(value, data.ExperimentHandler):
            value = value.getJSON(priorityThreshold=self.priorityThreshold)
        self.liaison.broadcastSync(message=value)
        return True
