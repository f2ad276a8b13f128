"""Trial control on real runs of the bundled go/no-go (a real window under Xvfb, the rig's real
session file): repeat, skip N, pause at the end of the loop, edit expInfo; each action is an
annotation (who, when, what) in the .h5 and a note in PsychoPy's CSV. Actions come from another
thread, as the remote API's do, and reach the run through the session's command queue."""

from __future__ import annotations

import csv
import math
import shutil
import threading
import time
from pathlib import Path

import pytest

from rigconsole.rig import Rig
from rigconsole.session.trial_control import TrialControlError
from rigconsole.settings import Settings

REPO = Path(__file__).resolve().parents[2]
WINDOW = {"size": [320, 240], "fullscr": False, "units": "height"}
GNG = {"participant": "tc", "nTrials": 6, "responseWindow": 0.25, "feedback": False}


@pytest.fixture
def rig(tmp_path):
    root = tmp_path / "experiments"
    shutil.copytree(REPO / "resources" / "experiments", root)
    r = Rig(Settings(root=root, data_dir=tmp_path / "data"), window_params=WINDOW, simulated_vsync_hz=60.0)
    yield r
    r.close()


def _run(rig, exp_info, during):
    """Run the go/no-go through the run owner on this (main) thread while ``during(record)`` acts
    from another thread; returns the CSV rows, the thread's result and the run's record."""
    session = rig.session
    box: dict = {}

    def act():
        try:
            deadline = time.monotonic() + 30
            while session.current_run is None or session.current_run.state != "running":
                if time.monotonic() > deadline:
                    raise TimeoutError("the run never started")
                time.sleep(0.01)
            box["result"] = during(session.current_run)
        except BaseException as err:  # noqa: BLE001 - reported by the test
            box["error"] = err

    t = threading.Thread(target=act, daemon=True)
    t.start()
    rig.queue.run_now("gonogo/gonogo.py", dict(exp_info))
    rig.queue.run_until_idle()
    t.join(10)
    if "error" in box:
        raise box["error"]
    rec = session.run_records[-1]
    assert rec.error is None, rec.traceback
    files = sorted((rig.session.dataDir).rglob("tc_gonogo_*.csv"))
    assert files, "no CSV"
    with open(files[-1], newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    return rows, box.get("result"), rec


def _wait(cond, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("condition never met")
        time.sleep(0.01)


def _trials(rows):
    return [int(float(r["trial"])) for r in rows]


def _interrupted(rows):
    return [int(float(r.get("interrupted") or 0) or 0) for r in rows]


def _control_notes(rig):
    return [a for a in rig.data_log.annotations() if a["kind"] == "trial-control"]


def test_repeat_this_trial_puts_that_trial_in_the_csv_twice_and_the_annotation_says_so(rig):
    tc = rig.queue.trial_control

    def during(rec):
        _wait(lambda: rec.n_trials >= 2)
        time.sleep(0.15)  # inside trial 2 (its fixation)
        return tc.repeat_trial(who="remote:PI office")

    rows, row, _rec = _run(rig, GNG, during)
    k = row["fields"]["trial"]
    assert row["fields"]["action"] == "repeat"
    assert _trials(rows) == list(range(k + 1)) + list(range(k, 6)), _trials(rows)
    assert _trials(rows).count(k) == 2
    first = _trials(rows).index(k)
    assert _interrupted(rows)[first] == 1 and _interrupted(rows)[first + 1] == 0
    assert f"repeat trial {k + 1}" in rows[first]["notes"]  # PsychoPy's addAnnotation, in that trial's row
    notes = _control_notes(rig)
    assert len(notes) == 1
    note = notes[0]
    assert note["source"] == "remote:PI office" and note["fields"]["trial"] == k
    assert f"repeat trial {k + 1}" in note["text"] and note["fields"]["experiment"] == "gonogo/gonogo.py"
    assert abs(note["t"] - time.time()) < 60


def test_skip_n_skips_n_trials(rig):
    tc = rig.queue.trial_control

    def during(rec):
        _wait(lambda: rec.n_trials >= 1)
        time.sleep(0.15)
        return tc.skip_trials(2)

    rows, row, rec = _run(rig, GNG, during)
    k = row["fields"]["trial"]
    assert row["fields"]["skipped"] == [k + 1, k + 2]
    assert _trials(rows) == list(range(k + 1)) + list(range(k + 3, 6)), _trials(rows)
    assert _interrupted(rows)[k] == 1
    assert rec.n_trials == 6 - 2
    (note,) = _control_notes(rig)
    assert note["source"] == "console" and note["fields"]["action"] == "skip" and note["fields"]["n"] == 2


def test_pause_at_the_end_of_the_loop_pauses_there(rig):
    tc = rig.queue.trial_control
    session = rig.session

    def during(rec):
        _wait(lambda: rec.n_trials >= 1)
        time.sleep(0.1)
        row = tc.pause_at_loop_end()
        _wait(lambda: rec.state == "paused")
        at_pause = rec.n_trials
        time.sleep(0.6)
        still = rec.n_trials
        state = rec.state
        assert tc.availability()["pause_loop"]["enabled"] is False or state == "paused"
        session.resumeExperiment()
        return row, at_pause, still, state

    rows, (row, at_pause, still, state), rec = _run(rig, GNG, during)
    k = row["fields"]["trial"]
    assert state == "paused" and still == at_pause
    assert at_pause == k + 1  # the trial in progress ran to its end, then the run paused
    assert _trials(rows) == list(range(6)) and not any(_interrupted(rows))
    assert rec.state == "finished"


def test_an_expinfo_value_edited_mid_run_is_in_the_rows_from_then_on(rig):
    tc = rig.queue.trial_control

    def during(rec):
        _wait(lambda: rec.n_trials >= 2)
        with pytest.raises(TrialControlError, match="no expInfo field 'nope'"):
            tc.set_exp_info("nope", 1)
        with pytest.raises(TrialControlError, match="is a number"):
            tc.set_exp_info("goProportion", "lots")
        return tc.set_exp_info("session", "002"), rec.n_trials

    rows, (row, n_before), _rec = _run(rig, GNG, during)
    sessions = [r["session"] for r in rows]
    assert sessions[:n_before] == ["001"] * n_before  # (written as '001'/'1' by PsychoPy)
    assert sessions[-1] in ("002", "2") and row["fields"]["old"] == "001"
    (note,) = _control_notes(rig)
    assert note["fields"]["key"] == "session" and note["fields"]["value"] == "002"


def test_actions_the_loop_cannot_do_are_refused_with_the_reason(rig, tmp_path):
    tc = rig.queue.trial_control
    idle = tc.availability()
    assert not any(a["enabled"] for a in idle.values())
    assert idle["repeat"]["reason"] == "no run in progress"
    with pytest.raises(TrialControlError, match="cannot repeat this trial: no run in progress"):
        tc.repeat_trial()
    seen: dict = {}

    # the staircase of the bundled detection task: PsychoPy cannot repeat or skip its trials
    box: dict = {}

    def act():
        try:
            _wait(lambda: tc.state()["loop"] is not None)
            seen.update(tc.state())
        except BaseException as err:  # noqa: BLE001
            box["error"] = err
        finally:
            rig.queue.stop()

    t = threading.Thread(target=act, daemon=True)
    t.start()
    # (a simulated participant presses the instructions screen's key)
    rig.queue.run_now("detection/detection.psyexp", {"participant": "tc"}, mode="dry run")
    rig.queue.run_until_idle()
    t.join(10)
    assert "error" not in box, box
    assert seen["running"] and seen["loop_type"] == "StairHandler"
    for action in ("repeat", "next", "skip"):
        assert not seen["actions"][action]["enabled"]
        assert "StairHandler" in seen["actions"][action]["reason"]
    assert seen["actions"]["pause_loop"]["enabled"] and seen["actions"]["exp_info"]["enabled"]
    assert seen["upcoming"] == []
    assert not math.isnan(len(seen["exp_info"]))


def test_the_upcoming_trials_are_the_next_conditions(rig):
    tc = rig.queue.trial_control

    def during(rec):
        _wait(lambda: rec.n_trials >= 1)
        st = tc.state(n_upcoming=3)
        return st

    rows, st, _rec = _run(rig, GNG, during)
    k = st["trial"]
    assert st["loop"] == "trials" and st["loop_type"] == "TrialHandler2"
    assert [u["thisN"] for u in st["upcoming"]] == [k + 1, k + 2, k + 3][: 6 - k - 1]
    conds = {int(float(r["trial"])): r["condition"] for r in rows}
    assert [u["conditions"]["condition"] for u in st["upcoming"]] == [conds[u["thisN"]] for u in st["upcoming"]]
    assert st["remaining"] == 6 - k - 1


def test_next_trial_ends_this_one_and_skips_none(rig):
    """Through PsychoPy's ``Session.next`` ("move on to the next trial"): trial k is cut short, k+1 runs."""
    tc = rig.queue.trial_control

    def during(rec):
        _wait(lambda: rec.n_trials >= 1)
        time.sleep(0.15)
        return tc.next_trial()

    rows, row, rec = _run(rig, GNG, during)
    k = row["fields"]["trial"]
    assert _trials(rows) == list(range(6))
    assert _interrupted(rows) == [int(i == k) for i in range(6)]
    assert row["fields"]["action"] == "next" and rec.n_trials == 6
