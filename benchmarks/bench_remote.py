"""Remote latency: from ``add_entry`` on the rig to the value arriving at 1 and at 10 observers.

The rig side (this process) has a real Session, a real DataLog and the
RemoteServer on 127.0.0.1; the observers run in a child process (as on
another computer: their CPU does not share the rig's GIL), each a WebSocket
client of the stream. The rig logs ``x`` at ``--rate`` Hz; each observer
takes ``time.time()`` when a batch arrives and subtracts the entry's
timestamp (``add_entry``'s return value, the same clock): p50, p99 and max
latency over all observers' samples. Beside it, the machine's steal share
during each phase (``/proc/stat``, as bench_frames).

It also gives the figures that decided where the server runs
(docs/remote.md): the main thread's cost of one ``add_entry`` with the
server listening, against the same call with no server beside it in the
same run (the server's share of the main thread is the difference), and
the server thread's work per batch (encoding and offering it to every
client), which is what the console's loop would pay per batch if the server
ran on it.

With ``--frames N --pairs P`` it runs instead the frame comparison: the
benchmark stimulus loop (benchmarks/experiments/frameloop) for N frames under
a simulated 60 Hz vsync, headless (Session, DataLog and recorder, a thread
logging one variable at 60 Hz), with the server and 10 observers streaming
against the same run without a server, each run in a fresh process, pairs
interleaved; dropped frames per run, the paired difference with its 95 %
confidence interval and the difference at equal steal (bench_frames' methods).

Run (needs a display for PsychoPy; on a server under Xvfb):

    xvfb-run -a -s "-screen 0 1920x1080x24" uv run --frozen python benchmarks/bench_remote.py
    xvfb-run -a -s "-screen 0 1920x1080x24" uv run --frozen python benchmarks/bench_remote.py --frames 1800 --pairs 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def observers(port: int, token: str, n: int, samples: int) -> None:
    """Child process: ``n`` stream clients; prints {"latencies_ms": [...], "ready": ...} as JSON."""
    import aiohttp

    async def one(http, lat: list, ready: asyncio.Event, counter: list):
        async with http.ws_connect(f"ws://127.0.0.1:{port}/api/v1/stream") as ws:
            await ws.send_str(json.dumps({"type": "hello", "token": token}))
            await ws.receive()
            counter[0] += 1
            if counter[0] == n:
                ready.set()
            got = 0
            while got < samples:
                msg = await asyncio.wait_for(ws.receive(), 60)
                now = time.time()
                data = json.loads(msg.data)
                for ev in data.get("events", ()):
                    if ev["type"] == "values" and "x" in ev["values"]:
                        lat.append((now - ev["t"]) * 1e3)
                        got += 1

    async def main():
        lat: list[float] = []
        ready = asyncio.Event()
        counter = [0]
        async with aiohttp.ClientSession() as http:
            tasks = [asyncio.ensure_future(one(http, lat, ready, counter)) for _ in range(n)]
            await ready.wait()
            print("READY", flush=True)
            await asyncio.gather(*tasks)
        print(json.dumps({"latencies_ms": lat}), flush=True)

    asyncio.run(main())


def _pct(xs: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(xs, q)) if xs else float("nan")


def phase(server, data_log, token: str, n_obs: int, samples: int, rate: float) -> dict:
    from bench_frames import cpu_steal

    child = subprocess.Popen(
        [sys.executable, __file__, "--observe", str(server.port), token, str(n_obs), str(samples)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "READY"
    s0, tot0 = cpu_steal()
    f0 = dict(server.stream.flush_stats)
    period = 1.0 / rate
    next_t = time.perf_counter()
    for i in range(samples):
        data_log.add_entry(x=float(i))
        next_t += period
        time.sleep(max(0.0, next_t - time.perf_counter()))
    out, _ = child.communicate(timeout=120)
    s1, tot1 = cpu_steal()
    f1 = server.stream.flush_stats
    lat = json.loads(out.strip().splitlines()[-1])["latencies_ms"]
    batches = f1["batches"] - f0["batches"]
    return {
        "observers": n_obs,
        "samples": len(lat),
        "p50_ms": _pct(lat, 50),
        "p99_ms": _pct(lat, 99),
        "max_ms": max(lat),
        "steal_pct": 100 * (s1 - s0) / max(tot1 - tot0, 1),
        "server_us_per_batch": 1e6 * (f1["seconds"] - f0["seconds"]) / max(batches, 1),
    }


def main_thread_cost(data_log_with, data_log_without, calls: int = 20000) -> dict:
    """Per-call cost of add_entry on the calling thread, with the server listening and without,
    interleaved in blocks so the machine's noise falls on both."""
    import numpy as np

    with_s, without_s = [], []
    for _block in range(20):
        for dl, acc in ((data_log_with, with_s), (data_log_without, without_s)):
            t0 = time.perf_counter()
            for i in range(calls // 20):
                dl.add_entry(y=float(i))
            acc.append((time.perf_counter() - t0) / (calls // 20))
    d = np.array(with_s) - np.array(without_s)
    se = d.std(ddof=1) / np.sqrt(len(d))
    return {
        "with_server_us": 1e6 * float(np.median(with_s)),
        "without_us": 1e6 * float(np.median(without_s)),
        "difference_us": 1e6 * float(d.mean()),
        "ci95_us": [1e6 * float(d.mean() - 2.09 * se), 1e6 * float(d.mean() + 2.09 * se)],
    }


def frame_run(frames: int, observers_n: int) -> dict:
    """Child process: one frameloop run, with ``observers_n`` observers streaming (0: no server)."""
    import threading

    from bench_frames import cpu_steal

    from rigconsole import DataLog, Session
    from rigconsole.remote import RemoteServer, RigView, TokenStore
    from rigconsole.session.recorder import SessionRecorder

    tmp = Path(tempfile.mkdtemp(prefix="bench_remote_frames_"))
    session = Session(
        HERE / "experiments",
        dataDir=tmp / "data",
        cache_dir=tmp / "cache",
        scan=True,
        win={"size": [1024, 768], "fullscr": False, "units": "height"},
        simulated_vsync_hz=60,
    )
    dl = DataLog(tmp / "session.h5")
    recorder = SessionRecorder(session, dl)
    server = child = None
    if observers_n:
        tokens = TokenStore(None)
        token = tokens.add("bench", "observer")
        server = RemoteServer(RigView(session, dl), port=0, tokens=tokens)
        server.start()
        child = subprocess.Popen(
            [sys.executable, __file__, "--observe", str(server.port), token, str(observers_n), str(10**9)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout.readline().strip() == "READY"
    stop = threading.Event()

    def log_values():
        i = 0
        while not stop.is_set():
            dl.add_entry(pupil=float(i % 100))
            i += 1
            time.sleep(1 / 60)

    th = threading.Thread(target=log_values, daemon=True)
    th.start()
    s0, t0 = cpu_steal()
    session.runExperiment("frameloop/frameloop.py", {"nFrames": frames})
    s1, t1 = cpu_steal()
    stop.set()
    th.join()
    rec = session.run_records[-1]
    if child is not None:
        child.kill()
        child.wait()
    if server is not None:
        server.close()
    recorder.close()
    dl.close()
    session.close()
    return {
        "dropped_frames": int(rec.frame_stats.get("dropped_frames", 0)),
        "n_frames": rec.frame_stats.get("n_frames"),
        "p99_ms": rec.frame_stats.get("p99_ms"),
        "steal_pct": 100 * (s1 - s0) / max(t1 - t0, 1),
        "observers": observers_n,
    }


def frames_main(frames: int, pairs: int) -> int:
    from bench_frames import paired_difference, steal_adjusted_difference

    results = []
    for pair in range(pairs):
        for n_obs in (0, 10) if pair % 2 == 0 else (10, 0):
            out = subprocess.run(
                [sys.executable, __file__, "--frame-run", str(frames), str(n_obs)],
                capture_output=True,
                text=True,
                timeout=600,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            # bench_frames' helpers compare "console" with "bare": here with 10 observers against none
            r.update(pair=pair, mode="console" if n_obs else "bare")
            results.append(r)
            print(
                f"pair {pair} observers {n_obs:>2}: dropped {r['dropped_frames']:>3} of {r['n_frames']}, "
                f"p99 {r['p99_ms']:.1f} ms, steal {r['steal_pct']:.2f} %",
                flush=True,
            )
    paired = paired_difference(results)
    adjusted = steal_adjusted_difference(results)
    print(f"10 observers minus none, dropped frames per pair: mean {paired['mean']}, 95 % CI {paired['ci95']}")
    print(f"at equal steal: {adjusted}")
    print(json.dumps({"runs": results, "paired": paired, "steal_adjusted": adjusted}))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=None, help="run the frame comparison with this many frames per run")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--frame-run", nargs=2, type=int, help=argparse.SUPPRESS)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=50.0, help="entries per second")
    ap.add_argument("--observe", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.frame_run:
        print(json.dumps(frame_run(*a.frame_run)))
        return 0
    if a.frames:
        return frames_main(a.frames, a.pairs)
    if a.observe:
        observers(int(a.observe[0]), a.observe[1], int(a.observe[2]), int(a.observe[3]))
        return 0

    from rigconsole import DataLog, Session
    from rigconsole.remote import RemoteServer, RigView, TokenStore

    tmp = Path(tempfile.mkdtemp(prefix="bench_remote_"))
    (tmp / "root").mkdir()
    session = Session(tmp / "root", dataDir=tmp / "data", cache_dir=tmp / "cache")
    dl = DataLog(tmp / "session.h5")
    bare = DataLog(tmp / "bare.h5")
    tokens = TokenStore(None)
    token = tokens.add("bench", "observer")
    server = RemoteServer(RigView(session, dl), port=0, tokens=tokens)
    server.start()
    results = []
    try:
        for n in (1, 10):
            r = phase(server, dl, token, n, a.samples, a.rate)
            results.append(r)
        child = subprocess.Popen(
            [sys.executable, __file__, "--observe", str(server.port), token, "10", str(10**9)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout.readline().strip() == "READY"
        cost = main_thread_cost(dl, bare)
        child.kill()
        child.wait()
    finally:
        server.close()
        dl.close()
        bare.close()
        session.close()
    print(
        f"{'observers':>9} {'samples':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'steal %':>8} {'srv us/batch':>12}"
    )
    for r in results:
        print(
            f"{r['observers']:>9} {r['samples']:>8} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['max_ms']:>8.1f} "
            f"{r['steal_pct']:>8.2f} {r['server_us_per_batch']:>12.0f}"
        )
    print(
        f"main thread per add_entry with 10 observers streaming: {cost['with_server_us']:.1f} us, "
        f"without a server: {cost['without_us']:.1f} us, difference {cost['difference_us']:.1f} us "
        f"(95 % CI {cost['ci95_us'][0]:.1f} .. {cost['ci95_us'][1]:.1f})"
    )
    print(json.dumps({"latency": results, "main_thread": cost}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
