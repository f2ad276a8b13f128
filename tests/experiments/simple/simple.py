"""A minimal experiment script (the script interface) for tests: N trials of 3 frames."""
from psychopy import visual, data
from psychopy.constants import PAUSED, FINISHED, STARTED

expName = 'simple'
expInfo = {
    'participant|req': '',
    'nTrials': 5,
    'gain': 1.5,
    'feedback': True,
    'color': ['red', 'blue'],
    'rig|fix': 'rig-1',
    'date|hid': '',
    'expName|hid': expName,
}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(
        name=expName, extraInfo=expInfo,
        dataFileName=f"{dataDir}/data/{expInfo['participant']}_{expName}_{expInfo['date']}",
    )


def setupWindow(expInfo=None, win=None):
    return win


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    # relative asset path: must resolve in this experiment's own folder
    with open('asset.txt') as f:
        label = f.read().strip()
    stim = visual.TextStim(win, text=label)
    thisExp.status = STARTED
    for i in range(int(expInfo['nTrials'])):
        for _ in range(3):
            stim.draw()
            win.flip()
            if thisExp.status == FINISHED:
                return
        thisExp.addData('trial', i)
        thisExp.addData('sq', i * i)
        thisExp.addData('label', label)
        thisExp.addData('color', expInfo['color'])
        thisExp.nextEntry()


def saveData(thisExp):
    thisExp.saveAsWideText(thisExp.dataFileName + '.csv', delim=',')
