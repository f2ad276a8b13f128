"""The console's Plan panel on a real rig and stimulus window under Xvfb: a plan opened for one
participant (asked once), items with their state, trial n of N and elapsed time mid-plan, the
estimated finish, drag-reorder of pending items, Pause after this item, Skip, Retry, Stop; a
screenshot of the panel mid-plan, looked at (docs/screenshots/plan-panel.png)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def panel(window, rig, controller):
    from rigconsole.ui.plan_panel import attach_plan_panel

    controller.use_session(rig.session, rig=rig)  # the queue is polled by the console's timer
    p = attach_plan_panel(window, rig)
    window.resize(1100, 640)
    yield p
    if rig.queue.running is not None:
        rig.queue.stop()
    p.close_panel()


def test_a_plan_runs_in_the_panel_and_is_steered_from_its_toolbar(panel, rig, window, qtbot, ui_root, tmp_path):
    from rigconsole.plans import load_plan
    from rigconsole.ui.plan_panel import ParticipantDialog

    plan_file = ui_root / "battery.yaml"
    plan_file.write_text(
        "name: Demo battery\nfields: {participant: '', session: '001'}\nitems:\n"
        "  - experiment: simple/simple.py\n    expInfo: {nTrials: 2}\n"
        "  - experiment: simple/simple.py\n    expInfo: {nTrials: 400}\n    label: long task\n"
        "  - experiment: simple/simple.py\n    expInfo: {nTrials: 1}\n    label: last task\n"
    )
    plan = load_plan(plan_file)
    dialog = ParticipantDialog(plan, window)  # the participant fields, asked once
    assert list(dialog.edits) == ["participant", "session"]
    dialog.edits["participant"].setText("s05")
    values = dialog.values()
    assert values == {"participant": "s05", "session": "001"}
    from rigconsole.notifications import notifications

    errors = []

    def plan_or_run_error(n):
        if n.source in ("plan", "run"):
            errors.append(n.message)

    notifications.notified.connect(plan_or_run_error)
    q = rig.queue
    seen = {}

    def mid_plan(rec, row):  # inside the run (the console is served between frames): look at the panel
        run = q.running
        if "lines" in seen or run is None or run.label != "long task" or rec.n_trials < 5:
            return
        panel.refresh()
        seen["lines"] = panel.item_texts()
        seen["header"] = panel.header.text()
        seen["estimate"] = panel.estimate_label.text()
        shot = window.grab()
        assert shot.save(str(tmp_path / "plan-panel.png"))
        if os.environ.get("RIGCONSOLE_UPDATE_SCREENSHOTS") == "1":  # the committed screenshot
            shot.save(str(REPO / "docs" / "screenshots" / "plan-panel.png"))
        third = q.pending[0]
        # a fourth item queued, then dragged ahead of the third (pending items reorder)
        extra = q.add("simple/simple.py", {"participant": "s05", "nTrials": 1}, label="extra")
        panel.move_pending(extra.id, 0)
        seen["order"] = [it.id for it in q.pending] == [extra.id, third.id]
        seen.update(third=third, extra=extra)
        panel.pause_action.trigger()  # Pause after this item
        seen["holding"] = q.holding
        panel.stop_action.trigger()  # Stop: the running item is stopped, its trials kept

    rig.session.events.trial_added.connect(mid_plan)
    assert panel.open_plan(plan, values)
    qtbot.waitUntil(lambda: "lines" in seen and q.running is None, timeout=60_000)
    lines = seen["lines"]
    assert lines[0].startswith("1. simple  (plan item 1) — finished")
    assert "2. long task  (plan item 2) — running — trial 5 of 400 — 0:0" in lines[1], lines
    assert lines[2].startswith("3. last task  (plan item 3) — pending")
    assert "participant <b>s05</b>" in seen["header"] and "item 2 of 3" in seen["header"]
    assert seen["estimate"].startswith("Estimated finish ")
    assert seen["order"] and seen["holding"]
    third, extra = seen["third"], seen["extra"]
    long = q.history[-1]
    assert long.state == "stopped" and long.record.n_trials >= 5 and q.pending[0] is extra and q.holding
    # Skip the selected pending item, Retry the stopped one, Start: the rest runs
    panel.refresh()
    panel.list.setCurrentRow(len(q.items) - 2)  # extra
    panel.skip_action.trigger()
    assert extra.state == "skipped"
    panel.list.setCurrentRow(1)
    rig.session.events.trial_added.connect(
        lambda rec, row: q.running is not None and q.running.retry_of == long.id and rec.n_trials >= 2 and q.stop()
    )
    panel.retry_action.trigger()
    retried = q.pending[0]
    assert retried.retry_of == long.id
    panel.start_action.trigger()
    qtbot.waitUntil(lambda: retried.state == "stopped", timeout=30_000)
    panel.start_action.trigger()
    qtbot.waitUntil(lambda: third.state == "finished", timeout=30_000)
    assert [r.exp_info["participant"] for r in rig.session.run_records] == ["s05"] * 4
    notifications.notified.disconnect(plan_or_run_error)
    assert errors == []
