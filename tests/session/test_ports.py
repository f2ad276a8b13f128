"""The Session's public ports: the frame budget, connecting a console, the data log and
instruments offered to experiments, default keys, and the epoch of the experiment clock."""

from __future__ import annotations

import math
import threading

import pytest

from rigconsole.frame_budget import FrameBudget
from rigconsole.session import RunInProgressError

_SEES_THE_SESSION = """
import time
from psychopy import data, visual
from psychopy.constants import STARTED

expName = "sees"
expInfo = {"participant": "p"}


def setupData(expInfo, dataDir=None):
    time.sleep(0.3)  # set-up time before run(): a conditions file, a slow disk
    return data.ExperimentHandler(name=expName, extraInfo=expInfo, savePickle=False, saveWideText=False,
                                  dataFileName=f"{dataDir}/data/{expName}")


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    thisExp.status = STARTED
    thisExp.addData("zero_epoch", time.time() - globalClock.getTime(format=float))
    thisExp.addData("instruments", ",".join(sorted(thisSession.instruments)))
    thisExp.addData("has_log", thisSession.data_log is not None)
    if thisSession.data_log is not None:
        thisSession.data_log.add_entry(pupil=3.5)
    thisExp.nextEntry()
    for _ in range(3):
        win.flip()
"""


def _script_session(tmp_path, make_session, **kwargs):
    root = tmp_path / "root"
    (root / "sees").mkdir(parents=True)
    (root / "sees" / "sees.py").write_text(_SEES_THE_SESSION)
    return make_session(root, scan=True, **kwargs)


def test_frame_budget_is_the_port_and_answers_outside_a_run(exp_root, make_session):
    s = make_session(exp_root, scan=True, simulated_vsync_hz=60)
    budget = s.frame_budget
    assert isinstance(budget, FrameBudget)
    assert budget.running is False and budget.refresh_hz == 60.0
    assert budget.time_left() == math.inf
    assert budget.wait_for_quiet(0.0) is True
    fut = budget.submit(lambda a, b=0: a + b, 2, b=3)  # queued on the main-thread command queue
    assert not fut.done()
    assert s.commands.drain() == 1 and fut.result() == 5


def test_connect_console_pumps_during_a_run_and_wakes_on_submit(exp_root, make_session):
    s = make_session(exp_root, scan=True, simulated_vsync_hz=60)
    pumped, woken, running = [], [], []

    def pump(budget_s):
        pumped.append(budget_s)
        running.append(s.frame_budget.running)

    s.connect_console(pump, lambda: woken.append(threading.current_thread().name))
    th = threading.Thread(target=lambda: s.frame_budget.submit(lambda: None), name="worker")
    th.start()
    th.join()
    assert woken == ["worker"]
    assert s.runExperiment("simple/simple.py", {"participant": "p", "nTrials": 5})
    assert len(pumped) >= 10 and all(0 < b <= 0.01 for b in pumped)
    assert any(running)
    s.disconnect_console()
    n = len(pumped)
    s.frame_budget.submit(lambda: None)
    assert s.runExperiment("simple/simple.py", {"participant": "p", "nTrials": 3})
    assert len(pumped) == n and woken == ["worker"]


def test_experiments_see_the_instruments_and_the_data_log(tmp_path, make_session):
    from rigconsole.datalog import DataLog, new_session_path

    s = _script_session(tmp_path, make_session)
    assert dict(s.instruments) == {} and s.data_log is None
    rows = []
    s.events.trial_added.connect(lambda rec, row: rows.append(row))
    assert s.runExperiment("sees/sees.py", {"participant": "p"})
    assert rows[-1]["instruments"] == "" and rows[-1]["has_log"] is False

    log = DataLog(new_session_path(tmp_path / "h5"))
    try:
        s.use_data_log(log)
        s.use_instruments({"photometer": object(), "scale": object()})
        with pytest.raises(TypeError):
            s.instruments["other"] = object()  # read-only for experiments
        assert s.runExperiment("sees/sees.py", {"participant": "p"})
        assert rows[-1]["instruments"] == "photometer,scale" and rows[-1]["has_log"] is True
        assert log.logged_last_values()["pupil"][1] == 3.5
        s.use_instruments(None)
        assert dict(s.instruments) == {}
    finally:
        s.use_data_log(None)
        log.close()


def test_the_data_log_is_not_swapped_during_a_run(exp_root, make_session):
    s = make_session(exp_root, scan=True)
    errors = []

    def on_trial(rec, row):
        if rec.n_trials == 1:
            try:
                s.use_data_log(object())
            except RunInProgressError as err:
                errors.append(str(err))

    s.events.trial_added.connect(on_trial)
    assert s.runExperiment("simple/simple.py", {"participant": "p", "nTrials": 2})
    assert errors == ["cannot change the data log during a run"] and s.data_log is None


def test_key_for_is_the_path_relative_to_root(exp_root, make_session, tmp_path):
    s = make_session(exp_root)
    assert s.key_for(exp_root / "simple" / "simple.py") == "simple/simple.py"
    assert s.key_for("simple/simple.py") == "simple/simple.py"
    outside = tmp_path / "elsewhere" / "x.py"
    assert s.key_for(outside) == str(outside)
    assert s.addExperiment(exp_root / "simple" / "simple.py")
    assert s.key_for(exp_root / "simple" / "simple.py") in s.experiment_files


def test_t0_epoch_is_the_experiment_clocks_zero_not_the_run_request(tmp_path, make_session):
    """The run's set-up (0.3 s in setupData here) comes before the experiment clock's reset;
    trial times count from the reset. ``started`` is the request; ``t0_epoch`` the zero."""
    s = _script_session(tmp_path, make_session)
    rows = []
    s.events.trial_added.connect(lambda rec, row: rows.append(row))
    assert s.runExperiment("sees/sees.py", {"participant": "p"})
    rec = s.run_records[-1]
    zero = rows[0]["zero_epoch"]
    assert rec.t0_epoch is not None
    assert abs(rec.t0_epoch - zero) < 0.005, (rec.t0_epoch, zero)
    assert rec.t0_epoch - rec.started >= 0.3


def test_the_recorder_starts_the_run_at_the_clocks_zero(tmp_path, make_session):
    """In the data log a run's start is the epoch its trial times count from, so
    ``started + thisRow.t`` is when the row happened (fails when the start is the request)."""
    from rigconsole.datalog import DataLog, new_session_path
    from rigconsole.session.recorder import SessionRecorder

    s = _script_session(tmp_path, make_session)
    log = DataLog(new_session_path(tmp_path / "h5"))
    rec = SessionRecorder(s, log)
    try:
        assert s.runExperiment("sees/sees.py", {"participant": "p"})
        group = rec.group_for(s.run_records[-1])
        log.flush()
        started = log.run_info(group)["started"]
        zero = log.trials(group)["zero_epoch"][0]
        assert abs(started - zero) < 0.005, (started, zero)
    finally:
        rec.close()
        log.close()
    assert s.data_log is None


def test_a_run_failing_in_set_up_is_still_recorded(exp_root, tmp_path, make_session):
    from rigconsole.datalog import DataLog, new_session_path
    from rigconsole.session.recorder import SessionRecorder

    root = tmp_path / "r"
    (root / "bad").mkdir(parents=True)
    (root / "bad" / "bad.py").write_text(
        "expInfo = {'participant': 'p'}\n"
        "def setupData(expInfo, dataDir=None):\n    raise OSError('conditions file missing')\n"
        "def run(expInfo, thisExp, win):\n    pass\n"
    )
    s = make_session(root, scan=True)
    log = DataLog(new_session_path(tmp_path / "h5"))
    rec = SessionRecorder(s, log)
    try:
        with pytest.raises(OSError):
            s.runExperiment("bad/bad.py")
        record = s.run_records[-1]
        group = rec.group_for(record)
        log.flush()
        info = log.run_info(group)
        assert info["outcome"] == "failed" and "conditions file missing" in info["attrs"]["error"]
        assert record.t0_epoch is None and info["started"] == pytest.approx(record.started)
    finally:
        rec.close()
        log.close()
