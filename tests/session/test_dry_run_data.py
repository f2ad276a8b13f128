"""Where a dry run's data go: Rig.prepare_dry_run / end_dry_run, the one path the CLI and the
console share (core suite: Qt blocked; real stimulus window, real HDF5 files)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pytest

from rigconsole.datalog.schema import read_annotations
from rigconsole.rig import DRY_RUNS_FOLDER, Rig
from rigconsole.settings import Settings

WINDOW = {"size": [320, 240], "fullscr": False, "units": "height"}


@pytest.fixture
def rig(exp_root, tmp_path):
    r = Rig(Settings(root=exp_root, data_dir=tmp_path / "data"), window_params=WINDOW, simulated_vsync_hz=60)
    yield r
    r.close()


def test_a_dry_run_goes_to_dry_runs_marked_and_the_rig_comes_back(rig, tmp_path):
    data = tmp_path / "data"
    seen = []
    rig.events.data_log_changed.connect(seen.append)
    first = rig.data_log.path
    assert rig.dry_run_folder is None

    folder = rig.prepare_dry_run(5)
    assert folder == data / DRY_RUNS_FOLDER and rig.dry_run_folder == folder
    assert rig.session.dataDir == folder and rig.data_log.path.parent == folder
    assert rig.data_log.metadata("dry_run") == {"simulated_participant": True, "seed": 5, "time_warp": 1.0}
    assert seen == [rig.data_log] and rig.session.data_log is rig.data_log
    assert rig.session.runExperiment("simple/simple.py", {"participant": "sim", "nTrials": 2})
    dry = rig.session.run_records[-1]
    assert dry.data_files and all(Path(f).is_relative_to(folder) for f in dry.data_files)
    dry_log = rig.data_log.path

    rig.end_dry_run()
    assert rig.dry_run_folder is None and rig.session.dataDir == data
    assert rig.data_log.path == first and len(seen) == 2  # the session file it had, reopened
    rig.end_dry_run()  # nothing prepared: nothing happens
    assert len(seen) == 2
    assert rig.session.runExperiment("simple/simple.py", {"participant": "real", "nTrials": 2})
    real = rig.session.run_records[-1]
    assert not any(Path(f).is_relative_to(folder) for f in real.data_files)
    rig.close()
    with h5py.File(dry_log, "r") as f:
        assert json.loads(f["metadata"].attrs["dry_run"])["seed"] == 5
        assert [f["runs"][r].attrs["experiment"] for r in f["runs"]] == ["simple/simple.py"]
        notes = [(a["kind"], a["text"]) for a in read_annotations(f)]
        assert notes == [("dry-run", "dry run: a simulated participant (seed 5)")]
    with h5py.File(first, "r") as f:
        meta = f.get("metadata")
        assert meta is None or "dry_run" not in meta.attrs  # a participant's session file is never marked
        notes = [a["text"] for a in read_annotations(f)]  # but says where the dry run's data went
        assert notes == [f"dry run: the data go to {folder} until it ends", f"dry run ended: its data are in {dry_log}"]
        assert len(f["runs"]) == 1


def test_a_dry_run_cannot_be_prepared_during_a_run(rig):
    from rigconsole.session import RunInProgressError

    caught = []

    def during():
        try:
            rig.prepare_dry_run(0)
        except RunInProgressError as err:
            caught.append(err)
        rig.session.stopExperiment()

    rig.session.win.callOnFlip(during)
    rig.session.runExperiment("endless/endless.py", {})
    assert caught and rig.dry_run_folder is None
