"""A plain-script experiment that reads instruments through thisSession.instruments:
the last polled luminance every frame (no I/O), and a query sent without waiting."""
from psychopy import data, visual
from psychopy.constants import FINISHED, STARTED

expName = 'photometry'
expInfo = {'participant|req': '', 'nTrials': 4, 'date|hid': '', 'expName|hid': expName}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name=expName, extraInfo=expInfo,
                                  dataFileName=f"{dataDir}/data/{expInfo['participant']}_{expName}_{expInfo['date']}")


def setupWindow(expInfo=None, win=None):
    return win


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    photometer = thisSession.instruments['photometer']
    sensor = thisSession.instruments['sensor']          # hung during this run
    stim = visual.Rect(win, width=0.5, height=0.5, fillColor='white')
    thisExp.status = STARTED
    for i in range(int(expInfo['nTrials'])):
        fut = sensor.query_async('MEAS:TEMP?')          # never waited for in a frame
        for _ in range(30):
            stim.draw()
            win.flip()
            lum = photometer['luminance']               # the last polled value: no I/O
            if thisExp.status == FINISHED:
                return
        thisExp.addData('luminance', lum if lum is not None else -1.0)
        thisExp.addData('sensor_state', sensor.state.value)
        thisExp.addData('query_done', fut.done())
        thisExp.nextEntry()


def saveData(thisExp):
    pass
