"""Bad input gets one clear line and loses nothing already recorded."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from rigconsole.datalog import (
    DataLog,
    DataLogClosedError,
    DataLogCorruptError,
    DatasetShapeError,
    InvalidNameError,
    InvalidValueError,
    NotADataLogError,
    ReadOnlyError,
    UnknownNameError,
    recover,
)


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and msg
    return msg


def test_non_numeric_entry_is_rejected_whole(log):
    log.add_entry(a=1)
    with pytest.raises(InvalidValueError) as e:
        log.add_entry(a=2, b="high")
    assert "'b'" in _one_line(e) and "save_parameter" in str(e.value)
    for bad in (None, [1, 2], np.zeros(3), 1 + 2j):
        with pytest.raises(ValueError):
            log.add_entry(c=bad)
    assert log["a"][1].tolist() == [1.0]  # nothing of the bad calls recorded
    assert log.logged_variables() == {"a"}


@pytest.mark.parametrize("name", ["a/b", "", ".", 3])
def test_bad_names(log, name):
    for call in (
        lambda: log.add_entry(**{name: 1}) if isinstance(name, str) else log.add_entry({name: 1}),
        lambda: log.save_parameter({name: 1}),
        lambda: log.add_dataset({name: np.zeros(2)}),
    ):
        with pytest.raises(InvalidNameError) as e:
            call()
        _one_line(e)


def test_slash_message_says_what_to_do(log):
    with pytest.raises(InvalidNameError, match="contains '/'.*use '_'"):
        log.add_entry(**{"rig/temp": 1.0})


def test_unknown_names(log):
    with pytest.raises(UnknownNameError) as e:
        log.logged_variable("nope")
    assert "no logged variable 'nope'" in _one_line(e)
    with pytest.raises(KeyError):
        log["nope"]
    with pytest.raises(UnknownNameError):
        log.dataset_times("nope")
    with pytest.raises(UnknownNameError):
        log.trials("runs/0001_x")


def test_dataset_shape_and_dtype_change(log):
    log.add_dataset(img=np.zeros((2, 3), dtype=np.uint8))
    with pytest.raises(DatasetShapeError, match=r"shape \(2, 3\), got \(3, 2\)") as e:
        log.add_dataset(img=np.zeros((3, 2), dtype=np.uint8))
    _one_line(e)
    with pytest.raises(DatasetShapeError, match="astype"):
        log.add_dataset(img=np.zeros((2, 3), dtype=np.float64))
    with pytest.raises(InvalidValueError):
        log.add_dataset(txt=np.array(["a", "b"]))
    log.add_dataset(img=np.ones((2, 3), dtype=np.uint8))
    assert len(log.dataset_times("img")) == 2


def test_readonly_and_closed(make_log, tmp_path):
    log = make_log("s.h5")
    log.add_entry(a=1)
    log.close()
    with pytest.raises(DataLogClosedError):
        log.add_entry(a=2)
    ro = make_log("s.h5", readonly=True)
    for call in (
        lambda: ro.add_entry(a=1),
        lambda: ro.save_parameter(a=1),
        lambda: ro.add_dataset(a=np.zeros(1)),
        lambda: ro.start_run("x", {}),
    ):
        with pytest.raises(ReadOnlyError, match="readonly=True") as e:
            call()
        _one_line(e)
    assert isinstance(ReadOnlyError("x"), (OSError, ValueError))


def test_not_hdf5_foreign_and_truncated(tmp_path):
    txt = tmp_path / "notes.h5"
    txt.write_text("participant,rt\n1,0.5\n")
    with pytest.raises(NotADataLogError, match="not an HDF5 file") as e:
        DataLog(txt, readonly=True)
    _one_line(e)
    with pytest.raises(NotADataLogError):
        DataLog(txt)  # never overwrites a foreign file
    assert txt.read_text().startswith("participant")

    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    for ro in (True, False):
        with pytest.raises(NotADataLogError, match="not a Rig Console data log") as e:
            DataLog(foreign, readonly=ro)
        _one_line(e)
    with h5py.File(foreign) as f:
        assert list(f["x"][()]) == [0, 1, 2]

    with pytest.raises(FileNotFoundError):
        DataLog(tmp_path / "missing.h5", readonly=True)

    good = tmp_path / "good.h5"
    with DataLog(good) as log:
        for i in range(5000):
            log.add_entry(a=i)
    data = good.read_bytes()
    trunc = tmp_path / "trunc.h5"
    # cut inside the data chunks written after the last structural cycle (a cut
    # through the metadata HDF5 keeps near the start is beyond any repair)
    trunc.write_bytes(data[: 2 * len(data) // 3])
    with pytest.raises(DataLogCorruptError) as e:
        DataLog(trunc, readonly=True)
    assert "recover" in _one_line(e)
    rep = recover(trunc)  # pads the file so it opens, and says which data is gone
    assert rep.extended_by > 0 and "/variables/a" in rep.problems and "WARNING" in str(rep)
    cut = tmp_path / "cut.h5"  # only the tail missing: nothing of value lost
    cut.write_bytes(data[: len(data) - 100])
    rep = recover(cut)
    with DataLog(cut, readonly=True) as ro:
        assert ro["a"][1][-1] == 4999


def test_recover_clears_flags_of_a_killed_writer(tmp_path):
    """A child opens a log, logs, flushes and dies with os._exit (no close)."""
    p = tmp_path / "killed.h5"
    code = textwrap.dedent(
        f"""
        import os
        from rigconsole.datalog import DataLog
        log = DataLog({str(p)!r})
        r = log.start_run("x", {{"participant": "p"}})
        for i in range(100):
            log.add_entry(a=i)
        log.add_trial(r, {{"n": 1}})
        log.flush()
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=_env())
    with pytest.raises(OSError, match="h5clear"):
        h5py.File(p, "r")  # HDF5 itself refuses a plain open: status flags set
    with DataLog(p, readonly=True) as ro:  # readonly falls back to a SWMR read, which works
        assert ro["a"][1][-1] == 99 and ro.trials(ro.runs()[0])["n"].tolist() == [1.0]
    with pytest.raises(DataLogCorruptError, match="not closed cleanly.*recover") as e:
        DataLog(p)  # but appending needs recover first
    _one_line(e)
    rep = recover(p)
    assert rep.flags_cleared and rep.superblock_version == 3 and "cleared" in str(rep)
    with h5py.File(p, "r") as f:  # now plain h5py opens it
        assert f["variables/a"]["value"][-1] == 99
    assert not recover(p).flags_cleared  # idempotent
    with DataLog(p) as log:  # and we can append to it
        log.add_entry(a=100)
    with DataLog(p, readonly=True) as ro:
        assert ro["a"][1][-2:].tolist() == [99.0, 100.0]


def test_full_disk_real_rlimit(tmp_path):
    """RLIMIT_FSIZE in a child: the writer hits EFBIG like a full disk."""
    p = tmp_path / "full.h5"
    code = textwrap.dedent(
        f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        from rigconsole.datalog import DataLog, DataLogWriteError
        log = DataLog({str(p)!r})
        errors = []
        log.events.write_error.connect(errors.append)
        log.add_entry(a=-1)
        log.flush()
        resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))
        durable = 0
        try:
            for i in range(1_000_000):
                log.add_entry(a=i)
                if i % 1000 == 999:
                    log.flush()
                    durable = i + 1
        except DataLogWriteError as exc:
            print("ERR", exc)
        print("DURABLE", durable)
        print("SIGNAL", len(errors), log.last_error is not None)
        try:
            log.close()
        except DataLogWriteError:
            pass
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=60)
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert "ERR" in lines, out.stdout + out.stderr
    assert "disk full or file-size limit" in lines["ERR"] and "is on disk" in lines["ERR"]
    assert lines["SIGNAL"] == "1 True"
    durable = int(lines["DURABLE"])
    assert durable > 1000
    recover(p)
    with DataLog(p, readonly=True) as ro:
        a = ro["a"][1]
    assert np.array_equal(a[: durable + 1], np.arange(-1, durable))  # nothing made durable was lost


def _env():
    import os
    from pathlib import Path

    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2] / "app") + os.pathsep + env.get("PYTHONPATH", "")
    return env


_STRUCTURAL_FULL = """
import os, resource, signal, sys, time
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
from rigconsole.datalog import DataLog, DataLogWriteError
from rigconsole.datalog.journal import journal_path
path, margin = sys.argv[1], int(sys.argv[2])
log = DataLog(path, flush_interval=600.0)  # after a cycle the writer waits 200 s unless flush() wakes it
errors = []
log.events.write_error.connect(errors.append)
logged = []  # (timestamp, value) of every 'a'
for i in range(2000):
    logged.append((log.add_entry(a=i), i))
run = log.start_run("first", {"participant": "p1"})
log.add_trial(run, {"trials.thisN": 0, "key_resp.rt": 0.5})
log.flush()
before = log.cycle_stats["structural"]
resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(path) + margin, resource.RLIM_INFINITY))
# far more than the margin, in a structural cycle: appends to 'a' (its last chunk is rewritten in
# place, so pages of the old file are overwritten), new variables and a new run (objects to
# create). Mostly one cycle, the flush's; a wake an earlier flush() left set may start one at
# the first entry (structural too: the new variables).
try:
    for i in range(3000):
        logged.append((log.add_entry(a=2000 + i), 2000 + i))
        log.add_entry({f"v{j}": i for j in range(40)})
    run2 = log.start_run("second", {"participant": "p2"})
    log.add_trial(run2, {"trials.thisN": 0, "key_resp.rt": 0.25})
    log.flush()
    print("FLUSHED ok", flush=True)
except DataLogWriteError as exc:
    print("ERR", exc, flush=True)
print("STRUCTURAL", log.cycle_stats["structural"] - before)
print("DURABLE", sum(t <= log.durable_until for t, _ in logged))
try:
    log.add_entry(a=1)
    print("LATER ok")
except DataLogWriteError:
    print("LATER raised")
print("SIGNAL", len(errors), log.last_error is not None, flush=True)
try:
    log.close()
except DataLogWriteError:
    pass
print("JOURNAL", journal_path(path).exists(), flush=True)
"""


@pytest.mark.parametrize("margin", [0, 6000, 40_000, 150_000])
def test_full_disk_in_a_structural_cycle(tmp_path, margin):
    """EFBIG (a real RLIMIT_FSIZE in a child) while a structural cycle writes through the journal.

    The error is reported once, nothing crashes or cascades through h5py's
    error handling, and recover() gives back everything made durable before.
    """
    p = tmp_path / "full.h5"
    out = subprocess.run(
        [sys.executable, "-c", _STRUCTURAL_FULL, str(p), str(margin)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr  # no segfault, no uncaught error
    for noise in ("SystemError", "Exception ignored", "Traceback", "Segmentation"):
        assert noise not in out.stderr, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert "ERR" in lines, out.stdout + out.stderr
    assert "disk full or file-size limit reached" in lines["ERR"] and "is on disk" in lines["ERR"]
    assert lines["STRUCTURAL"] in ("1", "2"), out.stdout
    assert lines["LATER"] == "raised"
    assert lines["SIGNAL"] == "1 True"
    assert lines["JOURNAL"] == "True"  # the cycle that failed was a journaled one, and left its journal
    durable = int(lines["DURABLE"])
    assert durable >= 2000
    rep = recover(p)
    assert rep.journal_found and rep.pages_restored > 0 and "rolled back" in str(rep)  # old pages put back
    with DataLog(p, readonly=True) as ro:
        # all that was durable before the error, and nothing of the failed cycle
        assert ro["a"][1].tolist() == list(map(float, range(durable)))
        (run,) = ro.runs()
        assert ro.trials(run)["key_resp.rt"].tolist() == [0.5]
    with DataLog(p) as log:  # writable again once there is room
        log.add_entry(a=2000)
    with DataLog(p, readonly=True) as ro:
        assert ro["a"][1][-1] == 2000
