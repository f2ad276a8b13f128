"""Key presses AND releases on the window-focused (``event``) keyboard backend, on a real window.

Keys are injected into the pyglet window's own event handlers (``dispatch_event``,
queued and dispatched at the next flip or poll as X events are): PsychoPy's input path.
"""

from __future__ import annotations

import csv
import time


def _press(win, symbol):
    win.winHandle.dispatch_event("on_key_press", symbol, 0)


def _release(win, symbol):
    win.winHandle.dispatch_event("on_key_release", symbol, 0)


def _flip_for(win, seconds):
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        win.flip()


def test_press_then_release_gives_a_duration(tmp_path, make_session):
    from psychopy.hardware import DeviceManager
    from pyglet.window import key

    from rigconsole.session.keyboard import keys_down

    (tmp_path / "root").mkdir()
    s = make_session(tmp_path / "root")
    win = s.win
    kb = DeviceManager.getDevice("defaultKeyboard")
    kb.clearEvents()
    kb.clock.reset()
    t_before = kb.clock.getTime()
    _press(win, key.SPACE)
    win.flip()  # the queued event is dispatched (and timed) here
    t_after = kb.clock.getTime()
    pressed = kb.getKeys(keyList=["space"], waitRelease=False)
    assert [k.name for k in pressed] == ["space"] and pressed[0].duration is None
    assert kb.getState("space") is True and "space" in keys_down()
    assert kb.getKeys(waitRelease=True) == []  # not released yet
    _flip_for(win, 0.25)
    t_rel_before = kb.clock.getTime()
    _release(win, key.SPACE)
    win.flip()
    t_rel_after = kb.clock.getTime()
    released = kb.getKeys(keyList=["space"], waitRelease=True)
    assert [k.name for k in released] == ["space"]
    assert released[0] is pressed[0]  # the same KeyPress, completed (as the Psychtoolbox backend does)
    # held from the press's dispatch to the release's (the machine may be slow: bounds, not a number)
    assert t_rel_before - t_after <= released[0].duration <= t_rel_after - t_before
    assert released[0].duration >= 0.25
    assert t_before <= released[0].rt <= t_after  # on the keyboard's clock, when the window dispatched it
    assert kb.getState("space") is False
    # a quick press+release within one poll: returned once on release, in order
    _press(win, key.F)
    _release(win, key.F)
    keys = kb.getKeys(waitRelease=True)
    assert [k.name for k in keys] == ["f"] and keys[0].duration >= 0.0
    assert kb.getKeys(waitRelease=False) == []


def test_clear_events_forgets_held_keys(tmp_path, make_session):
    from psychopy.hardware import DeviceManager
    from pyglet.window import key

    (tmp_path / "root").mkdir()
    s = make_session(tmp_path / "root")
    kb = DeviceManager.getDevice("defaultKeyboard")
    _press(s.win, key.S)
    s.win.flip()
    kb.getKeys(waitRelease=False)
    kb.clearEvents(eventType="keyboard")  # a new Builder keyboard starting
    _release(s.win, key.S)
    s.win.flip()
    assert kb.getKeys(waitRelease=True) == []  # its press belonged to the previous keyboard


def test_release_registered_builder_keyboard(demo_root, make_session, every_flip):
    """PsychoPy's progress-bar demo: its 'next' keyboard registers on release (waits forever without releases)."""
    from pyglet.window import key

    root = demo_root("Feature Demos/progress")
    s = make_session(root, simulated_vsync_hz=60)
    assert s.addExperiment("progress/progressBar.psyexp"), s.experiment_files["progress/progressBar.psyexp"].error
    state = {"frame": 0, "held": []}

    def participant(win):  # press space for 6 frames, release, every 30 frames
        state["frame"] += 1
        phase = state["frame"] % 30
        if phase == 10:
            _press(win, key.SPACE)
            state["t_press"] = time.perf_counter()
        elif phase == 16:
            _release(win, key.SPACE)
            state["held"].append(time.perf_counter() - state["t_press"])

    s.events.run_started.connect(lambda rec: every_flip(s.win, participant))
    assert s.runExperiment("progress/progressBar.psyexp", {"participant": "rel01"}) is True
    rec = s.run_records[-1]
    assert rec.state == "finished", rec.error
    csv_file = next(f for f in rec.data_files if f.endswith(".csv"))
    with open(csv_file, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("trials.thisN") not in (None, "")]
    assert len(rows) == 5  # nReps 5
    durations = [float(r["nextBtn.duration"]) for r in rows]
    assert all(r["nextBtn.keys"] == "space" and float(r["nextBtn.rt"]) > 0 for r in rows)
    # each press lasted from the flip after its press to the flip after its release: the time
    # held, within about a frame (6 frames at 60 Hz; the machine may make frames longer)
    held = state["held"][-len(durations) :]
    assert all(d > 0.05 for d in durations)
    assert all(abs(d - h) < 0.25 for d, h in zip(durations, held)), (durations, held)
