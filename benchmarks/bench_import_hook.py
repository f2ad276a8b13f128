"""What PySide6's ``builtins.__import__`` hook costs PsychoPy's drawing, and what restoring it gives back.

Importing ``PySide6.QtCore`` replaces ``builtins.__import__`` with shiboken's
``__feature_import__`` (for PySide's opt-in ``from __feature__ import ...``).
Every ``import`` statement then goes through it, and PsychoPy's drawing code
runs function-level imports on every frame. ``rigconsole.ui`` puts Python's
own function back (see its docstring).

Three fresh processes, the same stimuli as ``benchmarks/bench_frames.py``
(a drifting Gabor and a text stimulus whose text changes every frame) drawn
``--frames`` times with no vsync wait:

- ``psychopy``: PsychoPy alone;
- ``pyside6``: ``import PySide6.QtWidgets`` first (the hook in place);
- ``rigconsole``: ``import rigconsole.ui`` first (PySide6 loaded, hook undone).

Reports the cost of one ``import os`` statement and the median wall time of
``GratingStim.draw``, ``TextStim.draw`` and the two attribute sets per frame
(ms). Needs a display (under Xvfb: ``xvfb-run -a -s "-screen 0 1920x1080x24"``):

    xvfb-run -a -s "-screen 0 1920x1080x24" uv run python benchmarks/bench_import_hook.py --frames 1200 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

MODES = ("psychopy", "pyside6", "rigconsole")


def measure(mode: str, frames: int) -> dict:
    if mode == "pyside6":
        import PySide6.QtWidgets  # noqa: F401
    elif mode == "rigconsole":
        import rigconsole.ui  # noqa: F401
    import builtins
    import timeit

    import numpy as np
    from psychopy import visual

    import_us = min(timeit.repeat("import os", number=100_000, repeat=3)) / 100_000 * 1e6
    win = visual.Window(size=(1024, 768), units="height", checkTiming=False, fullscr=False)
    grating = visual.GratingStim(win, tex="sin", mask="gauss", size=0.5, sf=8)
    label = visual.TextStim(win, text="", pos=(0, -0.4), height=0.04)
    rows = []
    for frame in range(frames + 60):
        t0 = time.perf_counter()
        grating.phase = frame / 60.0
        label.text = f"frame {frame}"
        t1 = time.perf_counter()
        grating.draw()
        t2 = time.perf_counter()
        label.draw()
        t3 = time.perf_counter()
        win.flip()
        if frame >= 60:  # past the first frames' lazy set-up
            rows.append((t1 - t0, t2 - t1, t3 - t2, t3 - t0))
    win.close()
    a = np.median(np.array(rows), axis=0) * 1e3
    return {
        "mode": mode,
        "builtin_import": builtins.__import__.__name__,
        "import_statement_us": import_us,
        "set_ms": float(a[0]),
        "grating_draw_ms": float(a[1]),
        "text_draw_ms": float(a[2]),
        "frame_code_ms": float(a[3]),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1200)
    ap.add_argument("--repeats", type=int, default=3, help="rounds of the three modes, interleaved")
    ap.add_argument("--mode", choices=MODES)
    args = ap.parse_args()
    if args.mode:
        print("RESULT " + json.dumps(measure(args.mode, args.frames)))
        return 0
    print(
        f"{'mode':11} {'__import__':>20} {'import os us':>13} {'2 sets ms':>10} {'grating ms':>11} "
        f"{'text ms':>8} {'frame code ms':>14}"
    )
    results = []
    for _ in range(args.repeats):
        for mode in MODES:
            out = subprocess.run(
                [sys.executable, __file__, "--mode", mode, "--frames", str(args.frames)], capture_output=True, text=True
            )
            line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
            if not line:
                print(out.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"the {mode} run failed")
            r = json.loads(line[0][7:])
            results.append(r)
            print(
                f"{r['mode']:11} {r['builtin_import']:>20} {r['import_statement_us']:>13.3f} {r['set_ms']:>10.3f} "
                f"{r['grating_draw_ms']:>11.3f} {r['text_draw_ms']:>8.3f} {r['frame_code_ms']:>14.3f}",
                flush=True,
            )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
