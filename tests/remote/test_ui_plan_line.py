"""The observer window and a dashboard tile show "item k of n, participant, estimated finish"
during a real plan: a real Session and run queue served over 127.0.0.1, the stream's ``queue``
events read by the Qt windows (the rig's loop serves Qt between frames, as the console does)."""

from __future__ import annotations

import re
import time

import pytest

pytest.importorskip("PySide6", reason="the Qt suite (the core suite blocks Qt)")


def test_the_observer_window_and_a_dashboard_tile_show_the_plan(qtbot, rig, exp_root, tmp_path):
    from PySide6.QtWidgets import QApplication

    from rigconsole.plans import PlanRun, load_plan
    from rigconsole.remote import RemoteObserver
    from rigconsole.ui.remote_dashboard import DashboardWindow
    from rigconsole.ui.remote_observer import ObserverWindow

    queue = rig.server.view.queue
    plan_file = exp_root / "battery.yaml"
    plan_file.write_text(
        "name: Remote battery\nfields: {participant: ''}\nitems:\n"
        "  - experiment: simple/simple.py\n    expInfo: {nTrials: 3}\n"
        "  - experiment: simple/simple.py\n    expInfo: {nTrials: 60}\n"
        "  - experiment: simple/simple.py\n    expInfo: {nTrials: 2}\n"
    )
    win = ObserverWindow(RemoteObserver("127.0.0.1", rig.port, token=rig.observer_token))
    dash = DashboardWindow([RemoteObserver("127.0.0.1", rig.port, token=rig.observer_token)])
    qtbot.addWidget(win)
    qtbot.addWidget(dash)
    win.resize(1100, 600)
    win.show()
    dash.show()
    (tile,) = dash.tiles

    def serve():  # the rig's loop: its command queue, and Qt between frames
        rig.session.commands.drain()
        QApplication.processEvents()

    qtbot.waitUntil(lambda: (serve(), win.conn.text() == "live" and tile.conn.text() == "live")[1], timeout=20000)
    assert win.plan.text() == "" and tile.plan.text() == ""  # no plan yet
    seen = {}

    def mid_item_2(rec, row):
        run = queue.running
        if "observer" in seen or run is None or run.plan_index != 1 or rec.n_trials < 20:
            return
        for _ in range(50):  # the stream's events reach both windows (queued signals)
            serve()
            if "item 2 of 3" in win.plan.text() and "item 2 of 3" in tile.plan.text():
                break
        seen["observer"], seen["tile"] = win.plan.text(), tile.plan.text()
        # an observer attaching mid-plan shows the line at once, not at the plan's next event
        late = ObserverWindow(RemoteObserver("127.0.0.1", rig.port, token=rig.observer_token))
        qtbot.addWidget(late)
        late.show()
        t_end = time.monotonic() + 15
        while "item 2 of 3" not in late.plan.text() and time.monotonic() < t_end:
            serve()
            time.sleep(0.01)
        seen["late"] = late.plan.text()
        late.close()
        late_dash = DashboardWindow([RemoteObserver("127.0.0.1", rig.port, token=rig.observer_token)])
        qtbot.addWidget(late_dash)
        late_dash.show()
        t_end = time.monotonic() + 15
        while "item 2 of 3" not in late_dash.tiles[0].plan.text() and time.monotonic() < t_end:
            serve()
            time.sleep(0.01)
        seen["late tile"] = late_dash.tiles[0].plan.text()
        late_dash.close()
        assert win.grab().save(str(tmp_path / "observer-plan.png"))
        assert dash.grab().save(str(tmp_path / "dashboard-plan.png"))

    rig.session.events.trial_added.connect(mid_item_2)
    run = PlanRun(load_plan(plan_file), {"participant": "s21"}, queue, tmp_path / "data")
    run.start()
    queue.run_until_idle(idle=QApplication.processEvents)
    run.close()
    assert [it.state for it in queue.items] == ["finished"] * 3
    line = re.compile(r"^item 2 of 3, participant s21, estimated finish \d\d:\d\d$")
    assert line.match(seen["tile"]), seen
    assert seen["observer"].startswith("Plan: ") and line.match(seen["observer"][6:]), seen
    assert line.match(seen["late"][6:]) and line.match(seen["late tile"]), seen
    qtbot.waitUntil(lambda: (serve(), "done" in tile.plan.text())[1], timeout=10000)
    assert win.plan.text() == "Plan: item 3 of 3, participant s21, done"
    win.close()
    dash.close()
