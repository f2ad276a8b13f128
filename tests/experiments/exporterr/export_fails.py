"""Runs all its trials, then raises in PsychoPy's own ``saveAsExcel`` at the loop's end.

The end of PsychoPy's stroop demo, in a plain script: Builder calls
``trials.saveAsExcel(..., stimOut=params)`` after the loop, and PsychoPy
2026.2.5's ``TrialHandler2`` raises ``IndexError`` there when the loop ran
more trials than it has conditions (here 2 conditions x 3 repeats).
"""
from psychopy import data

expInfo = {'participant': 'p', 'date|hid': '', 'expName|hid': 'export_fails'}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name='export_fails', extraInfo=expInfo,
                                  dataFileName=f"{dataDir}/data/{expInfo['participant']}_export_fails")


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    conditions = [{'word': 'red', 'colour': 'blue'}, {'word': 'green', 'colour': 'green'}]
    trials = data.TrialHandler2(trialList=conditions, nReps=3, method='sequential', name='trials')
    thisExp.addLoop(trials)
    for trial in trials:
        win.flip()
        thisExp.addData('word', trial['word'])
        thisExp.addData('rt', 0.25 + 0.01 * trials.thisN)
        thisExp.nextEntry()
    params = trials.trialList[0].keys()
    trials.saveAsExcel(thisExp.dataFileName + '.xlsx', sheetName='trials', stimOut=params,
                       dataOut=['n', 'all_mean', 'all_std', 'all_raw'])


def saveData(thisExp):
    thisExp.saveAsWideText(thisExp.dataFileName + '.csv', delim=',')
