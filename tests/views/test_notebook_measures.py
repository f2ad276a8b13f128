"""The Qt-free notebook (views.notebook) and response measures (views.trial_measures) on a real DataLog."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rigconsole.views.notebook import NoteFeed, add_note, check_note, note_label, note_x, running_trial
from rigconsole.views.trial_measures import TrialMeasures, format_summary


@pytest.fixture
def log(tmp_path):
    from rigconsole.datalog import DataLog

    dl = DataLog(tmp_path / "session.h5")
    yield dl
    dl.close()


def test_a_note_belongs_to_the_running_trial_or_to_the_session(log):
    feed = NoteFeed(log)
    s = add_note(log, "  lights on  ")
    assert s["text"] == "lights on" and s["fields"] == {}  # idle: a session note
    run = log.start_run("gonogo", {"participant": "p1"})
    for _ in range(3):
        log.add_trial(run, {"rt": 0.4, "correct": 1})
    assert running_trial(log) == (run, 3)  # trial index 3 (the 4th) runs now
    n = add_note(log, "participant sneezed", marker=3)
    assert n["fields"] == {"run": run, "trial": 3, "marker": 3}
    log.add_annotation("pause by PI", kind="control")  # not a note: the feed skips it
    assert feed.poll() and [r["text"] for r in feed.notes] == ["lights on", "participant sneezed"]
    assert not feed.poll()  # nothing new
    assert note_x(feed.notes[1], "trial", run) == 4.0 and note_x(feed.notes[1], "trial", "runs/other") is None
    assert note_x(feed.notes[0], "trial", run) is None and note_x(feed.notes[0], "time") == s["t"]
    assert note_x(feed.notes[1], "entry") is None
    assert [note_label(r) for r in feed.notes] == ["N", "3"]
    log.end_run(run, "finished")
    assert running_trial(log) == (None, None)
    log.flush()
    rows = [a for a in log.annotations() if a["kind"] == "note"]
    assert rows[1]["fields"] == {"run": run, "trial": 3, "marker": 3}


@pytest.mark.parametrize(
    "text, marker, why",
    [
        ("", None, "needs some text"),
        ("   ", None, "needs some text"),
        (3, None, "needs some text"),
        ("x" * 2001, None, "at most 2000"),
        ("ok", 0, "1-9"),
        ("ok", 10, "1-9"),
        ("ok", "3", "1-9"),
        ("ok", True, "1-9"),
    ],
)
def test_bad_notes_are_refused_with_what_to_fix_and_nothing_recorded(log, text, marker, why):
    with pytest.raises(ValueError, match=why):
        add_note(log, text, marker=marker)
    assert log.annotations() == []
    assert check_note("fine", 9) == ("fine", 9)


def test_measures_follow_the_consoles_response_measures():
    m = TrialMeasures(exclude={"participant": "p1"})
    rows = [
        {"participant": "p1", "trials.thisN": 0, "rt": 0.41, "correct": 1, "stim.started": 1.0},
        {"participant": "p1", "trials.thisN": 1, "rt": math.nan, "correct": 0, "stim.started": 2.0},
        {"participant": "p1", "trials.thisN": 2, "rt": 0.35, "correct": 1, "stim.started": 3.0},
        {"participant": "p1", "trials.thisN": 3, "rt": 0.52, "correct": 1, "stim.started": 4.0},
    ]
    out = [m.add(r) for r in rows]
    last = out[-1]
    assert last["columns"] == ["rt", "correct"]  # the console's "Response measures (auto)"
    assert last["accuracy"] == 0.75 and last["median_rt"] == pytest.approx(0.41) and last["n_rt"] == 3
    assert last["spark"] == [1.0, 0.5, pytest.approx(2 / 3, abs=1e-6), 0.75]
    assert last["text"] == "accuracy 75% · median RT 410 ms · 4 trials"
    table = {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0] if k != "participant"}
    assert TrialMeasures.of_table(table).summary() == {**last, "text": last["text"]}
    assert format_summary(TrialMeasures().summary()) == "0 trials"


def test_a_running_accuracy_column_alone_is_used_as_it_is():
    m = TrialMeasures()
    m.add({"acc": 1.0})
    s = m.add({"acc": 0.5})
    assert s["accuracy"] == 0.5 and s["median_rt"] is None and s["text"] == "accuracy 50% · 2 trials"
