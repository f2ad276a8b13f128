"""Pilot mode in the console (real Rig, real PsychoPy window under Xvfb, real HDF5 files).

Run / Pilot in the toolbar: a pilot run shows the PILOT badge while it runs (grabbed for
docs/screenshots/pilot-run.png with RIGCONSOLE_UPDATE_SCREENSHOTS=1), gets "pilot" as its
participant, lands in the data folder's pilot/ and has the orange border on the stimulus window;
going back to Run asks once ("Run for real"), and that real run has no border and lands in the
data folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from rigconsole.rig import PILOT_FOLDER

RUN_TIMEOUT_MS = 30_000
KEY = "trials/trials.py"
DOCS_SHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "pilot-run.png"
ORANGE = np.array([0xEC, 0x97, 0x03])


def _wait_idle(qtbot, window):
    qtbot.waitUntil(lambda: window.session.current_run is None and not window.controller.busy, timeout=RUN_TIMEOUT_MS)
    rec = window.session.run_records[-1]
    qtbot.waitUntil(lambda: window.status_panel.last_record is rec, timeout=5000)
    return rec


def _border(win) -> np.ndarray:
    """The stimulus window's next frame (back buffer: the piloting indicator is drawn into it right
    after each flip), its left-edge pixel half-way down, RGB."""
    frame = np.asarray(win.getMovieFrame(buffer="back"))
    win.movieFrames.clear()
    return frame[frame.shape[0] // 2, 2, :3].astype(int)


def _orange(rgb) -> bool:
    return bool(np.all(np.abs(np.asarray(rgb) - ORANGE) <= 6))


@pytest.fixture
def console(qtbot, tmp_path, ui_root):
    """The whole console as the composition root builds it (the data log switch to pilot/ reaches the views)."""
    from rigconsole.settings import Settings, WindowSettings
    from rigconsole.ui.app import build_console

    settings = Settings(root=ui_root, data_dir=tmp_path / "data", window=WindowSettings(size=(320, 240)))
    c = build_console(settings=settings, simulated_vsync_hz=60, show=True, instruments=False)
    qtbot.waitExposed(c.window)
    qtbot.waitUntil(lambda: c.rig is not None and KEY in c.session.experiment_files, timeout=30_000)
    yield c
    if c.session.current_run is not None:
        c.session.stopExperiment()
        qtbot.waitUntil(lambda: c.session.current_run is None and not c.controller.busy, timeout=20_000)
    c.close()


def test_pilot_then_run_from_the_console(console, qtbot, tmp_path, during_run):
    from PySide6.QtGui import QImage

    window = console.window
    window.resize(1280, 800)
    data = tmp_path / "data"
    assert window.experiments.select(KEY)
    qtbot.waitUntil(lambda: window.current_key() == KEY)
    window.form.set_values({"participant": "P07", "condition": "A", "nTrials": 60, "framesPerTrial": 2})

    # Pilot: PsychoPy's replaceParticipantID, in the form
    sw = window.pilot.switch
    assert sw.mode == "run" and not window.pilot.badge.isVisible()
    sw.buttons["pilot"].click()
    assert window.pilot.mode == "pilot" and window.form.values()["participant"] == "pilot"

    shot = tmp_path / "pilot-run.png"
    seen: dict = {}

    def grab():
        window.trial_plot.flush()
        seen["badge"] = window.pilot.badge.isVisible()
        seen["switch_enabled"] = sw.isEnabled()
        seen["border"] = _border(window.session.win)
        pix = window.grab()
        assert pix.save(str(shot))
        if os.environ.get("RIGCONSOLE_UPDATE_SCREENSHOTS") == "1":
            DOCS_SHOT.parent.mkdir(parents=True, exist_ok=True)
            assert pix.save(str(DOCS_SHOT))

    script = during_run()
    script.when(lambda: (r := window.session.current_run) is not None and r.n_trials >= 20, grab, "grab")
    script.start()
    assert window.run_action.isEnabled()
    window.run_action.trigger()
    rec = _wait_idle(qtbot, window)
    script.check(["grab"])
    assert seen["badge"] and not seen["switch_enabled"]  # PILOT showed; the choice is locked during the run
    assert _orange(seen["border"]), seen["border"]
    assert rec.pilot and rec.exp_info["participant"] == "pilot" and rec.state == "finished"
    assert rec.data_files and all(Path(f).is_relative_to(data / PILOT_FOLDER) for f in rec.data_files)
    assert not window.pilot.badge.isVisible()
    img = QImage(str(shot))
    badge = window.pilot.badge
    at = badge.mapTo(window, badge.rect().center())
    assert img.pixelColor(at.x(), at.y() - badge.height() // 3).name() == "#ec9703"  # the badge in the picture

    # back to Run: the participant comes back; the first real run after piloting asks once
    sw.buttons["run"].click()
    assert window.form.values()["participant"] == "P07"
    window.form.set_values({"nTrials": 4})
    assert window.run_action.isEnabled()
    window.run_action.trigger()
    box = window.pilot.question
    assert box is not None and box.isVisible() and "was a pilot run" in box.text()
    assert window.session.current_run is None and not window.controller.busy  # nothing started yet
    box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: not box.isVisible())
    assert len(window.session.run_records) == 1
    window.run_action.trigger()  # asked again: nothing was run for real yet
    box = window.pilot.question
    assert box is not None and box.isVisible()
    borders: list = []
    script = during_run()
    script.when(
        lambda: (r := window.session.current_run) is not None and r.n_trials >= 1,
        lambda: borders.append(_border(window.session.win)),
        "border",
    )
    script.start()
    box.findChild(type(box.defaultButton()), "runForReal").click()
    real = _wait_idle(qtbot, window)
    script.check(["border"])
    assert real is not rec and not real.pilot and real.exp_info["participant"] == "P07"
    assert not _orange(borders[0]), borders[0]
    assert real.data_files and not any(Path(f).is_relative_to(data / PILOT_FOLDER) for f in real.data_files)
    # asked once: the next real run goes straight on
    window.run_action.trigger()
    assert window.pilot.question is None
    again = _wait_idle(qtbot, window)
    assert again is not real and not again.pilot

    # the session files: the pilot run's is in pilot/, marked; the participant's is not
    pilot_logs = sorted((data / PILOT_FOLDER).glob("session_*.h5"))
    assert len(pilot_logs) == 1
    console.close()
    with h5py.File(pilot_logs[0], "r") as f:
        (run,) = [f["runs"][r] for r in f["runs"]]
        assert bool(run.attrs["pilot"])
    (main_log,) = sorted(data.glob("session_*.h5"))
    with h5py.File(main_log, "r") as f:
        runs = [f["runs"][r] for r in f["runs"]]
        assert len(runs) == 2 and not any("pilot" in r.attrs for r in runs)


def test_a_real_run_whose_participant_is_pilot_asks_first(window, qtbot):
    assert window.experiments.select(KEY)
    qtbot.waitUntil(lambda: window.current_key() == KEY)
    window.form.set_values({"participant": "pilot", "nTrials": 2})
    assert window.pilot.mode == "run"
    window.run_action.trigger()
    box = window.pilot.question
    assert box is not None and box.isVisible() and "participant is" in box.text()
    assert "still “pilot”" in box.informativeText()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert window.session.run_records == []
