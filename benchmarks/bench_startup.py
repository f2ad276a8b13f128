"""Startup: time from launch to a visible console window: this tree against the main branch, and the bundle.

A "double-click" is the launch of a new process. Each launch gives three times,
from ``Popen`` (seconds, wall clock):

- *mapped*: the X server has a mapped window titled exactly ``Rig Console``
  (polled with ``xdotool search --onlyvisible`` every 20 ms, so late by up to
  ~25 ms; on Xvfb, which has no window manager, mapped is also exposed);
- *paint*: the window's first paint event (the window is exposed and Qt draws
  it), written by ``benchmarks/startup_probe.py``, which the source modes run
  the console through (the console's own code has no hook: an older revision's
  code is timed by the same definition as this tree's);
- *ready*: the first moment after that when the window's experiment list is
  filled (the rig is loaded and the event loop free again), from the probe.

With each, the CPU time the launched process had used by then (``/proc/<pid>/stat``
for *mapped*, ``time.process_time()`` in the probe for the others) and the
1-minute load average before the launch: on a machine shared with other work
the wall time moves with the load, the CPU time much less.

Modes, launched in interleaved rounds, each in a fresh process with its own empty
home (first run: no settings, bundled demos):

- ``baseline``: the venv's Python opening one empty PySide6 window titled
  "Rig Console" (this machine's floor for "a Qt app shows a window");
- ``before``: the source tree of another revision (``--before REV``, default ``main``;
  exported with ``git archive`` into ``build/bench-before-<commit>/``: its
  ``packaging/rigconsole_entry.py`` with its ``app/`` first on ``PYTHONPATH``), in this venv;
- ``source``: ``python packaging/rigconsole_entry.py`` of this tree;
- ``frozen``: the PyInstaller bundle's ``rigconsole`` (``--frozen PATH``;
  default ``/opt/rigconsole/rigconsole`` when the .deb is installed, else
  ``build/pyinstaller/dist/rigconsole/rigconsole``); *mapped* only;
- ``frozen_before``: another bundle (``--frozen-before PATH``, e.g. the installed
  ``/opt/rigconsole/rigconsole`` of an older build, when ``--frozen`` is this tree's); *mapped* only.

One unrecorded launch per mode first warms the disk cache (and, from
source, writes the bytecode cache under ``build/bench-pycache``:
``PYTHONPYCACHEPREFIX``, since this machine sets ``PYTHONDONTWRITEBYTECODE``). After the rounds:
per mode the median and spread, the paired differences per round (source - before,
frozen - source, source - baseline) with a 95 % confidence interval (Student's t),
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
PROBE = REPO / "benchmarks" / "startup_probe.py"
BASELINE = (
    "import sys\n"
    "import rigconsole.ui\n"
    "from PySide6.QtWidgets import QApplication, QMainWindow\n"
    "app = QApplication(sys.argv[:1]); w = QMainWindow(); w.setWindowTitle('Rig Console')\n"
    "w.setObjectName('rigconsole_main'); w.resize(1280, 800); w.show(); sys.exit(app.exec())\n"
)
#: the per-launch figures: (key, what)
FIGURES = (
    ("seconds", "mapped s"),
    ("paint_s", "paint s"),
    ("ready_s", "ready s"),
    ("cpu_s", "CPU@mapped"),
    ("paint_cpu_s", "CPU@paint"),
    ("ready_cpu_s", "CPU@ready"),
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
    res = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", f"^{TITLE}$"], capture_output=True, text=True)
    ids = res.stdout.split()
    return ids[0] if ids else None


def _env(home: Path) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local/share"),
            "XDG_STATE_HOME": str(home / ".local/state"),
            "RIGCONSOLE_SETTINGS": str(home / ".config/rigconsole/settings.json"),
        }
    )
    env.pop("QT_QPA_PLATFORM", None)
    # from source, read compiled bytecode as an installed package would (pip and uv compile at
    # install time); this machine sets PYTHONDONTWRITEBYTECODE=1, which left the venv with
    # none: every launch compiled psychopy, scipy and pandas again (10.5 s of 21 s profiled)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def _probe_lines(path: Path) -> dict:
    out = {}
    try:
        for line in path.read_text().splitlines():
            what, t, cpu = line.split()
            out.setdefault(what, (float(t), float(cpu)))
    except (OSError, ValueError):
        pass
    return out


def launch(cmd: list[str], extra_env: dict | None = None, probe: bool = False, timeout_s: float = 120.0) -> dict:
    """Start ``cmd``; seconds until its window is mapped (and, with ``probe``, painted and
    ready: see the module docstring); then close it (Ctrl+Q, else SIGTERM)."""
    if _visible_window() is not None:
        raise SystemExit(f"a window titled {TITLE!r} is already open on this display: close it first")
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as home:
        env = _env(Path(home))
        env.update(extra_env or {})
        probe_file = Path(home) / "probe.txt"
        if probe:
            env["RIGCONSOLE_STARTUP_PROBE"] = str(probe_file)
        steal0, total0 = _cpu()
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        t0_epoch = time.time()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        wid = None
        marks: dict = {}
        try:

            def alive() -> None:
                if proc.poll() is not None:
                    raise SystemExit(
                        f"{cmd[-1]} exited ({proc.returncode}) before its window showed: "
                        f"{proc.stderr.read().decode(errors='replace')[-2000:]}"
                    )
                if time.perf_counter() - t0 > timeout_s:
                    raise SystemExit(f"no {TITLE!r} window after {timeout_s:.0f} s from {cmd}")

            while wid is None:
                alive()
                wid = _visible_window()
                if wid is None:
                    time.sleep(0.02)
            seconds = time.perf_counter() - t0
            cpu_s = _cpu_seconds(proc.pid)
            while probe and "ready" not in marks:
                alive()
                marks = _probe_lines(probe_file)
                time.sleep(0.05)
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
    out = {"seconds": seconds, "cpu_s": cpu_s, "steal_pct": steal_pct, "load1": load}
    for what in ("paint", "ready"):
        if what in marks:
            out[f"{what}_s"] = marks[what][0] - t0_epoch
            out[f"{what}_cpu_s"] = marks[what][1]
    return out


def _ci95(values: list[float]) -> dict:
    from scipy import stats

    n = len(values)
    mean = statistics.fmean(values)
    if n < 2:
        return {"n": n, "mean": mean, "ci95": None}
    half = float(stats.t.ppf(0.975, n - 1)) * statistics.stdev(values) / n**0.5
    return {"n": n, "mean": mean, "ci95": [mean - half, mean + half]}


def steal_adjusted(results: list[dict], modes: list[str], key: str = "seconds") -> dict | None:
    """Least squares ``key = a + b * steal_pct + c_mode`` (the first mode as reference): c per mode."""
    import numpy as np

    rs = [r for r in results if r["steal_pct"] is not None and r.get(key) is not None]
    others = [m for m in modes if m != modes[0] and any(r["mode"] == m for r in rs)]
    if len(rs) < len(others) + 4:
        return None
    x = np.array([[1.0, r["steal_pct"], *[1.0 if r["mode"] == m else 0.0 for m in others]] for r in rs])
    y = np.array([r[key] for r in rs])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    dof = len(y) - x.shape[1]
    resid = y - x @ coef
    cov = (resid @ resid / dof) * np.linalg.pinv(x.T @ x)
    from scipy import stats

    t = float(stats.t.ppf(0.975, dof))
    out = {"figure": key, "runs": len(rs), "per_steal_pct_s": float(coef[1]), "reference": modes[0]}
    for i, m in enumerate(others):
        c, se = float(coef[2 + i]), float(np.sqrt(cov[2 + i, 2 + i]))
        out[f"{m}_minus_{modes[0]}_s"] = {"estimate": c, "ci95": [c - t * se, c + t * se]}
    return out


def _export_revision(rev: str) -> Path:
    """The app, packaging and resources folders of git revision ``rev``, under ``build/`` (made once)."""
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", f"{rev}^{{commit}}"], capture_output=True, text=True
    )
    if commit.returncode != 0:
        raise SystemExit(f"--before {rev}: not a revision of this repository")
    tree = REPO / "build" / f"bench-before-{commit.stdout.strip()[:12]}"
    if not (tree / "app" / "rigconsole").is_dir():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.Popen(
            ["git", "-C", str(REPO), "archive", commit.stdout.strip(), "app", "packaging", "resources"],
            stdout=subprocess.PIPE,
        )
        subprocess.run(["tar", "-x", "-C", str(tree)], stdin=archive.stdout, check=True)
        if archive.wait() != 0:
            raise SystemExit(f"git archive {rev} failed")
    return tree


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--frozen", help="the frozen app's executable")
    ap.add_argument("--frozen-before", help="an older frozen app's executable (mode 'frozen_before')")
    ap.add_argument("--before", default="main", help="the revision mode 'before' runs (git archive of it)")
    ap.add_argument("--modes", default="baseline,before,source")
    args = ap.parse_args()
    if not os.environ.get("DISPLAY"):
        raise SystemExit("no DISPLAY: run under xvfb-run (see the module docstring)")
    if shutil.which("xdotool") is None:
        raise SystemExit("xdotool is missing (scripts/setup installs it)")
    frozen = args.frozen or next(
        (
            p
            for p in ("/opt/rigconsole/rigconsole", str(REPO / "build/pyinstaller/dist/rigconsole/rigconsole"))
            if Path(p).is_file()
        ),
        None,
    )
    main_tree = _export_revision(args.before) if "before" in args.modes.split(",") else None
    baseline_script = PYCACHE.parent / "bench-startup-baseline.py"
    baseline_script.parent.mkdir(parents=True, exist_ok=True)
    baseline_script.write_text(BASELINE)
    # (command, extra environment, probe)
    cmds = {
        "baseline": ([sys.executable, str(PROBE), str(baseline_script)], {}, True),
        "before": (
            [sys.executable, str(PROBE), str(main_tree / "packaging" / "rigconsole_entry.py")],
            {"PYTHONPATH": str(main_tree / "app")},
            True,
        )
        if main_tree
        else None,
        "source": ([sys.executable, str(PROBE), str(REPO / "packaging" / "rigconsole_entry.py")], {}, True),
        "frozen": ([frozen], {}, False) if frozen else None,
        "frozen_before": ([args.frozen_before], {}, False) if args.frozen_before else None,
    }
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if cmds.get(m) is None:
            raise SystemExit(f"mode {m!r}: no frozen app found (build it: packaging/linux/build.sh, or --frozen PATH)")

    def launch_retrying(m: str) -> dict:
        # on this shared machine a launch now and then fails to connect to the X server (that
        # launch only: the display is fine after it); such a launch is made again, once
        try:
            return launch(*cmds[m])
        except SystemExit as err:
            if "could not connect to display" not in str(err):
                raise
            print(f"mode {m}: the launch could not connect to the display; launching again", flush=True)
            return dict(launch(*cmds[m]), retried=True)

    for m in modes:  # warm the disk cache
        launch_retrying(m)
    results = []
    for r in range(args.rounds):
        for m in modes:
            res = launch_retrying(m)
            res.update(mode=m, round=r)
            results.append(res)
            print(
                f"round {r}  {m:<9} mapped {res['seconds']:6.2f} s  paint {res.get('paint_s', 0):6.2f} s  "
                f"ready {res.get('ready_s', 0):6.2f} s   CPU@paint {res.get('paint_cpu_s', res['cpu_s'] or 0):5.2f} s   "
                f"steal {res['steal_pct'] or 0:5.1f} %   load {res['load1'] or 0:4.1f}",
                flush=True,
            )
    summary = {}
    for m in modes:
        summary[m] = {"n": sum(x["mode"] == m for x in results)}
        for key, _ in FIGURES:
            v = [x[key] for x in results if x["mode"] == m and x.get(key) is not None]
            if v:
                summary[m][key] = {"median": statistics.median(v), "min": min(v), "max": max(v)}
    diffs = {}
    for a, b in (
        ("source", "before"),
        ("frozen", "frozen_before"),
        ("frozen", "source"),
        ("source", "baseline"),
        ("before", "baseline"),
    ):
        if a in modes and b in modes:
            for key, _ in FIGURES:
                by = {(x["mode"], x["round"]): x.get(key) for x in results}
                d = [
                    by[(a, r)] - by[(b, r)]
                    for r in range(args.rounds)
                    if by.get((a, r)) is not None and by.get((b, r)) is not None
                ]
                if d:
                    diffs[f"{a}_minus_{b}:{key}"] = _ci95(d)
    fits = [f for f in (steal_adjusted(results, modes, key) for key in ("seconds", "paint_s")) if f]
    print()
    print(f"{'mode':<10}" + "".join(f"{label:>12}" for _, label in FIGURES) + "   (medians)")
    for m, s in summary.items():
        print(f"{m:<10}" + "".join(f"{s[k]['median']:>12.2f}" if k in s else f"{'-':>12}" for k, _ in FIGURES))
    for k, d in diffs.items():
        ci = f"[{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]" if d["ci95"] else "n/a"
        print(f"{k:<36} mean {d['mean']:+.2f} s  95 % CI {ci}  (n={d['n']})")
    for fit in fits:
        for k, v in fit.items():
            if isinstance(v, dict):
                print(
                    f"at equal steal, {fit['figure']}: {k:<22} {v['estimate']:+.2f} s  "
                    f"95 % CI [{v['ci95'][0]:+.2f}, {v['ci95'][1]:+.2f}]"
                )
    print(
        "RESULT "
        + json.dumps(
            {
                "frozen": frozen,
                "before": str(main_tree),
                "summary": summary,
                "paired": diffs,
                "steal_adjusted": fits,
                "runs": results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
