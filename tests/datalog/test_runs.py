"""Runs: PsychoPy ExperimentHandler rows, expInfo, outcome and frame intervals."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from rigconsole.datalog import DataLog, InvalidValueError, UnknownNameError


def test_run_layout_and_roundtrip(log, tmp_path):
    exp_info = {
        "participant": "p01",
        "order": "ABBA",
        "json_keys": 3,
        "session": "001",
        "date": "2026-11-21_11h30",
        "frameRate": 60.0,
        "conds": [1, 2],
        "x": None,
    }
    run = log.start_run("gonogo", exp_info, started=1000.0)
    assert run == "runs/0001_gonogo"
    log.add_trial(run, {"trials.thisN": 0, "key_resp.keys": "space", "key_resp.rt": 0.42, "key_resp.corr": True})
    log.add_trial(run, {"trials.thisN": 1, "key_resp.keys": None, "key_resp.rt": None, "key_resp.corr": np.int64(0)})
    log.add_frame_intervals(run, [0.0166, 0.0167])
    log.add_frame_intervals(run, np.array([0.0334]))
    log.set_run_attrs(run, dropped_frames=1)
    log.end_run(run, "finished", n_trials=2, data_files=["data/p01.csv", "data/p01.psydat"])
    run2 = log.start_run("go nogo/v2", {"participant": "p02"})
    assert run2 == "runs/0002_go_nogo_v2"
    assert log.runs() == [run, run2]
    log.close()

    with h5py.File(tmp_path / "session.h5") as f:  # what a scientist sees in h5py
        g = f[run]
        assert g.attrs["outcome"] == "finished" and g.attrs["started"] == 1000.0
        assert g.attrs["ended"] > 1000.0 and g.attrs["n_trials"] == 2 and g.attrs["dropped_frames"] == 1
        assert list(g.attrs["data_files"]) == ["data/p01.csv", "data/p01.psydat"]
        ei = g["expInfo"].attrs
        assert ei["participant"] == "p01" and ei["frameRate"] == 60.0 and json.loads(ei["conds"]) == [1, 2]
        assert json.loads(g["trials"].attrs["columns"]) == [
            "trials.thisN",
            "key_resp.keys",
            "key_resp.rt",
            "key_resp.corr",
        ]
        assert list(g["trials"]) == ["trials.thisN", "key_resp.keys", "key_resp.rt", "key_resp.corr"]  # creation order
        assert g["trials/key_resp.keys"].asstr()[()].tolist() == ["space", ""]
        assert np.allclose(g["trials/key_resp.rt"][()], [0.42, np.nan], equal_nan=True)
        assert g["trials/key_resp.corr"][()].tolist() == [1.0, 0.0]
        assert np.array_equal(g["frame_intervals"][()], [0.0166, 0.0167, 0.0334])

    with DataLog(tmp_path / "session.h5", readonly=True) as ro:
        info = ro.run_info(run)
        assert info["expInfo"] == {**exp_info, "x": None}
        assert list(info["expInfo"]) == list(exp_info)  # PsychoPy order kept
        assert info["outcome"] == "finished" and info["n_trials"] == 2 and info["started"] == 1000.0
        assert info["attrs"] == {"dropped_frames": 1, "n_trials": 2, "data_files": ["data/p01.csv", "data/p01.psydat"]}
        assert ro.run_info(run2)["outcome"] is None
        assert ro.trial_columns(run) == ["trials.thisN", "key_resp.keys", "key_resp.rt", "key_resp.corr"]
        assert np.array_equal(ro.frame_intervals(run), [0.0166, 0.0167, 0.0334])


def test_late_columns_mixed_types_and_slashes(log, tmp_path):
    run = log.start_run("stroop", {"participant": "p"})
    for i in range(5):
        log.add_trial(run, {"trials.thisN": i, "resp.rt": 0.5 + i})
    log.add_trial(run, {"trials.thisN": 5, "resp.rt": "n/a", "late": 7, "text": "hello", "a/b": 1, "lst": [1, "x"]})
    log.add_trial(run, {"trials.thisN": 6, "resp.rt": 1.25, "late": 8.5})
    table = log.trials(run)
    assert list(table) == ["trials.thisN", "resp.rt", "late", "text", "a/b", "lst"]
    assert table["resp.rt"].tolist() == ["0.5", "1.5", "2.5", "3.5", "4.5", "n/a", "1.25"]  # no data lost
    assert np.allclose(table["late"], [np.nan] * 5 + [7, 8.5], equal_nan=True)
    assert table["text"].tolist() == [""] * 5 + ["hello", ""]
    assert json.loads(table["lst"][5]) == [1, "x"]
    assert table["a/b"][5] == 1.0
    log.close()
    with h5py.File(tmp_path / "session.h5") as f:
        tg = f[run]["trials"]
        assert "a%2Fb" in tg and tg["a%2Fb"].attrs["name"] == "a/b"
        assert tg["resp.rt"].asstr()[()].tolist()[5] == "n/a"
    with DataLog(tmp_path / "session.h5", readonly=True) as ro:
        t2 = ro.trials(run)
        assert list(t2) == list(table)
        for k in table:
            if table[k].dtype == object:
                assert t2[k].tolist() == table[k].tolist()
            else:
                assert np.allclose(t2[k], table[k], equal_nan=True)


def test_trial_table_with_pandas(log, tmp_path):
    pd = pytest.importorskip("pandas")
    run = log.start_run("demo", {})
    for i in range(3):
        log.add_trial(run, {"trials.thisN": i, "key_resp.keys": "left" if i % 2 else "right"})
    log.close()
    with h5py.File(tmp_path / "session.h5") as f:  # the recipe from docs/data-format.md
        tg = f[run]["trials"]
        by_name = {tg[k].attrs["name"]: tg[k] for k in tg}
        df = pd.DataFrame(
            {
                n: by_name[n].asstr()[()] if by_name[n].dtype.kind == "S" else by_name[n][()]
                for n in json.loads(tg.attrs["columns"])
            }
        )
    assert df["key_resp.keys"].tolist() == ["right", "left", "right"]
    assert df["trials.thisN"].tolist() == [0.0, 1.0, 2.0]
    assert list(df.columns) == ["trials.thisN", "key_resp.keys"]


def test_run_errors(log):
    with pytest.raises(UnknownNameError, match="no run 'runs/0009_x'"):
        log.add_trial("runs/0009_x", {"a": 1})
    run = log.start_run("x", {})
    with pytest.raises(InvalidValueError, match="finished, finished with errors, stopped, failed"):
        log.end_run(run, "crashed")
    with pytest.raises(ValueError, match="reserved"):
        log.set_run_attrs(run, outcome="finished")
    log.end_run(run, "failed", error="Traceback (most recent call last):\n  ...\nZeroDivisionError")
    assert log.run_info(run)["attrs"]["error"].endswith("ZeroDivisionError")


def test_run_signals(log):
    got = []
    log.events.run_started.connect(lambda r, e, i: got.append(("start", r, e, i)))
    log.events.trial_added.connect(lambda r, row: got.append(("trial", r, row)))
    log.events.run_ended.connect(lambda r, o: got.append(("end", r, o)))
    run = log.start_run("x", {"participant": "p"})
    log.add_trial(run, {"a": 1, "b": None})
    log.end_run(run, "stopped")
    assert got == [
        ("start", run, "x", {"participant": "p"}),
        ("trial", run, {"a": 1.0, "b": None}),
        ("end", run, "stopped"),
    ]


def test_reopen_for_append_continues_runs(make_log, tmp_path):
    log = make_log("s.h5")
    run = log.start_run("a", {"participant": "p"})
    log.add_trial(run, {"n": 1, "txt": "short"})
    log.close()
    with DataLog(tmp_path / "s.h5") as again:
        again.add_trial(run, {"n": 2, "txt": "a much longer text than sixteen bytes"})
        assert again.start_run("b", {}) == "runs/0002_b"
    with DataLog(tmp_path / "s.h5", readonly=True) as ro:
        t = ro.trials(run)
        assert t["n"].tolist() == [1.0, 2.0]
        assert t["txt"].tolist() == ["short", "a much longer text than sixteen bytes"]
        assert ro.runs() == [run, "runs/0002_b"]
