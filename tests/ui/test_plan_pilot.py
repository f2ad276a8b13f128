"""Pilot mode in the Plan panel (real rig and stimulus window under Xvfb): Pilot ⇄ Run on a pending
item, a pilot item's [PILOT] line, and the question before a plan runs an experiment for real after
pilot runs of it (asked once, at Start: nothing runs before "Run for real")."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from rigconsole.rig import PILOT_FOLDER


@pytest.fixture
def panel(window, rig, controller):
    from rigconsole.ui.plan_panel import attach_plan_panel

    controller.use_session(rig.session, rig=rig)  # the queue is polled by the console's timer
    p = attach_plan_panel(window, rig)
    yield p
    if rig.queue.running is not None:
        rig.queue.stop()
    p.close_panel()


def _plan(ui_root, text):
    from rigconsole.plans import load_plan

    path = ui_root / "battery.yaml"
    path.write_text(text)
    return load_plan(path)


def _idle(qtbot, rig):
    q = rig.queue
    qtbot.waitUntil(lambda: q.running is None and not q.pending and q.in_break is None, timeout=30_000)


def test_a_plan_with_a_pilot_item_asks_once_then_pilots_and_runs(panel, rig, qtbot, ui_root, tmp_path):
    data = tmp_path / "data"
    q = rig.queue
    plan = _plan(
        ui_root,
        "name: Try then test\nfields: {participant: ''}\nitems:\n"
        "  - experiment: simple/simple.py\n    expInfo: {nTrials: 2}\n    mode: pilot\n"
        "  - experiment: simple/simple.py\n    expInfo: {nTrials: 2}\n",
    )
    assert panel.open_plan(plan, {"participant": "s05"})
    box = panel.question
    assert box is not None and box.isVisible() and "after pilot runs" in box.text()
    assert q.holding and [it.mode for it in q.pending] == ["pilot", "run"]
    assert any("[PILOT]" in line for line in panel.item_texts())
    qtbot.wait(200)
    assert rig.session.run_records == []  # nothing runs before the answer
    box.findChild(type(box.defaultButton()), "runForReal").click()
    _idle(qtbot, rig)
    pilot, real = rig.session.run_records
    assert pilot.pilot and not real.pilot
    assert all(Path(f).is_relative_to(data / PILOT_FOLDER) for f in pilot.data_files)
    assert real.data_files and not any(Path(f).is_relative_to(data / PILOT_FOLDER) for f in real.data_files)
    assert pilot.exp_info["participant"] == "s05"  # the plan's participant is given: kept


def test_pilot_run_toggle_on_a_pending_item(panel, rig, qtbot, ui_root):
    q = rig.queue
    plan = _plan(ui_root, "name: One\nfields: {participant: ''}\nitems:\n  - experiment: simple/simple.py\n")
    assert panel.open_plan(plan, {"participant": "s06"}, start=False)
    assert panel.question is None and q.holding
    panel.list.setCurrentRow(0)
    panel.mode_action.trigger()
    assert q.pending[0].mode == "pilot"
    qtbot.waitUntil(lambda: "[PILOT]" in panel.item_texts()[0])
    panel.mode_action.trigger()
    assert q.pending[0].mode == "run"
    qtbot.waitUntil(lambda: "[PILOT]" not in panel.item_texts()[0])
    # a one-off pilot run from the console, then Start on the plan's real run: asked first
    panel.mode_action.trigger()
    panel.start()
    assert panel.question is None  # a pilot item: nothing to ask
    _idle(qtbot, rig)
    assert rig.session.run_records[-1].pilot
    assert q.after_pilot("simple/simple.py")
    plan2 = _plan(ui_root, "name: Two\nfields: {participant: ''}\nitems:\n  - experiment: simple/simple.py\n")
    assert panel.open_plan(plan2, {"participant": "s06"})
    box = panel.question
    assert box is not None and "was a pilot run" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.wait(200)
    assert len(rig.session.run_records) == 1 and q.holding
