"""The command line as a person uses it: real processes, real files, exit codes."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.csv_h5 import csv_rows, same_value  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "resources" / "experiments" / "gonogo" / "gonogo.py"


def rigconsole(*args, env=None, timeout=180):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "rigconsole.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=e,
    )


def test_version_needs_no_display():
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    out = subprocess.run(
        [sys.executable, "-m", "rigconsole.cli", "--version"], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0
    from rigconsole import __version__

    assert out.stdout.strip() == f"rigconsole {__version__}"


def test_run_script_prints_data_files(exp_root, tmp_path):
    out = rigconsole(
        "run",
        exp_root / "simple" / "simple.py",
        "--exp-info",
        "participant=cli01",
        "--exp-info",
        "nTrials=3",
        "--data-dir",
        tmp_path / "d",
        "--window",
        "size=320,240",
    )
    assert out.returncode == 0, out.stderr
    files = out.stdout.split()
    csvs = [f for f in files if f.endswith(".csv")]
    assert len(csvs) == 1 and Path(csvs[0]).is_relative_to(tmp_path / "d")
    with open(csvs[0], newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["sq"] for r in rows] == ["0", "1", "4"]
    assert rows[0]["participant"] == "cli01"


def test_bundled_demo_runs_from_cli(tmp_path):
    out = rigconsole(
        "run",
        DEMO,
        "--exp-info",
        "participant=cli",
        "--exp-info",
        "nTrials=4",
        "--data-dir",
        tmp_path,
        "--window",
        "size=400,300",
    )
    assert out.returncode == 0, out.stderr
    csvs = [f for f in out.stdout.split() if f.endswith(".csv")]
    with open(csvs[0], newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4
    assert {"rt", "correct", "accuracy"} <= set(rows[0])


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "nowhere.py"], "no such experiment file"),
        (["run", "{root}/simple/asset.txt"], "is not an experiment"),
        (["run", "{root}/simple/simple.py"], "expInfo 'participant' is required"),
        (
            ["run", "{root}/simple/simple.py", "--exp-info", "participant=a", "--exp-info", "nTrials=lots"],
            "is not a whole number",
        ),
        (["run", "{root}/simple/simple.py", "--exp-info", "particpant=a"], "expInfo has no field 'particpant'"),
        (["run", "{root}/simple/simple.py", "--exp-info", "participant"], "must look like KEY=VALUE"),
        (
            ["run", "{root}/simple/simple.py", "--exp-info", "participant=a", "--window", "sise=3,4"],
            "unknown --window option 'sise'",
        ),
        (
            ["run", "{root}/simple/simple.py", "--exp-info", "participant=a", "--window", "size=big"],
            "--window size must be WIDTH,HEIGHT",
        ),
        (["run", "{root}/broken/syntax_error.py"], "does not load: syntax error"),
        (["run", "{root}/broken/bad.psyexp"], "does not load: not a valid Builder experiment"),
        (["--root", "/no/such/folder"], "no such folder"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(exp_root, args, message):
    out = rigconsole(*[a.format(root=exp_root) for a in args])
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("rigconsole: ") and message in lines[0]


def test_failed_run_exits_1_and_keeps_partial_data(exp_root, tmp_path):
    out = rigconsole("run", exp_root / "failing" / "raises.py", "--data-dir", tmp_path, "--window", "size=320,240")
    assert out.returncode == 1
    assert "run failed at " in out.stderr and ": ValueError: stimulus file missing" in out.stderr
    csvs = [f for f in out.stdout.split() if f.endswith(".csv")]
    assert len(csvs) == 1 and Path(csvs[0]).exists()


def test_core_quit_run_exits_1(exp_root, tmp_path):
    out = rigconsole("run", exp_root / "quitter" / "quitter.py", "--data-dir", tmp_path, "--window", "size=320,240")
    assert out.returncode == 1
    assert "core.quit()" in out.stderr


def test_headless_run_writes_the_session_file_with_psychopys_trial_table(tmp_path):
    """``rigconsole run`` builds the console's rig core: the bundled go/no-go leaves a session
    .h5 whose trial table matches PsychoPy's CSV row for row, column for column."""
    from rigconsole.datalog import DataLog

    out = rigconsole(
        "run",
        DEMO,
        "--exp-info",
        "participant=h5cli",
        "--exp-info",
        "nTrials=6",
        "--exp-info",
        "responseWindow=0.3",
        "--data-dir",
        tmp_path,
        "--window",
        "size=400,300",
    )
    assert out.returncode == 0, out.stderr
    files = out.stdout.split()
    h5s = [f for f in files if f.endswith(".h5")]
    csvs = [f for f in files if f.endswith(".csv")]
    assert len(h5s) == 1 and len(csvs) == 1 and Path(h5s[0]).parent == tmp_path
    rows = csv_rows(csvs[0])
    assert len(rows) == 6
    with DataLog(h5s[0], readonly=True) as log:
        (run,) = log.runs()
        info = log.run_info(run)
        trials = log.trials(run)
    assert info["outcome"] == "finished" and info["expInfo"]["participant"] == "h5cli"
    columns = [c for c in rows[0] if c]  # PsychoPy ends each line with a delimiter
    assert {"trial", "condition", "key", "rt", "correct", "accuracy", "participant"} <= set(columns)
    for col in columns:
        assert col in trials, col
        assert len(trials[col]) == 6, col
        for i, row in enumerate(rows):
            assert same_value(row[col], trials[col][i]), (col, i, row[col], trials[col][i])


def test_bad_input_leaves_no_session_file(exp_root, tmp_path):
    out = rigconsole(
        "run",
        exp_root / "simple" / "simple.py",
        "--exp-info",
        "particpant=a",
        "--data-dir",
        tmp_path / "d",
        "--window",
        "size=320,240",
    )
    assert out.returncode == 2
    assert not list((tmp_path / "d").glob("*.h5"))


_FULL_DISK_RUN = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), resource.RLIM_INFINITY))
from rigconsole.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_a_data_log_write_error_is_one_line_saying_what_was_kept(tmp_path):
    """A file-size limit (RLIMIT_FSIZE, as a full disk) that the session .h5 outgrows during
    the run (its frame intervals, trial rows) while PsychoPy's small CSV still fits."""
    script = tmp_path / "full.py"
    script.write_text(_FULL_DISK_RUN)
    out = subprocess.run(
        [
            sys.executable,
            str(script),
            "60000",
            "run",
            str(DEMO),
            "--exp-info",
            "participant=full",
            "--exp-info",
            "nTrials=8",
            "--exp-info",
            "responseWindow=0.3",
            "--data-dir",
            str(tmp_path / "d"),
            "--window",
            "size=320,240",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    lines = [line for line in out.stderr.splitlines() if "session data log" in line]
    assert len(lines) == 1, out.stderr
    assert "disk full or file-size limit reached" in lines[0] and "is on disk" in lines[0]
    assert out.returncode == 1, out.stderr
    csvs = [f for f in out.stdout.split() if f.endswith(".csv")]
    assert csvs and len(csv_rows(csvs[0])) == 8  # PsychoPy's own data is kept whole


def test_a_dry_run_with_a_simulated_participant_ends_with_a_qa_report(tmp_path):
    """No X key tool runs: the simulated participant answers inside PsychoPy's input path;
    the data go to <data folder>/dry-runs and are marked as simulated."""
    import h5py

    data = tmp_path / "d"
    out = rigconsole(
        "run",
        DEMO,
        "--simulate-participant",
        "7",
        "--exp-info",
        "participant=sim",
        "--exp-info",
        "nTrials=6",
        "--data-dir",
        data,
        "--window",
        "size=320,240",
    )
    assert out.returncode == 0, out.stderr
    assert "completed" in out.stdout and "6" in out.stdout, out.stdout  # the report: outcome, trials
    files = out.stdout.split()
    csvs = [f for f in files if f.endswith(".csv")]
    h5 = [f for f in files if f.endswith(".h5")]
    assert csvs and all(Path(f).is_relative_to(data / "dry-runs") for f in csvs + h5)
    assert not list(data.glob("*.h5"))  # no empty participant session file beside dry-runs
    assert len(csv_rows(csvs[0])) == 6
    with h5py.File(h5[0], "r") as f:
        assert "dry_run" in f["metadata"].attrs or "dry_run" in f["metadata"]
