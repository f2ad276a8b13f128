"""Kill -9 harness: proves that acknowledged data survives a crash.

Used by tests/datalog/test_crash.py (30 kills) and by
``python -m rigconsole.datalog._crashcheck --kills 300`` (the long version).

The child logs continuously (entries, trial rows with late and mixed columns,
new variable names, frame intervals, small datasets) and writes one line per
acknowledged call to stdout: ``e <seq> <t>`` / ``r <row> <t>``. The parent
SIGKILLs it at a random moment, runs :func:`recover`, opens the file and checks
that every call acknowledged more than ``window`` seconds before the kill is
in the file, and that what is there is an unbroken prefix.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..notifications import one_line


def child(path: str, flush_interval: float, swmr: bool, seed: int) -> None:
    from rigconsole.datalog import DataLog

    rnd = random.Random(seed)
    out = sys.stdout
    log = DataLog(path, flush_interval=flush_interval, swmr=swmr)
    run = log.start_run("crash", {"participant": "p1", "seed": seed})
    out.write("ready\n")
    out.flush()
    i = row = 0
    while True:
        t = log.add_entry(seq=i, noise=rnd.random())
        out.write(f"e {i} {t!r}\n")
        if i % 7 == 0:  # a trial row, sometimes with a long text value (column rewritten wider)
            r: dict[str, object] = {"trials.thisN": row, "key_resp.rt": rnd.random()}
            if row >= 5:
                r["late.col"] = f"s{row}" * (1 + (row % 13 == 0) * row)
            if row % 4 == 3:
                r["key_resp.rt"] = "n/a"  # numbers then text: column becomes text
            log.add_trial(run, r)
            out.write(f"r {row} {time.time()!r}\n")
            row += 1
            log.add_frame_intervals(run, [0.0166, 0.0167])
        if i % 97 == 0:
            log.describe_variable(f"v{i // 97}", unit="V", source="crashcheck")
            log.add_entry(**{f"v{i // 97}": float(i)})  # a new variable: a structural cycle
            log.add_annotation(f"note {i // 97}" + "!" * (i // 97), n=i // 97)  # longer each time: column rewrites
        if i % 53 == 0:
            log.add_dataset(trace=np.full(16, i, dtype=np.float32))
        out.flush()
        i += 1
        time.sleep(rnd.choice((0.0, 0.0002, 0.001)))


@dataclass
class KillResult:
    seed: int
    ok: bool
    message: str
    acked: int = 0
    on_disk: int = 0
    lag: float = 0.0  # seconds between the kill and the newest entry on disk


def kill_once(
    tmp: Path, seed: int, *, flush_interval: float = 0.1, swmr: bool = True, window: float | None = None
) -> KillResult:
    from rigconsole.datalog import DataLog, recover

    window = flush_interval if window is None else window
    rnd = random.Random(seed)
    path = tmp / f"crash_{seed}.h5"
    env = dict(os.environ)
    app = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = app + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rigconsole.datalog._crashcheck",
            "--child",
            str(path),
            str(flush_interval),
            str(int(swmr)),
            str(seed),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    entries: list[tuple[int, float]] = []
    rows: list[tuple[int, float]] = []
    ready = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            parts = line.split()
            if parts == [b"ready"]:
                ready.set()
            elif len(parts) == 3:
                (entries if parts[0] == b"e" else rows).append((int(parts[1]), float(parts[2])))

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    if not ready.wait(20):
        proc.kill()
        return KillResult(
            seed, False, f"child never got ready: {proc.stderr.read().decode()[-500:] if proc.stderr else ''}"
        )
    time.sleep(rnd.uniform(0.05, 0.8))
    t_kill = time.time()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    th.join(5)
    try:
        report = recover(path)
        with DataLog(path, readonly=True) as log:
            _, seq = log.logged_variable("seq") if "seq" in log.logged_variables() else (None, np.array([]))
            runs = log.runs()
            trials = log.trials(runs[0]) if runs else {}
            n_rows = len(trials.get("trials.thisN", []))
            notes = [r["fields"]["n"] for r in log.annotations()]
            units = {log.variable_info(v)["unit"] for v in log.logged_variables() if v.startswith("v")}
    except Exception as exc:  # noqa: BLE001
        return KillResult(seed, False, one_line(exc))
    must_e = [i for i, t in entries if t < t_kill - window]
    must_r = [i for i, t in rows if t < t_kill - window]
    n = len(seq)
    if not np.array_equal(seq, np.arange(n)):
        return KillResult(seed, False, "entries on disk are not an unbroken prefix")
    if must_e and n <= must_e[-1]:
        return KillResult(seed, False, f"lost entries: acked up to {must_e[-1]} before the window, file has {n}")
    if must_r and n_rows <= must_r[-1]:
        return KillResult(seed, False, f"lost trial rows: acked {must_r[-1] + 1}, file has {n_rows}")
    if n_rows and not np.array_equal(trials["trials.thisN"], np.arange(n_rows)):
        return KillResult(seed, False, "trial rows on disk are not an unbroken prefix")
    if notes != list(range(len(notes))):
        return KillResult(seed, False, f"annotations on disk are not an unbroken prefix: {notes}")
    if units - {"V"}:
        return KillResult(seed, False, f"a new variable lost its unit: {units}")
    lag = t_kill - entries[n - 1][1] if n else float("nan")
    path.unlink()
    return KillResult(seed, True, str(report), acked=len(entries), on_disk=n, lag=lag)


def kill_many(tmp: Path, kills: int, *, parallel: int = 2, seed0: int = 0, **kw: object) -> list[KillResult]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(parallel) as ex:
        return list(ex.map(lambda s: kill_once(tmp, s, **kw), range(seed0, seed0 + kills)))  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", nargs=4, metavar=("PATH", "FLUSH", "SWMR", "SEED"))
    ap.add_argument("--kills", type=int, default=300)
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--flush-interval", type=float, default=0.1)
    ap.add_argument("--no-swmr", action="store_true")
    ap.add_argument("--dir", default=None)
    a = ap.parse_args(argv)
    if a.child:
        p, fl, sw, sd = a.child
        child(p, float(fl), bool(int(sw)), int(sd))
        return 0
    import tempfile

    with tempfile.TemporaryDirectory(dir=a.dir) as d:
        t0 = time.time()
        res = kill_many(Path(d), a.kills, parallel=a.parallel, flush_interval=a.flush_interval, swmr=not a.no_swmr)
        bad = [r for r in res if not r.ok]
        lags = np.array([r.lag for r in res if r.ok and r.lag == r.lag])
        print(
            f"{len(res)} kills, {len(bad)} failures, {time.time() - t0:.0f} s, swmr={not a.no_swmr}, flush_interval={a.flush_interval}"
        )
        if lags.size:
            print(
                f"kill-to-newest-entry-on-disk lag: median {np.median(lags) * 1e3:.0f} ms, max {lags.max() * 1e3:.0f} ms"
            )
        flags = sum("cleared" in r.message for r in res if r.ok)
        print(f"recover() cleared status flags in {flags} files")
        for r in bad:
            print(f"  seed {r.seed}: {r.message}")
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
