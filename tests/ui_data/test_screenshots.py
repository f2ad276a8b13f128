"""Screenshots for the docs: the data browser, and a main window with two live plot docks.

Each one is checked: it is not blank, and each plot in it drew its series (the
line colour, Okabe-Ito blue, is in the plot's part of the picture).
"""

from __future__ import annotations

import math

from PySide6.QtWidgets import QLabel, QMainWindow

from support.datalog_fill import SCREENSHOTS, fill_session

BLUE = "#0072b2"


def _colours(img, widget=None, top=None, step=2) -> set[str]:
    """Colour names in ``img`` (a QImage of ``top``'s grab), within ``widget``'s area if given."""
    if widget is not None:
        p = widget.mapTo(top, widget.rect().topLeft())
        img = img.copy(p.x(), p.y(), widget.width(), widget.height())
    return {img.pixelColor(x, y).name() for x in range(0, img.width(), step) for y in range(0, img.height(), step)}


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
    shot = b.grab()
    assert shot.save(str(SCREENSHOTS / "data-browser.png"))
    assert len(_colours(shot.toImage(), step=8)) > 20, "the browser screenshot looks blank"
    assert b.trials_model.rowCount() == 60 and b.runs_tree.topLevelItemCount() == 3  # what it shows
    b.tabs.setCurrentIndex(1)
    b.plot.set_source("trial: key_resp.rt")
    b.plot.set_axis("trial")
    qtbot.wait(50)
    shot = b.grab()
    assert shot.save(str(SCREENSHOTS / "data-browser-plot.png"))
    assert BLUE in _colours(shot.toImage(), b.plot.plot, b), "the browser's plot shows no line"
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
    file_menu = w.menuBar().addMenu("&File")
    w.menuBar().addMenu("&Run")
    view_menu = w.menuBar().addMenu("&View")
    centre = QLabel("(experiment list and expInfo form)")
    centre.setStyleSheet("color: #888; background: #f4f4f4;")
    w.setCentralWidget(centre)
    qtbot.addWidget(w)
    w.resize(1400, 820)
    tools = attach_data_tools(w, log, Settings(data_dir=tmp_path), save=False, file_menu=file_menu, view_menu=view_menu)
    tools.new_plot("temperature")
    b = tools.new_plot("trial: key_resp.rt", axis="trial")
    b.view.set_follow(False)
    w.show()
    qtbot.waitExposed(w)
    w.resizeDocks(tools.plots, [800, 800], __import__("PySide6.QtCore").QtCore.Qt.Orientation.Horizontal)
    qtbot.wait(100)
    shot = w.grab()
    assert shot.save(str(SCREENSHOTS / "plots.png"))
    img = shot.toImage()
    for dock in tools.plots:  # both docks drew their series
        assert dock.view.point_count() > 0
        assert BLUE in _colours(img, dock.view.plot, w), f"{dock.windowTitle()} shows no line"
    tools.close()
