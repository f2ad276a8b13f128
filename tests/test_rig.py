"""The rig core with a real stimulus window and real HDF5 files (core suite: Qt blocked)."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import pytest

from rigconsole.datalog import DataLogClosedError
from rigconsole.frame_budget import FrameBudget
from rigconsole.rig import Rig
from rigconsole.session import RunInProgressError
from rigconsole.settings import Settings

HERE = Path(__file__).parent
WINDOW = {"size": [320, 240], "fullscr": False, "units": "height"}


@pytest.fixture
def make_rig(tmp_path):
    made = []

    def make(root, **kwargs):
        kwargs.setdefault("data_dir", tmp_path / "data")
        kwargs.setdefault("window_params", WINDOW)
        rig = Rig(Settings(root=root, data_dir=kwargs.pop("data_dir")), **kwargs)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        rig.close()


class Part:
    """A component that notes what happens to it."""

    def __init__(self, name, journal, fail_close=False):
        self.name, self.journal, self.fail_close = name, journal, fail_close

    def start(self, rig):
        self.journal.append(("start", self.name, rig.session is not None))

    def close(self):
        self.journal.append(("close", self.name))
        if self.fail_close:
            raise RuntimeError("broken part")


def test_a_rig_records_its_runs_in_the_session_file(exp_root, tmp_path, make_rig):
    rig = make_rig(exp_root, data_dir=tmp_path / "d")
    assert "simple/simple.py" in rig.session.experiment_files  # scanned
    assert rig.frame_budget is rig.session.frame_budget and isinstance(rig.frame_budget, FrameBudget)
    assert rig.session.data_log is rig.data_log
    path = rig.data_log.path
    assert path.parent == tmp_path / "d" and path.suffix == ".h5"
    assert rig.session.runExperiment("simple/simple.py", {"participant": "rig", "nTrials": 3})
    group = rig.recorder.group_for(rig.session.run_records[-1])
    rig.close()
    assert rig.session.data_log is None
    with h5py.File(path, "r") as f:
        assert group in f
    rig.close()  # idempotent


def test_components_start_on_adding_and_close_in_reverse(exp_root, make_rig):
    journal = []
    rig = make_rig(exp_root)
    rig.add_component("instruments", Part("instruments", journal))
    rig.add_component("remote", Part("remote", journal, fail_close=True))
    with pytest.raises(ValueError, match="already plugged in"):
        rig.add_component("remote", Part("again", journal))
    assert rig.component("remote").name == "remote" and rig.component("nothing") is None
    rig.close()
    assert journal == [
        ("start", "instruments", True),
        ("start", "remote", True),
        ("close", "remote"),
        ("close", "instruments"),
    ]  # a failing close does not stop the rest
    with pytest.raises(RuntimeError):
        rig.add_component("late", Part("late", journal))


def test_a_new_data_folder_opens_a_new_data_log(exp_root, tmp_path, make_rig):
    rig = make_rig(exp_root, data_dir=tmp_path / "one")
    first = rig.data_log
    changed, applied = [], []
    rig.events.data_log_changed.connect(changed.append)
    rig.events.settings_applied.connect(applied.append)
    new = rig.settings.model_copy(update={"data_dir": tmp_path / "two"})
    rig.apply_settings(new)
    assert changed == [rig.data_log] and rig.data_log is not first
    assert rig.data_log.path.parent == tmp_path / "two" and rig.session.dataDir == tmp_path / "two"
    assert rig.session.data_log is rig.data_log
    with pytest.raises(DataLogClosedError):
        first.add_entry(x=1.0)  # closed
    assert rig.session.runExperiment("simple/simple.py", {"participant": "p", "nTrials": 2})
    rig.data_log.flush()
    assert len(rig.data_log.runs()) == 1
    assert applied == [new] and rig.settings is new
    rig.apply_settings(new)  # same folder: the same log
    assert len(changed) == 1


def test_a_new_root_rescans(exp_root, tmp_path, make_rig):
    rig = make_rig(exp_root)
    other = tmp_path / "other"
    (other / "only").mkdir(parents=True)
    shutil.copy(exp_root / "simple" / "simple.py", other / "only" / "only.py")
    rig.apply_settings(rig.settings.model_copy(update={"root": other}))
    assert list(rig.session.experiment_files) == ["only/only.py"]
    with pytest.raises(NotADirectoryError):
        rig.apply_settings(rig.settings.model_copy(update={"root": tmp_path / "nowhere"}))
    assert rig.session.root == other


def test_settings_are_refused_during_a_run(exp_root, tmp_path, make_rig):
    rig = make_rig(exp_root)
    errors = []

    def on_trial(rec, row):
        if rec.n_trials == 1:
            try:
                rig.apply_settings(rig.settings.model_copy(update={"data_dir": tmp_path / "x"}))
            except RunInProgressError as err:
                errors.append(str(err))

    rig.session.events.trial_added.connect(on_trial)
    assert rig.session.runExperiment("simple/simple.py", {"participant": "p", "nTrials": 2})
    assert errors == ["cannot apply the settings while an experiment runs: apply them again when the run has ended"]
    assert not (tmp_path / "x").exists()


_FILLS_THE_DISK = """
import resource, signal, sys
from pathlib import Path
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
from rigconsole.datalog import DataLogWriteError
from rigconsole.rig import Rig
from rigconsole.settings import Settings

root, data = Path(sys.argv[1]), Path(sys.argv[2])
rig = Rig(Settings(root=root, data_dir=data), window_params={"size": [200, 150], "units": "height"})
errors = []
from rigconsole.notifications import notifications
notifications.notified.connect(lambda n: errors.append(n.message) if n.source == "data log" else None)
log = rig.data_log
log.add_entry(a=-1)
log.flush()
resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))
refused = 0
for i in range(300_000):
    try:
        log.add_entry(a=i)
        if i % 1000 == 999:
            log.flush()
    except DataLogWriteError:
        refused += 1
        if refused > 50:
            break
import time
t_end = time.monotonic() + 10  # the writer thread announces after closing the failed file
while not errors and time.monotonic() < t_end:
    time.sleep(0.01)
time.sleep(0.2)  # ... and only once
print("REFUSED", refused)
print("SIGNALS", len(errors))
print("MESSAGE", errors[0] if errors else "")
sys.stdout.flush()
rig.close()
"""


def test_a_write_error_is_announced_once(exp_root, tmp_path):
    """A real file-size limit (RLIMIT_FSIZE, as a full disk) in a child process."""
    import subprocess
    import sys

    script = tmp_path / "fill.py"
    script.write_text(_FILLS_THE_DISK)
    out = subprocess.run(
        [sys.executable, str(script), str(exp_root), str(tmp_path / "d")], capture_output=True, text=True, timeout=120
    )
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    assert int(lines["REFUSED"]) > 50, out.stdout + out.stderr  # every later write refused ...
    assert lines["SIGNALS"] == "1", out.stdout  # ... and the technician told once
    assert "disk full or file-size limit reached" in lines["MESSAGE"] and "is on disk" in lines["MESSAGE"]


def test_the_rigs_monitor_makes_the_window_and_is_recorded(exp_root, tmp_path, monkeypatch):
    """Settings.monitor (width, distance, resolution): the stimulus window uses it, so deg
    units convert, and the session file records it as provenance."""
    from psychopy.tools.monitorunittools import deg2pix

    from rigconsole.session.monitor import MonitorSettings

    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # PsychoPy's Monitor Center profiles go here
    mon = MonitorSettings(name="rigtest", width_cm=40.0, distance_cm=57.0, resolution_px=(320, 240))
    rig = Rig(Settings(root=exp_root, data_dir=tmp_path / "data", monitor=mon), window_params=WINDOW, scan=False)
    try:
        win = rig.session.win
        assert win.monitor.getWidth() == 40.0 and win.monitor.getDistance() == 57.0
        assert deg2pix(1.0, win.monitor) > 0  # 'no known size in pixels' without it
        assert rig.data_log.metadata("monitor")["width_cm"] == 40.0
    finally:
        rig.close()


def test_a_new_monitor_in_the_settings_remakes_the_window(exp_root, tmp_path, monkeypatch):
    """Settings → monitor changed between runs: apply_settings makes the stimulus window anew
    with it (units convert through the new calibration, the data log records it); during a
    run it is refused in one line and nothing changes; a bad profile changes nothing."""
    from psychopy.tools.monitorunittools import deg2pix

    from rigconsole.session.monitor import MonitorProfileError, MonitorSettings

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    first = MonitorSettings(name="rig-a", width_cm=40.0, distance_cm=57.0, resolution_px=(320, 240))
    second = MonitorSettings(name="rig-b", width_cm=20.0, distance_cm=114.0, resolution_px=(320, 240))
    rig = Rig(Settings(root=exp_root, data_dir=tmp_path / "data", monitor=first), window_params=WINDOW, scan=False)
    try:
        rig.session.addExperiment("simple/simple.py")
        old_win = rig.session.win
        px_before = deg2pix(1.0, old_win.monitor)
        rig.apply_settings(rig.settings.model_copy(update={"monitor": second}))
        win = rig.session.win
        assert win is not old_win and old_win._closed  # made anew, the old one closed
        assert (win.monitor.name, win.monitor.getWidth(), win.monitor.getDistance()) == ("rig-b", 20.0, 114.0)
        assert deg2pix(1.0, win.monitor) == pytest.approx(px_before * 4, rel=0.01)  # half the width, twice as far
        assert list(win.size) == [320, 240]  # the rest of the window as it was
        assert rig.data_log.metadata("monitor")["name"] == "rig-b"
        assert rig.settings.monitor == second

        # the same monitor again: nothing to remake
        rig.apply_settings(rig.settings.model_copy(update={"monitor": second}))
        assert rig.session.win is win

        # a profile that does not exist: one line, nothing changed
        with pytest.raises(MonitorProfileError, match="no Monitor Center profile named 'nowhere'"):
            rig.apply_settings(rig.settings.model_copy(update={"monitor": MonitorSettings(name="nowhere")}))
        assert rig.session.win is win and rig.settings.monitor == second

        # during a run: refused in one line, the window and the settings untouched; the next run uses it
        refused = []

        def during(thisSession):
            try:
                rig.apply_settings(rig.settings.model_copy(update={"monitor": first}))
            except RunInProgressError as err:
                refused.append(str(err))
            thisSession.stopExperiment()

        rig.session.commands.submit(during, rig.session)
        assert rig.session.runExperiment("simple/simple.py", {"participant": "p", "nTrials": 2}) is True
        assert len(refused) == 1 and "\n" not in refused[0] and "when the run has ended" in refused[0]
        assert rig.session.win is win and rig.settings.monitor == second
        rig.apply_settings(rig.settings.model_copy(update={"monitor": first}))
        assert rig.session.win.monitor.name == "rig-a"
        assert rig.session.runExperiment("simple/simple.py", {"participant": "p", "nTrials": 1}) is True
        assert rig.session.run_records[-1].state == "finished"
    finally:
        rig.close()


def test_the_rig_registers_experiments_from_outside_the_root_where_they_are(exp_root, tmp_path, make_rig):
    """The console's rig keeps experiments from elsewhere (settings' extra experiments, Add…,
    ``rigconsole run file``) where they are; only a plain rigconsole.Session copies them into
    its root, as PsychoPy's does (tests/compat/test_session_parity.py)."""
    outside = tmp_path / "elsewhere" / "outside.py"
    outside.parent.mkdir()
    outside.write_text((exp_root / "simple" / "simple.py").read_text())
    rig = make_rig(exp_root, scan=False)
    assert rig.session.addExperiment(outside) is True
    assert str(outside) in rig.session.experiment_files and not (exp_root / "elsewhere").exists()
