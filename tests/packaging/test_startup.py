"""Start-up as a technician meets it (issue 15): the console window is on the screen, painted,
before PsychoPy is imported; the rig loads as the event loop's next steps; a rig that does
not load leaves the console up with the error dialog naming the log file."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# the composition root's two phases, as rigconsole.ui.app.main() runs them
TWO_PHASES = textwrap.dedent("""
    import json, sys, time
    import rigconsole.ui
    from PySide6.QtCore import QTimer
    from rigconsole.ui.app import start_console

    out = {}
    c = start_console()
    w = c.window
    t0 = time.perf_counter()
    while not (w.windowHandle() and w.windowHandle().isExposed()) and time.perf_counter() - t0 < 30:
        c.app.processEvents()
    c.app.processEvents()
    out["shown"] = {"exposed": w.windowHandle().isExposed(), "psychopy": "psychopy" in sys.modules,
                    "run": w.run_action.isEnabled(), "add": w.add_action.isEnabled(),
                    "settings": w.settings_action.isEnabled(), "status": w.statusBar().currentMessage(),
                    "menus": [a.text() for a in w.menuBar().actions()], "experiments": w.experiments.keys(),
                    "details": w.experiments.details.text(), "session": c.session is None}
    w.grab().save(sys.argv[1])
    c.load_rig_later()

    def check():
        if c.ready or c.load_error is not None or time.perf_counter() - t0 > 120:
            out["ready"] = {"ready": c.ready, "error": repr(c.load_error), "psychopy": "psychopy" in sys.modules,
                            "run": w.run_action.isEnabled(), "settings": w.settings_action.isEnabled(),
                            "status": w.statusBar().currentMessage(), "experiments": w.experiments.keys(),
                            "current": w.current_key(), "fields": list(w.form.fields),
                            "window_session": w.session is c.session, "data_log": c.data_log is not None}
            w.close()
        else:
            QTimer.singleShot(20, check)

    check()
    with c.loop:
        c.loop.run_until_complete(w.closed_future())
    c.close()
    print("RESULT " + json.dumps(out))
""")


def test_the_window_shows_before_psychopy_loads_then_the_rig_fills_it(app_env, tmp_path):
    shot = tmp_path / "loading.png"
    res = subprocess.run(
        [sys.executable, "-c", TWO_PHASES, str(shot)],
        env=app_env,
        text=True,
        capture_output=True,
        timeout=240,
        cwd=REPO,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    out = json.loads(next(ln for ln in res.stdout.splitlines() if ln.startswith("RESULT "))[7:])
    shown, ready = out["shown"], out["ready"]
    # the real window, exposed, with its menus, and PsychoPy not imported yet
    assert shown["exposed"] and not shown["psychopy"] and shown["session"]
    assert shown["menus"] == ["&File", "&Run", "&View", "&Help"]
    assert shown["status"] == "Loading PsychoPy…" and "Loading PsychoPy" in shown["details"]
    assert not shown["run"] and not shown["add"] and not shown["settings"] and shown["experiments"] == []
    assert shot.stat().st_size > 10_000  # a painted window, not an empty frame
    # then the rig: the bundled demos listed, the first one selected with its expInfo form, Run enabled
    assert ready["ready"] and ready["error"] == "None" and ready["psychopy"]
    assert "gonogo/gonogo.py" in ready["experiments"] and ready["current"] == ready["experiments"][0]
    assert "participant" in ready["fields"]
    assert ready["run"] and ready["settings"] and ready["window_session"] and ready["data_log"]
    assert ready["status"] == "Ready"


def test_a_rig_that_does_not_load_leaves_the_console_up_with_the_error_dialog(qtbot, tmp_path, exp_root):
    from rigconsole.settings import Settings, WindowSettings
    from rigconsole.ui.app import start_console

    missing = tmp_path / "usb-stick" / "experiments"  # the last root, on a drive that is not plugged in
    settings = Settings(root=missing, data_dir=tmp_path / "data", window=WindowSettings(size=(320, 240)))
    c = start_console(
        settings=settings, simulated_vsync_hz=60, instruments=False, log_path=tmp_path / "log" / "rigconsole.log"
    )
    error_dialog = c.presenter.error_dialog
    try:
        qtbot.waitExposed(c.window)
        c.load_rig_later()
        qtbot.waitUntil(lambda: c.load_error is not None, timeout=60_000)
        assert isinstance(c.load_error, NotADirectoryError) and c.rig is None and not c.ready
        qtbot.waitUntil(lambda: error_dialog.dialog is not None and error_dialog.dialog.isVisible())
        box = error_dialog.dialog
        assert "experiment root folder does not exist" in box.text() and str(missing) in box.text()
        assert str(tmp_path / "log" / "rigconsole.log") in box.text()
        w = c.window
        assert w.isVisible() and not w.run_action.isEnabled() and not w.add_action.isEnabled()
        assert "could not start the rig" in w.statusBar().currentMessage()
        assert str(missing) in w.statusBar().currentMessage()
        qtbot.wait(200)
        assert c.load_error is not None and error_dialog.shown == 1  # reported once, no retry loop
        # the technician picks a folder that is there in Settings…: the rig loads with it
        assert w.settings_action.isEnabled() and "Settings" in w.experiments.details.text()
        dlg = w.open_settings()
        dlg.root_edit.setText(str(tmp_path / "still-missing"))
        assert not dlg.apply() and "does not exist" in dlg.error_label.text() and c.load_error is not None
        there = exp_root
        dlg.root_edit.setText(str(there))
        assert dlg.apply(), dlg.error_label.text()
        qtbot.waitUntil(lambda: c.ready, timeout=90_000)
        assert c.rig is not None and Path(c.rig.session.root) == there and c.load_error is None
        assert "simple/simple.py" in c.rig.session.experiment_files
        assert Path(w.settings.root) == there
    finally:
        c.close()
    assert not c.window.isVisible()
