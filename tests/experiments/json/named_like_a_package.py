"""Lives in a folder named like an installed package ('json'): PsychoPy's Session fails on it."""
from psychopy import data

expInfo = {'participant': 'p', 'date|hid': '', 'expName|hid': 'pkgname'}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name='pkgname', extraInfo=expInfo,
                                  dataFileName=f"{dataDir}/data/{expInfo['participant']}_pkgname")


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    win.flip()
    thisExp.addData('ok', 1)
    thisExp.nextEntry()


def saveData(thisExp):
    thisExp.saveAsWideText(thisExp.dataFileName + '.csv', delim=',')
