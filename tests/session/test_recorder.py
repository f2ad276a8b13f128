"""A session's runs land in the HDF5 data log as they happen; its trial table matches PsychoPy's CSV."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py

from rigconsole.datalog import DataLog, new_session_path
from rigconsole.session.recorder import SessionRecorder

from support.csv_h5 import csv_rows, same_value

REPO = Path(__file__).resolve().parents[2]


def test_bundled_gonogo_trial_table_matches_psychopy_csv(tmp_path, make_session):
    root = tmp_path / "root"
    shutil.copytree(REPO / "resources" / "experiments", root)
    s = make_session(root, scan=True)
    log = DataLog(new_session_path(tmp_path / "data"))
    rec = SessionRecorder(s, log)
    key = "gonogo/gonogo.py"
    assert s.runExperiment(key, {"participant": "h5", "nTrials": 6}) is True
    record = s.run_records[-1]
    group = rec.group_for(record)
    log.flush()
    trials = log.trials(group)
    info = log.run_info(group)
    assert info["outcome"] == "finished" and info["expInfo"]["participant"] == "h5"
    csv_file = next(f for f in record.data_files if f.endswith(".csv"))
    rows = csv_rows(csv_file)
    assert len(rows) == 6 == len(next(iter(trials.values())))
    columns = [c for c in rows[0] if c]  # PsychoPy ends each line with a delimiter
    assert {"trial", "condition", "key", "rt", "correct", "accuracy"} <= set(columns)
    for col in columns:  # every column PsychoPy wrote, row for row
        assert col in trials, col
        for i, row in enumerate(rows):
            assert same_value(row[col], trials[col][i]), (col, i, row[col], trials[col][i])
    assert len(log.frame_intervals(group)) == record.frame_stats["n_frames"]
    path = log.path if hasattr(log, "path") else None
    log.close()
    # the file is plain HDF5 a scientist can open
    if path is not None:
        with h5py.File(path, "r") as f:
            assert group in f


def test_failed_run_is_recorded_with_its_error(exp_root, tmp_path, make_session):
    s = make_session(exp_root, scan=True)
    log = DataLog(new_session_path(tmp_path / "data"))
    rec = SessionRecorder(s, log)
    try:
        s.runExperiment("failing/raises.py")
    except ValueError:
        pass
    group = rec.group_for(s.run_records[-1])
    log.flush()
    info = log.run_info(group)
    assert info["outcome"] == "failed"
    assert "stimulus file missing" in info["attrs"]["error"]
    assert info["n_trials"] == 2
    log.close()
