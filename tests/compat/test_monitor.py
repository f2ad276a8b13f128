"""The rig's monitor: deg/cm units on the persistent window; the rig's calibration wins.

With no rig profile (the default settings, a new user's), each run uses the monitor its
experiment names, as plain PsychoPy does, or PsychoPy's default ``testMonitor``.
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from support.csv_h5 import csv_rows

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
#: PsychoPy's default testMonitor (psychopy/monitors/__init__.py): 1024 px over 30 cm, seen from 57 cm
TEST_MONITOR_PX_PER_CM = 1024 / 30
TEST_MONITOR_PX_PER_DEG = 33.9604  # 57 cm * tan(1 deg) = 0.99493 cm

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


@pytest.fixture
def units_root(tmp_path):
    """The Builder test experiments in deg and cm (window "Monitor" = testMonitor, as Builder's default)."""
    root = tmp_path / "unitsroot"
    for name in ("units_deg", "units_cm"):
        shutil.copytree(EXPERIMENTS / name, root / name)
    return root


def _rows(rec) -> list[dict]:
    return [r for r in csv_rows(next(f for f in rec.data_files if f.endswith(".csv"))) if r.get("pix_per_unit")]


def _monitor_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "rigconsole.monitor" and r.levelno == logging.WARNING]


@pytest.mark.parametrize(
    "name, units, px", [("units_deg", "deg", TEST_MONITOR_PX_PER_DEG), ("units_cm", "cm", TEST_MONITOR_PX_PER_CM)]
)
def test_with_no_rig_monitor_builder_deg_and_cm_run_on_the_experiments_monitor(
    units_root, monitor_folder, make_session, caplog, name, units, px
):
    """A new user: no rig monitor profile, and not even PsychoPy's saved testMonitor (an empty
    Monitor Center folder): the run uses the experiment's testMonitor with PsychoPy's default
    measurements, and says so once in the log."""
    from rigconsole.session.monitor import experiment_monitor_name

    assert experiment_monitor_name(units_root / name / f"{name}.psyexp") == "testMonitor"
    s = make_session(units_root)  # no monitor in the window parameters: what the rig makes from default settings
    key = f"{name}/{name}.psyexp"
    assert s.addExperiment(key)
    with caplog.at_level(logging.INFO):
        for participant in ("n1", "n2"):
            assert s.runExperiment(key, {"participant": participant}) is True
            rec = s.run_records[-1]
            assert rec.state == "finished", rec.error
            rows = _rows(rec)
            assert len(rows) == 3
            assert {r["monitor"] for r in rows} == {"testMonitor"} and {r["units"] for r in rows} == {units}
            assert float(rows[0]["pix_per_unit"]) == pytest.approx(px, rel=1e-4)
    said = _monitor_warnings(caplog)
    assert len(said) == 1, said  # said once, not once per run
    assert "'testMonitor' (30 cm wide at 57 cm, 1024x768 px)" in said[0]
    assert "Settings" in said[0] and "deg and cm exact" in said[0]
    assert not list(monitor_folder.iterdir())  # nothing written into the user's Monitor Center


LABSCREEN_SCRIPT = textwrap.dedent('''
    """A script that names its own monitor, as a Builder script's setupWindow does."""
    from psychopy import visual, data
    from psychopy.tools import monitorunittools

    expName = 'lab'
    expInfo = {'participant': 'p1', 'date|hid': '', 'expName|hid': expName}


    def setupData(expInfo, dataDir=None):
        return data.ExperimentHandler(name=expName, extraInfo=expInfo,
                                      dataFileName=f"{dataDir}/{expInfo['participant']}_{expName}")


    def setupWindow(expInfo=None, win=None):
        if win is None:
            win = visual.Window(size=[320, 240], monitor='labscreen', units='cm')
        else:
            win.units = 'cm'
        return win


    def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
        square = visual.Rect(win, width=1, height=1)
        for i in range(2):
            square.draw()
            win.flip()
            thisExp.addData('monitor', win.monitor.name)
            thisExp.addData('pix_per_unit', monitorunittools.cm2pix(1, win.monitor))
            thisExp.nextEntry()


    def saveData(thisExp):
        thisExp.saveAsWideText(thisExp.dataFileName + '.csv', delim=',')
''')


def test_each_run_gets_the_monitor_its_experiment_names(units_root, monitor_folder, make_session, caplog):
    """A script naming a profile this computer has ('labscreen': 40 cm, 320 px wide) runs on it; a
    Builder experiment naming testMonitor next runs on testMonitor; the window is made anew only
    when the monitor changes, and each monitor is said once."""
    from rigconsole.session.monitor import MonitorSettings, make_monitor

    make_monitor(MonitorSettings(name="labscreen", width_cm=40.0, distance_cm=57.0, resolution_px=(320, 240)))
    (units_root / "lab").mkdir()
    (units_root / "lab" / "lab.py").write_text(LABSCREEN_SCRIPT)
    s = make_session(units_root)
    for key in ("lab/lab.py", "units_cm/units_cm.psyexp"):
        assert s.addExperiment(key)
    with caplog.at_level(logging.INFO):
        seen = []
        for key, monitor, px in (
            ("lab/lab.py", "labscreen", 8.0),
            ("lab/lab.py", "labscreen", 8.0),
            ("units_cm/units_cm.psyexp", "testMonitor", TEST_MONITOR_PX_PER_CM),
            ("lab/lab.py", "labscreen", 8.0),
        ):
            assert s.runExperiment(key, {"participant": "m"}) is True
            rec = s.run_records[-1]
            assert rec.state == "finished", rec.error
            rows = _rows(rec)
            assert rows and {r["monitor"] for r in rows} == {monitor}
            assert float(rows[0]["pix_per_unit"]) == pytest.approx(px)
            seen.append(s.win)
    assert seen[0] is seen[1]  # same monitor: the same window
    assert seen[2] is not seen[1] and seen[3] is not seen[2]  # made anew for the other monitor
    said = _monitor_warnings(caplog)
    assert len(said) == 2 and "'labscreen'" in said[0] and "named by the experiment" in said[0]
    assert "'testMonitor'" in said[1]


def test_a_monitor_named_but_not_on_this_computer_falls_back_to_psychopys_default(monitor_folder, caplog):
    from rigconsole.session.monitor import monitor_for_experiment

    mon, why = monitor_for_experiment("the-lab-upstairs")
    assert (mon.name, mon.getWidth(), mon.getDistance(), list(mon.getSizePix())) == ("testMonitor", 30, 57, [1024, 768])
    assert "no monitor profile 'the-lab-upstairs'" in why
    mon, why = monitor_for_experiment(None)
    assert mon.name == "testMonitor" and "names no monitor" in why


def test_a_rig_profile_still_wins_over_the_experiments_monitor(units_root, monitor_folder, tmp_path, caplog):
    """Default settings plus a rig monitor profile: every run uses the rig's calibration, whatever
    the experiment names (one INFO line says so), and nothing says 'no rig monitor profile'."""
    from rigconsole.rig import Rig
    from rigconsole.session.monitor import MonitorSettings
    from rigconsole.settings import Settings

    rig = Rig(
        Settings(root=units_root, data_dir=tmp_path / "data", monitor=MonitorSettings(**RIG)),
        window_params={"size": [320, 240], "fullscr": False, "units": "height"},
        scan=True,
    )
    try:
        with caplog.at_level(logging.INFO):
            for name, px in (("units_cm", 8.0), ("units_deg", 7.96)):
                assert rig.session.runExperiment(f"{name}/{name}.psyexp", {"participant": "r"}) is True
                rec = rig.session.run_records[-1]
                assert rec.state == "finished", rec.error
                rows = _rows(rec)
                assert {r["monitor"] for r in rows} == {"rig-test"}
                assert float(rows[0]["pix_per_unit"]) == pytest.approx(px, abs=0.05)
        assert not _monitor_warnings(caplog)
        lines = [r.getMessage() for r in caplog.records if r.name == "rigconsole.monitor"]
        assert len(lines) == 1 and "names monitor 'testMonitor'; using the rig's calibration 'rig-test'" in lines[0]
    finally:
        rig.close()


def test_rigconsole_run_with_default_settings_runs_deg_and_cm(units_root, tmp_path):
    """``rigconsole run`` as a new user types it: no settings, no monitor, PsychoPy's own
    Monitor Center as PsychoPy left it; both Builder experiments run to the end."""
    for name, units in (("units_deg", "deg"), ("units_cm", "cm")):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "rigconsole.cli",
                "run",
                units_root / name / f"{name}.psyexp",
                "--exp-info",
                "participant=cli",
                "--data-dir",
                tmp_path / name,
                "--window",
                "size=320,240",
            ],
            capture_output=True,
            text=True,
            timeout=240,
            env=dict(os.environ),
        )
        assert out.returncode == 0, out.stdout + out.stderr
        csvs = [f for f in out.stdout.split() if f.endswith(".csv")]
        rows = [r for r in csv_rows(csvs[0]) if r.get("pix_per_unit")]
        assert (
            len(rows) == 3 and {r["units"] for r in rows} == {units} and {r["monitor"] for r in rows} == {"testMonitor"}
        )
    logs = "".join(p.read_text() for p in (tmp_path / "xdg-state").rglob("*.log"))
    assert logs.count("no rig monitor profile: deg and cm units use the monitor 'testMonitor'") == 2  # once per run


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
    from pathlib import Path

    import psychopy

    from rigconsole.session.monitor import MonitorSettings, experiment_monitor_name, make_monitor, reconcile_monitor

    gng = Path(psychopy.__file__).parent / "demos/builder/Experiments/GoNoGo/gng.psyexp"
    assert experiment_monitor_name(gng) == "testMonitor"
    rig = make_monitor(MonitorSettings(**RIG))
    with caplog.at_level(logging.INFO, logger="rigconsole.monitor"):
        assert reconcile_monitor("testMonitor", rig) is rig
        assert reconcile_monitor("rig-test", rig) is rig
        assert reconcile_monitor(None, rig) is rig
    lines = [r.getMessage() for r in caplog.records if r.name == "rigconsole.monitor"]
    assert (
        len(lines) == 1
        and "'testMonitor'" in lines[0]
        and "'rig-test' (40.0 cm wide at 57.0 cm, 320x240 px)" in lines[0]
    )
