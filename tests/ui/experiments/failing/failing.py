"""Test experiment: raises ValueError in its third trial."""
from psychopy import data, visual
from psychopy.constants import STARTED

expInfo = {'participant': 'p', 'date|hid': '', 'expName|hid': 'failing'}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name='failing', extraInfo=expInfo,
                                  dataFileName=f"{dataDir}/{expInfo['participant']}_failing")


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    stim = visual.TextStim(win, text='!', height=0.1)
    thisExp.status = STARTED
    for i in range(5):
        stim.draw()
        win.flip()
        if i == 2:
            raise ValueError("stimulus file missing: faces/17.png")
        thisExp.addData('i', i)
        thisExp.nextEntry()
