"""Dry runs with a simulated participant (inputs through the pyglet window's handlers, no X
tool): the bundled go/no-go, PsychoPy's GoNoGo demo, the sliders demo; and their QA reports."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from support.scripts import STUCK

REPO = Path(__file__).resolve().parents[2]


def _csv_rows(rec):
    with open(next(f for f in rec.data_files if f.endswith(".csv")), newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def test_bundled_gonogo_dry_run(tmp_path, make_session):
    from rigconsole.session.qa import dry_run

    root = tmp_path / "res"
    shutil.copytree(REPO / "resources" / "experiments", root)
    s = make_session(root, simulated_vsync_hz=60)
    assert s.addExperiment("gonogo/gonogo.py"), s.experiment_files["gonogo/gonogo.py"].error
    report = dry_run(s, "gonogo/gonogo.py", {"participant": "sim01", "nTrials": 8}, seed=3)
    assert report.outcome == "completed", report.to_text()
    assert report.rows >= 8
    assert report.simulated.get("key_press", 0) >= 1
    rows = [r for r in _csv_rows(s.run_records[-1]) if r.get("condition") in ("go", "nogo")]
    assert len(rows) == 8
    go_rts = [float(r["rt"]) for r in rows if r["condition"] == "go" and r.get("rt") not in ("", None, "None")]
    assert go_rts and all(0.1 < rt < 0.8 for rt in go_rts)  # plausible RTs within the 0.8 s window
    text = report.to_text()
    assert "completed" in text and "duration" in text


def test_gonogo_builder_demo_dry_run(gng_root, make_session):
    from rigconsole.session.qa import dry_run

    s = make_session(gng_root, simulated_vsync_hz=60)
    assert s.addExperiment("GoNoGo/gng.psyexp")
    report = dry_run(s, "GoNoGo/gng.psyexp", {"participant": "sim02"}, seed=1)
    assert report.outcome == "completed", report.to_text()
    assert report.trials_per_loop.get("trials") == 12 and report.expected_trials.get("trials") == 12
    rows = _csv_rows(s.run_records[-1])
    assert rows[0]["start_resp.keys"] == "s"  # the intro waits for 's': the participant pressed it
    trial_rows = [r for r in rows if r.get("trials.thisN") not in (None, "")]
    assert any(r.get("key_resp.keys") == "space" for r in trial_rows)
    assert "key_resp.rt" not in report.empty_columns
    assert report.frame_stats["n_frames"] > 300
    # the same seed makes the same participant: the same keys after the same drawn response times
    from rigconsole.session.simulate import SimulatedParticipant

    first, second = SimulatedParticipant(seed=1), SimulatedParticipant(seed=1)
    dry_run(s, "GoNoGo/gng.psyexp", {"participant": "sim03"}, participant=first)
    dry_run(s, "GoNoGo/gng.psyexp", {"participant": "sim04"}, participant=second)
    presses = [[(a["key"], a["rt_drawn"]) for a in p.actions if a["kind"] == "key_press"] for p in (first, second)]
    n = min(len(presses[0]), len(presses[1]))
    assert n >= 5 and presses[0][:n] == presses[1][:n]


def test_slider_ratings(demo_root, make_session):
    from rigconsole.session.qa import dry_run

    root = demo_root("Feature Demos/sliders")
    s = make_session(root, simulated_vsync_hz=60)
    key = next(k for k in s.scanRoot() if k.endswith(".psyexp"))
    assert not s.experiment_files[key].broken, s.experiment_files[key].error
    report = dry_run(s, key, {"participant": "sim04"}, seed=2, stuck_after_s=20)
    assert report.outcome == "completed", report.to_text()
    assert report.simulated.get("mouse_press", 0) >= 1
    rows = _csv_rows(s.run_records[-1])
    rating_cols = [c for c in rows[0] if c.endswith(".response")]
    assert rating_cols and any(r[c] not in ("", "None") for r in rows for c in rating_cols)


def test_stuck_run_is_reported_with_where(tmp_path, make_session):
    """A keyboard that accepts only a key nobody presses: the dry run stops it and says where."""
    from rigconsole.session.qa import dry_run

    root = tmp_path / "root"
    (root / "waits").mkdir(parents=True)
    (root / "waits" / "waits.py").write_text(STUCK)
    s = make_session(root, simulated_vsync_hz=60)
    assert s.addExperiment("waits/waits.py"), s.experiment_files["waits/waits.py"].error
    report = dry_run(s, "waits/waits.py", {"participant": "x"}, seed=0, stuck_after_s=1.5)
    assert report.outcome == "stuck"
    assert "waiting for keys ['escape']" in report.where or "['escape']" in report.where or report.where
    assert report.rows == 1


def test_event_wait_keys_is_answered(tmp_path, make_session):
    """``event.waitKeys`` never flips: the participant answers it from the experiment's polls."""
    from rigconsole.session.qa import dry_run

    root = tmp_path / "root"
    (root / "waitkeys").mkdir(parents=True)
    (root / "waitkeys" / "waitkeys.py").write_text(WAIT_KEYS)
    s = make_session(root, simulated_vsync_hz=60)
    assert s.addExperiment("waitkeys/waitkeys.py"), s.experiment_files["waitkeys/waitkeys.py"].error
    report = dry_run(s, "waitkeys/waitkeys.py", {"participant": "x"}, seed=0, stuck_after_s=5)
    assert report.outcome == "completed", report.to_text()
    rows = _csv_rows(s.run_records[-1])
    assert [r["key"] for r in rows] == ["space", "space", "space"]  # waitKeys(keyList=['space']), 3 times
    assert report.simulated.get("key_press", 0) == 3


WAIT_KEYS = """
from psychopy import visual, data, event

expName = 'waitkeys'
expInfo = {'participant': 'p', 'date|hid': '', 'expName|hid': expName}

def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name=expName, extraInfo=expInfo, dataFileName=f"{dataDir}/{expName}")

def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    for i in range(3):
        win.flip()
        keys = event.waitKeys(maxWait=10, keyList=['space'])
        thisExp.addData('key', keys[0] if keys else '')
        thisExp.nextEntry()
"""


TEXT_ANSWER = """
from psychopy import visual, data, core
from psychopy.hardware import keyboard
from psychopy.constants import STARTED

expName = 'answer'
expInfo = {'participant': 'p', 'date|hid': '', 'expName|hid': expName}

def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name=expName, extraInfo=expInfo, dataFileName=f"{dataDir}/{expName}")

def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    for i in range(2):
        box = visual.TextBox2(win, text='', editable=True, name='answerBox', pos=(0, 0), size=(0.6, 0.1),
                              letterHeight=0.04, color='white', fillColor='black')
        kb = keyboard.Keyboard()
        kb.name = 'submit'
        routine = data.Routine(name='answer', components=[box, kb])
        thisExp.currentRoutine = routine
        box.status = kb.status = STARTED
        box.setAutoDraw(True)
        done = False
        while not done:
            win.flip()
            done = bool(kb.getKeys(keyList=['return'], waitRelease=False))
        box.setAutoDraw(False)
        thisExp.addData('answer', box.text)
        thisExp.nextEntry()
    # a routine that waits for a key nobody presses (escape): the report names it
    kb = keyboard.Keyboard()
    kb.name = 'quitKey'
    thisExp.currentRoutine = data.Routine(name='endless', components=[kb])
    kb.status = STARTED
    while not kb.getKeys(keyList=['escape']):
        win.flip()
"""


def test_typing_into_a_text_box_and_naming_what_it_could_not_do(tmp_path, make_session):
    """An editable TextBox2 gets an answer typed through the window's text handler, then the
    keyboard's 'return' submits it; a routine waiting for escape is named in the report:
    the routine, the component and the input it waited for."""
    from rigconsole.session.qa import dry_run

    root = tmp_path / "root"
    (root / "answer").mkdir(parents=True)
    (root / "answer" / "answer.py").write_text(TEXT_ANSWER)
    s = make_session(root, simulated_vsync_hz=60)
    assert s.addExperiment("answer/answer.py"), s.experiment_files["answer/answer.py"].error
    report = dry_run(s, "answer/answer.py", {"participant": "t"}, seed=4, stuck_after_s=8, speed=10)
    assert report.outcome == "stuck", report.to_text()
    assert "routine 'endless'" in report.where and "a keypress (Keyboard 'quitKey')" in report.where, report.where
    rows = _csv_rows(s.run_records[-1])
    answers = [r["answer"] for r in rows if r.get("answer") not in (None, "")]
    assert len(answers) == 2, rows
    from rigconsole.session.simulate import SimulatedParticipant

    assert all(a in SimulatedParticipant.ANSWERS for a in answers), answers
    assert report.simulated.get("typed") == 2


def test_experiment_seed_repeats_the_experiments_draws_and_leaves_nothing_behind():
    """A dry run's seed makes the experiment's own randomness repeat (global generators, a loop's
    order, a staircase's interleaving) and puts everything back after: a real run then draws as
    if no dry run had happened."""
    import random

    import numpy as np
    from psychopy import data

    from rigconsole.session.qa import ExperimentSeed

    def draws():
        trials = data.TrialHandler2([{"a": i} for i in range(8)], 1, method="random")
        stairs = data.MultiStairHandler(conditions=[{"label": str(i), "startVal": 0.1} for i in range(4)], nTrials=4)
        return (
            [t["a"] for t in trials],
            [s.condition["label"] for s in stairs.thisPassRemaining],
            float(np.random.random()),
            random.random(),
        )

    np.random.seed(123)
    random.seed(123)
    expected_after = (np.random.random(), random.random())
    np.random.seed(123)
    random.seed(123)
    with ExperimentSeed(1) as seeded:
        first = draws()
    after = (np.random.random(), random.random())
    with ExperimentSeed(1):
        second = draws()
    with ExperimentSeed(2):
        other = draws()
    assert first == second and first != other
    assert seeded.loops_seeded == 2
    assert after == expected_after  # the global generators continue as if no dry run had happened
    # a loop made outside a dry run is unseeded again, and a loop's own seed is kept within one
    assert data.TrialHandler2([{"a": 1}], 1).seed is None
    with ExperimentSeed(1):
        assert data.TrialHandler2([{"a": 1}], 1, seed=7).seed == 7
