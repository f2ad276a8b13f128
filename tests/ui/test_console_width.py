"""The console's minimum width stays small with long paths, before and after a run, so that on
one screen the stimulus window beside it keeps a usable size (issue: console width on one screen).

A real console (build_console, the simulated instruments included) under Xvfb, with a root and a
data folder whose paths are longer than the screen is wide, runs a Builder experiment to the end."""

from __future__ import annotations

import shutil
from pathlib import Path

from rigconsole.settings import Settings

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
#: the most the console may ask for, in logical pixels (half of a 1600 px screen is 800)
MAX_MIN_WIDTH = 900


def _widths(window) -> dict[str, int]:
    """minimumSizeHint widths of the window and of each part that sets it (for the failure message)."""
    from PySide6.QtWidgets import QDockWidget, QToolBar

    parts = {
        "window": window.minimumSizeHint().width(),
        "central": window.centralWidget().minimumSizeHint().width(),
        "statusbar": window.statusBar().minimumSizeHint().width(),
    }
    for w in window.findChildren(QDockWidget) + window.findChildren(QToolBar):
        if w.isVisible():
            parts[w.objectName() or w.windowTitle()] = w.minimumSizeHint().width()
    return parts


def test_long_paths_do_not_widen_the_console(qtbot, tmp_path):
    from rigconsole.ui.app import build_console

    deep = tmp_path.joinpath(*(["a_long_folder_name_for_the_lab_share"] * 8))
    root, data = deep / "experiments", deep / "data_of_the_participants_of_this_study"
    shutil.copytree(EXPERIMENTS / "units_cm", root / "a_rather_long_experiment_folder_name" / "units_cm")
    c = build_console(settings=Settings(root=root, data_dir=data), simulated_vsync_hz=60, show=True, instruments=True)
    try:
        w = c.window
        qtbot.waitExposed(w)
        qtbot.wait(300)
        assert len(str(data)) > 300  # longer than any screen is wide, in characters
        start = _widths(w)
        assert start["window"] <= MAX_MIN_WIDTH, f"{start}"
        key = "a_rather_long_experiment_folder_name/units_cm/units_cm.psyexp"
        assert w.experiments.select(key)
        qtbot.waitUntil(lambda: w.current_key() == key)
        w.form.set_values({"participant": "a_participant_with_a_long_identifier_" * 3})
        w.run_action.trigger()
        qtbot.waitUntil(
            lambda: bool(c.session.run_records) and c.session.run_records[-1].ended is not None, timeout=90_000
        )
        rec = c.session.run_records[-1]
        assert rec.state == "finished", rec.error
        assert rec.data_files and all(str(data) in f for f in rec.data_files)
        qtbot.wait(200)
        after = _widths(w)
        print("minimum widths at start-up", start, "after the run", after)
        assert after["window"] <= MAX_MIN_WIDTH, f"{after}"
        # the whole text is still there: in the label and in its tooltip
        assert str(data) in w.session_label.text() and str(data) in w.session_label.toolTip()
        assert str(root / key) in w.subtitle_label.toolTip()
    finally:
        c.close()
