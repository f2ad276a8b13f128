"""A Builder experiment in pilot mode (PsychoPy's own GoNoGo demo, compiled by PsychoPy, driven by
real X key presses): the run queue sets the script's ``PILOTING``, so PsychoPy's own generated code
writes its ``piloting`` column and shows its piloting indicator on the session's window; the
participant is "pilot", the data land in ``pilot/``; the border is read from the window's pixels
while the run goes on, and the next real run of the same script has neither the border nor the
mark (the script's ``PILOTING`` is back to what it was)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from rigconsole.rig import PILOT_FOLDER, Rig
from rigconsole.settings import Settings
from session.test_builder_demo import KeyPresser

pytestmark = pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool is installed by scripts/setup")
KEY = "GoNoGo/gng.psyexp"


@pytest.fixture
def rig(gng_root, tmp_path):
    r = Rig(
        Settings(root=gng_root, data_dir=tmp_path / "data"),
        window_params={"size": [400, 300], "fullscr": False, "units": "height"},
        simulated_vsync_hz=60,
        scan=False,
    )
    r.session.addExperiment(KEY)
    yield r
    r.close()


def _run_two_trials(rig, mode: str) -> tuple:
    """Run the demo (``mode``) until two trial rows, then stop; the left-edge pixel of the window's
    next frame at each trial row."""
    s, q = rig.session, rig.queue
    edges = []

    def on_trial(rec, row):
        if row.get("trials.thisN") is None:
            return
        frame = np.asarray(s.win.getMovieFrame(buffer="back"))
        s.win.movieFrames.clear()
        edges.append(frame[frame.shape[0] // 2, 2, :3].astype(int))
        if len(edges) >= 2:
            s.stopExperiment()

    s.events.trial_added.connect(on_trial)
    try:
        with KeyPresser(["s", "space", "space"]):
            item = q.run_now(KEY, {}, mode=mode)
            q.run_until_idle()
    finally:
        s.events.trial_added.disconnect(on_trial)
    return item, edges


def _csv(rec) -> list[dict]:
    path = next(f for f in rec.data_files if f.endswith(".csv"))
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_gonogo_builder_demo_in_pilot_mode_then_for_real(rig, tmp_path):
    data = tmp_path / "data"
    module = rig.session.experiments[KEY]
    assert module.PILOTING is False  # compiled by PsychoPy: PILOTING = core.setPilotModeFromArgs()

    item, edges = _run_two_trials(rig, "pilot")
    rec = item.record
    assert rec.state == "stopped" and rec.pilot, item.outcome.sentence()
    assert rec.exp_info["participant"] == "pilot"
    assert rec.data_files and all(Path(f).is_relative_to(data / PILOT_FOLDER) for f in rec.data_files)
    assert len(edges) == 2 and all(np.all(np.abs(e - [0xEC, 0x97, 0x03]) <= 6) for e in edges), edges
    rows = _csv(rec)
    assert rows[0]["piloting"] == "True"  # PsychoPy's own column, from the script's setupData
    assert module.PILOTING is False  # given back

    item, edges = _run_two_trials(rig, "run")
    real = item.record
    assert real.state == "stopped" and not real.pilot
    assert not any(Path(f).is_relative_to(data / PILOT_FOLDER) for f in real.data_files)
    assert len(edges) == 2 and not any(np.all(np.abs(e - [0xEC, 0x97, 0x03]) <= 6) for e in edges), edges
    assert _csv(real)[0]["piloting"] == "False"  # the Builder script says so for a real run
