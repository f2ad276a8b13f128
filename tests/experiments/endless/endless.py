"""Runs until stopped: a trial every 5 frames; honours pause (its own pauseExperiment) and stop."""
from psychopy import core, data, visual
from psychopy.constants import FINISHED, PAUSED, STARTED

expInfo = {'participant': 'p', 'maxTrials': 100000, 'date|hid': '', 'expName|hid': 'endless'}
pauseCalls = []


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name='endless', extraInfo=expInfo,
                                  dataFileName=f"{dataDir}/data/{expInfo['participant']}_endless")


def setupInputs(expInfo, thisExp, win):
    return {'note': 'inputs from setupInputs'}


def pauseExperiment(thisExp, inputs=None, win=None, timers=[], playbackComponents=[]):
    # like Builder's: spins on sleep without flipping (the console replaces it)
    pauseCalls.append(1)
    while thisExp.status == PAUSED:
        core.wait(0.001)


def run(expInfo, thisExp, win, inputs=None, globalClock=None, thisSession=None):
    assert inputs == {'note': 'inputs from setupInputs'}
    stim = visual.Rect(win, width=0.2, height=0.2, fillColor='white')
    thisExp.status = STARTED
    frame = 0
    trialClock = core.Clock()
    for i in range(int(expInfo['maxTrials'])):
        for _ in range(5):
            stim.ori = frame
            stim.draw()
            win.flip()
            frame += 1
            if thisExp.status == PAUSED:
                pauseExperiment(thisExp, inputs, win, timers=[trialClock])
            if thisExp.status == FINISHED:
                return
        thisExp.addData('trial', i)
        thisExp.addData('frame', frame)
        thisExp.nextEntry()


def saveData(thisExp):
    thisExp.saveAsWideText(thisExp.dataFileName + '.csv', delim=',')
