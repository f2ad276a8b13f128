"""The command line as a person uses it: real processes, real files, exit codes."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "resources" / "experiments" / "gonogo" / "gonogo.py"


def rigconsole(*args, env=None, timeout=180):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "rigconsole.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=e)


def test_version_needs_no_display():
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    out = subprocess.run([sys.executable, "-m", "rigconsole.cli", "--version"], capture_output=True,
                         text=True, env=env, timeout=60)
    assert out.returncode == 0
    from rigconsole import __version__
    assert out.stdout.strip() == f"rigconsole {__version__}"


def test_run_script_prints_data_files(exp_root, tmp_path):
    out = rigconsole("run", exp_root / "simple" / "simple.py", "--exp-info", "participant=cli01",
                     "--exp-info", "nTrials=3", "--data-dir", tmp_path / "d", "--window", "size=320,240")
    assert out.returncode == 0, out.stderr
    files = out.stdout.split()
    csvs = [f for f in files if f.endswith(".csv")]
    assert len(csvs) == 1 and Path(csvs[0]).is_relative_to(tmp_path / "d")
    with open(csvs[0], newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["sq"] for r in rows] == ["0", "1", "4"]
    assert rows[0]["participant"] == "cli01"


def test_bundled_demo_runs_from_cli(tmp_path):
    out = rigconsole("run", DEMO, "--exp-info", "participant=cli", "--exp-info", "nTrials=4",
                     "--data-dir", tmp_path, "--window", "size=400,300")
    assert out.returncode == 0, out.stderr
    csvs = [f for f in out.stdout.split() if f.endswith(".csv")]
    with open(csvs[0], newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4
    assert {"rt", "correct", "accuracy"} <= set(rows[0])


@pytest.mark.parametrize("args, message", [
    (["run", "nowhere.py"], "no such experiment file"),
    (["run", "{root}/simple/asset.txt"], "is not an experiment"),
    (["run", "{root}/simple/simple.py"], "expInfo 'participant' is required"),
    (["run", "{root}/simple/simple.py", "--exp-info", "participant=a", "--exp-info", "nTrials=lots"], "is not a whole number"),
    (["run", "{root}/simple/simple.py", "--exp-info", "particpant=a"], "expInfo has no field 'particpant'"),
    (["run", "{root}/simple/simple.py", "--exp-info", "participant"], "must look like KEY=VALUE"),
    (["run", "{root}/simple/simple.py", "--exp-info", "participant=a", "--window", "sise=3,4"], "unknown --window option 'sise'"),
    (["run", "{root}/simple/simple.py", "--exp-info", "participant=a", "--window", "size=big"], "--window size must be WIDTH,HEIGHT"),
    (["run", "{root}/broken/syntax_error.py"], "does not load: syntax error"),
    (["run", "{root}/broken/bad.psyexp"], "does not load: not a valid Builder experiment"),
    (["--root", "/no/such/folder"], "no such folder"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_exits_2_with_one_line(exp_root, args, message):
    out = rigconsole(*[a.format(root=exp_root) for a in args])
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("rigconsole: ") and message in lines[0]


def test_failed_run_exits_1_and_keeps_partial_data(exp_root, tmp_path):
    out = rigconsole("run", exp_root / "failing" / "raises.py", "--data-dir", tmp_path, "--window", "size=320,240")
    assert out.returncode == 1
    assert "run failed: ValueError: stimulus file missing" in out.stderr
    csvs = [f for f in out.stdout.split() if f.endswith(".csv")]
    assert len(csvs) == 1 and Path(csvs[0]).exists()


def test_core_quit_run_exits_1(exp_root, tmp_path):
    out = rigconsole("run", exp_root / "quitter" / "quitter.py", "--data-dir", tmp_path, "--window", "size=320,240")
    assert out.returncode == 1
    assert "core.quit()" in out.stderr
