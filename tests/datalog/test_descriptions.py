"""Variable descriptions (units), annotations, metadata and the frame budget, in real HDF5 files."""

from __future__ import annotations

import json
import threading

import h5py
import pytest

from rigconsole.datalog import DataLog, InvalidNameError, InvalidValueError, ReadOnlyError, recover
from rigconsole.frame_budget import IDLE


def test_units_are_attributes_of_the_variable_and_survive_reopening(make_log, tmp_path):
    log = make_log()
    log.describe_variable("luminance", unit="cd/m^2", description="screen centre", source="instrument:photometer")
    assert log.variable_info("luminance") == {
        "unit": "cd/m^2",
        "description": "screen centre",
        "source": "instrument:photometer",
    }
    assert log.variable_info("never") == {"unit": "", "description": "", "source": ""}
    assert "luminance" not in log.logged_variables()  # described, not yet logged
    log.add_entry(luminance=101.5, temperature=22.0)
    log.describe_variable("temperature", unit="degC")
    log.close()
    with h5py.File(tmp_path / "session.h5", "r") as f:
        assert f["variables/luminance"].attrs["unit"] == "cd/m^2"
        assert f["variables/luminance"].attrs["source"] == "instrument:photometer"
        assert f["variables/temperature"].attrs["unit"] == "degC"
    with DataLog(tmp_path / "session.h5", readonly=True) as ro:
        assert ro.variable_info("luminance")["description"] == "screen centre"
        assert ro.variable_info("temperature")["unit"] == "degC"


def test_describe_checks_its_input(log):
    with pytest.raises(InvalidNameError):
        log.describe_variable("a/b", unit="V")
    with pytest.raises(InvalidValueError, match="unit must be str"):
        log.describe_variable("v", unit=3)


def test_annotations_table_polling_signal_and_reopen(make_log, tmp_path):
    log = make_log()
    seen = []
    log.events.annotation_added.connect(lambda t, row: seen.append((t, row)))
    t1 = log.add_annotation(
        "photometer connected", source="instrument:photometer", kind="state", state="ready", idn="PR-655"
    )
    t2 = log.add_annotation("lights off")
    long_text = "x" * 300  # wider than the first rows: the text column is rewritten wider
    t3 = log.add_annotation(long_text, source="remote:PI office", kind="control", action="pause")
    assert t1 < t2 < t3
    assert [r["text"] for r in log.annotations()] == ["photometer connected", "lights off", long_text]
    assert [r["text"] for r in log.annotations(since=t1)] == ["lights off", long_text]
    assert log.annotations(since=t3) == []
    assert seen[0][0] == t1 and seen[0][1]["fields"] == {"state": "ready", "idn": "PR-655"}
    log.flush()
    with DataLog(tmp_path / "session.h5", readonly=True) as ro:  # a live file, read while the writer holds it
        assert len(ro.annotations()) == 3
    log.add_annotation("after reopen", timestamp=t3 + 10)
    log.close()
    with h5py.File(tmp_path / "session.h5", "r") as f:
        ag = f["annotations"]
        assert json.loads(ag.attrs["columns"]) == ["t", "source", "kind", "text", "fields"]
        assert ag["t"].shape == (4,)
        assert ag["kind"].asstr()[2] == "control"
        assert json.loads(ag["fields"].asstr()[2]) == {"action": "pause"}
    with DataLog(tmp_path / "session.h5") as again:  # append mode keeps and extends the table
        assert [r["t"] for r in again.annotations()] == [t1, t2, t3, t3 + 10]
        again.add_annotation("third session part")
    with DataLog(tmp_path / "session.h5", readonly=True) as ro:
        rows = ro.annotations()
        assert (
            rows[-1]["text"] == "third session part" and rows[-1]["source"] == "console" and rows[-1]["kind"] == "note"
        )
        with pytest.raises(ReadOnlyError):
            ro.add_annotation("no")


def test_annotation_fields_must_be_json(log):
    with pytest.raises(InvalidValueError, match="JSON"):
        log.add_annotation("bad", blob=object())
    assert log.annotations() == []


def test_metadata_sections_round_trip(make_log, tmp_path):
    log = make_log()
    log.save_metadata("rig", {"name": "rig 2", "room": "B-104"})
    log.save_metadata("instrument/photometer", {"*IDN?": "PR,655,1234,1.0", "settings": {"averages": 4}})
    log.save_metadata("rig", {"name": "rig 2b"})  # replaces
    assert log.metadata("rig") == {"name": "rig 2b"}
    assert log.metadata("monitor") == {}
    with pytest.raises(InvalidValueError):
        log.save_metadata("x", {"f": {1, 2}})
    with pytest.raises(InvalidNameError):
        log.save_metadata("", {})
    log.close()
    with h5py.File(tmp_path / "session.h5", "r") as f:
        assert json.loads(f["metadata"].attrs["instrument/photometer"])["settings"] == {"averages": 4}
    with DataLog(tmp_path / "session.h5", readonly=True) as ro:
        assert ro.metadata("instrument/photometer")["*IDN?"] == "PR,655,1234,1.0"
        assert ro.metadata_sections() == ["instrument/photometer", "rig"]


class _CountingBudget:
    running = True
    refresh_hz = 60.0

    def __init__(self):
        self.calls = []
        self.lock = threading.Lock()

    def time_left(self):
        return 0.01

    def wait_for_quiet(self, timeout_s, need_s=0.0):
        with self.lock:
            self.calls.append((timeout_s, need_s))
        return True

    def submit(self, fn, *a, **kw):
        return IDLE.submit(fn, *a, **kw)


def test_writer_asks_the_budget_before_each_cycle(make_log):
    log = make_log(flush_interval=0.1)
    budget = _CountingBudget()
    log.use_budget(budget)
    for i in range(3):
        log.add_entry(x=i)
        log.flush()
    assert len(budget.calls) >= 3
    assert all(t == pytest.approx(0.025) and n >= 0 for t, n in budget.calls)
    log.use_budget(None)
    n = len(budget.calls)
    log.add_entry(x=9)
    log.flush()
    assert len(budget.calls) == n
    with pytest.raises(TypeError):
        log.use_budget(object())
    assert not hasattr(log, "writer_gate")


def test_a_broken_budget_is_dropped_and_data_still_written(make_log):
    class Broken(_CountingBudget):
        def wait_for_quiet(self, timeout_s, need_s=0.0):
            raise RuntimeError("boom")

    log = make_log()
    log.use_budget(Broken())
    log.add_entry(x=1.0)
    log.flush()
    assert log.logged_variable("x")[1].tolist() == [1.0]


def test_new_tables_survive_a_crash_cut_structural_cycle(make_log, tmp_path):
    """The journal covers the new objects: a file left unclosed recovers with them intact."""
    log = make_log()
    log.describe_variable("v", unit="V")
    log.add_entry(v=1.0)
    log.add_annotation("before crash")
    log.save_metadata("rig", {"name": "r"})
    log.flush()
    # simulate the crash: copy the live file (flags set, SWMR writer open) and recover the copy
    import shutil

    crash = tmp_path / "crash.h5"
    shutil.copyfile(tmp_path / "session.h5", crash)
    recover(crash)
    with DataLog(crash, readonly=True) as ro:
        assert ro.variable_info("v")["unit"] == "V"
        assert [r["text"] for r in ro.annotations()] == ["before crash"]
        assert ro.metadata("rig") == {"name": "r"}
