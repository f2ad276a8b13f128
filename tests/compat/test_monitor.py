"""The rig's monitor: deg/cm units on the persistent window; the rig's calibration wins."""
from __future__ import annotations

import csv
import logging
import textwrap

import pytest

DEG_SCRIPT = textwrap.dedent('''
    """A deg-unit experiment: a 2 deg grating and a 1 cm square, 3 trials."""
    from psychopy import visual, data
    from psychopy.tools import monitorunittools

    expName = 'degs'
    expInfo = {'participant': 'p1', 'date|hid': '', 'expName|hid': expName}


    def setupData(expInfo, dataDir=None):
        return data.ExperimentHandler(name=expName, extraInfo=expInfo,
                                      dataFileName=f"{dataDir}/{expInfo['participant']}_{expName}")


    def setupWindow(expInfo=None, win=None):
        win.units = 'deg'
        return win


    def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
        grating = visual.GratingStim(win, tex='sin', mask='gauss', size=2, units='deg')
        square = visual.Rect(win, width=1, height=1, units='cm')
        for i in range(3):
            for _ in range(3):
                grating.draw()
                square.draw()
                win.flip()
            thisExp.addData('trial', i)
            thisExp.addData('pix_per_deg', monitorunittools.deg2pix(1, win.monitor))
            thisExp.addData('pix_per_cm', monitorunittools.cm2pix(1, win.monitor))
            thisExp.addData('monitor', win.monitor.name)
            thisExp.nextEntry()


    def saveData(thisExp):
        thisExp.saveAsWideText(thisExp.dataFileName + '.csv', delim=',')
''')


@pytest.fixture
def monitor_folder(tmp_path, monkeypatch):
    """PsychoPy's Monitor Center folder in tmp_path (never the user's ~/.psychopy3)."""
    from psychopy.monitors import calibTools

    folder = tmp_path / "monitors"
    folder.mkdir()
    monkeypatch.setattr(calibTools, "monitorFolder", str(folder))
    return folder


@pytest.fixture
def deg_root(tmp_path):
    root = tmp_path / "degroot"
    (root / "degs").mkdir(parents=True)
    (root / "degs" / "degs.py").write_text(DEG_SCRIPT)
    return root


RIG = dict(name="rig-test", width_cm=40.0, distance_cm=57.0, resolution_px=(320, 240))


def test_deg_unit_experiment_runs_on_the_rigs_monitor(deg_root, monitor_folder, make_session):
    from rigconsole.session.monitor import MonitorSettings, window_params_with_monitor

    settings = MonitorSettings(**RIG)
    params = window_params_with_monitor({"size": [320, 240], "fullscr": False, "units": "height"}, settings)
    s = make_session(deg_root, win=params)
    assert s.win.monitor.name == "rig-test"
    assert (monitor_folder / "rig-test.json").is_file()  # saved as a Monitor Center profile
    assert s.addExperiment("degs/degs.py")
    assert s.runExperiment("degs/degs.py", {"participant": "deg1"}) is True
    rec = s.run_records[-1]
    assert rec.state == "finished", rec.error
    with open(next(f for f in rec.data_files if f.endswith(".csv")), newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    # 320 px over 40 cm: 8 px/cm; at 57 cm one degree is ~0.995 cm: ~7.96 px/deg
    assert float(rows[0]["pix_per_cm"]) == pytest.approx(8.0)
    assert float(rows[0]["pix_per_deg"]) == pytest.approx(7.96, abs=0.05)
    assert rows[0]["monitor"] == "rig-test"


def test_without_a_monitor_deg_units_fail_as_the_issue_says(deg_root, monitor_folder, make_session):
    s = make_session(deg_root)  # a window with no monitor profile: __blank__
    assert s.addExperiment("degs/degs.py")
    with pytest.raises(Exception, match="no known size in pixels"):
        s.runExperiment("degs/degs.py", {"participant": "deg2"})


def test_a_saved_profile_is_found_by_name(monitor_folder):
    from rigconsole.session.monitor import MonitorSettings, make_monitor

    make_monitor(MonitorSettings(**RIG))
    mon = make_monitor(MonitorSettings(name="rig-test"))
    assert (mon.getWidth(), mon.getDistance(), list(mon.getSizePix())) == (40.0, 57.0, [320, 240])


def test_bad_monitor_settings_say_what_to_fix(monitor_folder):
    from pydantic import ValidationError
    from rigconsole.session.monitor import MonitorProfileError, MonitorSettings, make_monitor

    with pytest.raises(ValidationError, match="missing distance_cm, resolution_px"):
        MonitorSettings(name="x", width_cm=30)
    with pytest.raises(ValidationError):
        MonitorSettings(name="x", width_cm=-3, distance_cm=50, resolution_px=(10, 10))
    with pytest.raises(MonitorProfileError, match="no Monitor Center profile named 'nowhere'"):
        make_monitor(MonitorSettings(name="nowhere"))


def test_the_rigs_calibration_wins_with_one_log_line(monitor_folder, caplog):
    import psychopy
    from pathlib import Path
    from rigconsole.session.monitor import (MonitorSettings, experiment_monitor_name, make_monitor,
                                            reconcile_monitor)

    gng = Path(psychopy.__file__).parent / "demos/builder/Experiments/GoNoGo/gng.psyexp"
    assert experiment_monitor_name(gng) == "testMonitor"
    rig = make_monitor(MonitorSettings(**RIG))
    with caplog.at_level(logging.INFO, logger="rigconsole.monitor"):
        assert reconcile_monitor("testMonitor", rig) is rig
        assert reconcile_monitor("rig-test", rig) is rig
        assert reconcile_monitor(None, rig) is rig
    lines = [r.getMessage() for r in caplog.records if r.name == "rigconsole.monitor"]
    assert len(lines) == 1 and "'testMonitor'" in lines[0] and "'rig-test' (40.0 cm wide at 57.0 cm, 320x240 px)" in lines[0]
