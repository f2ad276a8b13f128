"""Calls core.quit() mid-run, like Builder's quit(): closes the window, then sys.exit."""
from psychopy import core, data

expInfo = {'participant': 'p', 'date|hid': '', 'expName|hid': 'quitter'}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name='quitter', extraInfo=expInfo,
                                  dataFileName=f"{dataDir}/data/{expInfo['participant']}_quitter")


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    win.flip()
    thisExp.addData('trial', 0)
    thisExp.nextEntry()
    win.close()
    core.quit()


def saveData(thisExp):
    thisExp.saveAsWideText(thisExp.dataFileName + '.csv', delim=',')
