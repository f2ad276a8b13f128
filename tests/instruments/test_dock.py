"""The Instruments dock (pytest-qt; runs in the non-core suite): states in colour and words,
last values with units, connect/disconnect, the command line with replies and history, rig-file
errors; a screenshot to look at."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

import rigconsole.ui  # noqa: F401  (pins Qt to PySide6 before pytest-qt imports it)
from rigconsole.instruments import RigFileError, load_rig_file, parse_rig_text

from instrument_helpers import socket_rig

SHOTS = Path(os.environ.get("RIGCONSOLE_SCREENSHOT_DIR", Path(tempfile.gettempdir()) / "rigconsole-screenshots"))


@pytest.fixture
def dock(qtbot):
    from rigconsole.ui.instruments_dock import InstrumentsDock

    d = InstrumentsDock()
    qtbot.addWidget(d)
    d.resize(560, 520)
    d.show()
    yield d
    d.close()


def test_states_values_commands_and_history(dock, qtbot, rig_dir, make_manager):
    from PySide6.QtCore import Qt

    from rigconsole.views.palette import INSTRUMENT_STATES

    m = make_manager(load_rig_file(rig_dir / "simulated.yaml"))
    dock.set_manager(m)
    m.start()
    qtbot.waitUntil(lambda: all(dock.shown_state(n) == "connected" for n in m.instruments), timeout=5000)
    item = dock._items["photometer"]
    assert item.foreground(1).color().name() == INSTRUMENT_STATES["connected"].colour
    qtbot.waitUntil(lambda: dock.value_text("photometer", "luminance") != "-", timeout=5000)
    assert 98.0 <= float(dock.value_text("photometer", "luminance")) <= 102.0
    assert dock.reading_text("photometer", "luminance") == dock.value_text("photometer", "luminance") + " cd/m^2"
    # a query from the command line, to the selected instrument
    dock.tree.setCurrentItem(dock._items["psu"])
    qtbot.keyClicks(dock.command_line, "VOLT?")
    qtbot.keyClick(dock.command_line, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "psu < 5.000" in dock.history.toPlainText(), timeout=5000)
    # a typo cannot send 500 V: refused before any I/O, shown in the history
    qtbot.keyClicks(dock.command_line, "VOLT 500")
    qtbot.keyClick(dock.command_line, Qt.Key.Key_Return)
    assert "psu ! psu.voltage = 500 V is outside its limits [0, 12] V" in dock.history.toPlainText()
    # the history comes back with Up
    qtbot.keyClick(dock.command_line, Qt.Key.Key_Up)
    assert dock.command_line.text() == "VOLT 500"
    qtbot.keyClick(dock.command_line, Qt.Key.Key_Up)
    assert dock.command_line.text() == "VOLT?"
    dock.command_line.clear()
    # disconnect and connect again from the buttons
    dock.tree.setCurrentItem(dock._items["thermometer"])
    assert dock.disconnect_button.isEnabled() and not dock.connect_button.isEnabled()
    qtbot.mouseClick(dock.disconnect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dock.shown_state("thermometer") == "disconnected", timeout=5000)
    assert dock._items["thermometer"].foreground(1).color().name() == INSTRUMENT_STATES["disconnected"].colour
    assert dock.connect_button.isEnabled()
    dock.tree.setCurrentItem(dock._items["photometer"])
    SHOTS.mkdir(parents=True, exist_ok=True)
    qtbot.wait(300)
    assert dock.grab().save(str(SHOTS / "instruments-dock.png"))
    dock.tree.setCurrentItem(dock._items["thermometer"])
    qtbot.mouseClick(dock.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dock.shown_state("thermometer") == "connected", timeout=5000)


@pytest.mark.slow
def test_a_hung_instrument_shows_down_in_red_and_comes_back(dock, qtbot, sim, make_manager):
    from rigconsole.views.palette import INSTRUMENT_STATES

    m = make_manager(socket_rig(sim.resource, timeout_s=0.3))
    dock.set_manager(m)
    m.start()
    qtbot.waitUntil(lambda: dock.shown_state("sensor") == "connected", timeout=5000)
    sim.set_mode("hang")
    qtbot.waitUntil(lambda: dock.shown_state("sensor") == "reconnecting", timeout=5000)
    assert "no reply within 0.3 s" in dock.state_message("sensor")
    dock.tree.setCurrentItem(dock._items["sensor"])
    assert "reconnecting" in dock.detail_label.text() and "no reply within 0.3 s" in dock.detail_label.text()
    assert dock._items["sensor"].foreground(1).color().name() == INSTRUMENT_STATES["reconnecting"].colour
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert dock.grab().save(str(SHOTS / "instruments-dock-down.png"))
    sim.set_mode("normal")
    qtbot.waitUntil(lambda: dock.shown_state("sensor") == "connected", timeout=5000)


def test_rig_file_errors_are_shown_in_the_dock(dock, qtbot):
    with pytest.raises(RigFileError) as ei:
        parse_rig_text("instruments:\n  a:\n    resource: X\n    timeout_s: -1\n", source="rig.yaml")
    dock.show_rig_error(ei.value)
    assert not dock.error_label.isHidden()
    assert "rig.yaml:4: instruments.a.timeout_s: Input should be greater than 0" in dock.rig_error_text
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert dock.grab().save(str(SHOTS / "instruments-dock-error.png"))


def test_a_failing_monitoring_task_is_shown_in_the_history(dock, qtbot, rig_dir, make_manager):
    from rigconsole.instruments import load_rig_file

    m = make_manager(load_rig_file(rig_dir / "simulated.yaml"))
    dock.set_manager(m)
    m.events.task_failed.emit("room_temperature", "RuntimeError: sensor said no")
    qtbot.waitUntil(
        lambda: "monitoring task room_temperature raised RuntimeError: sensor said no" in dock.history.toPlainText(),
        timeout=2000,
    )
