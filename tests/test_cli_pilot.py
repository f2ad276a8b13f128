"""``rigconsole run EXPERIMENT --pilot``: PsychoPy's pilot mode from the command line (as a Builder
script's own ``--pilot``), a real process with real files."""

from __future__ import annotations

import json
from pathlib import Path

import h5py

from test_cli import DEMO, rigconsole

from support.csv_h5 import csv_rows


def test_run_pilot_writes_to_pilot_marked(tmp_path):
    data = tmp_path / "d"
    out = rigconsole(
        "run",
        DEMO,
        "--pilot",
        "--exp-info",
        "nTrials=4",
        "--exp-info",
        "responseWindow=0.3",
        "--data-dir",
        data,
        "--window",
        "size=320,240",
    )
    assert out.returncode == 0, out.stderr
    files = out.stdout.split()
    csvs = [f for f in files if f.endswith(".csv")]
    h5 = [f for f in files if f.endswith(".h5")]
    assert csvs and h5 and all(Path(f).is_relative_to(data / "pilot") for f in csvs + h5), files
    assert not list(data.glob("*.h5"))  # no participant session file holding only notes
    rows = csv_rows(csvs[0])
    assert len(rows) == 4 and rows[0]["piloting"] == "True" and rows[0]["participant"] == "pilot"
    with h5py.File(h5[0], "r") as f:
        assert json.loads(f["metadata"].attrs["pilot"])["pilot"] is True
        (run,) = [f["runs"][r] for r in f["runs"]]
        assert bool(run.attrs["pilot"])
    shown = rigconsole("data", h5[0])
    assert shown.returncode == 0, shown.stderr
    (line,) = [x for x in shown.stdout.splitlines() if "runs/0001_" in x]
    assert line.endswith("participant pilot  PILOT"), line  # `rigconsole data` says which runs were pilots


def test_pilot_is_refused_with_a_dry_run():
    out = rigconsole("run", DEMO, "--pilot", "--simulate-participant")
    assert out.returncode == 2
    assert "--pilot is for one experiment run by a person" in out.stderr
