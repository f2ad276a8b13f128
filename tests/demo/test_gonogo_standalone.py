"""Run the bundled go/no-go demo standalone (``python gonogo.py --no-dialog``)
in a temporary copy of its folder and check the data file it writes.

No key is ever pressed, so every trial times out: nogo trials are correct,
go trials are not, and ``accuracy`` is the running mean of ``correct``.
Needs a display: pytest-xvfb (or an outer xvfb-run) provides DISPLAY, which
the subprocess inherits. pytest-xvfb's default colour depth is 16 bits, and
pyglet hangs creating a window on a 16-bit Xvfb screen (in
``XlibWindow._map``); if the inherited display is shallower than 24 bits the
test starts its own 24-bit Xvfb for the subprocess (``xvfb_colordepth = 24``
in the pytest ini options avoids that).
"""

import contextlib
import csv
import ctypes
import ctypes.util
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO_DIR = REPO / "resources" / "experiments" / "gonogo"
N_TRIALS = 6
COLUMNS = ["trial", "condition", "key", "rt", "correct", "accuracy"]


def _display_depth(display):
    """Default depth of X display `display`, or None if it can't be opened."""
    lib = ctypes.util.find_library("X11")
    if not display or not lib:
        return None
    x11 = ctypes.cdll.LoadLibrary(lib)
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultScreen.argtypes = [ctypes.c_void_p]
    x11.XDefaultDepth.argtypes = [ctypes.c_void_p, ctypes.c_int]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    dpy = x11.XOpenDisplay(display.encode())
    if not dpy:
        return None
    try:
        return x11.XDefaultDepth(dpy, x11.XDefaultScreen(dpy))
    finally:
        x11.XCloseDisplay(dpy)


@contextlib.contextmanager
def _own_xvfb():
    """Start a private 24-bit Xvfb; yield its DISPLAY string."""
    rfd, wfd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(wfd), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(wfd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(wfd)
    try:
        with os.fdopen(rfd) as f:
            num = f.readline().strip()
        assert num, "Xvfb did not report a display number"
        yield f":{num}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def display():
    """A DISPLAY good for pyglet: the inherited one if >= 24 bits deep."""
    current = os.environ.get("DISPLAY")
    depth = _display_depth(current)
    if depth is not None and depth >= 24:
        yield current
    elif shutil.which("Xvfb"):
        with _own_xvfb() as own:
            yield own
    else:
        assert current, "needs a display (pytest-xvfb or xvfb-run)"
        yield current


@pytest.fixture
def demo_copy(tmp_path):
    dest = tmp_path / "gonogo"
    shutil.copytree(DEMO_DIR, dest, ignore=shutil.ignore_patterns("data", "__pycache__"))
    return dest


def _run_demo(folder, display, *args, timeout=120):
    return subprocess.run(
        [sys.executable, str(folder / "gonogo.py"), *args],
        cwd=str(folder),
        env=dict(os.environ, DISPLAY=display),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_gonogo_standalone_no_responses(demo_copy, display):
    proc = _run_demo(demo_copy, display, "--no-dialog", "--nTrials", str(N_TRIALS))
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"

    csvs = sorted((demo_copy / "data").glob("demo_gonogo_*.csv"))
    assert len(csvs) == 1, f"expected exactly one CSV (no auto-save duplicate): {csvs}"
    assert len(list((demo_copy / "data").glob("demo_gonogo_*.psydat"))) == 1

    with open(csvs[0], newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == N_TRIALS
    for col in COLUMNS:
        assert col in rows[0], f"missing column {col!r}: {list(rows[0])}"

    running = 0
    for i, row in enumerate(rows):
        assert int(row["trial"]) == i
        assert row["condition"] in ("go", "nogo")
        assert row["key"] == ""
        assert math.isnan(float(row["rt"]))
        correct = int(row["correct"])
        assert correct == (1 if row["condition"] == "nogo" else 0)
        running += correct
        assert float(row["accuracy"]) == pytest.approx(running / (i + 1))
        assert row["participant"] == "demo"

    # goProportion 0.7 of 6 trials -> round(4.2) = 4 go trials
    assert sum(r["condition"] == "go" for r in rows) == round(N_TRIALS * 0.7)
