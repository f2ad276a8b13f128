"""`rigconsole data ...` functions: summary, CSV export, recover, one-line errors."""

from __future__ import annotations

import csv

import h5py
import numpy as np
import pytest

from rigconsole.datalog import DataLog
from rigconsole.datalog.cli import main


@pytest.fixture
def session_file(tmp_path):
    p = tmp_path / "session.h5"
    with DataLog(p) as log:
        run = log.start_run("gonogo", {"participant": "p01"})
        for i in range(3):
            log.add_trial(run, {"trials.thisN": i, "key_resp.keys": "space", "key_resp.rt": 0.25 * (i + 1)})
        log.end_run(run, "finished")
        log.start_run("stroop", {"participant": "p02"})
        for i in range(5):
            log.add_entry(temperature=20.0 + i)
        log.save_parameter(rig="A", gain=2.5)
        log.add_dataset(trace=np.zeros(8, dtype=np.float32))
    return p


def test_summary(session_file, capsys):
    assert main([str(session_file)]) == 0
    out = capsys.readouterr().out
    assert "runs/0001_gonogo  3 trials  finished" in out
    assert "runs/0002_stroop  0 trials  not ended" in out
    assert "temperature  5 values  last 24" in out
    assert "rig = 'A'" in out and "gain = 2.5" in out
    assert "trace  1 arrays of shape (8) float32" in out


def test_csv_export(session_file, tmp_path, capsys):
    out_dir = tmp_path / "csv"
    assert main([str(session_file), "--csv", str(out_dir)]) == 0
    rows = list(csv.reader(open(out_dir / "0001_gonogo_trials.csv")))
    assert rows[0] == ["trials.thisN", "key_resp.keys", "key_resp.rt"]
    assert rows[1] == ["0.0", "space", "0.25"] and len(rows) == 4
    var = list(csv.reader(open(out_dir / "var_temperature.csv")))
    assert var[0] == ["t", "temperature"] and [float(r[1]) for r in var[1:]] == [20, 21, 22, 23, 24]
    assert (out_dir / "parameters.csv").exists()


def test_recover_command(tmp_path, capsys):
    p = tmp_path / "s.h5"
    with DataLog(p) as log:
        log.add_entry(a=1)
    raw = bytearray(p.read_bytes())
    raw[11] = 0x05  # status flags as a crashed SWMR writer leaves them (checksum now wrong)
    from rigconsole.datalog.recover import lookup3

    raw[44:48] = lookup3(bytes(raw[:44])).to_bytes(4, "little")
    p.write_bytes(bytes(raw))
    with pytest.raises(OSError):
        h5py.File(p, "r")
    assert main(["recover", str(p)]) == 0
    assert "cleared" in capsys.readouterr().out
    with h5py.File(p, "r") as f:
        assert f["variables/a"]["value"][0] == 1


@pytest.mark.parametrize(
    "argv, expect",
    [
        ([], "the following arguments are required"),
        (["recover"], "recover takes exactly one FILE"),
        (["missing.h5"], "no such file"),
        (["--bogus", "x.h5"], "unrecognized arguments"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, expect, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expect in err and "Traceback" not in err


def test_foreign_and_text_files_exit_2(tmp_path, capsys):
    txt = tmp_path / "a.h5"
    txt.write_text("hello")
    foreign = tmp_path / "f.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = 1
    for p, expect in ((txt, "not an HDF5 file"), (foreign, "not a Rig Console data log")):
        assert main([str(p)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and expect in err
        assert main(["recover", str(p)]) in (0, 2)  # recover on a clean foreign file is harmless
        capsys.readouterr()


def test_datalog_imports_no_qt():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "for m in ('PySide6','PyQt6','PyQt5','pyqtgraph','qasync'): sys.modules[m] = None\n"
        "import rigconsole.datalog, rigconsole.datalog.cli, rigconsole.datalog._crashcheck\n"
        "bad = [m for m, v in sys.modules.items() if v is not None and m.startswith(('rigconsole.ui', 'PySide6'))]\n"
        "assert not bad, bad\n"
    )
    import os
    from pathlib import Path

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "app"))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
