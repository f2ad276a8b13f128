"""Test experiment: every expInfo field kind and response-like trial data.

Each trial takes ``framesPerTrial`` flips and adds ``rt``, ``correct``,
``stim.started`` (a timestamp) and ``level`` with ``thisExp.addData``.
"""
from psychopy import core, data, visual
from psychopy.constants import FINISHED, STARTED

expInfo = {
    'participant*': '',
    'session': '001',
    'condition': ['A', 'B'],
    'practice': False,
    'nTrials': 5,
    'isi': 0.5,
    'rig|fix': 'rig-1',
    'framesPerTrial|cfg': 3,
    'date|hid': '',
    'expName|hid': 'trials',
}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(
        name='trials', extraInfo=expInfo,
        dataFileName=f"{dataDir}/{expInfo['participant']}_{expInfo['condition']}_trials")


def setupWindow(expInfo=None, win=None):
    return win


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    stim = visual.TextStim(win, text='+', height=0.1)
    clock = core.Clock()
    thisExp.status = STARTED
    n = int(expInfo['nTrials'])
    frames = int(expInfo.get('framesPerTrial', 3))
    for i in range(n):
        t0 = clock.getTime()
        for _ in range(frames):
            stim.draw()
            win.flip()
            if thisExp.status == FINISHED:
                return
        thisExp.addData('stim.started', t0)
        thisExp.addData('rt', 0.3 + 0.05 * (i % 4))
        thisExp.addData('correct', int(i % 3 != 0))
        thisExp.addData('level', i * 2)
        thisExp.addData('label', f"t{i}")
        thisExp.nextEntry()


def saveData(thisExp):
    thisExp.saveAsWideText(thisExp.dataFileName + '.csv')
