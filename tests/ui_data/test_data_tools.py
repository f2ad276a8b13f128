"""attach_data_tools on a QMainWindow: menus, several plot docks, layout persisted in settings."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMainWindow

from support.datalog_fill import fill_session


class Window(QMainWindow):
    """A main window that declares its menus where it builds them (as MainWindow does)."""

    def __init__(self, file_entries=()):
        super().__init__()
        self.file_menu = self.menuBar().addMenu("&File")
        for text in file_entries:
            self.file_menu.addAction(text)
        self.view_menu = self.menuBar().addMenu("&View")


def attach(w, log, settings, **kw):
    from rigconsole.ui.data_tools import attach_data_tools

    return attach_data_tools(w, log, settings, file_menu=w.file_menu, view_menu=w.view_menu, **kw)


@pytest.fixture
def main_window(qtbot):
    w = Window(["Quit"])
    w.resize(1100, 700)
    qtbot.addWidget(w)
    return w


def _menu_texts(menu):
    return [x.text() for x in menu.actions() if not x.isSeparator()]


def test_entries_go_into_the_menus_given_and_leave_on_close(qtbot, make_log, tmp_path):
    from rigconsole.settings import Settings

    log = make_log()
    w = Window()
    qtbot.addWidget(w)
    tools = attach(w, log, Settings(data_dir=tmp_path))
    assert _menu_texts(w.view_menu) == ["New plot…"]
    assert _menu_texts(w.file_menu) == ["Open data file…"]
    tools.close()
    assert _menu_texts(w.view_menu) == [] and _menu_texts(w.file_menu) == []


def test_existing_menus_get_entries(main_window, make_log, tmp_path):
    from rigconsole.settings import Settings

    tools = attach(main_window, make_log(), Settings(data_dir=tmp_path))
    assert _menu_texts(main_window.file_menu) == ["Open data file…", "Quit"]
    assert _menu_texts(main_window.view_menu) == ["New plot…"]
    assert len([a for a in main_window.menuBar().actions()]) == 2  # nothing duplicated
    tools.close()


def test_new_plot_action_opens_docks(main_window, make_log, tmp_path):
    from rigconsole.settings import Settings

    log = make_log()
    fill_session(log, runs=1)
    tools = attach(main_window, log, Settings(data_dir=tmp_path))
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

    log = make_log()
    fill_session(log, runs=1)
    settings = Settings(data_dir=tmp_path)
    tools = attach(main_window, log, settings)
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
    w2 = Window()
    qtbot.addWidget(w2)
    log2 = make_log("session2.h5")
    settings2 = load_settings()
    assert settings2.plot_layout == expected
    tools2 = attach(w2, log2, settings2)
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

    s = Settings(
        data_dir=tmp_path, plot_layout=[{"kind": "??"}, {"name": 3}, {"kind": "variable", "name": "x", "axis": "time"}]
    )
    tools = attach(main_window, make_log(), s, save=False)
    assert [d.state()["name"] for d in tools.plots] == ["x"]
    tools.close()


def test_open_browser_from_tools(main_window, make_log, tmp_path, qtbot):
    from rigconsole.datalog import DataLog
    from rigconsole.settings import Settings

    p = tmp_path / "old.h5"
    with DataLog(p) as old:
        fill_session(old, runs=1)
    tools = attach(main_window, make_log(), Settings(data_dir=tmp_path))
    b = tools.open_browser(p)
    qtbot.waitUntil(lambda: b.log is not None, timeout=5000)
    assert b.runs() == ["runs/0001_gonogo"] and tools.browsers == [b]
    tools.close()
    assert tools.browsers == []


def test_a_frame_interval_plot_comes_back_too(main_window, make_log, tmp_path, qtbot):
    """Every kind of source a plot offers is restored from the saved layout (frame intervals were skipped)."""
    from rigconsole.settings import Settings

    log = make_log()
    run = log.start_run("x", {})
    log.add_frame_intervals(run, [1 / 60, 1 / 60])
    settings = Settings(data_dir=tmp_path)
    tools = attach(main_window, log, settings, save=False)
    tools.new_plot("frame intervals", axis="trial")
    saved = list(settings.plot_layout)
    assert saved == [{"kind": "frames", "name": "frame intervals", "axis": "trial", "follow": True}]
    tools.close()
    w2 = Window()
    qtbot.addWidget(w2)
    tools2 = attach(w2, log, Settings(data_dir=tmp_path, plot_layout=saved), save=False)
    assert [d.state() for d in tools2.plots] == saved
    qtbot.waitUntil(lambda: tools2.plots[0].view.point_count() == 2, timeout=2000)
    assert list(tools2.plots[0].view.data()[0]) == [1, 2]  # frame 1 is the first
    tools2.close()
