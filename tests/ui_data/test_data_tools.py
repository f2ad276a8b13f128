"""attach_data_tools on a QMainWindow: menus, several plot docks, layout persisted in settings."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMainWindow

from support.datalog_fill import fill_session


@pytest.fixture
def main_window(qtbot):
    w = QMainWindow()
    w.menuBar().addMenu("&File").addAction("Quit")
    w.menuBar().addMenu("&View")
    w.resize(1100, 700)
    qtbot.addWidget(w)
    return w


def _menu_texts(w, title):
    from PySide6.QtWidgets import QMenu

    for m in w.menuBar().findChildren(QMenu):
        if m.title().replace("&", "") == title:
            return [x.text() for x in m.actions() if not x.isSeparator()]
    return None


def test_menus_found_or_created(qtbot, make_log, tmp_path):
    from rigconsole.settings import Settings
    from rigconsole.ui.data_tools import attach_data_tools

    log = make_log()
    w = QMainWindow()  # no menus at all: they are created
    qtbot.addWidget(w)
    tools = attach_data_tools(w, log, Settings(data_dir=tmp_path))
    assert _menu_texts(w, "View") == ["New plot…"]
    assert _menu_texts(w, "File") == ["Open data file…"]
    tools.close()
    assert _menu_texts(w, "View") == []


def test_existing_menus_get_entries(main_window, make_log, tmp_path):
    from rigconsole.settings import Settings
    from rigconsole.ui.data_tools import attach_data_tools

    tools = attach_data_tools(main_window, make_log(), Settings(data_dir=tmp_path))
    assert _menu_texts(main_window, "File") == ["Open data file…", "Quit"]
    assert _menu_texts(main_window, "View") == ["New plot…"]
    assert len([a for a in main_window.menuBar().actions()]) == 2  # nothing duplicated
    tools.close()


def test_new_plot_action_opens_docks(main_window, make_log, tmp_path):
    from rigconsole.settings import Settings
    from rigconsole.ui.data_tools import attach_data_tools

    log = make_log()
    fill_session(log, runs=1)
    tools = attach_data_tools(main_window, log, Settings(data_dir=tmp_path))
    tools.new_plot_action.trigger()
    tools.new_plot_action.trigger()
    assert len(tools.plots) == 2
    assert all(d.parent() is main_window for d in tools.plots)
    assert len({d.objectName() for d in tools.plots}) == 2
    tools.plots[0].close_button.click()
    assert len(tools.plots) == 1
    tools.close()


def test_layout_persists(main_window, make_log, tmp_path, qtbot):
    from rigconsole.settings import Settings, load_settings
    from rigconsole.ui.data_tools import attach_data_tools

    log = make_log()
    fill_session(log, runs=1)
    settings = Settings(data_dir=tmp_path)
    tools = attach_data_tools(main_window, log, settings)
    a = tools.new_plot("temperature")
    b = tools.new_plot("trial: key_resp.rt")
    b.view.set_axis("trial")
    a.view.set_follow(False)
    expected = [
        {"kind": "variable", "name": "temperature", "axis": "time", "follow": False},
        {"kind": "trial", "name": "key_resp.rt", "axis": "trial", "follow": True},
    ]
    assert settings.plot_layout == expected
    tools.close()  # shutting down keeps the layout
    assert settings.plot_layout == expected

    # a new console: settings from disk, a new (empty) session log, a new window
    w2 = QMainWindow()
    qtbot.addWidget(w2)
    log2 = make_log("session2.h5")
    settings2 = load_settings()
    assert settings2.plot_layout == expected
    tools2 = attach_data_tools(w2, log2, settings2)
    assert [d.state() for d in tools2.plots] == expected
    # the sources wait for data in the new session
    log2.add_entry(temperature=22.0)
    qtbot.waitUntil(lambda: tools2.plots[0].view.point_count() == 1, timeout=2000)
    # the user closes one: the layout follows
    tools2.plots[0].close()
    assert load_settings().plot_layout == expected[1:]
    tools2.close()


def test_bad_layout_entries_are_skipped(main_window, make_log, tmp_path):
    from rigconsole.settings import Settings
    from rigconsole.ui.data_tools import attach_data_tools

    s = Settings(data_dir=tmp_path, plot_layout=[{"kind": "??"}, {"name": 3}, {"kind": "variable", "name": "x", "axis": "time"}])
    tools = attach_data_tools(main_window, make_log(), s, save=False)
    assert [d.state()["name"] for d in tools.plots] == ["x"]
    tools.close()


def test_open_browser_from_tools(main_window, make_log, tmp_path, qtbot):
    from rigconsole.datalog import DataLog
    from rigconsole.settings import Settings
    from rigconsole.ui.data_tools import attach_data_tools

    p = tmp_path / "old.h5"
    with DataLog(p) as old:
        fill_session(old, runs=1)
    tools = attach_data_tools(main_window, make_log(), Settings(data_dir=tmp_path))
    b = tools.open_browser(p)
    qtbot.waitUntil(lambda: b.log is not None, timeout=5000)
    assert b.runs() == ["runs/0001_gonogo"] and tools.browsers == [b]
    tools.close()
    assert tools.browsers == []


def test_a_frame_interval_plot_comes_back_too(main_window, make_log, tmp_path, qtbot):
    """Every kind of source a plot offers is restored from the saved layout (frame intervals were skipped)."""
    from rigconsole.settings import Settings
    from rigconsole.ui.data_tools import attach_data_tools

    log = make_log()
    run = log.start_run("x", {})
    log.add_frame_intervals(run, [1 / 60, 1 / 60])
    settings = Settings(data_dir=tmp_path)
    tools = attach_data_tools(main_window, log, settings, save=False)
    tools.new_plot("frame intervals", axis="trial")
    saved = list(settings.plot_layout)
    assert saved == [{"kind": "frames", "name": "frame intervals", "axis": "trial", "follow": True}]
    tools.close()
    w2 = QMainWindow()
    qtbot.addWidget(w2)
    tools2 = attach_data_tools(w2, log, Settings(data_dir=tmp_path, plot_layout=saved), save=False)
    assert [d.state() for d in tools2.plots] == saved
    qtbot.waitUntil(lambda: tools2.plots[0].view.point_count() == 2, timeout=2000)
    assert list(tools2.plots[0].view.data()[0]) == [1, 2]  # frame 1 is the first
    tools2.close()
