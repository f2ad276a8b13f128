from psychopy import visual, core, data
from psychopy.constants import PAUSED, FINISHED, STARTED
expInfo = {'participant|req': '', 'nTrials': 5, 'color': ['red', 'blue'], 'date|hid': '', 'expName|hid': 'simple'}
def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name='simple', extraInfo=expInfo, dataFileName=f"{dataDir}/data/{expInfo['participant']}_simple")
def setupWindow(expInfo=None, win=None):
    return win
def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    stim = visual.TextStim(win, text='x')
    thisExp.status = STARTED
    for i in range(int(expInfo['nTrials'])):
        for f in range(3):
            stim.draw(); win.flip()
            if thisExp.status == FINISHED: return
        thisExp.addData('i', i); thisExp.addData('sq', i*i); thisExp.nextEntry()
def saveData(thisExp):
    thisExp.saveAsWideText(thisExp.dataFileName + '.csv')
