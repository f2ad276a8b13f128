"""PsychoPy's own GoNoGo Builder demo (gng.psyexp, shipped inside psychopy) runs through
the Session, driven by real X key presses (xdotool) into the stimulus window."""

from __future__ import annotations

import csv
import shutil
import subprocess
import threading

import pytest

pytestmark = pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool is installed by scripts/setup")


class KeyPresser:
    """Presses keys on the X display from another thread, as a participant would."""

    def __init__(self, keys, interval=0.35):
        self.keys = keys
        self.interval = interval
        self._stop = threading.Event()
        self.sent = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        i = 0
        while not self._stop.wait(self.interval):
            subprocess.run(["xdotool", "key", self.keys[i % len(self.keys)]], check=False)
            self.sent += 1
            i += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)


def test_gonogo_builder_demo_runs_with_key_presses(gng_root, make_session):
    s = make_session(gng_root, simulated_vsync_hz=60)
    assert s.addExperiment("GoNoGo/gng.psyexp")
    rows = []
    s.events.trial_added.connect(lambda rec, row: rows.append(row))
    with KeyPresser(["s", "space", "space"]):
        assert s.runExperiment("GoNoGo/gng.psyexp", {"participant": "kb01"}) is True
    rec = s.run_records[-1]
    assert rec.state == "finished"
    assert rows[0]["start_resp.keys"] == "s"  # the intro waited for 's'
    trial_rows = [r for r in rows if r.get("trials.thisN") is not None]
    assert len(trial_rows) == 12  # conditions.xlsx (4 rows) x 3 repetitions
    assert any(r.get("key_resp.keys") == "space" for r in trial_rows)
    assert rec.total_trials == 12
    csv_file = next(f for f in rec.data_files if f.endswith(".csv"))
    with open(csv_file, newline="") as f:
        data = list(csv.DictReader(f))
    assert sum(1 for r in data if r.get("trials.thisN") not in (None, "")) == 12
    assert rec.frame_stats["n_frames"] > 300
