"""A new user's first launch on one screen: default settings (no rig monitor profile, the
default 1024x768 windowed stimulus window), the whole console (build_console) under
pytest-xvfb's single 1600x1200 screen. The stimulus window goes beside the console, not on
top of it, and Builder experiments in deg and cm run to the end from the console."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication

from rigconsole.settings import Settings

from support.csv_h5 import csv_rows

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


@pytest.fixture
def new_user_console(qtbot, tmp_path):
    """The console as a new user opens it: only the root and data folders are set."""
    from rigconsole.ui.app import build_console

    root = tmp_path / "root"
    for name in ("units_deg", "units_cm"):
        shutil.copytree(EXPERIMENTS / name, root / name)
    settings = Settings(root=root, data_dir=tmp_path / "data")
    assert settings.monitor is None and not settings.window.fullscr  # the defaults under test
    c = build_console(settings=settings, simulated_vsync_hz=60, show=True, instruments=False)
    qtbot.waitExposed(c.window)
    yield c
    c.close()


def _stimulus_rect(win) -> QRect:
    """The stimulus window's client area on the X screen, as pyglet has it (device pixels)."""
    x, y = win.winHandle.get_location()
    w, h = win.winHandle.get_size()
    return QRect(int(x), int(y), int(w), int(h))


def _console_rect(window) -> QRect:
    """The console window's frame on the screen, as Qt has it, in device pixels."""
    dpr = window.screen().devicePixelRatio()
    g = window.frameGeometry()
    return QRect(round(g.x() * dpr), round(g.y() * dpr), round(g.width() * dpr), round(g.height() * dpr))


def _run_via_ui(qtbot, c, key, values, timeout=90_000):
    w = c.window
    assert w.experiments.select(key)
    qtbot.waitUntil(lambda: w.current_key() == key)
    w.form.set_values(values)
    n = len(c.session.run_records)
    w.run_action.trigger()
    qtbot.waitUntil(
        lambda: len(c.session.run_records) > n and c.session.run_records[-1].ended is not None, timeout=timeout
    )
    return c.session.run_records[-1]


def test_on_one_screen_the_stimulus_window_goes_beside_the_console(qtbot, new_user_console):
    c = new_user_console
    assert len(QGuiApplication.screens()) == 1
    screen = QGuiApplication.primaryScreen().geometry()
    # the console widens with what it shows once the rig is attached (its minimum grows):
    # the stimulus window follows within the placement's 300 ms
    qtbot.waitUntil(lambda: not _console_rect(c.window).intersects(_stimulus_rect(c.session.win)), timeout=5000)
    qtbot.wait(500)  # and stays there
    console, stim = _console_rect(c.window), _stimulus_rect(c.session.win)
    assert not console.intersects(stim), (console, stim)
    assert screen.contains(stim) and screen.contains(console)
    assert stim.left() >= console.right()  # side by side: the console left, the stimulus window right
    # it had to shrink (the console keeps its minimum width), keeping PsychoPy's 4:3 of 1024x768
    assert stim.width() < 1024 and stim.width() / stim.height() == pytest.approx(1024 / 768, abs=0.01)
    assert any(
        "stimulus window placed at" in line and f"shrunk from 1024x768 to {stim.width()}x{stim.height()} px" in line
        for line in c.window.log_panel.lines()
    )
    # a window the experiment closes is made again at the same place
    c.session.win.close()
    c.session.runExperiment("units_cm/units_cm.psyexp", {"participant": "again"})
    qtbot.waitUntil(lambda: not _console_rect(c.window).intersects(_stimulus_rect(c.session.win)), timeout=5000)
    # a new stimulus window size in Settings: made at the new size, beside the console
    from rigconsole.settings import WindowSettings

    c.apply_settings(c.rig.settings.model_copy(update={"window": WindowSettings(size=(160, 100))}))
    qtbot.waitUntil(lambda: not _console_rect(c.window).intersects(_stimulus_rect(c.session.win)), timeout=5000)
    assert _stimulus_rect(c.session.win).size().toTuple() == (160, 100)  # small enough to keep its size


def test_a_new_user_runs_builder_deg_and_cm_from_the_console(qtbot, new_user_console):
    c = new_user_console
    qtbot.waitUntil(lambda: not _console_rect(c.window).intersects(_stimulus_rect(c.session.win)), timeout=5000)
    for name, units in (("units_deg", "deg"), ("units_cm", "cm")):
        rec = _run_via_ui(qtbot, c, f"{name}/{name}.psyexp", {"participant": f"new_{units}"})
        assert rec.state == "finished", rec.error
        rows = [r for r in csv_rows(next(f for f in rec.data_files if f.endswith(".csv"))) if r.get("pix_per_unit")]
        assert len(rows) == 3 and {r["units"] for r in rows} == {units}
        assert {r["monitor"] for r in rows} == {"testMonitor"}
        # the placement follows the console after a run (its labels elide: it does not widen, see test_console_width)
        qtbot.waitUntil(lambda: not _console_rect(c.window).intersects(_stimulus_rect(c.session.win)), timeout=5000)
    said = [line for line in c.window.log_panel.lines() if "no rig monitor profile" in line]
    assert len(said) == 1 and "'testMonitor'" in said[0] and "WARNING" in said[0]
    assert "deg and cm exact" in said[0]


def test_a_full_screen_stimulus_window_or_one_elsewhere_is_left_alone(qtbot):
    """Full screen covers its screen by design; a window that does not cover the console stays
    where PsychoPy puts it: no area, and the console is not moved."""
    from PySide6.QtWidgets import QMainWindow

    from rigconsole.ui.placement import make_room_for_stimulus

    w = QMainWindow()
    qtbot.addWidget(w)
    w.resize(400, 300)
    w.move(0, 0)
    w.show()
    qtbot.waitExposed(w)
    before = w.frameGeometry()
    assert make_room_for_stimulus(w, {"size": [1024, 768], "fullscr": True}) is None
    assert make_room_for_stimulus(w, {"size": [320, 240], "pos": [1200, 800]}) is None
    assert w.frameGeometry() == before
    # centred, it would cover it: the strip on the right holds it, the console stays put
    area = make_room_for_stimulus(w, {"size": [1000, 900]})
    assert area is not None and area[0] >= before.right() and w.frameGeometry() == before


TWO_SCREENS = {
    "synchronousWindowSystemEvents": False,
    "windowFrameMargins": False,
    "screens": [
        {
            "name": "OPERATOR",
            "x": 0,
            "y": 0,
            "width": 1600,
            "height": 900,
            "logicalDpi": 96,
            "logicalBaseDpi": 96,
            "dpr": 1,
        },
        {
            "name": "SUBJECT",
            "x": 1600,
            "y": 0,
            "width": 1024,
            "height": 768,
            "logicalDpi": 96,
            "logicalBaseDpi": 96,
            "dpr": 1,
        },
    ],
}

TWO_SCREENS_SCRIPT = """
import json, logging, sys
from pathlib import Path
import rigconsole.ui
from PySide6.QtGui import QGuiApplication
from rigconsole.settings import Settings
from rigconsole.ui.app import build_console

logging.basicConfig(level=logging.INFO)
root, data = Path(sys.argv[1]), Path(sys.argv[2])
c = build_console(settings=Settings(root=root, data_dir=data), simulated_vsync_hz=60, show=True, instruments=False)
for _ in range(50):
    c.app.processEvents()
win = c.session.win
g = c.window.frameGeometry()
print(json.dumps({"screens": len(QGuiApplication.screens()), "console": [g.x(), g.y(), g.width(), g.height()],
                  "stim_size": [int(v) for v in win.size], "stim_pos": [int(v) for v in win.pos],
                  "xscreen": [win.winHandle.screen.width, win.winHandle.screen.height]}))
c.close()
"""


def test_on_two_screens_nothing_changes(tmp_path):
    """Qt sees two screens (Qt's offscreen platform with two screens; the stimulus window on the
    Xvfb display as usual): no room is made, the console keeps its size and the stimulus window
    its PsychoPy size and centred place."""
    import json
    import os
    import subprocess
    import sys

    config = tmp_path / "screens.json"
    config.write_text(json.dumps(TWO_SCREENS))
    root = tmp_path / "root"
    shutil.copytree(EXPERIMENTS / "units_cm", root / "units_cm")
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}")
    out = subprocess.run(
        [sys.executable, "-c", TWO_SCREENS_SCRIPT, root, tmp_path / "data"],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["screens"] == 2
    assert got["console"][2] >= 1280 and got["console"][3] == 800  # not narrowed (only widened by its own labels)
    assert got["stim_size"] == [1024, 768]  # Settings' default size, not shrunk
    sw, sh = got["xscreen"]
    assert got["stim_pos"] == [(sw - 1024) // 2, (sh - 768) // 2]  # where PsychoPy puts it: centred
    assert "Rig Console ready" in out.stderr  # the log is there...
    assert "one screen" not in out.stderr and "stimulus window placed" not in out.stderr  # ...and says no placement


def test_screenshot_one_screen_side_by_side(tmp_path, request):
    """The docs' picture (docs/screenshots/one-screen.png with RIGCONSOLE_UPDATE_SCREENSHOTS=1):
    the whole console as a new user has it (the simulated instruments included) on one
    1600x900 screen of its own Xvfb, a deg-unit Builder experiment running beside it."""
    import json
    import os
    import subprocess
    import sys
    import tempfile

    from support.datalog_fill import SCREENSHOTS

    # a short root path, as a user's is (~/experiments), so the picture shows it whole (long ones elide)
    short = Path(tempfile.mkdtemp(prefix="rc-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(short, ignore_errors=True))
    root = short / "experiments"
    for name in ("units_deg", "units_cm"):
        shutil.copytree(EXPERIMENTS / name, root / name)
    deg = root / "units_deg" / "units_deg.psyexp"  # 30 trials, not 3: the console shows the run meanwhile
    text = deg.read_text()
    assert '<Param name="nReps" updates="None" val="3" valType="code"/>' in text
    deg.write_text(
        text.replace('<Param name="nReps" updates="None" val="3"', '<Param name="nReps" updates="None" val="30"')
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    out_png = SCREENSHOTS / "one-screen.png"
    out_png.unlink(missing_ok=True)
    script = Path(__file__).resolve().parents[1] / "support" / "one_screen_shot.py"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    out = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1600x900x24", sys.executable, script, root, out_png],
        capture_output=True,
        text=True,
        timeout=280,
        env=env,
        cwd=short,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["screens"] == 1 and got["state"] == "finished", got
    assert got["shown"] and out_png.stat().st_size > 50_000  # the grab shows the stimulus on the screen
    console = QRect(*got["console"])
    stimulus = QRect(*got["stimulus"])
    assert not console.intersects(stimulus), got
    assert QRect(0, 0, 1600, 900).contains(stimulus)
    # the console keeps to its minimum (<= 900 px): the 1024x768 stimulus window keeps a usable size
    assert console.width() <= 900 and stimulus.width() >= 640, got
    assert any("no rig monitor profile" in line for line in got["log"])
