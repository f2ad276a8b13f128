"""Fixtures for the data-tools UI tests: real DataLog files in tmp_path, closed at teardown."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

import rigconsole.ui  # noqa: F401  (pins Qt to PySide6 before pytest-qt/pyqtgraph import it)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(autouse=True)
def _data_settings_path(tmp_path, monkeypatch):
    """Settings go to a temporary file (never the user's)."""
    path = tmp_path / "settings.json"
    monkeypatch.setenv("RIGCONSOLE_SETTINGS", str(path))
    return path


@pytest.fixture
def make_log(tmp_path):
    """Factory for live DataLogs in tmp_path (closed at teardown)."""
    from rigconsole.datalog import DataLog

    made = []

    def make(name: str = "session.h5", **kw):
        log = DataLog(tmp_path / name, **kw)
        made.append(log)
        return log

    yield make
    for log in made:
        log.close()


def fill_session(log, *, n_var: int = 200, runs: int = 2, trials: int = 30) -> list[str]:
    """A realistic session: two logged variables, parameters, a dataset and ``runs`` runs of ``trials`` rows."""
    import numpy as np

    log.save_parameter(rig="rig-2", monitor_hz=60, calibration="2026-03-01")
    for i in range(n_var):
        log.add_entry(temperature=21.0 + 0.5 * math.sin(i / 15), pupil_mm=3.2 + 0.4 * math.cos(i / 7))
    log.add_dataset(camera=np.zeros((8, 8), dtype=np.uint8))
    paths = []
    rng = np.random.default_rng(1)
    for r in range(runs):
        run = log.start_run("gonogo", {"participant": f"P{r + 1:02d}", "session": "001", "go_ratio": 0.75})
        for k in range(trials):
            go = bool(rng.random() < 0.75)
            log.add_trial(run, {
                "trials.thisN": k, "stim": "go" if go else "nogo", "key_resp.keys": "space" if go else "",
                "key_resp.rt": float(0.28 + 0.1 * rng.random()) if go else None,
                "key_resp.corr": 1 if rng.random() < 0.9 else 0, "thisRow.t": 2.0 + 1.5 * k,
            })
        log.end_run(run, "finished" if r == 0 else "stopped", dropped_frames=r, n_trials=trials)
        paths.append(run)
    return paths
