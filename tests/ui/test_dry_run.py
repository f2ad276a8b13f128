"""Run → Dry run in the whole console (build_console, a real PsychoPy window under Xvfb,
real HDF5 files): a simulated participant answers inside PsychoPy's input path, with no
X key tool; the data go to <data folder>/dry-runs, marked as simulated; the QA report
dialog shows the outcome (or where it stuck), the trial counts, the empty columns, frame
timing and duration; a stuck or failing experiment leaves the console working."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from rigconsole.settings import Settings, WindowSettings

from support.scripts import STUCK

REPO = Path(__file__).resolve().parents[2]
X_KEY_TOOLS = ("xdotool", "xte", "ydotool", "wtype")


@pytest.fixture
def no_x_key_tool(tmp_path, monkeypatch):
    """Any X key tool started during the test is recorded: through PATH (a tracer named like
    each tool, first on PATH) and through subprocess (by any path)."""
    bin_dir = tmp_path / "tracer-bin"
    bin_dir.mkdir()
    marks = tmp_path / "x-key-tool-calls.txt"
    for tool in X_KEY_TOOLS:
        tracer = bin_dir / tool
        tracer.write_text(f"#!/bin/sh\necho {tool} \"$@\" >> '{marks}'\n")
        tracer.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    calls: list[str] = []
    real_init = subprocess.Popen.__init__

    def init(self, args, *a, **kw):
        argv = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args)
        if argv and Path(str(argv[0]).split()[0]).name in X_KEY_TOOLS:
            calls.append(" ".join(map(str, argv)))
        real_init(self, args, *a, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", init)
    yield calls
    assert not calls, f"an X key tool ran: {calls}"
    assert not marks.exists(), f"an X key tool ran: {marks.read_text()}"


@pytest.fixture
def console(qtbot, tmp_path, gng_root, no_x_key_tool):
    from rigconsole.ui.app import build_console

    root = tmp_path / "root"
    shutil.copytree(REPO / "resources" / "experiments", root)
    shutil.copytree(gng_root / "GoNoGo", root / "GoNoGo")
    shutil.copytree(REPO / "tests" / "experiments" / "failing", root / "failing")
    (root / "broken").mkdir()
    shutil.copy(REPO / "tests" / "experiments" / "broken" / "syntax_error.py", root / "broken")
    (root / "waits").mkdir()
    (root / "waits" / "waits.py").write_text(STUCK)
    settings = Settings(root=root, data_dir=tmp_path / "data", window=WindowSettings(size=(400, 300)))
    c = build_console(settings=settings, simulated_vsync_hz=60, show=True, instruments=False)
    qtbot.waitExposed(c.window)
    yield c
    if c.session.current_run is not None:
        c.session.stopExperiment()
        qtbot.waitUntil(lambda: c.session.current_run is None and not c.controller.busy, timeout=20_000)
    c.close()


def _select(qtbot, w, key, values):
    assert w.experiments.select(key), key
    qtbot.waitUntil(lambda: w.current_key() == key)
    w.form.set_values(values)


def _start(qtbot, w, speed=None):
    """Dry run (the action), then *Start* in the Dry run dialog (at ``speed`` when given)."""
    w.dry_run_action.trigger()
    qtbot.waitUntil(lambda: w.dry_run_view.ask_dialog is not None and w.dry_run_view.ask_dialog.isVisible())
    ask = w.dry_run_view.ask_dialog
    if speed is not None:
        ask.speed_box.setCurrentIndex(ask.speed_box.findData(speed))
    ask.buttons.accepted.emit()
    return ask


def _report_dialog(qtbot, w, timeout):
    qtbot.waitUntil(lambda: w.dry_run_view.dialog is not None and w.dry_run_view.dialog.isVisible(), timeout=timeout)
    return w.dry_run_view.dialog


def test_dry_run_of_the_bundled_gonogo_from_the_console(qtbot, console, tmp_path):
    import h5py
    from PySide6.QtGui import QGuiApplication

    c, w = console, console.window
    data = tmp_path / "data"
    session_file = c.rig.data_log.path
    _select(qtbot, w, "gonogo/gonogo.py", {"participant": "sim01", "nTrials": 6})
    assert w.dry_run_action.isEnabled()
    assert "simulated participant" in w.dry_run_action.toolTip() and "dry-runs" in w.dry_run_action.toolTip()
    assert w.dry_run_action in w.toolbar.actions()
    assert w.dry_run_action in next(m for m in w.menuBar().actions() if m.text() == "&Run").menu().actions()
    during = []
    c.bridge.trialAdded.connect(
        lambda rec, row: during.append(
            (w.dry_run_view.indicator.isVisible(), w.dry_run_view.indicator.text(), w.dry_run_action.isEnabled())
        )
    )

    _start(qtbot, w)
    dlg = _report_dialog(qtbot, w, 90_000)

    # while it ran, the console said it is a dry run, and another run could not start
    assert during and all(visible and "DRY RUN · 10x" in text and not enabled for visible, text, enabled in during)
    assert not w.dry_run_view.indicator.isVisible()
    # the report: completed, 6 of 6 trials, frame timing, duration, the dry-runs folder
    assert "completed" in dlg.outcome_label.text()
    # (the go/no-go runs its trials in a loop named trials)
    assert dlg.fields["Trials"].text().startswith("trials 6 of 6"), dlg.fields["Trials"].text()
    assert "frames" in dlg.fields["Frame timing"].text() and "dropped" in dlg.fields["Frame timing"].text()
    assert dlg.fields["Duration"].text() not in ("", "—")
    assert dlg.fields["Data folder"].text() == str(data / "dry-runs")
    assert "Where it stuck" not in dlg.fields
    dlg.copy_button.click()
    copied = QGuiApplication.clipboard().text()
    assert copied.startswith("QA report: gonogo/gonogo.py: completed") and str(data / "dry-runs") in copied
    # PsychoPy's files and the dry run's own session file are under dry-runs; that file is marked
    rec = c.session.run_records[-1]
    assert rec.state == "finished" and rec.exp_info["participant"] == "sim01"
    assert rec.data_files and all(Path(f).is_relative_to(data / "dry-runs") for f in rec.data_files)
    dry_logs = sorted((data / "dry-runs").glob("session_*.h5"))
    assert len(dry_logs) == 1
    with h5py.File(dry_logs[0], "r") as f:
        assert json.loads(f["metadata"].attrs["dry_run"]) == {
            "simulated_participant": True,
            "seed": 0,
            "time_warp": 10.0,
        }
        assert len(f["runs"]) == 1
    # afterwards the console is back on the data folder and its session file: a real run lands there
    assert c.rig.data_log.path == session_file and c.session.dataDir == data
    dlg.close()
    qtbot.waitUntil(lambda: w.dry_run_view.dialog is None)
    _select(qtbot, w, "gonogo/gonogo.py", {"participant": "real01", "nTrials": 2})
    n = len(c.session.run_records)
    w.run_action.trigger()
    qtbot.waitUntil(
        lambda: len(c.session.run_records) > n and c.session.run_records[-1].ended is not None, timeout=60_000
    )
    real = c.session.run_records[-1]
    assert real.data_files and not any(Path(f).is_relative_to(data / "dry-runs") for f in real.data_files)
    assert w.dry_run_view.dialog is None  # a real run opens no QA report
    c.data_log.flush()
    assert c.rig.recorder.group_for(real) in c.data_log.runs()


def test_dry_run_of_psychopy_gonogo_demo_from_the_console(qtbot, console, tmp_path):
    """PsychoPy's own GoNoGo Builder demo (a key to start, 12 trials): nobody here wrote it."""
    c, w = console, console.window
    _select(qtbot, w, "GoNoGo/gng.psyexp", {"participant": "sim02"})
    _start(qtbot, w)
    dlg = _report_dialog(qtbot, w, 240_000)
    assert "completed" in dlg.outcome_label.text(), dlg.text()
    assert dlg.fields["Trials"].text().startswith("trials 12 of 12"), dlg.fields["Trials"].text()
    assert "key_resp.rt" not in dlg.fields["Empty columns"].text()
    assert c.session.run_records[-1].state == "finished"
    assert all(Path(f).is_relative_to(tmp_path / "data" / "dry-runs") for f in c.session.run_records[-1].data_files)


def test_a_stuck_or_failing_dry_run_is_reported_and_the_console_keeps_working(qtbot, console):
    c, w = console, console.window
    # stuck: a keyboard that accepts only escape, which the participant never presses
    _select(qtbot, w, "waits/waits.py", {"participant": "x"})
    assert c.controller.dry_run("waits/waits.py", w.form.values(), stuck_after_s=1.5)
    dlg = _report_dialog(qtbot, w, 60_000)
    assert "stuck" in dlg.outcome_label.text()
    where = dlg.fields["Where it stuck"].text()
    assert where == "after data row 1: no new row for 1.5 s", where
    assert dlg.fields["Trials"].text().startswith("1 data row"), dlg.fields["Trials"].text()
    assert c.session.run_records[-1].state == "stopped"
    dlg.close()
    qtbot.waitUntil(lambda: w.dry_run_view.dialog is None)
    # failing: raises after two trials; the report says what went wrong
    _select(qtbot, w, "failing/raises.py", {"participant": "y"})
    _start(qtbot, w)
    dlg = _report_dialog(qtbot, w, 60_000)
    assert "failed" in dlg.outcome_label.text()
    assert "stimulus file missing" in dlg.fields["Where"].text()
    assert dlg.fields["Trials"].text().startswith("2 data rows")
    dlg.close()
    # a broken experiment cannot be dry-run (as it cannot be run): the action is off
    assert w.experiments.select("broken/syntax_error.py")
    qtbot.waitUntil(lambda: w.current_key() == "broken/syntax_error.py")
    assert not w.dry_run_action.isEnabled() and not w.run_action.isEnabled()
    _select(qtbot, w, "failing/raises.py", {"participant": "z"})
    # the console still works: not busy, the actions back, the data folder back
    assert w.isVisible() and not c.controller.busy and w.run_action.isEnabled() and w.dry_run_action.isEnabled()
    assert c.rig.dry_run_folder is None and c.session.dataDir == Path(c.rig.settings.data_dir)


def test_the_dry_run_dialog_offers_the_speed_and_the_report_shows_it(qtbot, console, tmp_path):
    """Run → Dry run asks the speed (10x first, 1x to max) and the seed; a dry run of PsychoPy's
    GoNoGo at max ends with a report giving the speed reached and the experiment's and the wall
    time; the next dry run offers the speed chosen last; a real run after it keeps real time."""
    import time as _time

    import psychopy.clock
    from psychopy import core

    c, w = console, console.window
    orig = psychopy.clock.getTime
    _select(qtbot, w, "GoNoGo/gng.psyexp", {"participant": "sim05"})
    w.dry_run_action.trigger()
    qtbot.waitUntil(lambda: w.dry_run_view.ask_dialog is not None and w.dry_run_view.ask_dialog.isVisible())
    ask = w.dry_run_view.ask_dialog
    offered = [ask.speed_box.itemText(i) for i in range(ask.speed_box.count())]
    assert offered[0] == "1x (real time)" and "10x" in offered and offered[-1].startswith("max")
    assert ask.speed() == 10.0 and ask.seed() == 0
    ask.reject()  # Cancel: nothing starts
    qtbot.waitUntil(lambda: w.dry_run_view.ask_dialog is None)
    assert not c.controller.busy and w.run_action.isEnabled()

    t0 = _time.perf_counter()
    _start(qtbot, w, speed="max")
    dlg = _report_dialog(qtbot, w, 120_000)
    assert "completed" in dlg.outcome_label.text(), dlg.text()
    assert dlg.fields["Trials"].text().startswith("trials 12 of 12")
    speed = dlg.fields["Speed"].text()
    assert speed.startswith("max, reached ") and float(speed.split("reached ")[1].rstrip("x")) > 2, speed
    rep = dlg.report
    assert "of experiment time in" in dlg.fields["Duration"].text()
    assert rep.experiment_s > 2 * rep.wall_s and rep.wall_s < _time.perf_counter() - t0
    assert "speed max" in dlg.text()
    rows = _csv(c.session.run_records[-1])
    assert all(r["time_warp"] == "max" for r in rows)
    dlg.close()
    qtbot.waitUntil(lambda: w.dry_run_view.dialog is None)
    # nothing of the warp is left: PsychoPy's own clock, the 60 Hz blank
    assert psychopy.clock.getTime is orig and c.session.frame_budget.refresh_hz == 60
    t_core, t_wall = core.getTime(), _time.perf_counter()
    _time.sleep(0.3)
    assert core.getTime() - t_core == pytest.approx(_time.perf_counter() - t_wall, abs=0.02)
    # the dialog offers the last speed again
    w.dry_run_action.trigger()
    qtbot.waitUntil(lambda: w.dry_run_view.ask_dialog is not None and w.dry_run_view.ask_dialog.isVisible())
    assert w.dry_run_view.ask_dialog.speed() == "max"
    w.dry_run_view.ask_dialog.reject()
    # a real run after it: its frames come at 60 Hz of wall time
    _select(qtbot, w, "gonogo/gonogo.py", {"participant": "real02", "nTrials": 2})
    n = len(c.session.run_records)
    w.run_action.trigger()
    qtbot.waitUntil(
        lambda: len(c.session.run_records) > n and c.session.run_records[-1].ended is not None, timeout=60_000
    )
    real = c.session.run_records[-1]
    assert real.frame_stats["refresh_hz"] == 60 and 14 < real.frame_stats["p50_ms"] < 19, real.frame_stats
    assert all("time_warp" not in r for r in _csv(real))


def _csv(rec):
    import csv

    with open(next(f for f in rec.data_files if f.endswith(".csv")), newline="") as f:
        return list(csv.DictReader(f))
