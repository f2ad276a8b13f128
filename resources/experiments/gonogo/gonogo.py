#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Go/no-go demo experiment bundled with Rig Console.

A hand-written PsychoPy experiment script implementing the "experiment script
interface" (the same functions a PsychoPy Builder-compiled script defines), so
it can be run three ways:

* standalone: ``python gonogo.py [--no-dialog] [--nTrials N]``
* by :class:`psychopy.session.Session` (``setupData`` / ``setupWindow`` /
  ``setupDevices`` / ``run`` / ``saveData``)
* by the Rig Console, which may pass its own window, inputs and pause loop.

Task
----
Each trial shows a fixation cross for 0.5 s, then either a green circle (GO:
press SPACE) or a red square (NO-GO: withhold) for up to ``responseWindow``
seconds; a response ends the stimulus early. If ``feedback`` is on, a short
(0.3 s) feedback message follows. The trial sequence (``nTrials`` trials, a
``goProportion`` share of them go) is shuffled by a RNG seeded with
``zlib.crc32(participant)``, so a participant always gets the same sequence.
``difficulty`` 'hard' draws the stimuli at half size. All durations are timed
by clocks, never by frame counts, so the task runs correctly at any refresh
rate (including no-vsync Xvfb, where ``win.flip()`` returns at once).
ESC (or a stop from a controlling Session: ``thisExp.status == FINISHED``)
ends the run after the current frame; a trial interrupted that way is not
logged. ``thisExp.status == PAUSED`` calls ``pauseExperiment`` and resumes
the current phase with its timers shifted by the paused duration.

The trials run in a ``TrialHandler2`` loop named ``trials`` (as a Builder loop),
so a controlling Session can repeat or skip trials (``rewindTrials``,
``skipTrials``: the trial in progress ends at its next frame, its row marked
``interrupted``) and pause at the end of a trial (``pauseLoop``).

Logged columns (one row per trial, via ``thisExp.addData`` then
``thisExp.nextEntry()``; the ``expInfo`` fields and the loop's
``trials.thisN``-style columns are appended to every row by the
ExperimentHandler):

``trial``      0-based trial index
``condition``  'go' or 'nogo'
``key``        the key pressed ('space') or '' if none
``rt``         response time in seconds from stimulus onset, NaN if no response
``correct``    1/0: go is correct when SPACE is pressed within the response
               window, nogo is correct when no key is pressed
``accuracy``   running proportion correct over the completed trials so far
               (this one included)
``interrupted`` 1 in the row of a trial the controlling Session ended early
``stimOnset``  time of the stimulus onset flip on the global clock (float s,
               even if that clock formats its times, e.g. a Session's)

Data files: ``<dataDir>/data/<participant>_gonogo_<date>.csv`` (+ ``.psydat``
and, when ``setupLogging`` is used, ``.log``).
"""

import argparse
import os
import sys
import time
import zlib

import numpy as np

from psychopy import core, data, logging, visual
from psychopy.constants import FINISHED, PAUSED, STARTED, STOPPING
from psychopy.hardware import keyboard

# --- Global variables (no side effects beyond definitions) ---
_thisDir = os.path.dirname(os.path.abspath(__file__))
expName = 'gonogo'
expVersion = '1.0'

# information about this experiment; Builder's pipe syntax: |req = required,
# |hid = hidden from the dialog. A list value is a set of choices.
expInfo = {
    'participant|req': '',
    'session': '001',
    'nTrials': 20,
    'goProportion': 0.7,
    'responseWindow': 0.8,  # seconds
    'feedback': True,
    'difficulty': ['easy', 'hard'],
    'date|hid': data.getDateStr(),
    'expName|hid': expName,
}

# durations (seconds)
FIXATION_DUR = 0.5
FEEDBACK_DUR = 0.3
RESPONSE_KEYS = ['space', 'escape']
_DEFAULT_WIN_SIZE = [800, 600]


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def _plainKey(key):
    """Key with pipe flags removed ('participant|req' -> 'participant')."""
    return data.utils.parsePipeSyntax(key)[0]


def _getInfo(info, name, default=None):
    """Look up `name` in an expInfo dict whether or not its key still carries
    pipe flags; a list value (unresolved choices) gives its first item."""
    if info is None:
        return default
    if name in info:
        val = info[name]
    else:
        for key, v in info.items():
            if _plainKey(key) == name:
                val = v
                break
        else:
            return default
    if isinstance(val, (list, tuple)):
        val = val[0] if len(val) else default
    return val


def _setInfo(info, name, value):
    """Set `name` in expInfo, writing to the pipe-flagged key if that is how
    it is stored."""
    for key in list(info):
        if key != name and _plainKey(key) == name:
            info[key] = value
            return
    info[name] = value


def _asBool(val):
    if isinstance(val, str):
        return val.strip().lower() in ('1', 'true', 'yes', 'y', 'on')
    return bool(val)


def _taskParams(expInfo):
    """Typed task parameters from expInfo (values may arrive as strings from
    a dialog or a console form)."""
    nTrials = max(0, int(float(_getInfo(expInfo, 'nTrials', 20))))
    goProp = min(1.0, max(0.0, float(_getInfo(expInfo, 'goProportion', 0.7))))
    respWin = float(_getInfo(expInfo, 'responseWindow', 0.8))
    feedback = _asBool(_getInfo(expInfo, 'feedback', True))
    difficulty = str(_getInfo(expInfo, 'difficulty', 'easy')).lower()
    return nTrials, goProp, respWin, feedback, difficulty


def makeTrialSequence(participant, nTrials, goProportion):
    """Reproducible list of 'go'/'nogo' conditions: round(nTrials *
    goProportion) go trials, shuffled by a RNG seeded with
    zlib.crc32(participant)."""
    seed = zlib.crc32(str(participant).encode('utf-8'))
    rng = np.random.default_rng(seed)
    nGo = int(round(nTrials * goProportion))
    conds = ['go'] * nGo + ['nogo'] * (nTrials - nGo)
    rng.shuffle(conds)
    return list(conds)


def _shiftTimers(timers, dt):
    """Make every timer behave as if `dt` seconds had not elapsed (used after
    a pause). Clock.addTime(t) makes getTime() larger by t, while
    CountdownTimer.addTime(t) makes the remaining time larger by t, so the
    sign differs."""
    for timer in timers or []:
        if timer is None:
            continue
        try:
            if isinstance(timer, core.CountdownTimer):
                timer.addTime(dt)
            else:
                timer.addTime(-dt)
        except Exception as err:  # pragma: no cover - foreign timer types
            logging.warning(f"{expName}: could not shift timer {timer!r}: {err}")


def _getKeyboard(inputs=None):
    """The default keyboard: from inputs, else the DeviceManager, else new."""
    kb = None
    if inputs:
        kb = inputs.get('defaultKeyboard')
    if kb is None:
        kb = keyboard.Keyboard(deviceName='defaultKeyboard')
    return kb


# --------------------------------------------------------------------------
# the script interface
# --------------------------------------------------------------------------
def showExpInfoDlg(expInfo):
    """Show the participant info dialog (gui.DlgFromDict) and return expInfo.

    Without a GUI backend for psychopy.gui (this project ships PySide6 only,
    psychopy.gui wants PyQt/wx) it falls back to console prompts when stdin is
    a terminal, else returns expInfo unchanged.
    """
    DlgFromDict = None
    try:
        from psychopy import gui
        DlgFromDict = getattr(gui, 'DlgFromDict', None)
    except Exception:  # pragma: no cover
        DlgFromDict = None
    if DlgFromDict is not None:
        dlg = DlgFromDict(
            dictionary=expInfo, sortKeys=False, title=expName, alwaysOnTop=True
        )
        if dlg.OK is False:
            core.quit()  # user pressed cancel
        return expInfo
    if not sys.stdin or not sys.stdin.isatty():
        logging.warning(f"{expName}: no dialog available; using expInfo as given")
        return expInfo
    print(f"{expName}: psychopy.gui unavailable, asking on the console "
          "(Enter keeps the default).")
    for key, val in list(expInfo.items()):
        name, flags = data.utils.parsePipeSyntax(key)
        if 'hid' in flags or 'fix' in flags:
            continue
        shown = val if not isinstance(val, (list, tuple)) else '/'.join(map(str, val))
        while True:
            ans = input(f"  {name} [{shown}]: ").strip()
            if not ans and 'req' in flags and not val:
                continue  # required and still empty
            break
        if not ans:
            continue
        if isinstance(val, bool):
            expInfo[key] = _asBool(ans)
        elif isinstance(val, int):
            expInfo[key] = int(ans)
        elif isinstance(val, float):
            expInfo[key] = float(ans)
        elif isinstance(val, (list, tuple)):
            # chosen item first, keep the other choices after it
            expInfo[key] = [ans] + [v for v in val if v != ans]
        else:
            expInfo[key] = ans
    return expInfo


def setupData(expInfo, dataDir=None):
    """Make the ExperimentHandler.

    Strips pipe flags from expInfo keys in place (like Builder), resolves
    still-list values (unchosen choices) to their first item, and saves to
    ``<dataDir>/data/<participant>_<expName>_<date>`` (CSV + psydat).
    `dataDir` defaults to this script's folder.
    """
    for key in list(expInfo):
        newKey, _ = data.utils.parsePipeSyntax(key)
        val = expInfo.pop(key)
        if isinstance(val, (list, tuple)):
            val = val[0] if len(val) else ''
        expInfo[newKey] = val
    if not expInfo.get('date'):
        expInfo['date'] = data.getDateStr()
    expInfo.setdefault('expName', expName)
    if dataDir is None:
        dataDir = _thisDir
    filename = 'data/%s_%s_%s' % (expInfo.get('participant', ''), expName, expInfo['date'])
    thisExp = data.ExperimentHandler(
        name=expName, version=expVersion,
        extraInfo=expInfo, runtimeInfo=None,
        originPath=os.path.abspath(__file__),
        savePickle=True, saveWideText=True,
        dataFileName=os.path.join(str(dataDir), filename),
    )
    return thisExp


def setupLogging(filename):
    """Optional: a log file next to the data files, at EXP level."""
    logging.console.setLevel(logging.WARNING)
    logFile = logging.LogFile(str(filename) + '.log', level=logging.EXP)
    return logFile


def setupWindow(expInfo=None, win=None):
    """Return the window to run in.

    A given `win` is reused and only safe attributes are set (color, units).
    Otherwise a windowed pyglet Window is created (size from expInfo['size']
    if present, else 800x600) without timing checks. The frame rate is never
    measured here (everything is clock-timed); a known rate
    (win._monitorFrameRate) is recorded as expInfo['frameRate'].
    """
    if win is None:
        size = _getInfo(expInfo, 'size', None) if expInfo is not None else None
        if not size:
            size = list(_DEFAULT_WIN_SIZE)
        win = visual.Window(
            size=size, fullscr=False, screen=0, winType='pyglet',
            allowGUI=True, monitor='testMonitor',
            color=[-1, -1, -1], colorSpace='rgb', units='height',
            checkTiming=False,
        )
    else:
        win.color = [-1, -1, -1]
        win.units = 'height'
    if expInfo is not None:
        expInfo['frameRate'] = getattr(win, '_monitorFrameRate', None)
    try:
        win.hideMessage()
    except Exception:
        pass
    return win


def setupInputs(expInfo, thisExp, win):
    """Return the input devices: {'defaultKeyboard': Keyboard, ...}.

    The keyboard reuses an existing DeviceManager device named
    'defaultKeyboard' (e.g. one the console or Session made) and leaves the
    backend unspecified otherwise.
    """
    kb = keyboard.Keyboard(deviceName='defaultKeyboard')
    return {'defaultKeyboard': kb, 'ioServer': None, 'eyetracker': None}


# Builder / Session name and signature: setupDevices(expInfo, thisExp, win)
setupDevices = setupInputs


def pauseExperiment(thisExp, inputs=None, win=None, timers=[], playbackComponents=[]):
    """Block while ``thisExp.status == PAUSED``.

    Draws "Paused" and flips the window every iteration, ESC sets the status
    to FINISHED (the caller then ends the run), playback components are
    paused/resumed, and on return every timer is shifted by the paused
    duration. Returns immediately if not paused.
    """
    if thisExp.status != PAUSED:
        return
    # tolerate Builder's positional order pauseExperiment(thisExp, win, ...)
    if win is None and isinstance(inputs, visual.Window):
        win, inputs = inputs, None
    pauseClock = core.Clock()
    for comp in playbackComponents or []:
        try:
            comp.pause()
        except Exception:
            pass
    kb = _getKeyboard(inputs)
    msg = None
    if win is not None:
        msg = visual.TextStim(
            win, text='Paused', height=0.06, color='white', units='height',
        )
    while thisExp.status == PAUSED:
        if kb.getKeys(keyList=['escape'], waitRelease=False):
            thisExp.status = FINISHED
            break
        if win is not None:
            msg.draw()
            win.flip()
        # let other threads run; also keeps no-vsync flips from spinning
        time.sleep(0.005)
    paused = pauseClock.getTime()
    if thisExp.status != FINISHED:
        for comp in playbackComponents or []:
            try:
                comp.play()
            except Exception:
                pass
    _shiftTimers(timers, paused)
    kb.clearEvents()
    logging.exp(f"{expName}: paused for {paused:.3f} s")


def _runPhase(thisExp, inputs, win, kb, duration, stims, collect=False,
              onOnset=None, thisTrial=None):
    """Show `stims` for `duration` seconds (clock-timed), flipping each frame.

    Returns (outcome, keyPress) where outcome is 'timeout', 'response'
    (only when `collect`), 'stop' (ESC or a FINISHED status) or 'ended'
    (a controlling Session ended `thisTrial`: its status is STOPPING).
    """
    phaseClock = core.Clock()
    kb.clearEvents()
    win.callOnFlip(phaseClock.reset)
    if collect:
        win.callOnFlip(kb.clock.reset)
    if onOnset is not None:
        win.callOnFlip(onOnset)
    keyList = RESPONSE_KEYS if collect else ['escape']
    flipped = False
    while True:
        status = thisExp.status
        if status == PAUSED:
            pauseExperiment(thisExp, inputs, win,
                            timers=[phaseClock, kb.clock] if collect else [phaseClock],
                            playbackComponents=[])
            status = thisExp.status
        if status == FINISHED:
            return 'stop', None
        if thisTrial is not None and thisTrial.status == STOPPING:
            return 'ended', None
        keys = kb.getKeys(keyList=keyList, waitRelease=False)
        if any(k.name == 'escape' for k in keys):
            return 'stop', None
        if flipped and collect:
            presses = [k for k in keys if k.name == 'space']
            if presses:
                return 'response', presses[0]
        if flipped and phaseClock.getTime() >= duration:
            return 'timeout', None
        for stim in stims:
            stim.draw()
        win.flip()
        flipped = True


def run(expInfo, thisExp, win, inputs=None, globalClock=None, thisSession=None):
    """Run the go/no-go trials (see the module docstring)."""
    if thisExp.status == FINISHED:  # stopped before we even began
        endExperiment(thisExp, win=win)
        return
    if thisExp.status != PAUSED:
        thisExp.status = STARTED
    if inputs is None:
        inputs = setupInputs(expInfo, thisExp, win)
    kb = _getKeyboard(inputs)
    if not isinstance(globalClock, core.Clock):
        globalClock = core.Clock()  # None, 'float', 'iso', ...
    win.units = 'height'

    nTrials, goProp, respWin, feedback, difficulty = _taskParams(expInfo)
    participant = _getInfo(expInfo, 'participant', '')
    conditions = makeTrialSequence(participant, nTrials, goProp)
    size = 0.1 if difficulty == 'hard' else 0.2

    fixation = visual.ShapeStim(
        win, vertices='cross', size=0.05, units='height',
        fillColor='white', lineColor='white', name='fixation',
    )
    goStim = visual.Circle(
        win, radius=size / 2, units='height', edges=64,
        fillColor='green', lineColor='green', name='go',
    )
    nogoStim = visual.Rect(
        win, width=size, height=size, units='height',
        fillColor='red', lineColor='red', name='nogo',
    )
    fbText = visual.TextStim(win, text='', height=0.05, units='height',
                             color='white', name='feedback')

    # a PsychoPy loop (as Builder makes one), so a controlling Session can repeat, skip
    # and pause trials (skipTrials, rewindTrials, pauseLoop)
    trials = None
    if conditions:
        trials = data.TrialHandler2(
            trialList=[{'condition': c} for c in conditions], nReps=1,
            method='sequential', name='trials', seed=None, isTrials=True,
        )
        thisExp.addLoop(trials)
    nCorrect = nDone = 0
    for thisTrial in trials if trials is not None else []:
        trials.status = STARTED
        thisTrial.status = STARTED
        trialIdx, cond = trials.thisN, thisTrial['condition']
        # --- fixation ---
        outcome, _ = _runPhase(thisExp, inputs, win, kb, FIXATION_DUR, [fixation],
                               thisTrial=thisTrial)
        if outcome == 'stop':
            thisExp.thisEntry = {}  # a trial interrupted by a stop is not logged
            break
        # --- stimulus / response window ---
        onset = {}
        press = None
        if outcome != 'ended':
            outcome, press = _runPhase(
                thisExp, inputs, win, kb, respWin,
                [goStim if cond == 'go' else nogoStim], collect=True,
                onOnset=lambda: onset.setdefault('t', float(globalClock.getTime())),
                thisTrial=thisTrial,
            )
            if outcome == 'stop':
                thisExp.thisEntry = {}
                break
        thisExp.addData('trial', trialIdx)
        thisExp.addData('condition', cond)
        if outcome == 'ended':
            # the controlling Session ended this trial (repeat, skip): its row says so
            thisExp.addData('interrupted', 1)
            thisExp.nextEntry()
            continue
        if press is not None:
            key, rt = press.name, float(press.rt)
        else:
            key, rt = '', float('nan')
        if cond == 'go':
            correct = int(key == 'space' and rt <= respWin)
        else:
            correct = int(key == '')
        nCorrect += correct
        nDone += 1
        accuracy = nCorrect / nDone
        thisExp.addData('key', key)
        thisExp.addData('rt', rt)
        thisExp.addData('correct', correct)
        thisExp.addData('accuracy', accuracy)
        thisExp.addData('stimOnset', onset.get('t', float('nan')))
        thisExp.nextEntry()
        if thisSession is not None and hasattr(thisSession, 'sendExperimentData'):
            try:
                thisSession.sendExperimentData()
            except Exception:
                pass
        # --- feedback ---
        if feedback:
            if correct:
                fbText.text, fbText.color = 'Correct', 'white'
            elif cond == 'go':
                fbText.text, fbText.color = 'Too slow', 'orange'
            else:
                fbText.text, fbText.color = 'Do not press on red', 'orange'
            outcome, _ = _runPhase(thisExp, inputs, win, kb, FEEDBACK_DUR, [fbText],
                                   thisTrial=thisTrial)
            if outcome == 'stop':
                thisExp.thisEntry = {}  # (the trial's row is stored: only the loop's next values)
                break
        thisTrial.status = FINISHED
        # a pause asked for at the end of the loop's iteration (Session.pauseLoop), as Builder does
        if trials.status == PAUSED:
            thisExp.status = PAUSED
            pauseExperiment(thisExp, inputs, win)
            trials.status = STARTED
            if thisExp.status == FINISHED:
                thisExp.thisEntry = {}
                break
    endExperiment(thisExp, win=win)


def endExperiment(thisExp, win=None):
    """Finish the run: clear autodraw, flip once (runs pending callOnFlip
    tasks), mark thisExp FINISHED. Does not close the window nor save."""
    if win is not None:
        win.clearAutoDraw()
        win.flip()
    if thisExp.status != FINISHED:
        thisExp.status = FINISHED
    logging.flush()


def saveData(thisExp):
    """Save CSV (wide text) and psydat, then disable the ExperimentHandler's
    auto-save (atexit / __del__ would otherwise write a second copy named
    ``..._1.csv``). Calling it again overwrites the same files."""
    filename = thisExp.dataFileName
    saved = getattr(thisExp, '_gonogoSaved', None)
    method = 'overwrite' if saved else 'rename'
    csvName = saved[0] if saved else filename + '.csv'
    pklName = saved[1] if saved else filename
    csvName = thisExp.saveAsWideText(csvName, delim='auto', fileCollisionMethod=method)
    pklName = thisExp.saveAsPickle(pklName, fileCollisionMethod=method)
    thisExp._gonogoSaved = (csvName, pklName)
    thisExp.abort()  # no auto-save duplicates at exit
    return [csvName, pklName]


def quit(thisExp, win=None, inputs=None, thisSession=None):
    """Close everything and END THE PYTHON PROCESS (core.quit), like Builder.
    A host application should not call this; it owns its window/process."""
    thisExp.abort()  # or data files will save again on exit
    if win is not None:
        win.flip()
        win.close()
    logging.flush()
    if thisSession is not None:
        thisSession.stop()
    core.quit()


def _parseArgs(argv=None):
    parser = argparse.ArgumentParser(description=f"{expName} (PsychoPy go/no-go demo)")
    parser.add_argument('--no-dialog', action='store_true',
                        help="skip the info dialog; participant defaults to 'demo'")
    parser.add_argument('--nTrials', type=int, default=None,
                        help='override the number of trials')
    args, _unknown = parser.parse_known_args(argv)  # tolerate e.g. --pilot
    return args


if __name__ == '__main__':
    args = _parseArgs()
    if args.nTrials is not None:
        _setInfo(expInfo, 'nTrials', args.nTrials)
    if args.no_dialog:
        if not _getInfo(expInfo, 'participant'):
            _setInfo(expInfo, 'participant', 'demo')
    else:
        expInfo = showExpInfoDlg(expInfo=expInfo)
    if not _getInfo(expInfo, 'participant'):
        sys.exit(f"{expName}: participant is required")
    thisExp = setupData(expInfo=expInfo, dataDir=_thisDir)
    logFile = setupLogging(thisExp.dataFileName)
    win = setupWindow(expInfo=expInfo)
    inputs = setupInputs(expInfo=expInfo, thisExp=thisExp, win=win)
    run(expInfo=expInfo, thisExp=thisExp, win=win, inputs=inputs,
        globalClock=core.Clock())
    saveData(thisExp=thisExp)
    quit(thisExp=thisExp, win=win, inputs=inputs)
