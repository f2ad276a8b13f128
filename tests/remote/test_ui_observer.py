"""The Qt observer window against a real rig server during a real run (full suite; needs Qt):
status, trial count, live plots, controls for operators, a refused control shown. Screenshot
(RIGCONSOLE_UPDATE_SCREENSHOTS=1): docs/screenshots/remote-observer.png."""
from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("PySide6", reason="the Qt suite (the core suite blocks Qt)")

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_observer_window_mirrors_a_rig(qtbot, rig, tmp_path):
    from rigconsole.remote import RemoteObserver
    from rigconsole.ui.remote_observer import AttachDialog, ObserverWindow

    dl = rig.data_log
    stop = threading.Event()

    def log_values():
        i = 0
        while not stop.is_set():
            dl.add_entry(pupil_mm=3.0 + 0.01 * (i % 50), luminance=40.0 + (i % 7))
            i += 1
            time.sleep(0.02)

    from PySide6.QtCore import QTimer

    drain = QTimer()  # the rig's main loop serving its command queue, as the console does
    drain.timeout.connect(rig.session.commands.drain)
    drain.start(10)
    dlg = AttachDialog()
    qtbot.addWidget(dlg)
    dlg.port.setValue(rig.port)
    dlg.token.setText(rig.operator_token)
    dlg._accept()
    assert dlg.result() == dlg.DialogCode.Accepted
    win = ObserverWindow(dlg.observer())
    qtbot.addWidget(win)
    win.resize(1100, 600)
    win.show()
    th = threading.Thread(target=log_values)
    th.start()
    try:
        try:
            qtbot.waitUntil(lambda: win.conn.text() == "live", timeout=20000)
        except Exception:
            raise AssertionError(f"connection line: {win.conn.text()!r}, state {win.state.text()!r}")
        qtbot.waitUntil(lambda: {"pupil_mm", "luminance"} <= set(win._plots), timeout=20000)
        assert win.state.text() == "Idle" and win.buttons["pause"].isVisible()
        win.buttons["pause"].click()  # nothing runs: the rig answers 409, shown under the buttons
        qtbot.waitUntil(lambda: "no run in progress" in win.control_error.text(), timeout=20000)
        win.show_status({"rig": "rig-test", "state": "running", "locked": False,
                         "you": {"name": "second tech", "role": "operator"},
                         "run": {"key": "gonogo/gonogo.psyexp", "trial": 12, "of": 40,
                                 "expInfo": {"participant": "p42"}}})
        qtbot.wait(500)
        shot = tmp_path / "remote-observer.png"
        assert win.grab().save(str(shot)) and shot.stat().st_size > 10_000
        if os.environ.get("RIGCONSOLE_UPDATE_SCREENSHOTS") == "1":
            shutil.copy(shot, SHOTS / "remote-observer.png")
        assert win.trial.text() == "trial 12 of 40" and win.progress.value() == 12
    finally:
        stop.set()
        th.join()
        win.close()
        drain.stop()
    observer_win = ObserverWindow(RemoteObserver("127.0.0.1", rig.port, token=rig.observer_token))
    qtbot.addWidget(observer_win)
    observer_win.show()
    qtbot.waitUntil(lambda: "observer" in observer_win.rig.text(), timeout=20000)
    assert not observer_win.buttons["pause"].isVisible()
    observer_win.close()


def test_dashboard_tiles_two_rigs_one_unreachable(qtbot, rig):
    from rigconsole.remote import RemoteObserver
    from rigconsole.ui.remote_dashboard import DashboardWindow

    dash = DashboardWindow([RemoteObserver("127.0.0.1", rig.port, token=rig.observer_token),
                            RemoteObserver("127.0.0.1", 1, token="x", timeout=1)])
    qtbot.addWidget(dash)
    dash.show()
    good, gone = dash.tiles
    qtbot.waitUntil(lambda: good.name.text() == "rig-test" and good.conn.text() == "live", timeout=20000)
    assert good.state.text() == "Idle" and good.detail.text() == "no run"
    qtbot.waitUntil(lambda: "cannot reach" in gone.conn.text(), timeout=20000)
    dash.close()
