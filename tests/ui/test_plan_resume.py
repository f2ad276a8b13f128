"""Resume in the console: ``rigconsole run PLAN`` is killed (kill -9) during item 2; the console,
once its rig has loaded on the same data folder, offers (non-modal) to resume participant k9's
plan at item 2; accepting runs items 2 and 3, and item 1's run and trials are unchanged in the
first session file. A real stimulus window under Xvfb, real processes and HDF5 files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from rigconsole.datalog import DataLog


def _kill_during_item_2(plan, data, tmp_path):
    """``rigconsole run PLAN`` until item 2 has run a second, then SIGKILL; returns the state file."""
    state_file = data / "plans" / "k9_plan.json"
    cmd = [
        sys.executable,
        "-m",
        "rigconsole.cli",
        "run",
        str(plan),
        "--exp-info",
        "participant=k9",
        "--data-dir",
        str(data),
        "--window",
        "size=320,240",
        "--simulate-vsync",
        "60",
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, RIGCONSOLE_LOG_DIR=str(tmp_path / "log")),
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                items = json.loads(state_file.read_text())["items"]
            except (OSError, ValueError, KeyError):
                items = []
            if len(items) == 3 and items[1]["state"] == "running":
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        else:
            pytest.fail("item 2 never started")
        time.sleep(1.0)  # some of item 2's trials
        proc.kill()  # SIGKILL: no clean-up at all
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    return state_file


def _item1(path, run):
    subprocess.run([sys.executable, "-m", "rigconsole.cli", "data", "recover", str(path)], capture_output=True)
    with DataLog(path, readonly=True) as log:
        return log.run_info(run), {k: [repr(x) for x in v] for k, v in log.trials(run).items()}  # nan == nan


def test_the_console_offers_an_interrupted_plan_and_goes_on_at_item_2(request, tmp_path, ui_root, ui_settings, qtbot):
    plan = ui_root / "plan.yaml"
    simple = ui_root / "simple" / "simple.py"
    plan.write_text(
        "name: Resume battery\nfields: {participant: ''}\nitems:\n"
        f"  - experiment: {simple}\n    expInfo: {{nTrials: 3}}\n"
        f"  - experiment: {simple}\n    expInfo: {{nTrials: 150}}\n"
        f"  - experiment: {simple}\n    expInfo: {{nTrials: 2}}\n"
    )
    data = ui_settings.data_dir
    state_file = _kill_during_item_2(plan, data, tmp_path)
    killed = json.loads(state_file.read_text())
    assert [i["state"] for i in killed["items"]] == ["finished", "running", "pending"]
    (first_h5,) = data.glob("session_*.h5")
    before = _item1(first_h5, killed["items"][0]["run"])
    assert before[0]["outcome"] == "finished" and len(before[1]["participant"]) == 3

    # the console starts on the same data folder: once the rig has loaded, it offers the plan
    from rigconsole.ui.plan_panel import attach_plan_panel

    window, rig, controller = (request.getfixturevalue(n) for n in ("window", "rig", "controller"))
    controller.use_session(rig.session, rig=rig)
    window.resize(1100, 640)
    window.show()
    panel = attach_plan_panel(window, rig)
    try:
        qtbot.waitUntil(lambda: panel.resume_box is not None and panel.resume_box.isVisible(), timeout=10_000)
        box = panel.resume_box
        assert not box.isModal()  # the console stays usable while it asks
        assert 'Participant k9\'s plan "Resume battery" did not finish' in box.text()
        assert box.informativeText().startswith("Resume at item 2 of 3 (simple.py)?")
        shot = window.screen().grabWindow(0)
        assert shot.save(str(tmp_path / "resume-offer.png"))
        assert [b.text() for b in box.buttons() if b.text() == "Start over"] == []  # only when opened anew
        (not_now,) = [b for b in box.buttons() if b.text() == "Not now"]
        not_now.click()  # the state file stays, nothing is queued
        assert rig.queue.items == [] and json.loads(state_file.read_text()) == killed
        # the technician opens the plan for k9 (Open plan…, participant asked): it is offered again
        from rigconsole.plans import load_plan

        box = panel.open_or_offer(load_plan(plan), {"participant": "k9"})
        assert box is not None and box.isVisible() and "Resume at item 2 of 3" in box.informativeText()
        assert sorted(b.text() for b in box.buttons()) == ["Not now", "Resume", "Start over"]
        (resume,) = [b for b in box.buttons() if b.text() == "Resume"]
        resume.click()
        q = rig.queue
        assert [it.plan_index for it in q.items] == [1, 2]
        assert q.plan["participant"] == "k9" and q.plan["resumed"]
        qtbot.waitUntil(lambda: all(it.state == "finished" for it in q.items), timeout=60_000)
        assert [r.exp_info["participant"] for r in rig.session.run_records] == ["k9", "k9"]
        done = json.loads(state_file.read_text())
        assert [i["state"] for i in done["items"]] == ["finished"] * 3
        assert done["items"][0] == killed["items"][0]  # item 1's record as it was
        second_h5 = rig.data_log.path
        assert second_h5 != first_h5
        rig.data_log.flush()
    finally:
        panel.close_panel()
    # item 1's run and trials are unchanged in the first session file; items 2 and 3 are in the new one
    assert _item1(first_h5, killed["items"][0]["run"]) == before
    with DataLog(second_h5, readonly=True) as log:
        assert [log.run_info(r)["n_trials"] for r in log.runs()] == [150, 2]
        assert log.metadata("plan")["data_logs"] == [str(first_h5), str(second_h5)]
