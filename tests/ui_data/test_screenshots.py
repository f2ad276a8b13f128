"""Screenshots for the docs: the data browser, and a main window with two live plot docks."""
from __future__ import annotations

import math

from PySide6.QtWidgets import QLabel, QMainWindow

from support.datalog_fill import SCREENSHOTS, fill_session


def test_screenshot_data_browser(qtbot, tmp_path):
    from rigconsole.datalog import DataLog
    from rigconsole.ui.data_browser import DataBrowser

    p = tmp_path / "session_2026-11-21_113000.h5"
    with DataLog(p) as log:
        fill_session(log, runs=3, trials=60)
    b = DataBrowser(p, load_async=False)
    qtbot.addWidget(b)
    b.resize(1280, 780)
    b.show()
    qtbot.waitExposed(b)
    qtbot.wait(50)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert b.grab().save(str(SCREENSHOTS / "data-browser.png"))
    b.tabs.setCurrentIndex(1)
    b.plot.set_source("trial: key_resp.rt")
    b.plot.set_axis("trial")
    qtbot.wait(50)
    assert b.grab().save(str(SCREENSHOTS / "data-browser-plot.png"))
    b.close()


def test_screenshot_plots(qtbot, make_log, tmp_path):
    from rigconsole.settings import Settings
    from rigconsole.ui.data_tools import attach_data_tools

    log = make_log()
    fill_session(log, runs=1, trials=80, n_var=0)
    for i in range(3000):
        log.add_entry(temperature=21.0 + 0.4 * math.sin(i / 300) + 0.02 * math.sin(i * 1.7))
    w = QMainWindow()
    w.setWindowTitle("Rig Console")
    w.menuBar().addMenu("&File")
    w.menuBar().addMenu("&Run")
    w.menuBar().addMenu("&View")
    centre = QLabel("(experiment list and expInfo form)")
    centre.setStyleSheet("color: #888; background: #f4f4f4;")
    w.setCentralWidget(centre)
    qtbot.addWidget(w)
    w.resize(1400, 820)
    tools = attach_data_tools(w, log, Settings(data_dir=tmp_path), save=False)
    tools.new_plot("temperature")
    b = tools.new_plot("trial: key_resp.rt", axis="trial")
    b.view.set_follow(False)
    w.show()
    qtbot.waitExposed(w)
    w.resizeDocks(tools.plots, [800, 800], __import__("PySide6.QtCore").QtCore.Qt.Orientation.Horizontal)
    qtbot.wait(100)
    assert w.grab().save(str(SCREENSHOTS / "plots.png"))
    tools.close()
