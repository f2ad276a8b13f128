"""Dry-run speed: how much faster than real time a time-warped dry run goes, per experiment.

For each experiment it runs interleaved pairs, each run in a fresh process, both
through ``rigconsole.session.qa.dry_run`` with the same simulated participant
(seed 1) under the simulated 60 Hz vertical blank:

- *baseline*: speed 1 (real time), the dry run as it was before the time warp;
- *warped*: ``--speed`` (default ``max``: as fast as frames can be drawn).

Per run it records the experiment's duration in its own time and the wall time
the run took (``QAReport.experiment_s``, ``wall_s``), and the machine's steal
(``/proc/stat``, :func:`bench_frames.cpu_steal`) during it. It reports per
experiment the speed reached by the warped runs (experiment s per wall s:
median and worst), and the wall-time ratio baseline / warped per pair with a
95 % confidence interval (Student's t on the log ratios; :func:`bench_frames._ci95`).

Run (needs a display; on a server under Xvfb)::

    xvfb-run -a -s "-screen 0 1920x1080x24" uv run python benchmarks/bench_dryrun.py --repeats 3

``--demo PATH`` (repeatable) adds Builder demos, relative to psychopy/demos/builder.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from bench_frames import _ci95, cpu_steal  # noqa: E402  (the same steal and CI methods)

#: (name, what to copy, key, expInfo): the bundled go/no-go and PsychoPy's GoNoGo demo
EXPERIMENTS = [
    ("bundled go/no-go (20 trials)", "bundled:gonogo", "gonogo/gonogo.py", {"participant": "bench", "nTrials": 20}),
    ("PsychoPy GoNoGo demo (12 trials)", "demo:Experiments/GoNoGo", "GoNoGo/gng.psyexp", {"participant": "bench"}),
]


def _root(source: str, tmp: Path) -> Path:
    root = tmp / "root"
    kind, rel = source.split(":", 1)
    if kind == "bundled":
        src = REPO / "resources" / "experiments" / rel
    else:
        import importlib.util

        spec = importlib.util.find_spec("psychopy")
        src = Path(list(spec.submodule_search_locations)[0]) / "demos" / "builder" / rel
    shutil.copytree(
        src, root / src.name, ignore=shutil.ignore_patterns("*.py", "data", "__pycache__") if kind == "demo" else None
    )
    return root


def one_run(source: str, key: str, exp_info: dict, speed: str) -> dict:
    """One dry run in this process; returns its figures."""
    from rigconsole import Session
    from rigconsole.session.qa import dry_run

    tmp = Path(tempfile.mkdtemp(prefix="bench-dryrun-"))
    s = Session(
        _root(source, tmp),
        dataDir=tmp / "data",
        cache_dir=tmp / "cache",
        win={"size": [800, 600], "fullscr": False, "units": "height"},
        simulated_vsync_hz=60,
    )
    try:
        if not s.addExperiment(key):
            return {"error": s.experiment_files[key].error}
        steal0, total0 = cpu_steal()
        rep = dry_run(s, key, exp_info, seed=1, stuck_after_s=60, speed=speed)
        steal1, total1 = cpu_steal()
        return {
            "outcome": rep.outcome,
            "rows": rep.rows,
            "experiment_s": rep.experiment_s,
            "wall_s": rep.wall_s,
            "speed_reached": rep.speed_reached,
            "steal_pct": 100 * (steal1 - steal0) / (total1 - total0) if total1 > total0 else 0.0,
            "dropped_frames": rep.frame_stats.get("dropped_frames"),
        }
    finally:
        s.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _in_process(source: str, key: str, exp_info: dict, speed: str) -> dict:
    cmd = [sys.executable, __file__, "--one", source, key, json.dumps(exp_info), speed]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=str(REPO), timeout=900)
    lines = [x for x in out.stdout.splitlines() if x.startswith("{")]
    if not lines:
        return {"error": (out.stderr.strip().splitlines() or ["no result"])[-1]}
    return json.loads(lines[-1])


def summarise(name: str, pairs: list[tuple[dict, dict]]) -> dict:
    ok = [(b, w) for b, w in pairs if "error" not in b and "error" not in w]
    speeds = [w["speed_reached"] for _, w in ok]
    logs = [math.log(b["wall_s"] / w["wall_s"]) for b, w in ok]
    out = {
        "experiment": name,
        "pairs": len(ok),
        "speed_median": statistics.median(speeds) if speeds else None,
        "speed_worst": min(speeds) if speeds else None,
        "baseline_speed_median": statistics.median([b["speed_reached"] for b, _ in ok]) if ok else None,
        "steal_pct_max": max([r["steal_pct"] for p in ok for r in p], default=None),
        "outcomes": sorted({r["outcome"] for p in ok for r in p}),
    }
    if len(logs) >= 2:
        mean = statistics.mean(logs)
        se = statistics.stdev(logs) / math.sqrt(len(logs))
        lo, hi = _ci95(mean, se, len(logs) - 1)
        out.update(wall_ratio=math.exp(mean), wall_ratio_ci95=[math.exp(lo), math.exp(hi)])
    elif logs:
        out.update(wall_ratio=math.exp(logs[0]), wall_ratio_ci95=None)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="baseline/warped pairs per experiment")
    ap.add_argument("--speed", default="max", help="the warped runs' speed (a number or 'max')")
    ap.add_argument("--demo", action="append", default=[], help="also this Builder demo folder/file.psyexp")
    ap.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        source, key, info, speed = args.one
        print(json.dumps(one_run(source, key, json.loads(info), speed)))
        os._exit(0)
    experiments = list(EXPERIMENTS)
    for d in args.demo:
        rel = Path(d)
        experiments.append((rel.stem, f"demo:{rel.parent}", f"{rel.parent.name}/{rel.name}", {"participant": "bench"}))
    results = []
    for name, source, key, info in experiments:
        pairs = []
        for i in range(args.repeats):
            base = _in_process(source, key, info, "1")
            warped = _in_process(source, key, info, args.speed)
            pairs.append((base, warped))
            print(
                f"{name} #{i + 1}: baseline {base.get('wall_s', float('nan')):.1f} s wall, "
                f"warped {warped.get('wall_s', float('nan')):.1f} s wall "
                f"({warped.get('speed_reached', float('nan')):.1f}x, steal {warped.get('steal_pct', 0):.1f} %)"
                + (
                    f" error: {base.get('error') or warped.get('error')}"
                    if "error" in base or "error" in warped
                    else ""
                ),
                flush=True,
            )
        results.append(summarise(name, pairs))
    print()
    print(
        f"| experiment | speed reached ({args.speed}): median | worst | wall-time ratio 1x / {args.speed} "
        "(95 % CI) | max steal % |"
    )
    print("|---|---|---|---|---|")
    for r in results:
        ci = r.get("wall_ratio_ci95")
        ratio = f"{r['wall_ratio']:.1f}" + (f" ({ci[0]:.1f}-{ci[1]:.1f})" if ci else "") if r.get("wall_ratio") else "-"
        print(
            f"| {r['experiment']} | {r['speed_median']:.1f}x | {r['speed_worst']:.1f}x | {ratio} | "
            f"{r['steal_pct_max']:.1f} |"
            if r["speed_median"]
            else f"| {r['experiment']} | - | - | - | - |"
        )
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
