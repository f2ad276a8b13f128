"""The same calls against ``psychopy.session.Session`` and ``rigconsole.Session``, side by side.

Each side gets its own copy of a root folder holding PsychoPy's own Session test
experiments (``psychopy/tests/data/test_session``: Builder files) and a few small
scripts written here, and its own real window under Xvfb. Results that should be
equal are asserted equal; every deliberate difference is asserted on both sides and
has a row in docs/experiment-interface.md ("Differences from psychopy.session.Session"),
named in the test's docstring. Core suite: no Qt is imported.
"""

from __future__ import annotations

import inspect
import os
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

SMALL = [128, 128]
EXPERIMENTS = Path(__file__).parents[1] / "experiments"

#: calls every Session method that acts on the running experiment from inside run(),
#: keeping what each returned (or the name of what it raised) in RESULTS
PROBE = '''
"""Parity probe: calls thisSession's methods from inside run()."""
from psychopy import data
from psychopy.constants import STARTED

expName = 'parityprobe'
expInfo = {'participant|req': 'p0', 'session': '001', 'date|hid': '', 'expName|hid': expName}
RESULTS = {}


def setupData(expInfo, dataDir=None):
    for key in list(expInfo):  # what Builder's setupData does: clean keys, in the caller's dict
        expInfo[data.utils.parsePipeSyntax(key)[0]] = expInfo.pop(key)
    return data.ExperimentHandler(name=expName, extraInfo=expInfo, savePickle=False, saveWideText=False,
                                  dataFileName=f"{dataDir}/data/{expInfo['participant']}_{expName}_{expInfo['date']}")


def setupWindow(expInfo=None, win=None):
    return win


def _call(name, fn, *args, **kwargs):
    try:
        RESULTS[name] = fn(*args, **kwargs)
    except Exception as err:
        RESULTS[name] = type(err).__name__


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    s = thisSession
    RESULTS.clear()
    thisExp.status = STARTED
    _call('getStatus', s.getStatus)
    RESULTS['getCurrentExpInfo is expInfo'] = s.getCurrentExpInfo() is expInfo
    _call('setCurrentExpInfoItem', s.setCurrentExpInfoItem, 'inserted', 'v')
    _call('setCurrentExpInfoItem several', s.setCurrentExpInfoItem, ('a', 'b'), (1, 2))
    _call('getCurrentExpInfoItem', s.getCurrentExpInfoItem, 'inserted')
    _call('getCurrentExpInfoItem missing', s.getCurrentExpInfoItem, 'nowhere')
    _call('getCurrentExpInfoItem tuple', s.getCurrentExpInfoItem, ('a', 'b'))
    _call('getCurrentExpInfoItem list', s.getCurrentExpInfoItem, ['a', 'b'])
    _call('updateCurrentExpInfo', s.updateCurrentExpInfo, {'updated': 1})
    _call('addData', s.addData, 'col', 3)
    _call('addAnnotation', s.addAnnotation, 'note')
    _call('pauseLoop outside a loop', s.pauseLoop)
    _call('getCurrentTrial outside a loop', s.getCurrentTrial)
    _call('getAllTrials outside a loop', s.getAllTrials)
    trials = data.TrialHandler2(trialList=[{'a': 1}, {'a': 2}, {'a': 3}], nReps=1, method='sequential',
                                name='trials')
    thisExp.addLoop(trials)
    for trial in trials:
        if trials.thisN == 0:
            _call('getCurrentTrial', s.getCurrentTrial, asDict=True)
            _call('getFutureTrial', s.getFutureTrial, 1, asDict=True)
            _call('getFutureTrial past the end', s.getFutureTrial, 5)
            _call('getFutureTrials', s.getFutureTrials, 3, asDict=True)
            all_trials, index = s.getAllTrials()
            RESULTS['getAllTrials'] = ([t.getDict() if t is not None else None for t in all_trials], index)
            _call('pauseLoop', s.pauseLoop)
            trials.status = STARTED
        thisExp.addData('seen', trial['a'])
        win.flip()
        thisExp.nextEntry()
    _call('pauseExperiment', s.pauseExperiment)
    RESULTS['status paused'] = s.getStatus()
    _call('resumeExperiment', s.resumeExperiment)
    RESULTS['status resumed'] = s.getStatus()
    _call('saveCurrentExperimentData', s.saveCurrentExperimentData)
    _call('sendExperimentData', s.sendExperimentData)
    _call('stopExperiment', s.stopExperiment)
    RESULTS['status stopped'] = s.getStatus()
    RESULTS['currentExperiment is thisExp'] = s.currentExperiment is thisExp
    RESULTS['thisExp.name'] = thisExp.name
    expInfo['written by run'] = True


def saveData(thisExp):
    thisExp.saveAsWideText(thisExp.dataFileName + '.csv', delim=',')
'''

#: a script with the pieces PsychoPy's Session calls around devices and dialogs
TOOLS = '''
"""Parity tools: setupDevices and showExpInfoDlg as a script defines them."""
import sys
from psychopy import data

expInfo = {'participant': 'p0', 'date|hid': '', 'expName|hid': 'paritytools', 'cancel': False}
DEVICES = []


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name='paritytools', extraInfo=expInfo, savePickle=False, saveWideText=False,
                                  dataFileName=f"{dataDir}/data/paritytools")


def setupDevices(expInfo, thisExp, win):
    DEVICES.append(win is not None)
    return True


def showExpInfoDlg(expInfo):
    if expInfo.get('cancel'):
        sys.exit(0)  # what Builder's dialog does on Cancel (core.quit())
    expInfo['shown'] = True
    return expInfo


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    win.flip()


def saveData(thisExp):
    thisExp.saveAsWideText(thisExp.dataFileName + '.csv', delim=',')
'''


def _session_test_data() -> Path:
    import psychopy

    return Path(psychopy.__file__).parent / "tests" / "data" / "test_session"


@pytest.fixture
def roots(tmp_path):
    """``{"psychopy": root, "rig": root}``: two copies of one root folder (see the module docstring)."""
    out = {}
    for side in ("psychopy", "rig"):
        base = tmp_path / side
        shutil.copytree(_session_test_data(), base)
        root = base / "root"
        for name, text in (("parityprobe", PROBE), ("paritytools", TOOLS)):
            (root / name).mkdir()
            (root / name / f"{name}.py").write_text(textwrap.dedent(text), encoding="utf-8")
        for name in ("quitter", "failing", "broken"):
            shutil.copytree(EXPERIMENTS / name, root / name)
        for script in (root / "quitter" / "quitter.py", root / "failing" / "raises.py"):
            # PsychoPy's Session calls setupWindow unconditionally (see the "without setupWindow" row)
            script.write_text(script.read_text() + "\n\ndef setupWindow(expInfo=None, win=None):\n    return win\n")
        out[side] = root
    return out


def _forget_imports(tmp_path: Path) -> None:
    """PsychoPy's Session imports experiment folders as top-level packages from its root (on
    ``sys.path``); the next test's root would find this one's and refuse the folder name."""
    tmp = str(tmp_path)
    for name, mod in list(sys.modules.items()):
        where = getattr(mod, "__file__", None) or ""
        paths = list(getattr(mod, "__path__", []) or [])
        if where.startswith(tmp) or any(str(p).startswith(tmp) for p in paths):
            del sys.modules[name]
    sys.path[:] = [p for p in sys.path if not str(p).startswith(tmp)]


@pytest.fixture
def pair(roots, tmp_path):
    """``(theirs, ours)``: PsychoPy's Session and Rig Console's, each with a real 128x128 window."""
    from psychopy import visual
    from psychopy.session import Session as PsychoPySession

    from rigconsole import Session

    # ours first: it makes PsychoPy's default keyboard with the event backend (PsychoPy's would
    # take Psychtoolbox's, which reads keys globally), and the device registry is per process
    ours = Session(
        roots["rig"],
        dataDir=tmp_path / "data-rig",
        cache_dir=tmp_path / "cache",
        win={"size": SMALL, "pos": [50, 50], "allowGUI": False},
    )
    win = visual.Window(SMALL, pos=[50, 50], allowGUI=False, autoLog=False)
    theirs = PsychoPySession(str(roots["psychopy"]), dataDir=str(tmp_path / "data-psychopy"), win=win)
    yield theirs, ours
    ours.close()
    if theirs.win is not None and not theirs.win._closed:
        theirs.win.close()
    theirs.win = None
    try:
        theirs.close()
    except ValueError:  # closed by the test already (its log file target is gone)
        pass
    _forget_imports(tmp_path)


def _add_both(pair, file, key):
    theirs, ours = pair
    assert theirs.addExperiment(file, key=key) is True
    assert ours.addExperiment(file, key=key) is True


# ------------------------------------------------------------------ the same API
def _public(cls) -> dict[str, object]:
    return {n: v for n, v in inspect.getmembers(cls) if not n.startswith("_")}


def test_every_public_method_and_attribute_of_psychopys_session_is_there():
    """Every public method of PsychoPy's Session exists on ours with a docstring, and takes the
    same parameters (same names, order and defaults; ours may add keyword-only ones). The one
    default that differs is ``priorityThreshold`` (None means PsychoPy's EXCLUDE+1, see below)."""
    from psychopy.session import Session as PsychoPySession

    from rigconsole import Session

    theirs, ours = _public(PsychoPySession), _public(Session)
    problems = []
    for name, fn in theirs.items():
        if name not in ours:
            problems.append(f"{name}: missing")
            continue
        if isinstance(fn, property) or not callable(fn):
            continue
        mine = ours[name]
        if not (mine.__doc__ or "").strip():
            problems.append(f"{name}: no docstring")
        p_theirs = list(inspect.signature(fn).parameters.values())
        p_ours = [p for p in inspect.signature(mine).parameters.values() if p.kind is not p.KEYWORD_ONLY]
        for a, b in zip(p_theirs, p_ours):
            same_default = a.default == b.default or (name, a.name) == ("__init__", "priorityThreshold")
            if a.name != b.name or not same_default:
                problems.append(f"{name}: parameter {a.name}={a.default!r} is {b.name}={b.default!r} here")
        if len(p_ours) != len(p_theirs):
            problems.append(f"{name}: {len(p_theirs)} positional parameters in PsychoPy, {len(p_ours)} here")
    assert problems == []
    assert isinstance(Session.__dict__["win"], property) and isinstance(Session.__dict__["restMsg"], property)


def test_the_same_attributes_after_construction(pair):
    theirs, ours = pair
    for name in (
        "dataDir",
        "logFile",
        "priorityThreshold",
        "params",
        "runs",
        "liaison",
        "currentExperiment",
        "experimentClock",
        "sessionClock",
        "experiments",
        "experimentObjects",
        "restMsg",
        "root",
        "win",
    ):
        assert hasattr(theirs, name) and hasattr(ours, name), name
    assert ours.priorityThreshold == theirs.priorityThreshold
    assert Path(ours.root) == Path(theirs.root).parent.parent / "rig" / "root"
    assert ours.runs == theirs.runs == [] and ours.currentExperiment is theirs.currentExperiment is None
    assert ours.restMsg == theirs.restMsg == "Rest"
    ours.restMsg = theirs.restMsg = "Pause"  # settable on both
    assert ours.restMsg == theirs.restMsg == "Pause"
    assert ours.win.title == "PsychoPy Session"


CALLS = [
    ("getStatus", (), {}),
    ("getCurrentExpInfo", (), {}),
    ("getCurrentExpInfoItem", ("participant",), {}),
    ("setCurrentExpInfoItem", ("participant", "x"), {}),
    ("updateCurrentExpInfo", ({"a": 1},), {}),
    ("pauseExperiment", (), {}),
    ("resumeExperiment", (), {}),
    ("stopExperiment", (), {}),
    ("pauseLoop", (), {}),
    ("getAllTrials", (), {}),
    ("getCurrentTrial", (), {}),
    ("getFutureTrial", (), {}),
    ("getFutureTrials", (2,), {}),
    ("next", (), {}),
    ("skipTrials", (), {}),
    ("rewindTrials", (), {}),
    ("cueTrial", (0,), {}),
    ("addData", ("col", 1), {}),
    ("addAnnotation", ("note",), {}),
    ("saveCurrentExperimentData", (), {}),
    ("sendExperimentData", (), {}),
    ("sendToLiaison", ("x",), {}),
    ("getPsychoPyVersion", (), {}),
    ("setupWindowFromParams", ({"color": "black"},), {}),
]


def test_same_results_with_no_experiment_running(pair):
    theirs, ours = pair
    differ = {name: (getattr(theirs, name)(*a, **k), getattr(ours, name)(*a, **k)) for name, a, k in CALLS}
    assert {n: v for n, v in differ.items() if v[0] != v[1]} == {}
    assert differ["pauseExperiment"] == (False, False) and differ["getStatus"] == (0, 0)


def test_time_formats(pair):
    """``getTime()`` gives what PsychoPy's gives: a ``psychopy.clock.Timestamp`` for ``str``
    (PsychoPy documents an ISO string; 2026.2 returns a float subclass printing as one)."""
    theirs, ours = pair
    assert type(ours.getTime()) is type(theirs.getTime())
    assert isinstance(ours.getTime(format=float), float) and isinstance(theirs.getTime(format=float), float)


def test_add_experiment_and_its_expinfo(pair):
    theirs, ours = pair
    _add_both(pair, "parityprobe/parityprobe.py", None)
    assert set(ours.experiments) == set(theirs.experiments) == {"parityprobe/parityprobe.py"}
    key = "parityprobe/parityprobe.py"
    assert ours.getExpInfoFromExperiment(key) == theirs.getExpInfoFromExperiment(key)
    assert ours.getExpInfoFromExperiment(key) is ours.experiments[key].expInfo  # the module's own dict, as PsychoPy
    assert ours.setupWindowFromExperiment(key) is theirs.setupWindowFromExperiment(key) is True
    assert ours.win.title == theirs.win.title == "PsychoPy Session"
    del theirs.experiments[key]
    del ours.experiments[key]  # unregisters, as on PsychoPy's dict
    assert key not in theirs.experiments and key not in ours.experiments


def test_builder_file_device_names(pair):
    theirs, ours = pair
    _add_both(pair, "testNamedButtonBox/testNamedButtonBox.psyexp", "box")
    # PsychoPy documents list[str] (and its own test expects ["testNamedButtonBox"]); 2026.2.5's
    # Experiment.getRequiredDeviceNames gives {name: [...]}, and so do both sessions
    names = ours.getRequiredDeviceNamesFromExperiment("box")
    assert names == theirs.getRequiredDeviceNamesFromExperiment("box") and list(names) == ["testNamedButtonBox"]
    _add_both(pair, "paritytools/paritytools.py", "tools")
    for side in pair:
        with pytest.raises(ValueError, match="not available for experiments added to Session directly as a .py"):
            side.getRequiredDeviceNamesFromExperiment("tools")


# ------------------------------------------------------------------------ a run
def test_a_run_calls_every_method_alike_and_changes_the_callers_expinfo(pair):
    """The probe calls each method of thisSession from inside run(): the same results on both
    sides, except the pinned return values (``setCurrentExpInfoItem``/``pauseLoop``: ``True``
    as PsychoPy documents, PsychoPy's return ``None``; ``getCurrentExpInfoItem`` of a list:
    PsychoPy raises TypeError). The caller's dict is the run's expInfo on both."""
    theirs, ours = pair
    key = "parityprobe"
    _add_both(pair, "parityprobe/parityprobe.py", key)
    infos = [{"participant": "p1", "session": "002", "date": "d", "expName": "parityprobe"} for _ in range(2)]
    assert theirs.runExperiment(key, expInfo=infos[0]) is True
    assert ours.runExperiment(key, expInfo=infos[1]) is True
    r_theirs, r_ours = theirs.experiments[key].RESULTS, ours.experiments[key].RESULTS
    pinned = {
        "setCurrentExpInfoItem": (None, True),
        "setCurrentExpInfoItem several": (None, True),
        "pauseLoop": (None, True),
        "getCurrentExpInfoItem list": ("TypeError", {"a": 1, "b": 2}),
    }
    assert {k: (r_theirs[k], r_ours[k]) for k in pinned} == pinned
    same = {k: v for k, v in r_theirs.items() if k not in pinned}
    assert {k: r_ours[k] for k in same} == same
    assert r_ours["getCurrentExpInfo is expInfo"] is True and r_ours["getCurrentTrial"]["data"]["a"] == 1
    assert r_ours["pauseExperiment"] is r_ours["resumeExperiment"] is r_ours["stopExperiment"] is True
    assert (r_ours["status paused"], r_ours["status resumed"], r_ours["status stopped"]) == (2, 1, -1)
    # the caller's dict is the one the experiment changed, on both sides
    assert infos[1] == infos[0]
    assert infos[1]["inserted"] == "v" and infos[1]["updated"] == 1 and infos[1]["written by run"] is True
    assert [r.name for r in ours.runs] == [r.name for r in theirs.runs] == [key]
    assert ours.currentExperiment is theirs.currentExperiment is None
    assert ours.getStatus() == theirs.getStatus() == 0
    assert ours.saveExperimentData(key) is theirs.saveExperimentData(key) is True  # the last run, again
    assert Path(ours.runs[-1].dataFileName + ".csv").is_file()


def test_psychopys_own_edit_expinfo_experiment(pair):
    """PsychoPy's test_update_expInfo, on both: the Builder experiment inserts a key through
    ``thisSession.setCurrentExpInfoItem``; the dict the caller got from
    ``getExpInfoFromExperiment`` and passed to ``runExperiment`` has it afterwards."""
    theirs, ours = pair
    _add_both(pair, "testEditExpInfo/testEditExpInfo.psyexp", "edit")
    for side in pair:
        expInfo = side.getExpInfoFromExperiment("edit")
        assert side.runExperiment("edit", expInfo=expInfo, blocking=True) is True
        assert expInfo["insertedKey"] == "insertedValue"
        assert "participant" in expInfo and "date|hid" not in expInfo  # cleaned in place by setupData
    assert ours.runs[-1].status == theirs.runs[-1].status
    # the module's dict was the caller's and changed (as in PsychoPy); the console's form did not
    assert "date|hid" not in ours.experiments["edit"].expInfo
    assert {f.raw_key for f in ours.expInfoFields("edit")} >= {"date|hid", "expName|hid"}


def test_an_experiment_that_raises(pair):
    """Both raise the experiment's exception after cleaning up, and both run the next one."""
    theirs, ours = pair
    _add_both(pair, "failing/raises.py", "raises")
    _add_both(pair, "parityprobe/parityprobe.py", "probe")
    for side in pair:
        with pytest.raises(ValueError, match="stimulus file missing"):
            side.runExperiment("raises", {"participant": "p", "date": "d", "expName": "raises"})
        assert side.currentExperiment is None and [r.name for r in side.runs] == ["raises"]
        assert side.runExperiment("probe", {"participant": "p", "session": "1", "date": "d"}) is True


# ---------------------------------------------------------------- differences
def test_difference_partial_expinfo(pair):
    """Row "partial expInfo": PsychoPy hands the experiment the dict as given (Builder's
    setupData needs ``date``: KeyError); Rig Console completes it in place first."""
    theirs, ours = pair
    _add_both(pair, "parityprobe/parityprobe.py", "probe")
    with pytest.raises(KeyError, match="date"):
        theirs.runExperiment("probe", {"participant": "p"})
    info = {"participant": "p"}
    assert ours.runExperiment("probe", info) is True
    assert info["session"] == "001" and info["expName"] == "parityprobe" and info["date"]
    assert info["written by run"] is True


def test_difference_run_without_expinfo(pair):
    """Row "runExperiment(key) without expInfo": PsychoPy runs with, and so changes, the
    experiment's module-level expInfo; Rig Console runs with a new dict of its defaults."""
    theirs, ours = pair
    _add_both(pair, "parityprobe/parityprobe.py", "probe")
    assert theirs.runExperiment("probe") is True and ours.runExperiment("probe") is True
    mod_theirs, mod_ours = theirs.experiments["probe"].expInfo, ours.experiments["probe"].expInfo
    assert "participant|req" not in mod_theirs and mod_theirs["written by run"] is True
    assert mod_ours == {"participant|req": "p0", "session": "001", "date|hid": "", "expName|hid": "parityprobe"}
    assert ours.runs[-1].extraInfo["written by run"] is True


def test_difference_core_quit(pair):
    """Row "core.quit() in a run": under PsychoPy's Session the SystemExit ends the process
    (here: raised; its run is never cleaned up, the window stays closed); Rig Console's run
    ends failed, ``runExperiment`` returns False, the window is opened again for the next run."""
    theirs, ours = pair
    _add_both(pair, "quitter/quitter.py", "quit")
    _add_both(pair, "parityprobe/parityprobe.py", "probe")
    info = {"participant": "p", "date": "d", "expName": "quitter"}
    with pytest.raises(SystemExit):
        theirs.runExperiment("quit", dict(info))
    assert theirs.currentExperiment is not None and theirs.runs == [] and theirs.win._closed
    assert ours.runExperiment("quit", dict(info)) is False
    assert ours.run_records[-1].state == "failed" and ours.currentExperiment is None
    assert [r.name for r in ours.runs] == ["quit"]  # its partial data saved
    assert ours.runExperiment("probe", {"participant": "p"}) is True and not ours.win._closed


def test_difference_device_setup_before_any_run(pair):
    """Row "device set-up before any run": PsychoPy's Session passes ``thisExp=None`` and
    Builder's ``setupDevices`` crashes (``thisExp.dataFileName``); Rig Console's gives it an
    ExperimentHandler that never saves, and ioHub starts (PsychoPy's own exp1, its own test)."""
    from psychopy.hardware import deviceManager

    theirs, ours = pair
    _add_both(pair, "exp1/exp1.psyexp", "exp1")
    with pytest.raises(AttributeError, match="dataFileName"):
        theirs.setupDevicesFromExperiment("exp1")
    try:
        assert ours.setupDevicesFromExperiment("exp1") is True
        assert deviceManager.ioServer is not None and deviceManager.getDevice("defaultKeyboard") is not None
        assert ours.runExperiment("exp1", {"participant": "p"}) is True
        saved = sorted(p.name for p in Path(ours.dataDir).rglob("*") if p.is_file() and "session_" not in p.name)
        assert saved and not [n for n in saved if "devices" in n]  # only the run's files
    finally:
        if deviceManager.ioServer is not None:
            deviceManager.ioServer.quit()
            deviceManager.ioServer = None


def test_difference_devices_of_a_script(pair):
    """Rows "setupDevicesFromExperiment of a script" and "setupInputsFromExperiment": a script
    without ``setupDevices`` is nothing to set up here (PsychoPy: AttributeError); the legacy
    alias returns what it called returns (PsychoPy's returns None)."""
    theirs, ours = pair
    _add_both(pair, "parityprobe/parityprobe.py", "probe")
    _add_both(pair, "paritytools/paritytools.py", "tools")
    with pytest.raises(AttributeError, match="setupDevices"):
        theirs.setupDevicesFromExperiment("probe")
    assert ours.setupDevicesFromExperiment("probe") is True
    assert theirs.setupInputsFromExperiment("tools") is None
    assert ours.setupInputsFromExperiment("tools") is True
    assert theirs.experiments["tools"].DEVICES == [True] and ours.experiments["tools"].DEVICES == [True]


def test_difference_add_keyboard_from_params(pair):
    """Row "addKeyboardFromParams": PsychoPy 2026.2's calls ``deviceManager.addKeyboard``, which
    no longer exists; Rig Console's adds a KeyboardDevice under the name given."""
    from psychopy.hardware import DeviceManager

    theirs, ours = pair
    with pytest.raises(AttributeError, match="addKeyboard"):
        theirs.addKeyboardFromParams("parityKeys", {})
    try:
        assert ours.addKeyboardFromParams("parityKeys", {}) is True
        assert type(DeviceManager.getDevice("parityKeys")).__name__ == "KeyboardDevice"
    finally:
        DeviceManager.removeDevice("parityKeys")


def test_difference_script_without_setup_window(pair):
    """Row "a script without setupWindow": PsychoPy's runExperiment calls it unconditionally
    (AttributeError, before anything ran); Rig Console runs the script in the session window."""
    theirs, ours = pair
    _add_both(pair, "paritytools/paritytools.py", "tools")
    info = {"participant": "p", "date": "d", "expName": "paritytools"}
    with pytest.raises(AttributeError, match="setupWindow"):
        theirs.runExperiment("tools", dict(info))
    assert ours.runExperiment("tools", dict(info)) is True


def test_difference_save_data_with_no_run(pair):
    """Row "saveExperimentData with no run": PsychoPy calls ``saveData(None)`` (AttributeError);
    Rig Console returns False."""
    theirs, ours = pair
    _add_both(pair, "paritytools/paritytools.py", "tools")
    with pytest.raises(AttributeError):
        theirs.saveExperimentData("tools")
    assert ours.saveExperimentData("tools") is False


def test_difference_expinfo_dialog(pair):
    """Row "showExpInfoDlgFromExperiment": both return the dialog's dict; on Cancel (the script
    exits, as Builder's ``core.quit()``) PsychoPy's raises SystemExit, Rig Console's returns None."""
    theirs, ours = pair
    _add_both(pair, "paritytools/paritytools.py", "tools")
    for side in pair:
        assert side.showExpInfoDlgFromExperiment("tools", {"participant": "x"}) == {"participant": "x", "shown": True}
    with pytest.raises(SystemExit):
        theirs.showExpInfoDlgFromExperiment("tools", {"cancel": True})
    assert ours.showExpInfoDlgFromExperiment("tools", {"cancel": True}) is None


def test_difference_window_params_dict(roots, tmp_path):
    """Row "win=dict": PsychoPy documents a dict of Window arguments, then looks the dict up
    among its experiments (TypeError: unhashable); Rig Console makes the window."""
    from psychopy.session import Session as PsychoPySession

    from rigconsole import Session

    try:
        with pytest.raises(TypeError, match="unhashable"):
            PsychoPySession(str(roots["psychopy"]), dataDir=str(tmp_path / "d1"), win={"size": SMALL})
        ours = Session(roots["rig"], dataDir=tmp_path / "d2", cache_dir=tmp_path / "cache", win={"size": SMALL})
        try:
            assert list(ours.win.size) == SMALL and ours.win.title == "PsychoPy Session"
        finally:
            ours.close()
    finally:
        from psychopy import visual

        for w in list(visual.window.openWindows):  # the window PsychoPy's made before raising
            if w() is not None and not w()._closed:
                w().close()
        _forget_imports(tmp_path)


def test_difference_new_monitor_for_an_open_window(pair):
    """Row "setupWindowFromParams with a new monitor": PsychoPy keeps the open window and its
    monitor; Rig Console makes the window anew with the new monitor (units convert through it)."""
    from psychopy import monitors

    theirs, ours = pair
    mon = monitors.Monitor("parity", width=30.0, distance=60.0, verbose=False, autoLog=False)
    mon.setSizePix(SMALL)
    before = ours.win
    assert (
        theirs.setupWindowFromParams({"monitor": mon}) is True and ours.setupWindowFromParams({"monitor": mon}) is True
    )
    assert theirs.win.monitor.name == "__blank__"
    assert ours.win is not before and ours.win.monitor.name == "parity" and ours.win.monitor.getWidth() == 30.0
    assert list(ours.win.size) == SMALL  # the rest as it was


def test_difference_add_from_outside_the_root(pair, roots):
    """Row "addExperiment from outside the root": both copy its folder into the root and run the
    copy (PsychoPy's test_outside_root); Rig Console writes nothing else there (PsychoPy adds
    ``__init__.py`` and the compiled script), and refuses, changing nothing, to copy over a
    different folder of that name (PsychoPy merges into it)."""
    theirs, ours = pair
    for side, root in zip(pair, (roots["psychopy"], roots["rig"])):
        external = root.parent / "outside_root" / "externalExp.psyexp"
        assert side.addExperiment(external, key="externalExp") is True
        assert (root / "outside_root" / "externalExp.psyexp").is_file()
        assert (
            side.runExperiment(
                "externalExp", {"participant": "p", "date": "d", "expName": "externalExp", "session": "001"}
            )
            is True
        )
    assert sorted(p.name for p in (roots["rig"] / "outside_root").iterdir()) == ["externalExp.psyexp"]
    assert {"__init__.py", "externalExp.py"} <= {p.name for p in (roots["psychopy"] / "outside_root").iterdir()}
    assert ours.experiment_files["externalExp"].path == roots["rig"] / "outside_root" / "externalExp.psyexp"

    # a folder of the same name with other files in it
    for root in roots.values():
        other = root.parent / "elsewhere" / "exp1"
        other.mkdir(parents=True)
        (other / "mine.py").write_text((root / "paritytools" / "paritytools.py").read_text())
    assert theirs.addExperiment(roots["psychopy"].parent / "elsewhere" / "exp1" / "mine.py", key="mine") is True
    assert (roots["psychopy"] / "exp1" / "mine.py").is_file()  # PsychoPy copied into root/exp1
    with pytest.raises(FileExistsError, match="already has a folder named 'exp1'"):
        ours.addExperiment(roots["rig"].parent / "elsewhere" / "exp1" / "mine.py", key="mine")
    assert not (roots["rig"] / "exp1" / "mine.py").exists() and "mine" not in ours.experiment_files


def test_difference_broken_file_is_listed_not_raised(pair):
    """Row "a file that does not load"."""
    theirs, ours = pair
    with pytest.raises(Exception):  # noqa: B017 - whatever PsychoPy's import raises (a SyntaxError today)
        theirs.addExperiment("broken/syntax_error.py")
    assert ours.addExperiment("broken/syntax_error.py") is False
    assert ours.experiment_files["broken/syntax_error.py"].error


def test_difference_user_folder_untouched(pair, roots):
    """Row "files written beside the experiment"."""
    theirs, ours = pair
    _add_both(pair, "exp2/exp2.psyexp", "exp2")
    assert sorted(p.name for p in (roots["rig"] / "exp2").iterdir()) == ["exp2.psyexp"]
    assert {"__init__.py", "exp2.py"} <= {p.name for p in (roots["psychopy"] / "exp2").iterdir()}


def test_difference_edited_file_and_cwd(pair, roots):
    """Rows "an edited experiment" and "current folder after a run": PsychoPy keeps the module
    it imported and leaves the process in its root; Rig Console loads the edited file again and
    puts the caller's current folder back."""
    theirs, ours = pair
    _add_both(pair, "parityprobe/parityprobe.py", "probe")
    for root in roots.values():
        f = root / "parityprobe" / "parityprobe.py"
        f.write_text(f.read_text().replace("'session': '001'", "'session': '042'"))
    assert theirs.getExpInfoFromExperiment("probe")["session"] == "001"
    assert ours.getExpInfoFromExperiment("probe")["session"] == "042"
    here = os.getcwd()
    assert theirs.runExperiment("probe", {"participant": "p", "session": "1", "date": "d"}) is True
    assert Path(os.getcwd()) == roots["psychopy"]
    os.chdir(here)
    assert ours.runExperiment("probe", {"participant": "p"}) is True
    assert os.getcwd() == here


def test_difference_on_idle_and_close(pair):
    """Row "onIdle": True as PsychoPy documents (PsychoPy's returns None). ``close`` is alike."""
    theirs, ours = pair
    assert theirs.onIdle() is None and ours.onIdle() is True
    assert theirs.close() is True and ours.close() is True
    assert theirs.win is None and ours.win is None


def test_difference_start_runs_the_queue_until_stop(pair):
    """Row "start() and stop()": ``runExperiment(..., blocking=False)`` from another thread
    returns True on both. PsychoPy's ``start()`` then returns at once and the queued run never
    happens (its process-wide queue starts out "alive", so ``start`` does not run it; and
    ``stop()`` only disconnects the session); Rig Console's ``start()`` runs queued calls on
    the main thread until ``stop()``, from any thread."""
    import threading
    import time

    from psychopy import session as psychopy_session

    theirs, ours = pair
    _add_both(pair, "parityprobe/parityprobe.py", "probe")
    info = {"participant": "p", "session": "1", "date": "d", "expName": "parityprobe"}
    queued = {}

    def drive(side, name):
        queued[name] = side.runExperiment("probe", dict(info), blocking=False)
        t0 = time.monotonic()
        while not side.runs and time.monotonic() - t0 < 60:
            time.sleep(0.05)
        side.stop()

    queue = psychopy_session._queue
    assert queue._alive, "PsychoPy's queue was started in this process: its start() would never return"
    try:
        for side, name in ((theirs, "psychopy"), (ours, "rig")):
            thread = threading.Thread(target=drive, args=(side, name))
            thread.start()
            if name == "psychopy":
                time.sleep(0.5)  # queued before start(), as in PsychoPy's docstring example
            assert side.start() is True
            if name == "psychopy":
                assert theirs.runs == [] and len(queue.queue) == 1  # returned; the call still queued
                theirs.runs.append(None)  # let the driving thread finish
            thread.join(70)
    finally:
        queue.queue.clear()  # never run later on a closed session
        queue.disconnectSession(theirs)
    assert queued == {"psychopy": True, "rig": True}
    assert [r.name for r in ours.runs] == ["probe"]


def test_difference_liaison_return_values(roots, tmp_path):
    """Row "liaison": with PsychoPy's own liaison server object (its event loop running in a
    thread, no client), ``sendToLiaison`` returns True as PsychoPy documents (PsychoPy's
    returns None), and ``sendExperimentData()`` with no run returns False (PsychoPy's raises
    IndexError on its empty run list)."""
    import asyncio
    import threading

    from psychopy import liaison
    from psychopy.session import Session as PsychoPySession

    from rigconsole import Session

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    servers = [liaison.WebSocketServer(), liaison.WebSocketServer()]
    for server in servers:
        server.loop = loop
    ours = Session(roots["rig"], dataDir=tmp_path / "d2", cache_dir=tmp_path / "cache", liaison=servers[1])
    theirs = PsychoPySession(str(roots["psychopy"]), dataDir=str(tmp_path / "d1"), liaison=servers[0])
    try:
        assert theirs.sendToLiaison({"type": "x"}) is None and ours.sendToLiaison({"type": "x"}) is True
        with pytest.raises(IndexError):
            theirs.sendExperimentData()
        assert ours.sendExperimentData() is False
    finally:
        ours.close()
        theirs.logFile.logger.removeTarget(theirs.logFile)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        _forget_imports(tmp_path)
