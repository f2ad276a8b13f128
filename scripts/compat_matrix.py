#!/usr/bin/env python
"""The compatibility matrix: PsychoPy's own Builder demos, dry-run in the console and in plain PsychoPy.

Every Builder demo shipped inside the psychopy package that needs no special
hardware runs twice, each in its own process, with the same simulated
participant (``rigconsole.session.simulate``, seed 1; inputs through the
stimulus window's pyglet handlers) and the same limits:

- **console**: through the rig core with the console's default settings (no
  monitor configured), as ``rigconsole run --simulate-participant 1 --speed
  SPEED`` builds it (``rigconsole.session.qa.dry_run``), in an 800x600 window;
- **plain**: the compiled script run as its ``__main__`` would, without the
  expInfo dialog, in an 800x600 window (its own ``setupWindow``, its own
  monitor) made as the console's is: no frame buffer object (Builder's own
  ``nofbo`` blend mode) and the simulated 60 Hz refresh instead of a measured
  one. The keyboard backend is PsychoPy's window-focused ``event`` backend, with
  :mod:`rigconsole.session.keyboard`'s fix (in PsychoPy 2026.2.5 that backend
  drops key names and never sees releases), to give it keys without X tools.

Both paths seed the experiment's global random generators alike
(:class:`rigconsole.session.qa.ExperimentSeed`, seed 1), so a staircase's
interleaving and a script's ``random()`` draws are the same on both.

Both paths run at the same time warp (``--speed``, default ``max``:
:mod:`rigconsole.session.warp`), and the limits are in the experiment's own time.
Outcomes: ``completed``, ``completed with errors``, ``stuck`` (no new row or
routine for ``--stuck`` s), ``time limit`` (still progressing at ``--seconds``
s), ``failed`` (an error), ``broken`` (did not load). It writes
``docs/compatibility.md`` and a JSON of the results.

Usage::

    xvfb-run -a -s "-screen 0 1600x1200x24" uv run --frozen python scripts/compat_matrix.py \\
        [--speed max] [--seconds 300] [--stuck 20] [--only NAME ...] [--jobs 2] [--out docs/compatibility.md]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WINDOW = {"size": [800, 600], "fullscr": False, "units": "height"}
#: the matrix's defaults: the time warp of both paths, and its limits in the experiment's own time (s).
#: max: one refresh period of experiment time per frame (a frame slower than that runs in real
#: time). STUCK: no row, routine or new input of the participant's (a slider, text box, form
#: scroll, stimulus clicked) for this long. The participant answers a waiting keyboard within 3 s
#: and a slider, button or text box within 2.5 s, so 20 s is a routine it cannot end (it was 30 s,
#: which the open-ended tools that draw slower than a refresh period spent at 1x). SECONDS: every
#: demo but sternberg ends within 300 s of its own time; sternberg's 138 trials of ~5.5 s need ~750 s
SPEED, SECONDS, STUCK = "max", 300.0, 20.0
#: wall seconds after which a demo's process is killed (start-up included)
WALL_LIMIT_S = 150.0
#: demo processes run at a time (this machine and CI have 2 cores)
JOBS = 2

#: demos outside Hardware/ that need a device this matrix cannot give them
NEEDS_HARDWARE = {
    "stroopVoice": "a microphone",
    "buttonBoxDemo": "a button box",
    "dual_window": "a second screen",
    "visualValidator": "a light sensor",
    "make_shapes": "nothing (a helper that draws the drag-and-drop demo's stimuli), kept out",
}


def demos_root() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("psychopy")
    return Path(list(spec.submodule_search_locations)[0]) / "demos" / "builder"


def list_demos() -> tuple[list[Path], dict[str, str]]:
    """(demos to run, {skipped demo: why}), as paths relative to ``psychopy/demos/builder``."""
    root = demos_root()
    run, skipped = [], {}
    for path in sorted(root.rglob("*.psyexp")):
        rel = path.relative_to(root)
        if rel.parts[0] == "Hardware":
            skipped[str(rel)] = "special hardware (Hardware/)"
        elif path.stem in NEEDS_HARDWARE:
            skipped[str(rel)] = f"needs {NEEDS_HARDWARE[path.stem]}"
        else:
            run.append(rel)
    return run, skipped


def _cache_dir() -> Path:
    """Where compiled Builder scripts go: the console's default (platformdirs' user cache),
    which the matrix points at its own folder for its processes (``XDG_CACHE_HOME``)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("rigconsole")) / "compiled"


def _copy_demo(rel: Path, tmp: Path) -> tuple[Path, str]:
    src = demos_root() / rel
    root = tmp / "root"
    if (root / src.parent.name / src.name).is_file():  # copied (and compiled) once by run_matrix
        return root, f"{src.parent.name}/{src.name}"
    shutil.copytree(src.parent, root / src.parent.name, ignore=shutil.ignore_patterns("*.py", "data", "__pycache__"))
    return root, f"{src.parent.name}/{src.name}"


def _rows_result(this_exp) -> dict:
    from rigconsole.session.qa import qa_report

    if this_exp is None:
        return {"rows": 0, "trials_per_loop": {}, "empty_columns": []}
    rep = qa_report("x", this_exp=this_exp)
    return {
        "rows": rep.rows,
        "trials_per_loop": rep.trials_per_loop,
        "expected_trials": rep.expected_trials,
        "empty_columns": rep.empty_columns,
    }


def run_console(rel: Path, tmp: Path, seconds: float, stuck: float, speed="max") -> dict:
    """The console's path with its DEFAULT settings, as a new user has them (no monitor
    configured, no rig file): the rig core as ``rigconsole run --simulate-participant 1
    --speed SPEED --window size=800,600`` builds it (the dry-runs folder, the session file)."""
    from rigconsole.rig import Rig
    from rigconsole.session.qa import dry_run
    from rigconsole.settings import Settings, WindowSettings

    root, key = _copy_demo(rel, tmp)
    settings = Settings(root=root, data_dir=tmp / "data", window=WindowSettings(size=tuple(WINDOW["size"])))
    rig = Rig(settings, simulated_vsync_hz=60, scan=False, instruments=False)
    try:
        s = rig.session
        if not s.addExperiment(key):
            return {"outcome": "broken", "error": s.experiment_files[key].error}
        rig.prepare_dry_run(1, speed=speed)
        rep = dry_run(
            s, key, {"participant": "matrix"}, seed=1, stuck_after_s=stuck, max_duration_s=seconds, speed=speed
        )
        rec = s.run_records[-1] if s.run_records else None
        out = {
            "outcome": rep.outcome,
            "where": rep.where,
            "error": rep.error,
            "wall_s": rep.wall_s,
            "experiment_s": rep.experiment_s,
            "speed_reached": rep.speed_reached,
        }
        out.update(_rows_result(rec.this_exp if rec else None))
        return out
    finally:
        rig.close()


class _DryRunStop(BaseException):
    """Raised from a flip by the plain runner's watchdog."""


def _plain_source(script: Path) -> str:
    """The compiled script as the plain path runs it: the same window as the console's (800x600,
    not full screen, no frame buffer object: Builder's own ``nofbo`` blend mode, which every
    demo's ``avg`` equals but for the FBO; the console's stimulus window has none), the
    simulated 60 Hz refresh instead of a frame-rate measurement (the console does not
    measure either), no expInfo dialog, and the matrix's two hooks (attach, ran)."""
    src = script.read_text(encoding="utf-8")
    src = re.sub(r"^_fullScr = .*$", "_fullScr = False", src, count=1, flags=re.M)
    src = re.sub(r"^_winSize = .*$", "_winSize = [800, 600]", src, count=1, flags=re.M)
    # PsychoPy's FBO (a float texture blitted every flip) costs 4-6 ms a flip at 800x600 on
    # Mesa llvmpipe (measured here): the plain path then reached 1.0-2.8x where the console reached 3-10x
    src = src.replace("blendMode='avg', useFBO=True,", "blendMode='avg', useFBO=False,", 1)
    src = re.sub(
        r"win\._monitorFrameRate = win\.getActualFrameRate\([^)]*\)",
        "win._monitorFrameRate = 60.0  # the matrix's simulated refresh (both paths)",
        src,
        count=1,
    )
    # no dialog (a Builder file may have it switched off already)
    src = src.replace("    expInfo = showExpInfoDlg(expInfo=expInfo)\n", "    pass  # no dialog\n", 1)
    for old, new in (
        (
            "    win = setupWindow(expInfo=expInfo)\n",
            "    win = setupWindow(expInfo=expInfo)\n    __matrix_attach__(win, thisExp)\n",
        ),
        ("    saveData(thisExp=thisExp)\n", "    __matrix_ran__()\n    saveData(thisExp=thisExp)\n"),
    ):
        if old not in src:
            raise RuntimeError(f"the compiled script's __main__ block lacks {old.strip()!r}")
        src = src.replace(old, new, 1)
    return src


def run_plain(rel: Path, tmp: Path, seconds: float, stuck: float, speed="max") -> dict:
    from psychopy.hardware.keyboard import KeyboardDevice

    from rigconsole.session.keyboard import install_event_backend_fix
    from rigconsole.session.loader import ExperimentLoadError, compile_psyexp
    from rigconsole.session.qa import ExperimentSeed, where_in_run
    from rigconsole.session.simulate import SimulatedParticipant
    from rigconsole.session.warp import TimeWarp

    root, key = _copy_demo(rel, tmp)
    path = root / key
    try:
        script = compile_psyexp(path, _cache_dir())
    except ExperimentLoadError as err:
        return {"outcome": "broken", "error": str(err)}
    KeyboardDevice._backend = "event"  # window-focused keys (what a participant presses in the window)
    install_event_backend_fix()
    sp = SimulatedParticipant(1)
    experiment_seed = ExperimentSeed(1)  # as the console's dry run seeds it (rigconsole.session.qa.dry_run)
    warp = TimeWarp(speed, frame_hz=60)
    state = {"ran": False, "why": None, "where": "", "exp": None, "t0": 0.0, "wall0": time.perf_counter()}

    def attach(win, this_exp):
        import psychopy.clock

        # the same time warp as the console's, with a simulated vertical blank after each flip
        win._monitorFrameRate = 60.0
        warp.install()
        orig_flip = win.flip

        def flip(*a, **kw):
            result = orig_flip(*a, **kw)
            warp.wait_blank()
            return result

        win.flip = flip
        state["exp"] = this_exp
        state["wall0"] = time.perf_counter()
        state["t0"] = psychopy.clock.getTime()  # the limit counts from the window, as the console's does
        sp.attach(win)
        experiment_seed.apply()  # before the experiment's first draw (its run(); setupDevices draws none)
        progress = {"n": -1, "routine": None, "t": state["t0"], "inputs": 0}

        def watchdog():
            now = psychopy.clock.getTime()  # the experiment's own time: limits do not depend on the machine
            n, routine = len(this_exp.entries), this_exp.currentRoutine
            # progress as the console's dry run counts it (rigconsole.session.qa.dry_run): a row, a
            # routine, a new input the participant gave
            if (
                n != progress["n"]
                or routine is not progress["routine"]
                or (routine is None and n == 0)
                or sp.progress != progress["inputs"]
            ):
                progress.update(n=n, routine=routine, t=now, inputs=sp.progress)
            why = "stuck" if now - progress["t"] > stuck else "time limit" if now - state["t0"] > seconds else None
            if why:
                state.update(why=why, where=where_in_run(this_exp))
                raise _DryRunStop(why)
            win.callOnFlip(watchdog)

        win.callOnFlip(watchdog)

    ns = {
        "__name__": "__main__",
        "__file__": str(path.with_suffix(".py")),
        "__builtins__": __builtins__,
        "__matrix_attach__": attach,
        "__matrix_ran__": lambda: state.update(ran=True),
    }
    code = compile(_plain_source(script), str(script), "exec")
    os.chdir(path.parent)
    sys.argv = [str(path.with_suffix(".py"))]
    out: dict = {}
    try:
        exec(code, ns)
        out = {"outcome": "completed"}
    except SystemExit as exc:  # Builder's quit() ends with core.quit()
        out = {
            "outcome": "completed" if state["ran"] else "failed",
            "error": None if state["ran"] else f"the experiment called core.quit()/sys.exit({exc.code})",
        }
    except _DryRunStop:
        out = {"outcome": state["why"], "where": state["where"]}
    except BaseException as exc:  # noqa: BLE001 - report whatever the experiment raised
        tb = traceback.extract_tb(exc.__traceback__)
        frame = next((f for f in reversed(tb) if f.filename == str(script)), tb[-1])
        text = str(exc).strip().splitlines()
        error = f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
        out = {
            "outcome": "completed with errors" if state["ran"] else "failed",
            "error": f"{error} (line {frame.lineno}: {frame.line})",
        }
    finally:
        sp.detach()
        experiment_seed.restore()
        warp.uninstall()
    out.update(
        wall_s=time.perf_counter() - state["wall0"], experiment_s=warp.experiment_s, speed_reached=warp.speed_reached
    )
    out.update(_rows_result(state["exp"]))
    return out


def _one(mode: str, rel: str, out: Path, seconds: float, stuck: float, speed, shared: Path | None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f"matrix-{mode}-"))
    if shared is not None:  # the demo copied and compiled once for both paths (run_matrix)
        (tmp / "root").symlink_to(shared / "root", target_is_directory=True)
    t0 = time.perf_counter()
    try:
        fn = run_console if mode == "console" else run_plain
        result = fn(Path(rel), tmp, seconds, stuck, speed)
    except BaseException as exc:  # noqa: BLE001
        result = {"outcome": "failed", "error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    result["process_s"] = time.perf_counter() - t0  # the demo's wall time in its process, start-up excluded
    out.write_text(json.dumps(result, default=str))
    os._exit(0)  # PsychoPy's atexit handlers (and its windows) need not run


def _launch(mode: str, rel: Path, out: Path, seconds: float, stuck: float, speed, shared: Path, cache: Path):
    cmd = [
        sys.executable,
        __file__,
        "--one",
        mode,
        str(rel),
        "--result",
        str(out),
        "--seconds",
        str(seconds),
        "--stuck",
        str(stuck),
        "--speed",
        str(speed),
        "--shared",
        str(shared),
    ]
    env = dict(os.environ, XDG_CACHE_HOME=str(cache), PYTHONPYCACHEPREFIX=str(cache / "pycache"))
    # Python's bytecode cache for the demos' processes, in the matrix's own folder (nothing is
    # written into the environment): with PYTHONDONTWRITEBYTECODE set (this machine, CI) each
    # process compiled ~1800 modules from source, 4-5 s of its 8-10 s start-up
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=str(REPO), env=env)


def _prepare(rel: Path, shared: Path, cache: Path) -> None:
    """Copy the demo and compile it once, for both paths (compiling imports all of PsychoPy's
    components: about 10 s a process here, which both processes would pay)."""
    from rigconsole.session.loader import ExperimentLoadError, compile_psyexp

    root, key = _copy_demo(rel, shared)
    try:
        compile_psyexp(root / key, cache / "rigconsole" / "compiled")
    except ExperimentLoadError:
        pass  # each path reports it as broken


def _collect(proc, out: Path, t_launch: float) -> dict:
    """The result of an ended process (``t_launch``: its ``perf_counter()`` at launch)."""
    if not out.is_file():
        return {"outcome": "failed", "error": f"the process died (exit code {proc.returncode}) without a result"}
    result = json.loads(out.read_text())
    result["total_s"] = time.perf_counter() - t_launch  # with the process's start-up (importing PsychoPy)
    return result


def merge(data: dict, other: dict) -> dict:
    """``data`` with ``other``'s demo results replacing its own (a partial re-run)."""
    return dict(data, results={**data["results"], **other["results"]})


def run_matrix(
    seconds: float,
    stuck: float,
    only: list[str] | None = None,
    speed="max",
    wall_limit: float = WALL_LIMIT_S,
    jobs: int = JOBS,
) -> dict:
    """Run the demos (those whose path contains one of ``only``), each path in its own process,
    ``jobs`` processes at a time (the next starts when one ends, in demo order: console, plain);
    ``seconds``/``stuck`` in the experiment's own time, ``speed`` the time warp of both paths,
    ``wall_limit`` the wall seconds after which a demo's process is killed."""
    demos, skipped = list_demos()
    if only:
        demos = [d for d in demos if any(o in str(d) for o in only)]
    t_start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="matrix-"))
    cache = work / "cache"
    queue = [(i, rel, mode) for i, rel in enumerate(demos) for mode in ("console", "plain")]
    running: dict = {}  # (i, mode) -> (process, result file, launch time)
    done: dict = {i: {} for i in range(len(demos))}
    results = {}
    while queue or running:
        while queue and len(running) < max(1, jobs):
            i, rel, mode = queue.pop(0)
            shared = work / f"{i}-demo"
            if not shared.exists():
                _prepare(rel, shared, cache)  # both paths' copy, compiled once
            out = work / f"{i}-{mode}.json"
            running[(i, mode)] = (
                _launch(mode, rel, out, seconds, stuck, speed, shared, cache),
                out,
                time.perf_counter(),
            )
        time.sleep(0.05)
        for (i, mode), (proc, out, t0) in list(running.items()):
            if proc.poll() is None:
                if time.perf_counter() - t0 <= wall_limit:
                    continue
                proc.kill()
                proc.wait()
                result = {"outcome": "failed", "error": f"the process did not end within {wall_limit:.0f} s (killed)"}
            else:
                result = _collect(proc, out, t0)
            del running[(i, mode)]
            done[i][mode] = normalise(result, mode)
            if len(done[i]) == 2:
                rel, r = demos[i], done[i]
                results[str(rel)] = {m: r[m] for m in ("console", "plain")}
                print(
                    f"{rel}: console {r['console']['outcome']} ({r['console'].get('total_s', 0):.0f} s), "
                    f"plain {r['plain']['outcome']} ({r['plain'].get('total_s', 0):.0f} s)",
                    flush=True,
                )
    shutil.rmtree(work, ignore_errors=True)
    from rigconsole.session.warp import format_speed

    return {
        "results": {str(rel): results[str(rel)] for rel in demos},
        "skipped": skipped,
        "seconds": seconds,
        "stuck": stuck,
        "speed": format_speed(speed),
        "jobs": jobs,
        "elapsed_s": time.perf_counter() - t_start,
    }


def normalise(r: dict, mode: str = "plain") -> dict:
    """A plain PsychoPy run that failed with every loop at its total is "completed with errors"
    (PsychoPy raised after the last trial, e.g. in its own saveAsExcel). The console's outcome is
    its run record's own (``finished with errors``: rigconsole.session.outcomes) and is kept."""
    expected, done = r.get("expected_trials") or {}, r.get("trials_per_loop") or {}
    if (
        mode == "plain"
        and r.get("outcome") == "failed"
        and expected
        and all(done.get(k, 0) >= n for k, n in expected.items())
    ):
        r = dict(r, outcome="completed with errors")
    return r


def _cell(r: dict) -> str:
    text = r["outcome"]
    if r.get("rows") is not None and r["outcome"] not in ("broken",):
        loops = ", ".join(f"{k} {v}" for k, v in (r.get("trials_per_loop") or {}).items())
        text += f" ({r.get('rows', 0)} rows" + (f"; {loops}" if loops else "") + ")"
    return text


def _num(v, fmt: str) -> str:
    return format(v, fmt) if isinstance(v, (int, float)) and math.isfinite(v) else "-"


def _speed_cell(r: dict) -> str:
    return " / ".join(
        _num(r[m].get("speed_reached"), ".1f") + ("x" if r[m].get("speed_reached") else "")
        for m in ("console", "plain")
    )


def _wall_cell(r: dict) -> str:
    return " / ".join(
        f"{_num(r[m].get('wall_s'), '.0f')} ({_num(r[m].get('process_s'), '.0f')})" for m in ("console", "plain")
    )


def _why(c: dict, p: dict) -> str:
    if c["outcome"] == p["outcome"] and c.get("trials_per_loop") == p.get("trials_per_loop"):
        if c["outcome"].startswith("completed"):
            return "same"
        return "same: " + (c.get("error") or c.get("where") or p.get("error") or p.get("where") or "")
    parts = []
    for name, r in (("console", c), ("plain", p)):
        detail = r.get("error") or r.get("where")
        if detail:
            parts.append(f"{name}: {detail}")
    if c["outcome"] == p["outcome"] == "time limit":
        parts.insert(0, "both still running at the limit (trial counts depend on speed)")
    return "; ".join(parts) or "trial counts differ"


def write_markdown(data: dict, path: Path) -> None:
    res = data["results"]
    n = len(res)
    done = {m: sum(1 for r in res.values() if r[m]["outcome"].startswith("completed")) for m in ("console", "plain")}
    lines = [
        "# Compatibility matrix: PsychoPy's Builder demos",
        "",
        "Generated by `scripts/compat_matrix.py` (do not edit by hand); the slow test",
        "`tests/compat/test_matrix.py` runs it. Each Builder demo shipped inside the psychopy",
        "package that needs no special hardware is dry-run with the same simulated participant",
        "(seed 1, inputs through the stimulus window's own event handlers) through the console",
        "with its default settings, as a new user has them (no monitor configured; the rig core",
        "as `rigconsole run --simulate-participant 1 --speed SPEED` builds it) and through plain",
        "PsychoPy (the compiled script run as its `__main__`, no dialog, window-focused `event`",
        "keys with Rig Console's fix), both in the same window (800x600, no frame buffer object:",
        "the console's stimulus window has none, and plain PsychoPy gets Builder's own *nofbo*",
        "blend mode; a simulated 60 Hz refresh), with the experiment's own randomness seeded alike",
        "(its global generators and unseeded loops: `rigconsole.session.qa.ExperimentSeed`), at",
        "the same time warp",
        f"(speed **{data.get('speed', '1x')}**: `rigconsole.session.warp`; *max* runs as fast as frames",
        "are drawn, one refresh period of experiment time per frame; at a fixed speed a frame drawn",
        "late is a dropped frame in the experiment's time). Limits, in the",
        f"experiment's own time: {data['stuck']:g} s without a new row, routine or new input of the",
        "participant's (a slider rated, a text box typed into, a form scrolled, a stimulus clicked)",
        f"is *stuck*; a run still progressing at {data['seconds']:g} s is stopped (*time limit*). A frame",
        "that takes longer than a refresh period to draw runs in real time (the warp never goes",
        "below 1x), so there a slower machine gives more experiment time per frame. *speed* is the",
        "speed each path reached (experiment s per wall s), *wall* the wall time of the run and,",
        "in brackets, of the demo's process (importing PsychoPy and opening the window included;",
        f"{data.get('jobs', JOBS)} processes run at a time).",
        "",
        f"psychopy {_psychopy_version()}, {time.strftime('%Y-%m-%d')}: {n} demos; completed in the console "
        f"{done['console']}, in plain PsychoPy {done['plain']}"
        + (f"; the matrix took {data['elapsed_s'] / 60:.0f} min" if data.get("elapsed_s") else "")
        + ".",
        "",
        "*stuck* and *time limit* are the dry run's limits, not failures: where both paths",
        "stop there, the console's report names the routine and what its components waited for",
        "(*waiting for ...*): an input the simulated participant cannot give, or an open-ended",
        "helper tool that runs until Escape (the participant never presses Escape). *failed* on",
        "both paths with a PortAudio error: this machine has no sound device (a rig has one).",
        'A *failed* outcome "did not end within N s (killed)" is the matrix\'s wall-clock guard',
        "on a process, not the experiment's doing.",
        "",
        "| demo | console | plain PsychoPy | speed: console / plain | wall s: console / plain | why they differ |",
        "|---|---|---|---|---|---|",
    ]
    for rel, r in res.items():
        why = _why(r["console"], r["plain"]).replace("|", "\\|")
        lines.append(
            f"| {rel} | {_cell(r['console'])} | {_cell(r['plain'])} | {_speed_cell(r)} | {_wall_cell(r)} | {why} |"
        )
    lines += ["", "Not run (need hardware this machine has not):", ""]
    lines += [f"- {rel}: {why}" for rel, why in data["skipped"].items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _psychopy_version() -> str:
    from importlib.metadata import version

    return version("psychopy")


def _speed(text):
    from rigconsole.session.warp import parse_speed

    return parse_speed(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=SECONDS, help="time limit per run, s of experiment time")
    ap.add_argument(
        "--stuck", type=float, default=STUCK, help="no progress for this long is stuck, s of experiment time"
    )
    ap.add_argument("--speed", default=str(SPEED), help="time warp of both paths: a number (1: real time) or 'max'")
    ap.add_argument("--only", nargs="*", help="run only demos whose path contains one of these")
    ap.add_argument("--jobs", type=int, default=JOBS, help="demo processes run at a time")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "compatibility.md")
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    ap.add_argument("--from-json", type=Path, default=None, help="only rewrite the markdown from a saved JSON")
    ap.add_argument(
        "--merge-into",
        type=Path,
        default=None,
        help="a saved JSON whose results the demos run now (--only) replace (a partial re-run)",
    )
    ap.add_argument("--one", nargs=2, metavar=("MODE", "DEMO"), help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--shared", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        _one(args.one[0], args.one[1], args.result, args.seconds, args.stuck, _speed(args.speed), args.shared)
        return 0
    if args.from_json:
        data = json.loads(args.from_json.read_text())
        data["results"] = {k: {m: normalise(v, m) for m, v in r.items()} for k, r in data["results"].items()}
    else:
        data = run_matrix(args.seconds, args.stuck, args.only, speed=_speed(args.speed), jobs=args.jobs)
        if args.merge_into:
            old = json.loads(args.merge_into.read_text())
            data = merge(old, data)  # the full run's elapsed time stays
    write_markdown(data, args.out)
    if args.json:
        args.json.write_text(json.dumps(data, indent=1, default=str))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
