"""Errors reach the technician once, through the one notification path, on the real console.

build_console() (the composition root, a real PsychoPy window under Xvfb, the real data log,
a real SCPI instrument on a socket of 127.0.0.1): an exception raised in a worker thread, in
an asyncio task, in an instrument poll and in a data-log write each shows once (counted in what
the presenter showed: dialog, banner, status bar) and appears once in the log panel.
"""

from __future__ import annotations

import asyncio
import gc
import re
import shutil
import threading
from pathlib import Path

import pytest

from rigconsole.settings import Settings, WindowSettings

REPO = Path(__file__).resolve().parent.parent

RIG = """
rig: notification test rig
instruments:
  sensor:
    resource: "{resource}"
    timeout_s: 0.3
    open_timeout_s: 0.5
    retry: {{down_after_timeouts: 2, backoff_first_s: 0.2, backoff_max_s: 0.8}}
    channels:
      temperature: {{query: "MEAS:TEMP?", unit: degC, period_s: 0.1, limits: [-40, 80]}}
"""


@pytest.fixture
def sim():
    from rigconsole.instruments.simulator import SimulatedInstrument

    s = SimulatedInstrument().start()
    yield s
    s.stop()


@pytest.fixture
def console(qtbot, tmp_path, sim):
    from rigconsole.ui.app import build_console

    root = tmp_path / "root"
    shutil.copytree(REPO / "tests" / "ui" / "experiments" / "simple", root / "simple")
    rig_file = tmp_path / "rig.yaml"
    rig_file.write_text(RIG.format(resource=sim.resource))
    settings = Settings(
        root=root, data_dir=tmp_path / "data", rig_file=rig_file, window=WindowSettings(size=(320, 240))
    )
    c = build_console(settings=settings, simulated_vsync_hz=60, show=True, log_path=tmp_path / "rigconsole.log")
    qtbot.waitExposed(c.window)
    yield c
    c.close()


def _shown(c, needle: str) -> list[str]:
    """Where the presenter showed the notifications whose message contains ``needle``."""
    return [where for where, n in c.presenter.shown if needle in n.message]


def _log_lines(c, needle: str) -> list[str]:
    """The log panel's records (their first lines, "HH:MM:SS  LEVEL ...") that contain ``needle``."""
    return [line for line in c.window.log_panel.lines() if re.match(r"\d\d:\d\d:\d\d ", line) and needle in line]


def test_a_worker_threads_exception_shows_once_in_the_error_dialog(console, qtbot):
    def worker():
        raise RuntimeError("the camera thread fell over")

    t = threading.Thread(target=worker, name="camera")
    t.start()
    t.join()
    qtbot.waitUntil(lambda: bool(_shown(console, "camera thread fell over")), timeout=5000)
    qtbot.wait(300)
    assert _shown(console, "camera thread fell over") == ["dialog"]
    dialog = console.presenter.error_dialog
    assert dialog.shown == 1 and "camera thread fell over" in dialog.dialog.text()
    assert "in thread camera" in dialog.dialog.text() and "rigconsole.log" in dialog.dialog.text()
    assert len(_log_lines(console, "camera thread fell over")) == 1
    assert console.window.banner.text() == ""


def test_an_asyncio_tasks_exception_shows_once_in_the_error_dialog(console, qtbot):
    async def broken():
        raise ValueError("the photometer task said no")

    async def start_and_let_it_fail():
        console.loop.create_task(broken())  # nobody awaits it: the loop's exception handler reports it
        await asyncio.sleep(0.05)

    console.loop.run_until_complete(start_and_let_it_fail())
    gc.collect()  # a failed task nobody awaited is reported when it is collected
    qtbot.waitUntil(lambda: bool(_shown(console, "photometer task said no")), timeout=5000)
    qtbot.wait(300)
    assert _shown(console, "photometer task said no") == ["dialog"]
    assert "in an asyncio task" in console.presenter.error_dialog.dialog.text()
    assert len(_log_lines(console, "photometer task said no")) == 1


def test_an_instrument_poll_that_fails_shows_once_in_the_status_bar(console, qtbot, sim):
    from rigconsole.instruments import ConnectionState

    sensor = console.rig.instruments["sensor"]
    qtbot.waitUntil(lambda: sensor.state == ConnectionState.CONNECTED, timeout=5000)
    sim.stop()  # switched off: the next poll fails, then every reconnection is refused
    qtbot.waitUntil(lambda: bool(_shown(console, "sensor")), timeout=5000)
    qtbot.waitUntil(lambda: sensor.state == ConnectionState.RECONNECTING, timeout=5000)
    qtbot.wait(1500)  # several refused reconnections: told once
    assert _shown(console, "sensor") == ["status"]
    assert "sensor: down" in console.window.statusBar().currentMessage()
    assert len(_log_lines(console, "instrument sensor: down")) == 1
    assert console.presenter.error_dialog.shown == 0


def test_a_data_log_write_error_shows_once_in_the_banner(console, qtbot):
    from rigconsole.datalog import DataLogWriteError

    log = console.data_log
    log.add_entry(a=1.0)
    log.flush()
    path = Path(log.path)
    path.rename(path.with_name("kept.h5"))
    path.mkdir()  # the data file's path now names a folder: the writer cannot reopen it
    log.add_entry(b=2.0)
    with pytest.raises(DataLogWriteError):
        log.flush()
    qtbot.waitUntil(lambda: console.window.banner.isVisible(), timeout=5000)
    for i in range(3):  # later writes fail too: the technician is told once
        try:
            log.add_entry(c=float(i))
            log.flush()
        except DataLogWriteError:
            pass
    qtbot.wait(300)
    assert [where for where, n in console.presenter.shown if n.source == "data log"] == ["banner"]
    assert console.window.banner.text().startswith("Data log: writing") and "is on disk" in console.window.banner.text()
    assert console.presenter.error_dialog.shown == 0
    shot = Path(log.path).parent.parent / "notification-banner.png"
    assert console.window.grab().save(str(shot))  # to look at: the banner above the form
    path.rmdir()
