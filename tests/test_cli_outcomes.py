"""``rigconsole run``'s honest outcomes, as a person sees them: exit codes, the one stderr line,
the log file it names, and every trial kept in PsychoPy's CSV and the session's HDF5."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.csv_h5 import csv_rows, same_value


def rigconsole(*args, log_dir: Path, timeout=180):
    env = dict(os.environ, RIGCONSOLE_LOG_DIR=str(log_dir))
    return subprocess.run(
        [sys.executable, "-m", "rigconsole.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def _line_no(path: Path, start: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.strip().startswith(start))


def test_trials_all_ran_then_psychopys_saveAsExcel_raised_exits_3_every_trial_kept(exp_root, tmp_path):
    from rigconsole.datalog import DataLog

    script = exp_root / "exporterr" / "export_fails.py"
    out = rigconsole(
        "run",
        script,
        "--exp-info",
        "participant=x3",
        "--data-dir",
        tmp_path / "d",
        "--window",
        "size=320,240",
        log_dir=tmp_path / "log",
    )
    assert out.returncode == 3, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("run ")]
    log_file = tmp_path / "log" / "rigconsole.log"
    assert lines == [
        "run finished with errors: every trial kept (6 trials); IndexError: list index out of range "
        f"in PsychoPy's TrialHandler2.saveAsExcel at {script}:{_line_no(script, 'trials.saveAsExcel(')}; "
        f"full traceback in {log_file} (or -v)"
    ], out.stderr
    assert "Traceback (most recent call last)" not in out.stderr  # that is -v's
    assert "saveAsExcel" in log_file.read_text() and "Traceback (most recent call last)" in log_file.read_text()
    files = out.stdout.split()
    (csv_file,) = [f for f in files if f.endswith(".csv")]
    (h5,) = [f for f in files if f.endswith(".h5")]
    rows = csv_rows(csv_file)
    assert len(rows) == 6
    with DataLog(h5, readonly=True) as log:
        (run,) = log.runs()
        info = log.run_info(run)
        trials = log.trials(run)
    assert info["outcome"] == "finished with errors"
    for col in ("word", "rt", "participant"):
        assert len(trials[col]) == 6
        assert all(same_value(r[col], trials[col][i]) for i, r in enumerate(rows)), col


def test_a_failed_run_names_the_experiments_file_and_line_and_the_log_file(exp_root, tmp_path):
    script = exp_root / "failing" / "raises.py"
    out = rigconsole("run", script, "--data-dir", tmp_path / "d", "--window", "size=320,240", log_dir=tmp_path / "log")
    assert out.returncode == 1
    log_file = tmp_path / "log" / "rigconsole.log"
    lines = [line for line in out.stderr.splitlines() if line.startswith("run ")]
    assert lines == [
        f"run failed at {script}:{_line_no(script, 'raise ValueError')}: ValueError: stimulus file "
        f"missing: faces/001.png; full traceback in {log_file} (or -v)"
    ], out.stderr
    text = log_file.read_text()
    assert "Traceback (most recent call last)" in text and f'File "{script}", line' in text
    # -v prints the traceback on stderr too
    out = rigconsole(
        "run", script, "--data-dir", tmp_path / "d2", "--window", "size=320,240", "-v", log_dir=tmp_path / "log"
    )
    assert out.returncode == 1
    assert "Traceback (most recent call last)" in out.stderr and 'raise ValueError("stimulus file missing' in out.stderr


def test_a_dry_run_finished_with_errors_exits_3_and_its_report_says_where(exp_root, tmp_path):
    script = exp_root / "exporterr" / "export_fails.py"
    out = rigconsole(
        "run",
        script,
        "--simulate-participant",
        "--data-dir",
        tmp_path / "d",
        "--window",
        "size=320,240",
        log_dir=tmp_path / "log",
    )
    assert out.returncode == 3, out.stderr
    at = f"{script}:{_line_no(script, 'trials.saveAsExcel(')}"
    assert f"completed with errors (in TrialHandler2.saveAsExcel at {at})" in out.stdout
    assert any(
        line.startswith("run finished with errors: every trial kept (6 trials)") and at in line
        for line in out.stderr.splitlines()
    ), out.stderr
