"""A lab's session files for replay tests, the lab benchmark and the dashboard screenshot.

:func:`write_session` records a session the way a rig's recorder and instruments do, through
the real :class:`rigconsole.datalog.DataLog` API into a real HDF5 file: logged variables
(pupil at ``rate_hz``, a photometer's luminance at 1 Hz), runs of trials with PsychoPy's
columns (``thisRow.t``, ``key_resp.rt``...), an instrument's state changes, a note, and
optionally a run that fails. Times are made up (epoch s from ``t0``) and spread as a real
session's would be; nothing waits.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from rigconsole.datalog import DataLog


def write_session(
    path: Path,
    *,
    seconds: float = 20.0,
    runs: int = 2,
    trials: int = 10,
    rate_hz: float = 10.0,
    fail: bool = False,
    t0: float | None = None,
    participant: str = "p",
) -> Path:
    """Write a session file of ``runs`` runs of ``trials`` trials over ``seconds`` s; returns ``path``.

    With ``fail`` the last run fails halfway (outcome ``"failed"``, an error line). Participants are
    ``<participant>01``, ``<participant>02``... run by run."""
    import numpy as np

    t0 = time.time() - 3600 if t0 is None else t0
    log = DataLog(path)
    try:
        log.describe_variable("pupil_mm", unit="mm", description="pupil diameter", source="eyetracker")
        log.save_parameter(monitor="testMonitor", refresh_hz=60.0)
        log.add_annotation(
            "photometer: connected",
            source="instrument:photometer",
            kind="state",
            timestamp=t0 + 0.05,
            state="connected",
            message="",
        )
        # values: the DataLog stamps add_entry with the call's time, so write the mirror through
        # the public API in order and shift times after: record (t, values) and log at those times
        span = seconds / runs
        rng = np.random.default_rng(7)
        entries = []
        n = int(seconds * rate_hz)
        for i in range(n):
            t = t0 + 0.1 + i / rate_hz
            vals = {"pupil_mm": round(3.0 + 0.4 * math.sin(i / 15.0) + 0.05 * rng.standard_normal(), 4)}
            if i % int(rate_hz) == 0:
                vals["luminance_cd_m2"] = round(40.0 + 2.0 * math.sin(i / 40.0), 3)
            entries.append((t, vals))
        for r in range(runs):
            start = t0 + 0.2 + r * span
            failed = fail and r == runs - 1
            group = log.start_run(
                "gonogo/gonogo.psyexp", {"participant": f"{participant}{r + 1:02d}", "session": "001"}, started=start
            )
            n_trials = trials // 2 if failed else trials
            for k in range(n_trials):
                log.add_trial(
                    group,
                    {
                        "trials.thisN": k,
                        "thisRow.t": round((k + 1) * (span - 1.0) / (trials + 1), 3),
                        "go": bool(k % 3),
                        "key_resp.keys": "space" if k % 3 else "",
                        "key_resp.rt": round(0.3 + 0.1 * rng.random(), 4) if k % 3 else None,
                    },
                )
            if r == 0:
                log.add_annotation(
                    "photometer: down (timeout)",
                    source="instrument:photometer",
                    kind="state",
                    timestamp=start + span / 2,
                    state="down",
                    message="timeout",
                )
                log.add_annotation(
                    "photometer: connected",
                    source="instrument:photometer",
                    kind="state",
                    timestamp=start + span / 2 + 1.0,
                    state="connected",
                    message="",
                )
            if failed:
                log.end_run(group, "failed", error="ValueError: bad stimulus size", n_trials=n_trials)
            else:
                log.end_run(group, "finished", n_trials=n_trials)
        log.add_annotation("lights dimmed", source="console", kind="note", timestamp=t0 + seconds / 3)
    finally:
        log.close()
    _append_values(path, entries)
    _fix_run_times(path, t0, span, runs)
    return path


def _append_values(path: Path, entries: list) -> None:
    """Write the logged values at their made-up times (h5py, the layout of docs/data-format.md)."""
    import h5py
    import numpy as np

    by_name: dict[str, list] = {}
    for t, vals in entries:
        for k, v in vals.items():
            by_name.setdefault(k, []).append((t, v))
    dt = np.dtype([("t", "<f8"), ("value", "<f8")])
    with h5py.File(path, "r+", libver="latest") as f:
        g = f.require_group("variables")
        for name, rows in by_name.items():
            arr = np.array(rows, dtype=dt)
            if name in g:
                del g[name]
            g.create_dataset(name, data=arr, maxshape=(None,), chunks=True)
            if name == "pupil_mm":
                g[name].attrs.update({"unit": "mm", "description": "pupil diameter", "source": "eyetracker"})


def _fix_run_times(path: Path, t0: float, span: float, runs: int) -> None:
    import h5py

    with h5py.File(path, "r+", libver="latest") as f:
        for i, name in enumerate(sorted(f["runs"])):
            start = t0 + 0.2 + i * span
            f["runs"][name].attrs["started"] = start
            f["runs"][name].attrs["ended"] = start + span - 0.5
