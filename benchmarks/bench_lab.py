"""The lab benchmark: N replayed rigs (1, 5, 20) on 127.0.0.1 watched by one dashboard.

The rigs run in a child process (``rigconsole.remote.replay.Replay``, the real RemoteServer,
each playing its own recorded session file in a loop at the recorded pace: a logged
variable at ``--rate`` Hz, a second one at 1 Hz, trials every ~2 s, instrument states,
notes). This process is the computer that shows them: a QApplication and the real
``DashboardWindow``, fed by one ``ConnectionManager`` (one thread, one asyncio loop).

For each N, ``--pairs`` pairs of phases of ``--seconds`` s each, interleaved:
- *idle*: the rigs play, no dashboard (the baseline, beside it in the same run);
- *live*: a dashboard of the N rigs (measured after a 3 s warm-up).
Figures:
- delay from a rig's event to its tile: for each ``values`` event, the tile's slot has run
  when a slot connected after it runs; ``time.time()`` there minus the event's ``t`` (the
  time the replay logged it, ``DataLog.add_entry``'s stamp, the same clock): p50 and p99;
- where the delay is spent: the same delay from the batch's ``sent`` time (the rig's server
  made the batch) to the connection manager's thread (``arrived``) and to the tile (``shown``);
- the dashboard's CPU per rig: this process's CPU time (user + system) per second, live
  minus idle, divided by N, as % of one core; mean over pairs with its 95 % CI (Student's t),
  and the same difference at equal steal (least squares: cpu ~ live + steal share);
- the dashboard's memory per rig: resident set growth from the idle phase to the live one / N;
- the rigs' CPU per observer: the rigs' process CPU per second, live minus idle, / N (each
  rig has one observer, the dashboard), as % of a core.
Steal: the machine's steal share (``/proc/stat``) in each phase, as bench_frames.

Run (needs a display for Qt; on a server under Xvfb):

    xvfb-run -a -s "-screen 0 1920x1080x24" uv run --frozen python benchmarks/bench_lab.py
    ... --rigs 1,5,20 --pairs 3 --seconds 20 --rate 20 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from bench_frames import _ci95, cpu_steal  # noqa: E402

CLK = os.sysconf("SC_CLK_TCK")
#: the events a tile shows as they come (its latest value is shown every 200 ms)
SHOWN_AT_ONCE = ("trial", "run_started", "run_state", "run_ended", "instrument")


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# ---------------------------------------------------------------------------- the rigs' process
def rigs_child(n: int, out: Path, rate: float) -> int:
    os.environ["RIGCONSOLE_MDNS"] = "off"
    from rigconsole.remote import TokenStore
    from rigconsole.remote.replay import Replay

    from support.lab import write_session

    tmp = Path(tempfile.mkdtemp(prefix="bench-lab-"))
    store = TokenStore(tmp / "tokens.json")
    token = store.add("dashboard", "observer")
    rigs = []
    for i in range(n):
        path = write_session(tmp / f"rig{i}.h5", seconds=120.0, runs=2, trials=60, rate_hz=rate, participant=f"s{i}-")
        rp = Replay(path, loop=True, tokens=store, announce=False, rig_name=f"rig-{i + 1:02d}")
        rp.start()
        rigs.append(rp)
    out.write_text(json.dumps({"token": token, "ports": [rp.port for rp in rigs]}))
    sys.stdin.read()  # until the parent closes our stdin
    for rp in rigs:
        rp.close()
    return 0


# ---------------------------------------------------------------------------- the dashboard's side
def run_n(app, n: int, pairs: int, seconds: float, rate: float) -> dict:
    from PySide6.QtCore import QEventLoop, QTimer

    from rigconsole.remote import RemoteObserver
    from rigconsole.remote.connections import ConnectionManager
    from rigconsole.ui.remote_dashboard import TILE_WIDTH, DashboardWindow

    def spin(s: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(int(s * 1000), loop.quit)
        loop.exec()

    with tempfile.TemporaryDirectory() as d:
        info_path = Path(d) / "rigs.json"
        child = subprocess.Popen(
            [sys.executable, __file__, "--rigs-child", str(n), "--out", str(info_path), "--rate", str(rate)],
            stdin=subprocess.PIPE,
        )
        t_end = time.time() + 120
        while not info_path.exists() and time.time() < t_end:
            time.sleep(0.2)
        info = json.loads(info_path.read_text())
        phases = []
        delays: list[float] = []
        shown_delays: list[float] = []
        arrived_delays: list[float] = []
        try:
            spin(2.0)
            for pair in range(pairs):
                for mode in ("idle", "live"):
                    dash = manager = None
                    got: list[float] = []
                    shown: list[float] = []
                    arrived: list[float] = []
                    if mode == "live":
                        manager = ConnectionManager()
                        dash = DashboardWindow(
                            [RemoteObserver("127.0.0.1", p, token=info["token"]) for p in info["ports"]],
                            manager=manager,
                            save=False,
                            notify=lambda *a: None,
                        )
                        for t in dash.tiles:  # connected after the tile's own slot: runs after it
                            t.feed.event.connect(
                                lambda ev, got=got: (
                                    got.append(time.time() - ev["t"]) if ev["type"] == "values" else None
                                )
                            )
                            t.feed.event.connect(
                                lambda ev, shown=shown: (
                                    shown.append(time.time() - ev["sent"]) if ev["type"] in SHOWN_AT_ONCE else None
                                )
                            )
                        for f in manager.feeds:  # on the manager's thread: the event has arrived here
                            f.events.event.connect(
                                lambda ev, arrived=arrived: (
                                    arrived.append(time.time() - ev["sent"])
                                    if ev["type"] in SHOWN_AT_ONCE or ev["type"] == "values"
                                    else None
                                )
                            )
                        dash.resize(5 * (TILE_WIDTH + 10) + 50, 1000)
                        dash.show()
                        spin(3.0)  # connect, first status
                        live = sum(t.conn.text() == "live" for t in dash.tiles)
                        got.clear()
                        shown.clear()
                        arrived.clear()
                    rss0 = rss_mb()
                    c0, r0, (s0, tot0) = time.process_time(), proc_cpu_s(child.pid), cpu_steal()
                    t0 = time.perf_counter()
                    spin(seconds)
                    wall = time.perf_counter() - t0
                    c1, r1, (s1, tot1) = time.process_time(), proc_cpu_s(child.pid), cpu_steal()
                    row = {
                        "n": n,
                        "pair": pair,
                        "mode": mode,
                        "wall_s": wall,
                        "dash_cpu_pct": 100 * (c1 - c0) / wall,
                        "rigs_cpu_pct": 100 * (r1 - r0) / wall,
                        "steal_pct": 100 * (s1 - s0) / max(tot1 - tot0, 1),
                        "rss_mb": rss0,
                    }
                    if dash is not None:
                        row.update(events=len(got), shown_events=len(shown), tiles_live=live)
                        delays.extend(got)
                        shown_delays.extend(shown)
                        arrived_delays.extend(arrived)
                        dash.close()
                        manager.close()
                        dash.deleteLater()
                        spin(1.0)
                    phases.append(row)
                    print(json.dumps(row), flush=True)
        finally:
            child.stdin.close()
            child.wait(30)
    return summarize(n, phases, delays, shown_delays, arrived_delays)


def summarize(n: int, phases: list[dict], delays: list[float], shown: list[float], arrived: list[float] = ()) -> dict:
    import numpy as np

    idle = {p["pair"]: p for p in phases if p["mode"] == "idle"}
    live = {p["pair"]: p for p in phases if p["mode"] == "live"}
    pairs = sorted(set(idle) & set(live))
    out: dict = {"n": n, "pairs": len(pairs), "events": len(delays)}
    if delays:
        a = np.array(delays) * 1e3
        out.update(
            delay_p50_ms=float(np.median(a)), delay_p99_ms=float(np.percentile(a, 99)), delay_max_ms=float(a.max())
        )
    if arrived:
        a = np.array(arrived) * 1e3
        out.update(arrived_p50_ms=float(np.median(a)), arrived_p99_ms=float(np.percentile(a, 99)))
    if shown:
        a = np.array(shown) * 1e3
        out.update(
            shown_events=len(shown),
            shown_p50_ms=float(np.median(a)),
            shown_p99_ms=float(np.percentile(a, 99)),
            shown_max_ms=float(a.max()),
        )
    for key, name in (("dash_cpu_pct", "dash_cpu_per_rig_pct"), ("rigs_cpu_pct", "rigs_cpu_per_observer_pct")):
        d = np.array([(live[k][key] - idle[k][key]) / n for k in pairs])
        out[name] = float(d.mean())
        out[name + "_ci95"] = (
            _ci95(float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size)), d.size - 1) if d.size > 1 else None
        )
        # at equal steal: cpu = a + b * live + c * steal over every phase; b / n
        rows = [p for p in phases if p["pair"] in pairs]
        x = np.array([[1.0, p["mode"] == "live", p["steal_pct"]] for p in rows])
        y = np.array([p[key] for p in rows])
        if len(rows) > 3:
            coef, *_ = np.linalg.lstsq(x, y, rcond=None)
            out[name + "_at_equal_steal"] = float(coef[1] / n)
    out["rss_per_rig_mb"] = float(np.mean([(live[k]["rss_mb"] - idle[k]["rss_mb"]) / n for k in pairs]))
    out["rss_per_rig_mb_first_pair"] = (live[pairs[0]]["rss_mb"] - idle[pairs[0]]["rss_mb"]) / n if pairs else None
    out["steal_pct"] = [round(p["steal_pct"], 1) for p in phases]
    out["tiles_live"] = [p.get("tiles_live") for p in phases if p["mode"] == "live"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rigs", default="1,5,20", help="numbers of rigs, comma-separated")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    ap.add_argument("--rate", type=float, default=20.0, help="each rig's logging rate, Hz")
    ap.add_argument("--json", default=None, help="write the summaries here")
    ap.add_argument("--rigs-child", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.rigs_child is not None:
        return rigs_child(a.rigs_child, Path(a.out), a.rate)
    os.environ["RIGCONSOLE_MDNS"] = "off"
    os.environ.setdefault("RIGCONSOLE_SETTINGS", str(Path(tempfile.mkdtemp()) / "settings.json"))
    import rigconsole.ui  # noqa: F401 - before PySide6 (its import hook)

    # isort: split
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    results = []
    for n in [int(x) for x in a.rigs.split(",")]:
        s = run_n(app, n, a.pairs, a.seconds, a.rate)
        print("SUMMARY " + json.dumps(s), flush=True)
        results.append(s)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2))
    print(
        f"{'rigs':>4} {'shown p50':>9} {'p99':>6} {'value p50':>9} {'p99':>6} {'dash %/rig':>11} {'CI95':>16} {'at eq. steal':>12} "
        f"{'MB/rig':>7} {'rigs %/obs':>10}"
    )
    for s in results:
        ci = s["dash_cpu_per_rig_pct_ci95"]
        print(
            f"{s['n']:>4} {s.get('shown_p50_ms', float('nan')):>9.1f} {s.get('shown_p99_ms', float('nan')):>6.1f} "
            f"{s.get('delay_p50_ms', float('nan')):>9.1f} {s.get('delay_p99_ms', float('nan')):>6.1f} "
            f"{s['dash_cpu_per_rig_pct']:>11.2f} "
            f"{f'[{ci[0]:.2f}, {ci[1]:.2f}]' if ci else '-':>16} "
            f"{s.get('dash_cpu_per_rig_pct_at_equal_steal', float('nan')):>12.2f} "
            f"{s['rss_per_rig_mb']:>7.2f} {s['rigs_cpu_per_observer_pct']:>10.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
