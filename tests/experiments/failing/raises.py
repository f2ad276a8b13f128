"""Raises after two trials: the run must end as failed, with its partial data saved."""
from psychopy import data

expInfo = {'participant': 'p', 'date|hid': '', 'expName|hid': 'raises'}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name='raises', extraInfo=expInfo,
                                  dataFileName=f"{dataDir}/data/{expInfo['participant']}_raises")


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    for i in range(2):
        win.flip()
        thisExp.addData('trial', i)
        thisExp.nextEntry()
    raise ValueError("stimulus file missing: faces/001.png")


def saveData(thisExp):
    thisExp.saveAsWideText(thisExp.dataFileName + '.csv', delim=',')
