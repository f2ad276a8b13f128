"""The Instruments dock at first launch (default settings, the bundled simulated rig): every
reading shows whole, with its unit, in columns that fit their content; a reading longer than its
column elides in the middle (its leading digits and its unit stay). The whole console is built
as a double-click builds it, and grabbed for docs/screenshots/first-launch.png."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

import rigconsole.ui  # noqa: F401  (pins Qt to PySide6 before pytest-qt imports it)
from rigconsole.instruments import load_rig_file

REPO = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("RIGCONSOLE_SCREENSHOT_DIR", Path(tempfile.gettempdir()) / "rigconsole-screenshots"))
pytestmark = pytest.mark.timeout(240)


def _text_margin(tree) -> int:
    """What Qt's item delegate keeps on each side of a cell's text, px (QCommonStyle: focus frame margin + 1)."""
    from PySide6.QtWidgets import QStyle

    return tree.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, tree) + 1


def _cut_cells(dock) -> list[str]:
    """Every cell whose text the list would not show whole, as 'row/column: text (need > have px)'."""
    from PySide6.QtCore import Qt

    from rigconsole.ui.instruments_dock import COL_NAME

    tree = dock.tree
    fm, margin = tree.fontMetrics(), _text_margin(tree)
    cut = []
    rows = [*dock._items.values(), *dock._channel_items.values()]
    for item in rows:
        for col in range(tree.columnCount()):
            text = item.text(col)
            if not text:
                continue
            have = tree.columnWidth(col) - 2 * margin
            if col == COL_NAME:  # the name column's cell starts after the row's indentation
                have -= tree.indentation() * (1 if item.parent() is None else 2)
            if not item.icon(col).isNull():
                have -= tree.iconSize().width() + 4
            if fm.elidedText(text, tree.textElideMode(), have) != text:
                cut.append(f"{item.text(COL_NAME)}/{col}: {text!r} ({fm.horizontalAdvance(text)} > {have} px)")
    if tree.header().length() > tree.viewport().width():  # a horizontal scroll hides columns
        cut.append(f"columns {tree.header().length()} px > list {tree.viewport().width()} px")
    assert tree.textElideMode() == Qt.TextElideMode.ElideMiddle
    return cut


def test_first_launch_shows_whole_readings_with_units(qtbot, tmp_path):
    import asyncio

    from rigconsole.settings import Settings
    from rigconsole.ui.app import build_console
    from rigconsole.ui.instruments_dock import COL_AGE, COL_NAME, COL_READING

    # default settings, as a first launch has them (a data folder of the test's own)
    console = build_console(settings=Settings(data_dir=tmp_path / "data"), simulated_vsync_hz=60, show=True)
    w, dock, manager = console.window, console.instruments_dock, console.rig.instruments
    assert manager is not None and manager.config.rig == "simulated rig"
    channels = list(dock._channel_items)

    async def until(cond, timeout_s):
        end = time.monotonic() + timeout_s
        while not cond():
            assert time.monotonic() < end, "timed out"
            await asyncio.sleep(0.05)  # Qt events through the console's own loop, as a double-click runs it

    async def first_launch():
        await until(lambda: w.isVisible() and all(dock.shown_state(n) == "connected" for n in manager.instruments), 60)
        await until(lambda: all(dock.value_text(*k) != "-" for k in channels), 30)
        await asyncio.sleep(0.6)  # the dock's 250 ms refresh, the ages, a layout pass

    try:
        console.loop.run_until_complete(first_launch())
        for name, channel in channels:
            unit = manager.instruments[name].channels[channel].unit
            shown = dock.reading_text(name, channel)
            assert shown == f"{dock.value_text(name, channel)} {unit}".strip(), shown
            float(dock.value_text(name, channel))
        cut = _cut_cells(dock)
        assert not cut, cut
        tree = dock.tree
        for col in (COL_NAME, COL_READING, COL_AGE):  # Qt's own measure of the rows agrees
            assert tree.sizeHintForColumn(col) <= tree.columnWidth(col), (
                col,
                tree.sizeHintForColumn(col),
                tree.columnWidth(col),
            )
        SHOTS.mkdir(parents=True, exist_ok=True)
        assert w.grab().save(str(SHOTS / "first-launch.png"))
    finally:
        console.close()


@pytest.fixture
def manager():
    """The bundled simulated rig's instruments (not connected: readings are given by the test)."""
    from rigconsole.instruments import InstrumentManager

    m = InstrumentManager(load_rig_file(REPO / "resources" / "rigs" / "simulated.yaml"))
    yield m
    m.close()


def test_a_long_reading_elides_in_the_middle(qtbot, manager):
    from rigconsole.ui.instruments_dock import COL_READING, InstrumentsDock

    dock = InstrumentsDock()
    qtbot.addWidget(dock)
    m = manager
    dock.set_manager(m)
    dock.resize(100, 420)  # as narrow as it lets itself be
    dock.show()
    qtbot.waitExposed(dock)
    tree = dock.tree
    assert tree.width() >= dock.fit_width() - 1  # its minimum: rows whole at the narrowest
    # a reading wider than the rig file promised (its driver reports the unit in words, and a tiny value)
    long_unit = "candela per square metre"
    m.events.reading.emit("photometer", "luminance", time.time(), -1.23456789e-100, long_unit)
    qtbot.waitUntil(lambda: dock.value_text("photometer", "luminance") == "-1.23457e-100", timeout=3000)
    full = dock.reading_text("photometer", "luminance")
    assert full == f"-1.23457e-100 {long_unit}"
    have = tree.columnWidth(COL_READING) - 2 * _text_margin(tree)
    fm = tree.fontMetrics()
    assert fm.horizontalAdvance(full) > have  # too long for its column: shown elided
    shown = fm.elidedText(full, tree.textElideMode(), have)
    assert shown != full and "\u2026" in shown
    assert shown.startswith("-1.2") and shown.endswith("metre"), shown  # the middle goes, not the end
    assert full in dock._channel_items[("photometer", "luminance")].toolTip(COL_READING)  # whole on hover
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert dock.grab().save(str(SHOTS / "instruments-dock-elided.png"))
    dock.close()
