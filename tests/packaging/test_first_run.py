"""First-run pieces as a technician meets them: the log file, the error dialog, one console
per user, and the self-test from the source tree (real Qt, real processes, real files)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENTRY = REPO / "packaging" / "rigconsole_entry.py"


# ------------------------------------------------------------------ log file
def test_log_file_goes_to_the_platform_log_folder_and_rotates(tmp_path, monkeypatch):
    from rigconsole import logfiles

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("RIGCONSOLE_LOG_DIR", raising=False)
    monkeypatch.setattr(logfiles, "MAX_BYTES", 2000)
    try:
        path = logfiles.setup_log_file()
        assert path == tmp_path / "state" / "rigconsole" / "log" / "rigconsole.log"
        assert logfiles.setup_log_file() == path  # idempotent: one handler
        assert sum(isinstance(h, logfiles._RigConsoleFileHandler) for h in logging.getLogger().handlers) == 1
        for i in range(200):
            logging.getLogger("rigconsole.test").info("line %d of a long session", i)
        assert "line 199 of a long session" in path.read_text()
        olds = sorted(p.name for p in path.parent.iterdir())
        assert "rigconsole.log.1" in olds and len(olds) <= 1 + logfiles.BACKUP_COUNT
    finally:
        logfiles.close_log_file()
    assert logfiles.current_log_path() is None


def test_log_file_in_an_unwritable_place_is_one_warning_not_a_crash(tmp_path, monkeypatch, caplog):
    from rigconsole import logfiles

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("RIGCONSOLE_LOG_DIR", str(blocker / "log"))
    with caplog.at_level(logging.WARNING):
        assert logfiles.setup_log_file() is None
    assert any("no log file" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------ error dialog
@pytest.fixture
def manager():
    from rigconsole.notifications import NotificationManager

    return NotificationManager()


@pytest.fixture
def presenter(qtbot, tmp_path, manager):
    from rigconsole.ui.error_dialog import NotificationPresenter

    banners, statuses = [], []
    p = NotificationPresenter(
        manager, log_path=tmp_path / "log" / "rigconsole.log", show_banner=banners.append, show_status=statuses.append
    )
    p.banners, p.statuses = banners, statuses
    yield p
    p.close()


def test_an_uncaught_error_opens_a_dialog_with_the_message_and_the_log_path(qtbot, presenter, manager, tmp_path):
    from PySide6.QtWidgets import QApplication

    error_dialog = presenter.error_dialog
    try:
        raise ValueError("the photometer said something odd")
    except ValueError:
        manager.sys_hook(*sys.exc_info())
    qtbot.waitUntil(lambda: error_dialog.dialog is not None and error_dialog.dialog.isVisible())
    box = error_dialog.dialog
    assert "the photometer said something odd" in box.text()
    assert str(tmp_path / "log" / "rigconsole.log") in box.text()
    assert "still running" in box.text()
    assert "ValueError" in box.detailedText()
    assert not box.isModal()  # the console goes on behind it
    # an error in a worker thread reaches the same dialog (queued to the GUI thread)

    def worker():
        raise RuntimeError("the VISA worker fell over")

    t = threading.Thread(target=worker, name="visa-worker")
    orig = threading.excepthook
    threading.excepthook = manager.thread_hook
    try:
        t.start()
        t.join()
    finally:
        threading.excepthook = orig
    qtbot.waitUntil(lambda: "1 more error" in box.informativeText())
    assert "the VISA worker fell over" in box.informativeText() and "visa-worker" in box.informativeText()
    assert error_dialog.shown == 2
    # the event loop still runs, and closing the dialog lets the next error open a new one
    from PySide6.QtWidgets import QMessageBox

    box.button(QMessageBox.StandardButton.Ok).click()  # the technician reads it and clicks OK
    qtbot.waitUntil(lambda: error_dialog.dialog is None)
    try:
        {}["x"]
    except KeyError:
        manager.sys_hook(*sys.exc_info())
    qtbot.waitUntil(lambda: error_dialog.dialog is not None)
    assert "KeyError" in error_dialog.dialog.text()
    assert QApplication.instance() is not None
    assert presenter.banners == [] and presenter.statuses == []  # each shown once: in the dialog only


def test_other_notifications_and_error_records_do_not_open_the_dialog(qtbot, presenter, manager):
    from rigconsole.notifications import Severity

    logging.getLogger("rigconsole.ui").error("experiment gonogo failed: participant is required")
    manager.notify("gonogo failed: participant is required", source="run")
    manager.notify("instrument psu: down (connection refused)", Severity.WARNING, source="instrument")
    qtbot.wait(100)
    assert presenter.error_dialog.dialog is None and presenter.error_dialog.shown == 0
    assert presenter.banners == ["gonogo failed: participant is required"]
    assert presenter.statuses == ["instrument psu: down (connection refused)"]


# ------------------------------------------------------------------ single instance
SECOND_LAUNCH = textwrap.dedent("""
    import sys, time
    t0 = time.perf_counter()
    import rigconsole.ui
    from rigconsole.ui.single_instance import claim_single_instance
    inst = claim_single_instance(sys.argv[1])
    print("second" if inst is None else "primary", f"{time.perf_counter() - t0:.3f}", flush=True)
    print("psychopy imported" if "psychopy" in sys.modules else "psychopy not imported", flush=True)
""")


def test_a_second_launch_brings_the_running_console_forward_and_exits(qtbot, app_env):
    from PySide6.QtWidgets import QMainWindow

    from rigconsole.ui.single_instance import SingleInstance

    key = f"rigconsole-test-{os.getpid()}"
    first = SingleInstance(key)
    assert first.claim() and first.is_primary
    w = QMainWindow()
    w.setObjectName("rigconsole_main")
    w.setWindowTitle("Rig Console")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.showMinimized()
    qtbot.waitUntil(lambda: w.isMinimized())
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", SECOND_LAUNCH, key],
            env=app_env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        qtbot.waitUntil(lambda: proc.poll() is not None, timeout=30_000)  # serve Qt while it asks
        out, err = proc.communicate()
        assert proc.returncode == 0, err
        assert out.startswith("second"), out + err
        assert "psychopy not imported" in out  # it exits before the heavy part
        assert first.activations == 1
        qtbot.waitUntil(lambda: not w.isMinimized())
        assert w.isVisible()
    finally:
        first.close()
    # once the first console is gone, the next launch is the primary one
    proc = subprocess.run(
        [sys.executable, "-c", SECOND_LAUNCH, key], env=app_env, text=True, capture_output=True, timeout=60
    )
    assert proc.stdout.startswith("primary"), proc.stdout + proc.stderr


def test_a_stale_socket_from_a_crashed_console_is_taken_over(qtbot, app_env, tmp_path):
    from rigconsole.ui.single_instance import SingleInstance

    key = f"rigconsole-stale-{os.getpid()}"
    # a console that dies without closing its server leaves the socket file behind
    crash = textwrap.dedent("""
        import os, sys
        import rigconsole.ui
        from PySide6.QtWidgets import QApplication
        from rigconsole.ui.single_instance import SingleInstance
        app = QApplication([])
        s = SingleInstance(sys.argv[1])
        assert s.claim()
        os._exit(0)
    """)
    subprocess.run([sys.executable, "-c", crash, key], env=app_env, check=True, timeout=60)
    inst = SingleInstance(key)
    try:
        assert inst.claim() and inst.is_primary
    finally:
        inst.close()


# ------------------------------------------------------------------ self-test from source
def _lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith(("ok    ", "FAIL  "))]


def test_self_test_from_source_passes_and_writes_its_data_file(app_env):
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, str(ENTRY), "--self-test"], env=app_env, text=True, capture_output=True, timeout=240, cwd=REPO
    )
    assert res.returncode == 0, res.stdout + res.stderr
    lines = _lines(res.stdout)
    from rigconsole.ui.selftest import CHECKS

    assert [ln.split(":")[0][6:] for ln in lines] == [name for name, _ in CHECKS]
    assert res.stdout.strip().splitlines()[-1].startswith("self-test passed")
    data_line = next(ln for ln in lines if ln.startswith("ok    data file:"))
    h5 = Path(data_line.split(": ", 1)[1].split(" (")[0])
    assert h5.is_file() and str(h5).startswith(app_env["XDG_CACHE_HOME"])
    from rigconsole.datalog import DataLog

    with DataLog(h5, readonly=True) as log:
        (run,) = log.runs()
        assert list(log.trials(run)["participant"]) == ["selftest"] * 3
    # the technician's settings were not written: the self-test keeps its own
    assert not Path(app_env["RIGCONSOLE_SETTINGS"]).exists()
    assert time.perf_counter() - t0 < 240


def test_self_test_names_the_check_that_failed(app_env):
    env = dict(app_env)
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    res = subprocess.run(
        [sys.executable, str(ENTRY), "--self-test"], env=env, text=True, capture_output=True, timeout=120, cwd=REPO
    )
    assert res.returncode == 1
    lines = _lines(res.stdout)
    assert lines[-1].startswith("FAIL  display: no display for the stimulus window")
    assert res.stdout.strip().splitlines()[-1].startswith("self-test FAILED at check 'display'")
