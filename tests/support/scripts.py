"""Small experiment scripts the tests write into a root folder."""

#: a plain script whose keyboard accepts only escape, which nobody presses: a dry run is stuck
STUCK = """
from psychopy import visual, data
from psychopy.hardware import keyboard
from psychopy.constants import FINISHED

expName = 'waits'
expInfo = {'participant': 'p', 'date|hid': '', 'expName|hid': expName}

def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name=expName, extraInfo=expInfo, dataFileName=f"{dataDir}/{expName}")

def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    kb = keyboard.Keyboard(deviceName='defaultKeyboard')
    thisExp.addData('started', 1)
    thisExp.nextEntry()
    while not kb.getKeys(keyList=['escape'], waitRelease=False):
        win.flip()
        if thisExp.status == FINISHED:
            return
"""
