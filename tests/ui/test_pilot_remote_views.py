"""The observer window and a dashboard tile say PILOT during a pilot run on a real rig (a real
server on 127.0.0.1, the run queue polled by the console's controller, a real stimulus window)."""

from __future__ import annotations

import pytest


@pytest.fixture
def served(rig, controller, tmp_path):
    from rigconsole.remote import RemoteServer, RigView, TokenStore

    tokens = TokenStore(tmp_path / "tokens.json")
    token = tokens.add("PI office", "observer")
    server = RemoteServer(RigView.from_rig(rig, rig_name="rig-pilot"), port=0, tokens=tokens, announce=False)
    rig.add_component("remote", server)
    rig.session.scanRoot()
    yield server, token


def test_observer_window_and_dashboard_tile_say_pilot(qtbot, rig, controller, served):
    from rigconsole.remote import RemoteObserver
    from rigconsole.ui.remote_dashboard import DashboardWindow
    from rigconsole.ui.remote_observer import ObserverWindow

    server, token = served
    win = ObserverWindow(RemoteObserver("127.0.0.1", server.port, token=token))
    qtbot.addWidget(win)
    win.show()
    dash = DashboardWindow([RemoteObserver("127.0.0.1", server.port, token=token)])
    qtbot.addWidget(dash)
    dash.show()
    (tile,) = dash.tiles
    qtbot.waitUntil(lambda: win.conn.text() == "live" and tile.conn.text() == "live", timeout=20_000)
    assert win.state.text() == "Idle" and tile.state.text() == "Idle"

    seen: dict = {}

    def look():  # inside the run (the console is served between frames)
        seen.setdefault("observer", set()).add(win.state.text())
        seen.setdefault("tile", set()).add(tile.state.text())
        seen.setdefault("detail", set()).add(tile.detail.text())
        if "Running · PILOT" in seen["observer"] and "Running · PILOT" in seen["tile"]:
            rig.session.stopExperiment()

    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.timeout.connect(look)
    timer.start(50)
    try:
        assert controller.run("simple/simple.py", {"participant": "", "nTrials": 600}, mode="pilot")
        qtbot.waitUntil(lambda: bool(rig.session.run_records) and rig.session.current_run is None, timeout=60_000)
    finally:
        timer.stop()
    assert "Running · PILOT" in seen["observer"], seen
    assert "Running · PILOT" in seen["tile"], seen
    rec = rig.session.run_records[-1]
    assert rec.pilot and rec.n_trials < 600  # stopped once both said so
    assert "simple/simple.py, participant pilot" in seen["detail"], seen
    dash.close()
    win.close()
