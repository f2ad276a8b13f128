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


def _run(rig, exp_info, during, key="gonogo/gonogo.py"):
    """Run the go/no-go (or ``key``) through the run owner on this (main) thread while
    ``during(record)`` acts from another thread; returns the CSV rows, the thread's result and the
    run's record."""
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
    rig.queue.run_now(key, dict(exp_info))
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


def test_pause_after_this_trial_pauses_when_the_loop_next_iterates(rig):
    """PsychoPy's ``pauseLoop``: the trial in progress runs to its end, then the run pauses."""
    tc = rig.queue.trial_control
    session = rig.session

    def during(rec):
        _wait(lambda: rec.n_trials >= 1)
        time.sleep(0.1)
        row = tc.pause_after_trial()
        _wait(lambda: rec.state == "paused")
        at_pause = rec.n_trials
        time.sleep(0.6)
        still = rec.n_trials
        state = rec.state
        assert tc.availability()["pause_trial"]["enabled"] is False or state == "paused"
        session.resumeExperiment()
        return row, at_pause, still, state

    rows, (row, at_pause, still, state), rec = _run(rig, GNG, during)
    k = row["fields"]["trial"]
    assert row["fields"]["action"] == "pause_trial"
    assert state == "paused" and still == at_pause
    assert at_pause == k + 1  # the trial in progress ran to its end, then the run paused
    assert _trials(rows) == list(range(6)) and not any(_interrupted(rows))
    assert rec.state == "finished"


# the go/no-go with a routine after its loop: a 'thanks' screen that records when it started
THANKS = """    # --- thanks: a routine after the trials loop ---
    if thisExp.status != FINISHED:
        thisExp.addData('thanks.started', float(globalClock.getTime()))
        fbText.text = 'Thank you'
        _runPhase(thisExp, inputs, win, kb, 0.3, [fbText])
        thisExp.nextEntry()
    endExperiment(thisExp, win=win)


def endExperiment("""


def _with_thanks(rig) -> str:
    src = (REPO / "resources" / "experiments" / "gonogo" / "gonogo.py").read_text(encoding="utf-8")
    marker = "    endExperiment(thisExp, win=win)\n\n\ndef endExperiment("
    assert src.count(marker) == 1
    folder = Path(rig.session.root) / "blocks"
    folder.mkdir()
    (folder / "blocks.py").write_text(src.replace(marker, THANKS), encoding="utf-8")
    rig.session.scanRoot()
    return "blocks/blocks.py"


def test_pause_at_the_end_of_the_loop_pauses_after_its_last_trial_before_what_follows(rig):
    """Armed in trial 2 of 6: trials 3-6 run, the run pauses right after trial 6 (6 rows, the
    'thanks' routine not started), Resume goes on to 'thanks' and the end. With PsychoPy's
    ``pauseLoop`` (the old behaviour of this button) it paused after trial 2."""
    key = _with_thanks(rig)
    tc = rig.queue.trial_control
    session = rig.session

    def during(rec):
        _wait(lambda: rec.n_trials >= 1)  # trial 2 (thisN 1) in progress
        time.sleep(0.1)
        row = tc.pause_at_loop_end()
        st = tc.state()
        _wait(lambda: rec.state == "paused", timeout=30)
        exp = session.currentExperiment
        at_pause = {
            "n_trials": rec.n_trials,
            "trial_rows": [int(e["trial"]) for e in exp.entries if "trial" in e],
            "thanks": [e for e in [*exp.entries, exp.thisEntry] if "thanks.started" in e],
            "pending": tc.state()["pending_pause"],
        }
        time.sleep(0.6)
        still = (rec.n_trials, len(exp.entries), rec.state)
        session.resumeExperiment()
        return row, st, at_pause, still

    rows, (row, st, at_pause, still), rec = _run(rig, GNG, during, key=key)
    assert row["fields"]["action"] == "pause_loop" and row["fields"]["loop"] == "trials"
    k = row["fields"]["trial"]
    assert k < 5, "armed too late to show anything"
    assert st["pending_pause"] == {"loop": "trials", "source": "console"}
    assert not st["actions"]["pause_loop"]["enabled"] and "already asked for" in st["actions"]["pause_loop"]["reason"]
    # at the pause: the loop's 6 trials done, the next routine not started; it stays so while paused
    assert at_pause["trial_rows"] == list(range(6)), at_pause
    assert at_pause["n_trials"] == 6 and at_pause["thanks"] == [] and at_pause["pending"] is None
    assert still == (6, 6, "paused")
    # resumed: the run went on to 'thanks' and finished
    assert rec.state == "finished"
    assert _trials([r for r in rows if r.get("trial")]) == list(range(6)) and not any(_interrupted(rows[:6]))
    assert [r for r in rows if r.get("thanks.started")], "the routine after the loop never ran"
    notes = _control_notes(rig)
    assert [n["fields"]["action"] for n in notes] == ["pause_loop", "pause_loop_done"]
    assert notes[1]["text"] == "trial control (console): paused at the end of loop 'trials' after trial 6"
    assert notes[1]["fields"]["trial"] == 5 and notes[1]["source"] == "console"


def test_a_pause_at_the_end_of_the_loop_can_be_cancelled(rig):
    tc = rig.queue.trial_control

    def during(rec):
        _wait(lambda: rec.n_trials >= 1)
        tc.pause_at_loop_end()
        with pytest.raises(TrialControlError, match="already asked for"):
            tc.pause_at_loop_end()
        row = tc.cancel_loop_end_pause()
        with pytest.raises(TrialControlError, match="none is asked for"):
            tc.cancel_loop_end_pause()
        return row, tc.state()["pending_pause"]

    rows, (row, pending), rec = _run(rig, GNG, during)
    assert row["fields"]["action"] == "pause_loop_cancel" and pending is None
    assert rec.state == "finished" and _trials(rows) == list(range(6))  # never paused
    assert [n["fields"]["action"] for n in _control_notes(rig)] == ["pause_loop", "pause_loop_cancel"]


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
    assert seen["actions"]["pause_trial"]["enabled"]
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
