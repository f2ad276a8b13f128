"""Benchmark stimulus loop: a drifting grating and a text stimulus, one trial row every
30 frames (so the console's live trial plot updates twice a second at 60 Hz).

With ``logEvery`` = N > 0 (default 0: off, as in the bare / console comparison)
and a console session (``thisSession.data_log``), it also logs two variables
every N frames from the frame loop, as an experiment logging a signal does:
``phase`` (the grating's phase, cycles) and ``luminance`` (a 0-1 sine);
bench_frames.py's ``--observers`` mode streams them to remote observers."""

import math

from psychopy import data, visual
from psychopy.constants import FINISHED, STARTED

expName = "frameloop"
expInfo = {"participant": "bench", "nFrames": 3600, "logEvery": 0, "date|hid": "", "expName|hid": expName}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(
        name=expName,
        extraInfo=expInfo,
        savePickle=False,
        saveWideText=False,
        dataFileName=f"{dataDir}/data/{expInfo['participant']}_{expName}",
    )


def setupWindow(expInfo=None, win=None):
    return win


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    grating = visual.GratingStim(win, tex="sin", mask="gauss", size=0.5, sf=8)
    label = visual.TextStim(win, text="", pos=(0, -0.4), height=0.04)
    thisExp.status = STARTED
    n = int(expInfo["nFrames"])
    every = int(expInfo.get("logEvery", 0) or 0)
    data_log = getattr(thisSession, "data_log", None) if every > 0 else None
    for frame in range(n):
        grating.phase = frame / 60.0
        label.text = f"frame {frame}"
        grating.draw()
        label.draw()
        win.flip()
        if thisExp.status == FINISHED:
            return
        if data_log is not None and frame % every == 0:
            data_log.add_entry(phase=frame / 60.0, luminance=0.5 + 0.5 * math.sin(frame / 30.0))
        if frame % 30 == 29:
            thisExp.addData("frame", frame)
            thisExp.addData("rt", 0.3 + 0.1 * math.sin(frame / 100.0))
            thisExp.addData("correct", int(frame % 60 == 59))
            thisExp.nextEntry()


def saveData(thisExp):
    pass
