"""``rigconsole data ...``: summarise, export and recover session files.

Usage::

    rigconsole data FILE                 print a summary
    rigconsole data FILE --csv DIR       export trial tables and logged variables as CSV
    rigconsole data recover FILE         repair a file after a crash (h5clear -s)

Bad input exits with status 2 and one line on stderr saying what to fix.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
import time
from pathlib import Path
from typing import TextIO

from .errors import DataLogError
from .log import DataLog
from .recover import recover

__all__ = ["main", "summary", "export_csv"]

USAGE = "usage: rigconsole data FILE [--csv DIR] | rigconsole data recover FILE"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)


def _when(t: float | None) -> str:
    if t is None or (isinstance(t, float) and math.isnan(t)):
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def summary(log: DataLog, out: TextIO) -> None:
    """Write a human-readable summary of ``log`` to ``out``."""
    w = out.write
    w(f"{log.path}  created {_when(log.t0)}\n")
    runs = log.runs()
    w(f"\nRuns ({len(runs)})\n")
    for r in runs:
        info = log.run_info(r)
        outcome = info["outcome"] or "not ended"
        who = info["expInfo"].get("participant", "")
        who = f"  participant {who}" if who != "" else ""
        w(f"  {r}  {info['n_trials']} trials  {outcome}  started {_when(info['started'])}{who}\n")
    last = log.logged_last_values()
    names = sorted(log.logged_variables())
    w(f"\nLogged variables ({len(names)})\n")
    for n in names:
        t, v = log.logged_variable(n)
        lv = last.get(n)
        tail = f"  last {lv[1]:g} at {_when(lv[0])}" if lv else ""
        w(f"  {n}  {len(t)} values{tail}\n")
    params = log.parameters()
    w(f"\nParameters ({len(params)})\n")
    for k in sorted(params):
        w(f"  {k} = {params[k]!r}\n")
    ds = sorted(log.dataset_names())
    w(f"\nDatasets ({len(ds)})\n")
    for n in ds:
        times = log.dataset_times(n)
        _, last_arr = log.dataset_last_data(n)
        shape = "x".join(map(str, last_arr.shape)) if last_arr is not None else "?"
        dtype = last_arr.dtype if last_arr is not None else "?"
        w(f"  {n}  {len(times)} arrays of shape ({shape}) {dtype}\n")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", name).strip(".") or "_"


def export_csv(log: DataLog, out_dir: Path) -> list[Path]:
    """Write ``<run>_trials.csv`` per run, ``var_<name>.csv`` (t,value) per variable, ``parameters.csv``.

    Returns the paths written. Times are epoch seconds.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for r in log.runs():
        table = log.trials(r)
        cols = list(table)
        n = len(next(iter(table.values()))) if table else 0
        p = out_dir / f"{_safe(r.split('/', 1)[1])}_trials.csv"
        with open(p, "w", newline="", encoding="utf-8") as fh:
            cw = csv.writer(fh)
            cw.writerow(cols)
            for i in range(n):
                row = []
                for c in cols:
                    v = table[c][i]
                    row.append("" if isinstance(v, float) and math.isnan(v) else (repr(float(v)) if isinstance(v, float) else v))
                cw.writerow(row)
        written.append(p)
    for name in sorted(log.logged_variables()):
        t, v = log.logged_variable(name)
        p = out_dir / f"var_{_safe(name)}.csv"
        with open(p, "w", newline="", encoding="utf-8") as fh:
            cw = csv.writer(fh)
            cw.writerow(["t", name])
            cw.writerows(zip(map(repr, t.tolist()), map(repr, v.tolist())))
        written.append(p)
    params = log.parameters()
    if params:
        p = out_dir / "parameters.csv"
        with open(p, "w", newline="", encoding="utf-8") as fh:
            cw = csv.writer(fh)
            cw.writerow(["name", "value"])
            cw.writerows(sorted(params.items()))
        written.append(p)
    return written


def main(argv: list[str]) -> int:
    """Run ``rigconsole data`` with ``argv`` (without the program name); return the exit status."""
    try:
        if argv[:1] == ["recover"]:
            if len(argv) != 2:
                raise _UsageError(f"recover takes exactly one FILE; {USAGE}")
            print(recover(argv[1]))
            return 0
        ap = _Parser(prog="rigconsole data", add_help=True)
        ap.add_argument("file")
        ap.add_argument("--csv", metavar="DIR")
        a = ap.parse_args(argv)
        with DataLog(a.file, readonly=True) as log:
            if a.csv:
                paths = export_csv(log, Path(a.csv))
                print(f"wrote {len(paths)} CSV files to {a.csv}")
            else:
                summary(log, sys.stdout)
        return 0
    except _UsageError as exc:
        print(f"rigconsole data: {exc}; {USAGE}" if "usage:" not in str(exc) else f"rigconsole data: {exc}", file=sys.stderr)
        return 2
    except (DataLogError, OSError) as exc:
        text = exc.strerror if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, DataLogError) else str(exc)
        msg = str(text).strip().splitlines()
        print(f"rigconsole data: {msg[0] if msg else type(exc).__name__}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
