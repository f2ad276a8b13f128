"""Startup: time from launch to a visible console window, frozen app against the source tree.

A "double-click" is the launch of a new process; the console is visible when
the X server has a mapped window titled exactly ``Rig Console`` (polled with
``xdotool search --onlyvisible`` every 20 ms, so a figure is late by up to
~25 ms). Three modes launch in interleaved rounds, each in a fresh process
with its own empty home (first run: no settings, bundled demos):

- ``baseline``: the venv's Python opening one empty PySide6 window titled
  "Rig Console" (this machine's floor for "a Qt app shows a window");
- ``source``: ``python packaging/rigconsole_entry.py`` (the console from the source tree);
- ``frozen``: the PyInstaller bundle's ``rigconsole`` (``--frozen PATH``;
  default ``/opt/rigconsole/rigconsole`` when the .deb is installed, else
  ``build/pyinstaller/dist/rigconsole/rigconsole``).

Each launch also records the CPU time the launched process had used when its
window showed (``/proc/<pid>/stat``, all its threads) and the 1-minute load
average before it: on a machine shared with other work the wall time moves
with the load, the CPU time much less.

One unrecorded launch per mode first warms the disk cache (and, from
source, writes the bytecode cache under ``build/bench-pycache``:
``PYTHONPYCACHEPREFIX``, since this machine sets ``PYTHONDONTWRITEBYTECODE``). After the rounds:
per mode the median and spread, the paired differences (frozen - source,
source - baseline) per round with a 95 % confidence interval (Student's t),
the machine's steal % during each launch (``/proc/stat``: time the
hypervisor gave this VM's vCPUs away), and a least-squares fit of launch
time on steal % and mode (the differences at equal steal).

Run (needs a display; on a server under Xvfb, which has no window manager):

    xvfb-run -a -s "-screen 0 1920x1080x24" uv run --frozen python benchmarks/bench_startup.py --rounds 5

Prints a table and, on its last line, ``RESULT {json}``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TITLE = "Rig Console"
PYCACHE = REPO / "build" / "bench-pycache"
BASELINE = (
    "import sys\n"
    "import rigconsole.ui\n"
    "from PySide6.QtWidgets import QApplication, QMainWindow\n"
    "app = QApplication(sys.argv[:1]); w = QMainWindow(); w.setWindowTitle('Rig Console')\n"
    "w.resize(1280, 800); w.show(); sys.exit(app.exec())\n"
)


def _cpu() -> tuple[float, float]:
    """(steal, total) clock ticks of the whole machine so far (``/proc/stat``); zeros elsewhere."""
    try:
        with open("/proc/stat", "rb") as f:
            fields = [float(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    return (fields[7] if len(fields) > 7 else 0.0), sum(fields)


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, all threads) process ``pid`` has used so far (``/proc/<pid>/stat``)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _visible_window() -> str | None:
    res = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", f"^{TITLE}$"],
                         capture_output=True, text=True)
    ids = res.stdout.split()
    return ids[0] if ids else None


def _env(home: Path) -> dict:
    env = dict(os.environ)
    env.update({
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local/share"), "XDG_STATE_HOME": str(home / ".local/state"),
        "RIGCONSOLE_SETTINGS": str(home / ".config/rigconsole/settings.json"),
    })
    env.pop("QT_QPA_PLATFORM", None)
    # from source, read compiled bytecode as an installed package would (pip and uv compile at
    # install time); this machine sets PYTHONDONTWRITEBYTECODE=1, which left the venv with
    # none: every launch compiled psychopy, scipy and pandas again (10.5 s of 21 s profiled)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def launch(cmd: list[str], timeout_s: float = 120.0) -> dict:
    """Start ``cmd``; seconds until its window is visible; then close it (Ctrl+Q, else SIGTERM)."""
    if _visible_window() is not None:
        raise SystemExit(f"a window titled {TITLE!r} is already open on this display: close it first")
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as home:
        steal0, total0 = _cpu()
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=_env(Path(home)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
        wid = None
        try:
            while wid is None:
                if proc.poll() is not None:
                    raise SystemExit(f"{cmd[0]} exited ({proc.returncode}) before its window showed: "
                                     f"{proc.stderr.read().decode(errors='replace')[-2000:]}")
                if time.perf_counter() - t0 > timeout_s:
                    raise SystemExit(f"no {TITLE!r} window after {timeout_s:.0f} s from {cmd}")
                wid = _visible_window()
                if wid is None:
                    time.sleep(0.02)
            seconds = time.perf_counter() - t0
            cpu_s = _cpu_seconds(proc.pid)
            steal1, total1 = _cpu()
        finally:
            if wid is not None:
                subprocess.run(["xdotool", "key", "--window", wid, "ctrl+q"], capture_output=True)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(15)
    steal_pct = 100.0 * (steal1 - steal0) / (total1 - total0) if total1 > total0 else None
    return {"seconds": seconds, "cpu_s": cpu_s, "steal_pct": steal_pct, "load1": load}


def _ci95(values: list[float]) -> dict:
    from scipy import stats

    n = len(values)
    mean = statistics.fmean(values)
    if n < 2:
        return {"n": n, "mean": mean, "ci95": None}
    half = float(stats.t.ppf(0.975, n - 1)) * statistics.stdev(values) / n ** 0.5
    return {"n": n, "mean": mean, "ci95": [mean - half, mean + half]}


def steal_adjusted(results: list[dict], modes: list[str]) -> dict | None:
    """Least squares ``seconds = a + b * steal_pct + c_mode`` (baseline mode as reference): c per mode."""
    import numpy as np

    rs = [r for r in results if r["steal_pct"] is not None]
    others = [m for m in modes if m != modes[0]]
    if len(rs) < len(others) + 4:
        return None
    x = np.array([[1.0, r["steal_pct"], *[1.0 if r["mode"] == m else 0.0 for m in others]] for r in rs])
    y = np.array([r["seconds"] for r in rs])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    dof = len(y) - x.shape[1]
    resid = y - x @ coef
    cov = (resid @ resid / dof) * np.linalg.pinv(x.T @ x)
    from scipy import stats

    t = float(stats.t.ppf(0.975, dof))
    out = {"runs": len(rs), "per_steal_pct_s": float(coef[1]), "reference": modes[0]}
    for i, m in enumerate(others):
        c, se = float(coef[2 + i]), float(np.sqrt(cov[2 + i, 2 + i]))
        out[f"{m}_minus_{modes[0]}_s"] = {"estimate": c, "ci95": [c - t * se, c + t * se]}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--frozen", help="the frozen app's executable")
    ap.add_argument("--modes", default="baseline,source,frozen")
    args = ap.parse_args()
    if not os.environ.get("DISPLAY"):
        raise SystemExit("no DISPLAY: run under xvfb-run (see the module docstring)")
    if shutil.which("xdotool") is None:
        raise SystemExit("xdotool is missing (scripts/setup installs it)")
    frozen = args.frozen or next((p for p in ("/opt/rigconsole/rigconsole",
                                              str(REPO / "build/pyinstaller/dist/rigconsole/rigconsole"))
                                  if Path(p).is_file()), None)
    cmds = {
        "baseline": [sys.executable, "-c", BASELINE],
        "source": [sys.executable, str(REPO / "packaging" / "rigconsole_entry.py")],
        "frozen": [frozen] if frozen else None,
    }
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if cmds.get(m) is None:
            raise SystemExit(f"mode {m!r}: no frozen app found (build it: packaging/linux/build.sh, or --frozen PATH)")
    for m in modes:  # warm the disk cache
        launch(cmds[m])
    results = []
    for r in range(args.rounds):
        for m in modes:
            res = launch(cmds[m])
            res.update(mode=m, round=r)
            results.append(res)
            print(f"round {r}  {m:<9} {res['seconds']:6.2f} s   CPU {res['cpu_s'] or 0:5.2f} s   "
                  f"steal {res['steal_pct'] or 0:5.1f} %   load {res['load1'] or 0:4.1f}", flush=True)
    summary = {}
    for m in modes:
        s = [x["seconds"] for x in results if x["mode"] == m]
        cpu = [x["cpu_s"] for x in results if x["mode"] == m and x["cpu_s"] is not None]
        summary[m] = {"median_s": statistics.median(s), "min_s": min(s), "max_s": max(s), "n": len(s),
                      "median_cpu_s": statistics.median(cpu) if cpu else None}
    by = {(x["mode"], x["round"]): x["seconds"] for x in results}
    diffs = {}
    for a, b in (("frozen", "source"), ("source", "baseline"), ("frozen", "baseline")):
        if a in modes and b in modes:
            diffs[f"{a}_minus_{b}_s"] = _ci95([by[(a, r)] - by[(b, r)] for r in range(args.rounds)])
    fit = steal_adjusted(results, modes)
    print()
    print(f"{'mode':<10}{'median s':>10}{'min s':>8}{'max s':>8}{'median CPU s':>14}")
    for m, s in summary.items():
        print(f"{m:<10}{s['median_s']:>10.2f}{s['min_s']:>8.2f}{s['max_s']:>8.2f}{s['median_cpu_s'] or 0:>14.2f}")
    for k, d in diffs.items():
        ci = f"[{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]" if d["ci95"] else "n/a"
        print(f"{k:<24} mean {d['mean']:+.2f} s  95 % CI {ci}")
    if fit:
        for k, v in fit.items():
            if isinstance(v, dict):
                print(f"at equal steal: {k:<22} {v['estimate']:+.2f} s  95 % CI [{v['ci95'][0]:+.2f}, {v['ci95'][1]:+.2f}]")
    print("RESULT " + json.dumps({"frozen": frozen, "summary": summary, "paired": diffs, "steal_adjusted": fit,
                                  "runs": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
