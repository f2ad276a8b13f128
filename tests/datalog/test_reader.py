"""The lazy reader: opening and summarising a big file reads a fixed amount, not the file."""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (for support.*)

from rigconsole.datalog import DataLog, ReadOnlyDataLog, SessionFile  # noqa: E402
from rigconsole.datalog.export import summary  # noqa: E402

from support.big_session import make_big_session  # noqa: E402


def _bytes_read() -> int:
    """Bytes this process read through read(2)/pread(2) so far (Linux /proc/self/io rchar)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc/self/io")
def test_open_and_summary_read_a_fixed_amount_not_the_file(tmp_path):
    small = make_big_session(tmp_path / "small.h5", mb=1)
    big = make_big_session(tmp_path / "big.h5", mb=64)
    assert big.stat().st_size > 60e6
    read = {}
    for p in (small, big):
        before = _bytes_read()
        with SessionFile(p) as f:
            out = io.StringIO()
            summary(f, out)
        read[p.name] = _bytes_read() - before
        assert "v0 [V]" in out.getvalue() and "20 trials" in out.getvalue()
    # HDF5 reads the object headers and one chunk per variable's last row: well under 1 MB,
    # and no more for a file 64 times the size (the bulk is never read)
    assert read["big.h5"] < 1_000_000, read
    assert read["big.h5"] < 3 * read["small.h5"] + 200_000, read


def test_readonly_datalog_is_the_lazy_reader_and_reads_the_same(tmp_path):
    p = make_big_session(tmp_path / "s.h5", mb=2)
    with DataLog(p) as log:  # append mode loads it into the mirror: the reference
        ref = {n: log.logged_variable(n) for n in log.logged_variables()}
        ref_last = log.logged_last_values()
        run = log.runs()[0]
        ref_trials, ref_info, ref_frames = log.trials(run), log.run_info(run), log.frame_intervals(run)
    ro = DataLog(p, readonly=True)
    try:
        assert isinstance(ro, ReadOnlyDataLog) and isinstance(ro, DataLog) and isinstance(ro, SessionFile)
        for n, (t, v) in ref.items():
            t2, v2 = ro[n]
            assert np.array_equal(t, t2) and np.array_equal(v, v2)
            assert ro.variable_length(n) == len(t)
            i = len(t) // 3
            tt, vv = ro.logged_data_fromtimestamp(n, float(t[i]))
            assert np.array_equal(tt, t[i + 1 :]) and np.array_equal(vv, v[i + 1 :])
        assert ro.logged_data_fromtimestamp("nope", 0.0)[0].size == 0
        assert ro.logged_last_values() == ref_last
        assert ro.run_info(run) == ref_info
        assert np.array_equal(ro.frame_intervals(run), ref_frames)
        assert all(np.array_equal(ro.trials(run)[c], ref_trials[c]) for c in ref_trials)
        assert ro.variable_info("v1")["unit"] == "V"
    finally:
        ro.close()


def test_trials_and_frame_intervals_from_a_row_on(make_log, tmp_path):
    log = make_log()
    run = log.start_run("x", {})
    for i in range(5):
        row = {"trials.thisN": i}
        if i >= 3:
            row["late"] = f"s{i}"
        log.add_trial(run, row)
    log.add_frame_intervals(run, [0.1, 0.2, 0.3])
    part = log.trials(run, start=3)
    assert part["trials.thisN"].tolist() == [3.0, 4.0] and part["late"].tolist() == ["s3", "s4"]
    assert log.trials(run, start=9)["late"].tolist() == []
    assert log.frame_intervals(run, start=1).tolist() == [0.2, 0.3] and log.frame_intervals(run, 7).size == 0
    log.close()
    with DataLog(tmp_path / "session.h5", readonly=True) as ro:
        assert ro.trials(run, start=4)["late"].tolist() == ["s4"]
        assert ro.frame_intervals(run, start=2).tolist() == [0.3] and ro.frame_intervals(run, 3).size == 0


def test_live_file_of_this_process_opens_from_a_copy_and_the_writer_goes_on(tmp_path):
    """HDF5 shares one open file per process: reading the live file itself took the writer out of
    SWMR mode ("file already in SWMR writing mode") and stopped it; the reader reads a copy."""
    from rigconsole.datalog import DataLog

    path = tmp_path / "live.h5"
    copies = lambda: set(Path(tempfile.gettempdir()).glob("rigconsole-live-*"))  # noqa: E731
    before = copies()
    w = DataLog(path)
    w.add_entry(x=1.0)
    w.save_parameter(gain=2.0)
    r = DataLog(path, readonly=True)
    assert r.path == path and set(r.logged_variables()) == {"x"} and r.parameters() == {"gain": 2.0}
    for i in range(3):  # structural cycles: new variables and parameters reopen the file
        w.add_entry(**{f"v{i}": float(i)})
        w.save_parameter(**{f"p{i}": i})
        w.flush()
    assert w.last_error is None
    assert sorted(w.logged_variables()) == ["v0", "v1", "v2", "x"]
    assert set(r.logged_variables()) == {"x"}  # the copy as of the open
    assert len(copies() - before) == 1
    r.close()
    assert copies() == before  # the copy is removed with the reader
    w.close()
    with DataLog(path, readonly=True) as again:  # closed: the file itself
        assert sorted(again.logged_variables()) == ["v0", "v1", "v2", "x"]
