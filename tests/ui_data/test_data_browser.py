"""DataBrowser on real session files: runs, expInfo, trials, variables, CSV export, bad files."""

from __future__ import annotations

import csv

import h5py
import numpy as np
import pytest
from PySide6.QtCore import Qt

from support.datalog_fill import fill_session


@pytest.fixture
def session_file(tmp_path):
    from rigconsole.datalog import DataLog

    p = tmp_path / "session_2026-11-21_113000.h5"
    with DataLog(p) as log:
        fill_session(log, runs=2, trials=30)
    return p


@pytest.fixture
def open_browser(qtbot):
    from rigconsole.ui.data_browser import DataBrowser

    made = []

    def make(path, wait="loaded"):
        b = DataBrowser(path)
        qtbot.addWidget(b)
        made.append(b)
        with qtbot.waitSignal(getattr(b, wait), timeout=10000):
            pass
        return b

    yield make
    for b in made:
        b.close()


def test_shows_runs_expinfo_trials(open_browser, session_file):
    b = open_browser(session_file)
    assert b.error_text == ""
    assert b.runs() == ["runs/0001_gonogo", "runs/0002_gonogo"]
    row = [b.runs_tree.topLevelItem(0).text(i) for i in range(5)]
    assert row[:4] == ["0001", "gonogo", "finished", "30"]
    assert b.runs_tree.topLevelItem(1).text(2) == "stopped"
    # expInfo of the selected (first) run
    ei = {
        b.expinfo_table.item(i, 0).text(): b.expinfo_table.item(i, 1).text() for i in range(b.expinfo_table.rowCount())
    }
    assert ei == {"participant": "P01", "session": "001", "go_ratio": "0.75"}
    assert b.trials_model.rowCount() == 30
    assert b.trials_model.columns() == [
        "trials.thisN",
        "stim",
        "key_resp.keys",
        "key_resp.rt",
        "key_resp.corr",
        "thisRow.t",
    ]
    assert b.trials_model.index(3, 0).data() == "3"
    b.select_run("runs/0002_gonogo")
    ei = {
        b.expinfo_table.item(i, 0).text(): b.expinfo_table.item(i, 1).text() for i in range(b.expinfo_table.rowCount())
    }
    assert ei["participant"] == "P02"
    assert b.plot.run == "runs/0002_gonogo"
    assert b.tabs.tabText(0) == "Trials (30)"


def test_variables_parameters_datasets_and_plot(open_browser, session_file):
    b = open_browser(session_file)
    names = [b.variables_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(b.variables_list.count())]
    assert names == ["pupil_mm", "temperature"]
    b.variables_list.setCurrentRow(1)
    assert b.plot.source.name == "temperature" and b.plot.point_count() == 200
    assert "trial: key_resp.rt" in b.plot.sources()
    b.plot.set_source("trial: key_resp.rt")
    assert b.plot.point_count() == 30
    params = {
        b.params_table.item(i, 0).text(): b.params_table.item(i, 1).text() for i in range(b.params_table.rowCount())
    }
    assert params == {"calibration": "2026-03-01", "monitor_hz": "60", "rig": "rig-2"}
    assert [b.datasets_table.item(0, j).text() for j in range(4)] == ["camera", "1", "8×8", "uint8"]


def test_export_csv(open_browser, session_file, tmp_path, qtbot):
    b = open_browser(session_file)
    out = tmp_path / "csv"
    with qtbot.waitSignal(b.exported, timeout=10000) as sig:
        b.export_csv(out)
    names = sorted(p.name for p in sig.args[0])
    assert names == [
        "0001_gonogo_trials.csv",
        "0002_gonogo_trials.csv",
        "parameters.csv",
        "var_pupil_mm.csv",
        "var_temperature.csv",
    ]
    rows = list(csv.reader(open(out / "0001_gonogo_trials.csv", encoding="utf-8")))
    assert rows[0][:2] == ["trials.thisN", "stim"] and len(rows) == 31
    rows = list(csv.reader(open(out / "var_temperature.csv", encoding="utf-8")))
    assert rows[0] == ["t", "temperature"] and len(rows) == 201
    assert "Exported 5 CSV files" in b.statusBar().currentMessage()


def test_100k_trial_rows_are_lazy(open_browser, tmp_path, qtbot):
    import time

    from rigconsole.datalog import DataLog

    p = tmp_path / "big.h5"
    with DataLog(p) as log:
        run = log.start_run("long", {"participant": "x"})
        for k in range(100_000):
            log.add_trial(run, {"trials.thisN": k, "rt": 0.25 + (k % 50) / 1000})
        log.end_run(run, "finished")
    b = open_browser(p)
    assert b.trials_model.rowCount() == 100_000
    b.show()
    s = time.perf_counter()
    b.trials_view.scrollToBottom()
    qtbot.wait(10)
    b.trials_view.viewport().repaint()
    assert time.perf_counter() - s < 0.5
    assert b.trials_model.index(99_999, 0).data() == "99999"


@pytest.mark.parametrize("kind", ["not_hdf5", "foreign_hdf5", "truncated", "missing"])
def test_bad_files_say_what_to_do(open_browser, session_file, tmp_path, kind):
    p = tmp_path / f"{kind}.h5"
    if kind == "not_hdf5":
        p.write_text("participant,rt\nP01,0.3\n")
    elif kind == "foreign_hdf5":
        with h5py.File(p, "w") as f:
            f["x"] = np.arange(3)
    elif kind == "truncated":
        data = session_file.read_bytes()
        p.write_bytes(data[: len(data) // 2])
    b = open_browser(p, wait="failed")
    assert b.log is None and b.error_text
    assert "\n" not in b.error_text
    assert str(p) in b.error_text or p.name in b.error_text
    expected = {
        "not_hdf5": "not an HDF5 file",
        "foreign_hdf5": "not a Rig Console data log",
        "truncated": "rigconsole data recover",
        "missing": "no such file",
    }[kind]
    assert expected in b.error_text
    assert not b.export_action.isEnabled()
    assert expected in b.message.text().replace("&amp;", "&")


def test_live_file_opens_readonly_while_written(open_browser, make_log):
    log = make_log("live.h5")
    fill_session(log, runs=1)
    log.flush()
    b = open_browser(log.path)
    assert b.runs() == ["runs/0001_gonogo"]
    log.add_entry(temperature=30.0)  # the writer keeps going
    log.flush()


def test_a_big_file_opens_without_reading_its_series(open_browser, tmp_path, monkeypatch):
    """The browser lists a 64 MB file's variables (lengths, units), annotations and datasets and
    plots nothing big on its own: the process reads a fixed amount, not the file."""
    from pathlib import Path

    from rigconsole.ui.data_browser import DataBrowser

    from support.big_session import make_big_session

    p = make_big_session(tmp_path / "big.h5", mb=64)
    monkeypatch.setattr(DataBrowser, "AUTO_PLOT_MAX", 100_000)  # each variable here has 1M entries

    def rchar() -> int:
        return int(next(x for x in Path("/proc/self/io").read_text().splitlines() if x.startswith("rchar:")).split()[1])

    before = rchar()
    b = open_browser(p)
    read = rchar() - before
    assert read < 5_000_000, read  # the series are 64 MB
    items = [b.variables_list.item(i).text() for i in range(b.variables_list.count())]
    assert items[0].startswith("v0 [V]") and "1,000,001 values" in items[0]
    assert b.plot.source is None or b.plot.source.kind != "variable"  # no 1M-entry series read at open
    assert b.annotations_table.rowCount() == 1 and b.annotations_table.item(0, 3).text() == "bulk follows"
    b.variables_list.setCurrentRow(1)  # chosen: now it is read and plotted
    assert b.plot.source.name == "v1" and b.plot.point_count() == 1_000_001


def test_a_run_finished_with_errors_has_its_own_outcome_colour(open_browser, tmp_path):
    from rigconsole.datalog import DataLog
    from rigconsole.views.palette import run_look

    p = tmp_path / "session_2026-12-02_010000.h5"
    with DataLog(p) as log:
        for outcome in ("finished with errors", "failed", "finished"):
            run = log.start_run("stroop", {"participant": "s"})
            log.add_trial(run, {"trials.thisN": 0, "word": "red"})
            log.end_run(run, outcome, error="IndexError: list index out of range" if "error" in outcome else "")
    b = open_browser(p)
    items = [b.runs_tree.topLevelItem(i) for i in range(3)]
    assert [it.text(2) for it in items] == ["finished with errors", "failed", "finished"]
    colours = [it.foreground(2).color().name().lower() for it in items]
    assert colours == [run_look(o).colour for o in ("finished with errors", "failed", "finished")]
    assert len(set(colours)) == 3
