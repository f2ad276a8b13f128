"""DataLog.add_entry vs pymanip 0.4.4 AsyncSession.add_entry, side by side.

Same workload for both: each call logs three scalars (``temperature``,
``pressure``, ``counter``) with one timestamp. pymanip stores in SQLite and
commits once per call; DataLog hands off to its writer thread, which makes
everything durable within the 100 ms window (``flush_interval=0.1``). The
DataLog rate counts calls acknowledged AND made durable: the clock stops after
the final ``flush()`` returns. A third row adds ``fsync=True`` (durable
against power loss too, not just a process kill).

Run from the repository root::

    uv run python benchmarks/bench_datalog.py
    uv run python benchmarks/bench_datalog.py --calls 500000 --pymanip-calls 2000
    uv run python benchmarks/bench_datalog.py --open 10,100,1000

``--open SIZES`` measures instead the lazy reader: the time to open a session
file and print its summary (``rigconsole data FILE``), for files of the given
sizes in MB generated side by side (tests/support/big_session.py), interleaved
rounds, median per size and the ratio to the smallest. The target is that the
time does not grow with the file's size (ratio near 1).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from rigconsole.datalog import DataLog  # noqa: E402


def bench_datalog(path: Path, calls: int, **kw: object) -> tuple[float, DataLog]:
    log = DataLog(path, flush_interval=0.1, **kw)  # type: ignore[arg-type]
    add = log.add_entry
    t0 = time.perf_counter()
    for i in range(calls):
        add(temperature=20.0 + (i % 100) * 0.01, pressure=101.3, counter=i)
    log.flush(timeout=None)
    dt = time.perf_counter() - t0
    log.close()
    with DataLog(path, readonly=True) as ro:  # verify everything is in the file
        assert ro["counter"][1].size == calls
    return dt, log


def bench_trials(path: Path, rows: int) -> float:
    log = DataLog(path, flush_interval=0.1)
    run = log.start_run("bench", {"participant": "p"})
    t0 = time.perf_counter()
    for i in range(rows):
        log.add_trial(run, {"trials.thisN": i, "key_resp.keys": "space", "key_resp.rt": 0.4, "key_resp.corr": 1})
    log.flush(timeout=None)
    dt = time.perf_counter() - t0
    log.close()
    return dt


def bench_latency(path: Path, rate_hz: float, seconds: float, spin: bool) -> np.ndarray:
    """Worst-case time from add_entry to durable, per writer cycle, at a steady logging rate.

    An entry covered by a flush was logged after the previous cycle's
    snapshot, so its latency is at most (flush done) - (previous snapshot).
    """
    log = DataLog(path, flush_interval=0.1)
    marks: list[tuple[float, float]] = []
    log.events.flushed.connect(lambda snap_t: marks.append((snap_t, time.time())))
    period = 1.0 / rate_hz
    t_end = time.perf_counter() + seconds
    nxt = time.perf_counter()
    i = 0
    while time.perf_counter() < t_end:
        log.add_entry(x=i)
        i += 1
        nxt += period
        if spin:  # a caller that never releases the GIL starves the writer thread
            while time.perf_counter() < nxt:
                pass
        elif nxt > time.perf_counter():
            time.sleep(nxt - time.perf_counter())
    log.close()
    snaps = np.array(marks)
    return snaps[1:, 1] - snaps[:-1, 0]


def bench_pymanip(path: Path, calls: int, max_seconds: float) -> tuple[int, float]:
    from pymanip.asyncsession import AsyncSession

    n = 0
    with AsyncSession(path, verbose=False) as sesn:
        t0 = time.perf_counter()
        for i in range(calls):
            sesn.add_entry(temperature=20.0 + (i % 100) * 0.01, pressure=101.3, counter=i)
            n += 1
            if time.perf_counter() - t0 > max_seconds:
                break
        dt = time.perf_counter() - t0
    return n, dt


def bench_open(d: Path, sizes_mb: list[float], rounds: int = 7) -> None:
    import io

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from rigconsole.datalog import SessionFile
    from rigconsole.datalog.export import summary

    from support.big_session import make_big_session

    files = {}
    for mb in sizes_mb:
        t0 = time.perf_counter()
        files[mb] = make_big_session(d / f"open_{mb:g}.h5", mb=mb)
        print(f"generated {files[mb].stat().st_size / 1e6:8.0f} MB in {time.perf_counter() - t0:.1f} s", flush=True)
    times: dict[float, list[float]] = {mb: [] for mb in sizes_mb}
    for _ in range(rounds):  # interleaved, so a burst of steal hits every size alike
        for mb, p in files.items():
            t0 = time.perf_counter()
            with SessionFile(p) as f:
                summary(f, io.StringIO())
            times[mb].append(time.perf_counter() - t0)
    base = float(np.median(times[sizes_mb[0]]))
    print(f"{'file MB':>8s} {'open+summary median ms':>24s} {'min ms':>8s} {'vs smallest':>12s}")
    for mb, p in files.items():
        m = float(np.median(times[mb]))
        print(f"{p.stat().st_size / 1e6:8.0f} {m * 1e3:24.1f} {min(times[mb]) * 1e3:8.1f} {m / base:11.2f}x")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=200_000, help="DataLog add_entry calls")
    ap.add_argument(
        "--pymanip-calls", type=int, default=1000, help="pymanip add_entry calls (capped by --pymanip-seconds)"
    )
    ap.add_argument("--pymanip-seconds", type=float, default=20.0)
    ap.add_argument("--trial-rows", type=int, default=20_000)
    ap.add_argument("--dir", default=None, help="where to write the files (default: a temp dir)")
    ap.add_argument(
        "--open", default=None, metavar="SIZES", help="comma-separated file sizes in MB: measure the lazy reader"
    )
    a = ap.parse_args()
    if a.open:
        with tempfile.TemporaryDirectory(dir=a.dir) as d:
            bench_open(Path(d), [float(x) for x in a.open.split(",")])
        return 0
    with tempfile.TemporaryDirectory(dir=a.dir) as d:
        d = Path(d)
        n_pm, t_pm = bench_pymanip(d / "pymanip.db", a.pymanip_calls, a.pymanip_seconds)
        t_dl, log = bench_datalog(d / "datalog.h5", a.calls)
        st = log.cycle_stats
        t_fs, _ = bench_datalog(d / "datalog_fsync.h5", a.calls, fsync=True)
        t_tr = bench_trials(d / "trials.h5", a.trial_rows)
        lat = bench_latency(d / "latency.h5", 1000.0, 5.0, spin=False)
        lat_spin = bench_latency(d / "latency_spin.h5", 1000.0, 5.0, spin=True)
    r_pm = n_pm / t_pm
    rows = [
        ("pymanip 0.4.4 AsyncSession (SQLite)", n_pm, t_pm),
        ("DataLog, flush_interval=0.1", a.calls, t_dl),
        ("DataLog, flush_interval=0.1, fsync", a.calls, t_fs),
    ]
    print(
        f"{'add_entry(temperature, pressure, counter)':40s} {'calls':>8s} {'seconds':>8s} {'calls/s':>10s} {'vs pymanip':>10s}"
    )
    for name, n, t in rows:
        print(f"{name:40s} {n:8d} {t:8.2f} {n / t:10.0f} {n / t / r_pm:9.0f}x")
    print(f"{'DataLog.add_trial (4 columns)':40s} {a.trial_rows:8d} {t_tr:8.2f} {a.trial_rows / t_tr:10.0f}")
    print(
        f"writer: {st['cycles']} cycles, {st['structural']} structural, "
        f"mean {st['total_cycle_s'] / max(1, st['cycles']) * 1e3:.1f} ms, max {st['max_cycle_s'] * 1e3:.1f} ms per cycle"
    )
    for what, x in (("caller sleeps between calls", lat), ("caller busy-waits (GIL never free)", lat_spin)):
        print(
            f"add_entry -> durable, 1 kHz for 5 s, {what}: median {np.median(x) * 1e3:.0f} ms, "
            f"p99 {np.percentile(x, 99) * 1e3:.0f} ms, max {x.max() * 1e3:.0f} ms over {x.size} cycles (window: 100 ms)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
