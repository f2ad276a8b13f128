"""The Trial control dock in the whole console (build_console, the composition root's wiring) during a
real go/no-go run on a real PsychoPy window under Xvfb: Repeat this trial, clicked, puts that trial
in the CSV twice and its annotation says so; the upcoming trials are the next conditions; with no
run every button is greyed with the reason as its tooltip. The screenshot is taken during the run
(RIGCONSOLE_UPDATE_SCREENSHOTS=1: docs/screenshots/trial-control.png)."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from rigconsole.settings import Settings, WindowSettings

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "docs" / "screenshots" if os.environ.get("RIGCONSOLE_UPDATE_SCREENSHOTS") == "1" else None


@pytest.fixture
def console(qtbot, tmp_path):
    from rigconsole.ui.app import build_console

    root = tmp_path / "root"
    shutil.copytree(REPO / "resources" / "experiments", root)
    settings = Settings(root=root, data_dir=tmp_path / "data", window=WindowSettings(size=(400, 300)))
    # (no instruments: the dock and the run are what the screenshot shows)
    c = build_console(settings=settings, simulated_vsync_hz=60, show=True, instruments=False)
    qtbot.waitExposed(c.window)
    qtbot.waitUntil(lambda: c.trial_control is not None, timeout=60_000)
    yield c
    c.close()


def test_idle_every_action_is_greyed_with_the_reason(qtbot, console):
    dock = console.trial_control
    dock.refresh()
    for action, button in dock.buttons.items():
        assert not button.isEnabled(), action
        assert button.toolTip() == "Not now: no run in progress", (action, button.toolTip())
    assert dock.where.text() == "No run in progress"
    assert dock.toggleViewAction() in console.window.view_menu.actions()


def test_repeat_clicked_during_a_gonogo_run_puts_that_trial_in_the_csv_twice(qtbot, console, during_run, tmp_path):
    c = console
    w = c.window
    dock = c.trial_control
    dock.show()
    dock.raise_()
    key = "gonogo/gonogo.py"
    assert w.experiments.select(key)
    qtbot.waitUntil(lambda: w.current_key() == key)
    w.form.set_values({"participant": "tc01", "nTrials": 6, "feedback": False, "responseWindow": 0.4})
    n_runs = len(c.session.run_records)
    seen: dict = {}
    script = during_run()

    def at(n):
        def cond():
            recs = c.session.run_records
            return len(recs) > n_runs and recs[-1].n_trials >= n and recs[-1].state == "running"

        return cond

    def click_repeat():
        dock.refresh()
        seen["state"] = dict(dock.state)
        assert dock.buttons["repeat"].isEnabled(), dock.buttons["repeat"].toolTip()
        qtbot.mouseClick(dock.buttons["repeat"], Qt.MouseButton.LeftButton)

    def shoot():
        dock.refresh()
        seen["after"] = dict(dock.state)
        seen["rows"] = dock.upcoming.rowCount()
        path = (SHOTS or tmp_path) / "trial-control.png"
        w.trial_plot.flush()
        w.grab().save(str(path))
        seen["shot"] = path

    script.when(at(2), click_repeat, "repeat")
    script.when(at(4), shoot, "shot")
    script.start()
    w.run_action.trigger()
    qtbot.waitUntil(
        lambda: len(c.session.run_records) > n_runs and c.session.run_records[-1].ended is not None, timeout=120_000
    )
    script.check(["repeat", "shot"])
    rec = c.session.run_records[-1]
    assert rec.state == "finished", rec.error
    k = seen["state"]["trial"]
    # the upcoming trials the dock listed were the next conditions
    assert [u["thisN"] for u in seen["state"]["upcoming"]] == list(range(k + 1, 6))
    files = sorted(Path(c.session.dataDir).rglob("tc01_gonogo_*.csv"))
    with open(files[-1], newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    trials = [int(float(r["trial"])) for r in rows]
    assert trials == list(range(k + 1)) + list(range(k, 6)), trials
    conds = [r["condition"] for r in rows]
    assert conds[k] == conds[k + 1]  # the same trial, again
    assert [u["conditions"]["condition"] for u in seen["state"]["upcoming"]] == conds[k + 2 :]
    notes = [a for a in c.data_log.annotations() if a["kind"] == "trial-control"]
    assert len(notes) == 1 and notes[0]["source"] == "console"
    assert notes[0]["fields"]["action"] == "repeat" and notes[0]["fields"]["trial"] == k
    assert f"repeat trial {k + 1}" in notes[0]["text"] and f"repeat trial {k + 1}" in rows[k]["notes"]
    assert seen["rows"] > 0 and seen["shot"].stat().st_size > 10_000


def test_a_staircase_greys_repeat_and_skip_with_the_reason(qtbot, console, during_run):
    """The bundled detection task runs a StairHandler: repeat, next and skip are greyed, their
    tooltips say why; pausing at the loop's end and editing expInfo stay available."""
    c = console
    dock = c.trial_control
    seen: dict = {}
    script = during_run()

    def in_staircase():
        return c.session.current_run is not None and dock.state.get("loop_type") == "StairHandler"

    def look():
        dock.refresh()
        seen.update({a: (b.isEnabled(), b.toolTip()) for a, b in dock.buttons.items()})
        seen["where"] = dock.where.text()
        c.rig.queue.stop()

    script.when(lambda: (dock.refresh() or True) and in_staircase(), look, "look")
    script.start()
    # a simulated participant answers the instructions screen (a dry run)
    c.rig.queue.run_now("detection/detection.psyexp", {"participant": "st01"}, mode="dry run")
    qtbot.waitUntil(lambda: "look" in script.done and c.session.current_run is None, timeout=120_000)
    script.check(["look"])
    for action in ("repeat", "next", "skip"):
        enabled, tip = seen[action]
        assert not enabled and tip.startswith("Not now: the running loop 'trials' is a StairHandler"), tip
    assert seen["pause_loop"][0] and seen["exp_info"][0]
    assert "trials (StairHandler)" in seen["where"]


def test_pause_at_end_of_loop_clicked_arms_cancels_and_pauses_after_the_last_trial(
    qtbot, console, during_run, tmp_path
):
    """Clicked in trial 2 of 6 the button is armed (checked, says so); clicked again it is cancelled;
    armed again, the run pauses after trial 6 (the console's Resume is enabled); Resume finishes it."""
    c = console
    w = c.window
    dock = c.trial_control
    dock.show()
    dock.raise_()
    key = "gonogo/gonogo.py"
    assert w.experiments.select(key)
    qtbot.waitUntil(lambda: w.current_key() == key)
    w.form.set_values({"participant": "tc02", "nTrials": 6, "feedback": False, "responseWindow": 0.4})
    n_runs = len(c.session.run_records)
    seen: dict = {}
    script = during_run()
    button = dock.buttons["pause_loop"]

    def run_rec():
        recs = c.session.run_records
        return recs[-1] if len(recs) > n_runs else None

    def arm_cancel_arm():
        dock.refresh()
        assert button.isEnabled() and not button.isChecked(), button.toolTip()
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        seen["armed"] = (button.isChecked(), button.text(), button.toolTip())
        path = (SHOTS or tmp_path) / "trial-control-pause-armed.png"
        dock.grab().save(str(path))
        seen["shot"] = path
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        seen["cancelled"] = (button.isChecked(), button.text())
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        seen["trial"] = dock.state["trial"]

    def at_pause():
        seen["n_at_pause"] = run_rec().n_trials
        seen["resume_enabled"] = w.resume_action.isEnabled()
        dock.refresh()
        seen["after"] = (button.isChecked(), button.text())
        w.resume_action.trigger()

    script.when(
        lambda: run_rec() is not None and run_rec().n_trials >= 1 and run_rec().state == "running",
        arm_cancel_arm,
        "arm",
    )
    script.when(lambda: run_rec() is not None and run_rec().state == "paused", at_pause, "paused")
    script.start()
    w.run_action.trigger()
    qtbot.waitUntil(lambda: run_rec() is not None and run_rec().ended is not None, timeout=120_000)
    script.check(["arm", "paused"])
    assert seen["armed"][:2] == (True, "Pause armed (cancel)")
    assert seen["armed"][2] == "A pause at the end of loop 'trials' is asked for (by console); click to cancel"
    assert seen["cancelled"] == (False, "Pause at end of loop")
    assert seen["trial"] < 5
    assert seen["n_at_pause"] == 6 and seen["resume_enabled"]
    assert seen["after"] == (False, "Pause at end of loop")
    assert run_rec().state == "finished"
    notes = [a["fields"]["action"] for a in c.data_log.annotations() if a["kind"] == "trial-control"]
    assert notes == ["pause_loop", "pause_loop_cancel", "pause_loop", "pause_loop_done"]
    assert seen["shot"].stat().st_size > 3_000
