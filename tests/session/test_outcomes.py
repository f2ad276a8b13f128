"""Honest outcomes: a run whose trials all ran but which raised in PsychoPy's end-of-run export
is *finished with errors*, every trial kept in PsychoPy's CSV and the session's HDF5; a run
that raised during its trials is *failed*; both say where (the experiment's file and line).

Real Sessions, a real PsychoPy window (Xvfb), real HDF5 files.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from rigconsole.datalog import DataLog, new_session_path
from rigconsole.session import RunState
from rigconsole.session.outcomes import outcome_line
from rigconsole.session.qa import qa_report
from rigconsole.session.recorder import SessionRecorder

from support.csv_h5 import csv_rows

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def _run(s, key, exp_info=None):
    try:
        s.runExperiment(key, exp_info)
    except Exception as err:  # recorded in the run record
        return s.run_records[-1], err
    return s.run_records[-1], None


def _line_of(path: Path, text: str) -> int:
    """The 1-based number of the first code line starting with ``text``."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.strip().startswith(text))


def test_raising_in_psychopys_saveAsExcel_after_the_last_trial_is_finished_with_errors(
    exp_root, tmp_path, make_session
):
    s = make_session(exp_root, scan=True)
    log = DataLog(new_session_path(tmp_path / "data"))
    recorder = SessionRecorder(s, log)
    rec, err = _run(s, "exporterr/export_fails.py", {"participant": "fwe"})
    assert isinstance(err, IndexError)  # raised as PsychoPy's Session raises it, after the run was recorded
    assert rec.state == RunState.FINISHED_WITH_ERRORS == "finished with errors"
    assert not rec.ended_ok
    assert rec.error == "IndexError: list index out of range"
    assert "saveAsExcel" in rec.traceback and rec.raised_in == "TrialHandler2.saveAsExcel"
    script = exp_root / "exporterr" / "export_fails.py"
    assert Path(rec.error_file).samefile(script)
    assert rec.error_line == _line_of(script, "trials.saveAsExcel(")
    # every trial kept: PsychoPy's CSV (the experiment's saveData still ran) and the HDF5 trial table
    assert rec.n_trials == 6
    csv_file = next(f for f in rec.data_files if f.endswith(".csv"))
    rows = csv_rows(csv_file)
    assert [r["word"] for r in rows] == ["red", "green"] * 3
    group = recorder.group_for(rec)
    log.flush()
    info = log.run_info(group)
    trials = log.trials(group)
    assert info["outcome"] == "finished with errors"
    assert info["attrs"]["error"] == rec.error and info["attrs"]["error_at"] == rec.error_at
    assert "saveAsExcel" in info["attrs"]["traceback"]
    assert [v.decode() if isinstance(v, bytes) else v for v in trials["word"]] == ["red", "green"] * 3
    log.close()
    # the QA report takes the record's state
    assert qa_report(rec.key, record=rec).outcome == "completed with errors"
    # and the session goes on: the next run finishes
    rec2, err2 = _run(s, "simple/simple.py", {"participant": "next", "nTrials": 2})
    assert err2 is None and rec2.state == RunState.FINISHED


_NESTED = """
from psychopy import data

expInfo = {'participant': 'p', 'date|hid': '', 'expName|hid': 'nested'}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name='nested', extraInfo=expInfo, dataFileName=f"{dataDir}/nested")


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    blocks = data.TrialHandler2(trialList=[{'block': 1}, {'block': 2}], nReps=1, method='sequential', name='blocks')
    thisExp.addLoop(blocks)
    for block in blocks:
        trials = data.TrialHandler2(trialList=[{'x': 1}], nReps=2, method='sequential', name='trials')
        thisExp.addLoop(trials)
        for trial in trials:
            win.flip()
            thisExp.addData('x', trial['x'])
            thisExp.nextEntry()
        # an inner loop's save at its end, while the blocks loop has a block to go
        trials.saveAsExcel(thisExp.dataFileName + '.xlsx', stimOut=['x'], dataOut=['n'])


def saveData(thisExp):
    thisExp.saveAsWideText(thisExp.dataFileName + '.csv', delim=',')
"""

_AFTER_TRIALS = """
from psychopy import data

expInfo = {'participant': 'p', 'date|hid': '', 'expName|hid': 'after'}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name='after', extraInfo=expInfo, dataFileName=f"{dataDir}/after")


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    for i in range(3):
        win.flip()
        thisExp.addData('i', i)
        thisExp.nextEntry()
    score = 10 / 0  # the experiment's own bug, not PsychoPy's export


def saveData(thisExp):
    thisExp.saveAsWideText(thisExp.dataFileName + '.csv', delim=',')
"""

_SAVE_DATA_RAISES = """
from psychopy import data

expInfo = {'participant': 'p', 'date|hid': '', 'expName|hid': 'savefails'}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name='savefails', extraInfo=expInfo, dataFileName=f"{dataDir}/savefails")


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    for i in range(4):
        win.flip()
        thisExp.addData('i', i)
        thisExp.nextEntry()


def saveData(thisExp):
    thisExp.saveAsPickle(thisExp.dataFileName + '/no/such/folder/x')  # raises before the CSV below
    thisExp.saveAsWideText(thisExp.dataFileName + '.csv', delim=',')
"""


_BOTH = (
    (EXPERIMENTS / "exporterr" / "export_fails.py")
    .read_text()
    .replace("def saveData(thisExp):\n", "def saveData(thisExp):\n    raise OSError('disk full')\n")
)


@pytest.fixture
def scripts_root(tmp_path):
    root = tmp_path / "scripts"
    for name, text in (
        ("nested", _NESTED),
        ("after", _AFTER_TRIALS),
        ("savefails", _SAVE_DATA_RAISES),
        ("both", _BOTH),
    ):
        (root / name).mkdir(parents=True)
        (root / name / f"{name}.py").write_text(textwrap.dedent(text))
    return root


def test_an_inner_loops_export_raising_while_a_loop_runs_is_failed(scripts_root, make_session):
    s = make_session(scripts_root, scan=True)
    rec, err = _run(s, "nested/nested.py")
    assert isinstance(err, IndexError)
    assert rec.state == RunState.FAILED and rec.raised_in == ""
    assert rec.n_trials == 2  # the first block only
    assert "loop 'blocks' trial 1 of 2" in rec.where


def test_the_experiments_own_error_after_its_trials_is_failed_at_its_line(scripts_root, make_session):
    s = make_session(scripts_root, scan=True)
    rec, err = _run(s, "after/after.py")
    assert isinstance(err, ZeroDivisionError)
    assert rec.state == RunState.FAILED
    script = scripts_root / "after" / "after.py"
    assert rec.error_at == f"{rec.error_file}:{_line_of(script, 'score = 10 / 0')}"
    assert Path(rec.error_file).samefile(script)
    line = outcome_line(rec, "/var/log/rigconsole.log")
    assert line == (
        f"run failed at {rec.error_at}: ZeroDivisionError: division by zero; "
        f"full traceback in /var/log/rigconsole.log (or -v)"
    )


def test_save_data_raising_after_run_returned_is_finished_with_errors_and_the_csv_is_kept(scripts_root, make_session):
    s = make_session(scripts_root, scan=True)
    rec, err = _run(s, "savefails/savefails.py")
    assert err is None  # a wrap-up error is recorded, not raised (as before)
    assert rec.state == RunState.FINISHED_WITH_ERRORS and rec.raised_in == "saveData"
    script = scripts_root / "savefails" / "savefails.py"
    assert rec.error_line == _line_of(script, "thisExp.saveAsPickle(") and Path(rec.error_file).samefile(script)
    csv_file = next(f for f in rec.data_files if f.endswith(".csv"))  # written by the console
    assert [r["i"] for r in csv_rows(csv_file)] == ["0", "1", "2", "3"]
    assert outcome_line(rec).startswith("run finished with errors: every trial kept (4 trials); ")
    assert "in the experiment's saveData at " in outcome_line(rec)


def test_saveAsExcel_then_saveData_raising_keeps_the_first_error_and_every_trial_in_a_csv(scripts_root, make_session):
    assert "raise OSError('disk full')" in _BOTH
    s = make_session(scripts_root, scan=True)
    rec, err = _run(s, "both/both.py")
    assert isinstance(err, IndexError)
    assert rec.state == RunState.FINISHED_WITH_ERRORS and rec.raised_in == "TrialHandler2.saveAsExcel"
    assert rec.error == "IndexError: list index out of range"
    csv_file = next(f for f in rec.data_files if f.endswith(".csv"))  # written by the console
    assert [r["word"] for r in csv_rows(csv_file)] == ["red", "green"] * 3


def test_a_failing_experiment_says_where(exp_root, make_session):
    s = make_session(exp_root, scan=True)
    rec, err = _run(s, "failing/raises.py")
    assert rec.state == RunState.FAILED
    script = exp_root / "failing" / "raises.py"
    assert rec.error_line == _line_of(script, "raise ValueError") and Path(rec.error_file).samefile(script)
    assert qa_report(rec.key, record=rec).outcome == "failed"
    assert rec.summary()["error_at"] == rec.error_at


@pytest.mark.slow
def test_psychopys_own_stroop_demo_is_finished_with_errors_every_trial_kept(tmp_path, make_session):
    """PsychoPy's stroop Builder demo, dry-run (a simulated participant answers, ~40 s here): its
    trials loop's saveAsExcel raises after the 30th trial, in plain PsychoPy too. The location is
    the compiled script the console ran."""
    import psychopy

    from rigconsole.session.qa import dry_run

    src = Path(psychopy.__file__).parent / "demos" / "builder" / "Experiments" / "stroop"
    root = tmp_path / "builder"
    shutil.copytree(src, root / "stroop")
    s = make_session(root, scan=True, win={"size": [400, 300], "fullscr": False, "units": "height"})
    log = DataLog(new_session_path(tmp_path / "data"))
    recorder = SessionRecorder(s, log)
    report = dry_run(s, "stroop/stroop.psyexp", seed=1)
    rec = s.run_records[-1]
    assert rec.state == RunState.FINISHED_WITH_ERRORS, (rec.error, rec.traceback)
    assert report.outcome == "completed with errors" and report.trials_per_loop == {"trials": 30}
    assert rec.raised_in.endswith(".saveAsExcel") and rec.error.startswith("IndexError")
    entry = s.experiment_files["stroop/stroop.psyexp"]
    assert Path(rec.error_file).samefile(entry.script_path)
    assert "trials.saveAsExcel(" in entry.script_path.read_text().splitlines()[rec.error_line - 1]
    csv_file = next(f for f in rec.data_files if f.endswith(".csv"))
    rows = csv_rows(csv_file)
    group = recorder.group_for(rec)
    log.flush()
    assert log.run_info(group)["outcome"] == "finished with errors"
    assert len(rows) == rec.n_trials == len(next(iter(log.trials(group).values())))
    assert sum(1 for r in rows if r.get("trials.thisN", "") != "") == 30
    log.close()
