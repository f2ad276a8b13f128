"""Never checks thisExp.status and has no pauseExperiment: the console must still pause and stop it."""
from psychopy import data

expInfo = {'participant': 'p', 'date|hid': '', 'expName|hid': 'ignorer'}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name='ignorer', extraInfo=expInfo,
                                  dataFileName=f"{dataDir}/data/{expInfo['participant']}_ignorer")


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    i = 0
    while True:
        for _ in range(5):
            win.flip()
        thisExp.addData('trial', i)
        thisExp.nextEntry()
        i += 1


def saveData(thisExp):
    thisExp.saveAsWideText(thisExp.dataFileName + '.csv', delim=',')
