"""Shared helper for the data-tools tests: fills a DataLog with variables and runs."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

# docs/screenshots is rewritten only on request (RIGCONSOLE_UPDATE_SCREENSHOTS=1),
# so a test run leaves the work tree clean
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("RIGCONSOLE_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "rigconsole-screenshots"
)


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
            log.add_trial(
                run,
                {
                    "trials.thisN": k,
                    "stim": "go" if go else "nogo",
                    "key_resp.keys": "space" if go else "",
                    "key_resp.rt": float(0.28 + 0.1 * rng.random()) if go else None,
                    "key_resp.corr": 1 if rng.random() < 0.9 else 0,
                    "thisRow.t": 2.0 + 1.5 * k,
                },
            )
        log.end_run(run, "finished" if r == 0 else "stopped", dropped_frames=r, n_trials=trials)
        paths.append(run)
    return paths
