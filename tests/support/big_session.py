"""Big session files for the lazy-reader test and benchmark (benchmarks/bench_datalog.py --open)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np


def make_big_session(path: Path, *, mb: float, variables: int = 4) -> Path:
    """A real session file (written by DataLog) whose logged variables then grow to about ``mb`` MB.

    DataLog writes the structure (variables with units, parameters, a run with
    trials and frame intervals, an annotation); the bulk is appended with h5py
    into the same datasets (16 bytes a row), which is what hours of logging at
    a high rate leave and what DataLog itself would write, only faster.
    """
    from rigconsole.datalog import DataLog

    with DataLog(path) as log:
        for k in range(variables):
            log.describe_variable(f"v{k}", unit="V", source="bench")
        log.add_entry(**{f"v{k}": 0.0 for k in range(variables)})
        log.save_parameter(rig="rig-2")
        run = log.start_run("gonogo", {"participant": "P01"})
        for i in range(20):
            log.add_trial(run, {"trials.thisN": i, "key_resp.rt": 0.3})
        log.add_frame_intervals(run, np.full(1000, 1 / 60))
        log.end_run(run, "finished")
        log.add_annotation("bulk follows", kind="note")
    rows = int(mb * 1e6 / 16 / variables)
    block = 1 << 20
    with h5py.File(path, "r+", libver="latest") as f:
        for k in range(variables):
            ds = f[f"variables/v{k}"]
            t0 = float(ds[0]["t"])
            ds.resize((1 + rows,))
            for start in range(0, rows, block):
                n = min(block, rows - start)
                rec = np.empty(n, dtype=ds.dtype)
                rec["t"] = t0 + (1 + start + np.arange(n)) * 1e-3
                rec["value"] = np.sin(np.arange(start, start + n) * 1e-3)
                ds[1 + start : 1 + start + n] = rec
    return path
