"""``rigconsole run --simulate-participant --speed N``: a time-warped dry run from the command line."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "resources" / "experiments" / "gonogo" / "gonogo.py"


def rigconsole(*args, timeout=180):
    return subprocess.run(
        [sys.executable, "-m", "rigconsole.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
    )


def test_a_warped_dry_run_reports_its_speed_and_marks_its_data(tmp_path):
    import h5py

    data = tmp_path / "d"
    out = rigconsole(
        "run",
        DEMO,
        "--simulate-participant",
        "2",
        "--speed",
        "10",
        "--exp-info",
        "participant=w",
        "--exp-info",
        "nTrials=6",
        "--data-dir",
        data,
        "--window",
        "size=320,240",
        "--simulate-vsync",
        "60",
    )
    assert out.returncode == 0, out.stderr
    assert "completed" in out.stdout and "speed 10x, reached" in out.stdout, out.stdout
    line = next(x for x in out.stdout.splitlines() if "of experiment time in" in x)
    exp_s, wall_s = float(line.split("duration: ")[1].split(" s of")[0]), float(line.split(" in ")[1].split(" s")[0])
    assert exp_s > 3 * wall_s, line
    files = out.stdout.split()
    with open(next(f for f in files if f.endswith(".csv")), newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and all(r["time_warp"] == "10x" for r in rows)
    with h5py.File(next(f for f in files if f.endswith(".h5")), "r") as f:
        assert json.loads(f["metadata"].attrs["dry_run"])["time_warp"] == 10.0


def test_speed_is_checked_and_only_for_dry_runs(tmp_path):
    out = rigconsole("run", DEMO, "--speed", "10", "--data-dir", tmp_path)
    assert out.returncode == 2 and "--speed is for dry runs: add --simulate-participant" in out.stderr
    out = rigconsole("run", DEMO, "--simulate-participant", "--speed", "fast", "--data-dir", tmp_path)
    assert out.returncode == 2 and "give a number above 0 (e.g. 10) or 'max'" in out.stderr
    assert not list(tmp_path.rglob("*.h5"))
