"""The run queue, the one owner of runs, on a real Rig (PsychoPy window under Xvfb, real HDF5):
add, move, remove, skip, retry, pause after the current item, stop, control from another thread,
a break on the subject screen ended by a key, one outcome sentence; and the grep that only the
queue calls Session.runExperiment and only session/outcomes.py writes an outcome's sentence."""

from __future__ import annotations

import ast
import os
import threading
from pathlib import Path

import pytest

from rigconsole.plans import BreakSpec, ItemState

APP = Path(__file__).resolve().parents[2] / "app" / "rigconsole"
REPO = APP.parents[1]


@pytest.fixture
def rig(exp_root, tmp_path):
    from rigconsole.rig import Rig
    from rigconsole.settings import Settings

    r = Rig(
        Settings(root=exp_root, data_dir=tmp_path / "data"),
        simulated_vsync_hz=60.0,
        window_params={"size": [320, 240], "fullscr": False, "units": "height"},
    )
    yield r
    r.close()


def _simple(n=2, who="q1"):
    return {"participant": who, "nTrials": n}


def test_items_move_remove_skip_then_run_in_order_with_one_outcome_each(rig):
    q = rig.queue
    a = q.add("simple/simple.py", _simple(2, "a"))
    b = q.add("simple/simple.py", _simple(3, "b"))
    c = q.add("failing/raises.py", {"participant": "c"})
    d = q.add("simple/simple.py", _simple(1, "d"))
    q.move(d.id, 0)
    assert [it.id for it in q.pending] == [d.id, a.id, b.id, c.id]
    q.remove(a.id)
    q.skip(b.id)
    assert b.state == ItemState.SKIPPED and b.outcome.sentence() == "skipped"
    with pytest.raises(KeyError):
        q.move(b.id, 0)  # ended: not pending
    ended = []
    q.events.item_ended.connect(ended.append)
    q.start()
    q.run_until_idle()
    assert [it.id for it in ended] == [d.id, c.id]
    assert [it.id for it in q.history] == [b.id, d.id, c.id]
    assert d.state == "finished" and d.outcome.sentence() == "run finished: 1 trial"
    assert d.record.exp_info["participant"] == "d" and d.run_index == 1
    assert c.state == "failed" and c.outcome.sentence(traceback_hint=False).startswith("run failed at ")
    assert "raises.py:" in c.outcome.error_at
    # retry a failed item: a new item and a new run; the old one is kept as it was
    r = q.retry(c.id)
    assert r.retry_of == c.id and q.pending[0] is r
    q.start()
    q.run_until_idle()
    assert r.state == "failed" and r.run_index == 3 and c.run_index == 2 and c.state == "failed"
    assert [rec.index for rec in rig.session.run_records] == [1, 2, 3]
    with pytest.raises(ValueError, match="has not ended"):
        q.retry(q.add("simple/simple.py", _simple()).id)


def test_pause_after_the_current_item_and_stop_the_plan(rig):
    q = rig.queue
    first = q.add("simple/simple.py", _simple(3, "p1"))
    second = q.add("simple/simple.py", _simple(2, "p2"))
    q.events.item_started.connect(lambda item: item is first and q.pause())
    q.start()
    q.run_until_idle()
    assert first.state == "finished" and first.outcome.n_trials == 3  # it ran to its end
    assert q.holding and q.pending == [second] and second.state == ItemState.PENDING
    # stop: the running item is stopped (trials kept), nothing new starts
    third = q.add("endless/endless.py", {"participant": "p3"})
    q.move(third.id, 0)
    rig.session.events.trial_added.connect(lambda rec, row: rec.n_trials >= 3 and q.stop())
    q.start()
    q.run_until_idle()
    assert third.state == "stopped" and third.outcome.sentence().startswith("run stopped after ")
    assert q.holding and q.pending == [second]


def test_control_from_another_thread_goes_through_the_command_queue(rig):
    q = rig.queue
    out = {}

    def remote():
        out["item"] = q.add("simple/simple.py", _simple(1, "thread"))
        q.start()

    th = threading.Thread(target=remote)
    th.start()
    while th.is_alive():
        rig.session.commands.drain()
    q.run_until_idle()
    assert out["item"].state == "finished" and out["item"].record.exp_info["participant"] == "thread"


def test_bad_input_is_refused_when_queued_and_a_run_in_progress_refuses_run_now(rig):
    from rigconsole.session import ExpInfoError, RunInProgressError, UnknownExperimentError

    q = rig.queue
    with pytest.raises(ExpInfoError):
        q.add("simple/simple.py", {"participant": "x", "nTrials": "many"})
    with pytest.raises(UnknownExperimentError):
        q.add("nope/nope.py")
    assert q.pending == []
    seen = {}

    def during(rec, row):
        if "second" not in seen:
            try:
                q.run_now("simple/simple.py", _simple())
            except RunInProgressError as err:
                seen["second"] = str(err)

    rig.session.events.trial_added.connect(during)
    q.run_now("simple/simple.py", _simple(2))
    q.run_until_idle()
    assert "still running" in seen["second"] and len(rig.session.run_records) == 1


def test_a_break_shows_its_message_until_a_key_ends_it(rig, tmp_path):
    from PIL import ImageGrab
    from pyglet.window import key

    q = rig.queue
    shots = {}
    msg = "Take a short rest.\n\nPress SPACE when you are ready."
    first = q.add("simple/simple.py", _simple(1, "b1"), after=BreakSpec(msg))
    second = q.add("simple/simple.py", _simple(1, "b2"))
    q.events.break_started.connect(lambda item, m: shots.setdefault("msg", m))
    ticks = {"n": 0}

    def idle():
        if q.in_break is not None:
            ticks["n"] += 1
            if ticks["n"] == 5:  # the screen has been up a few turns: look at it, then press space
                win = rig.session.win
                x, y = win.winHandle.get_location()
                w, h = win.winHandle.get_size()
                # what the X display shows (GL's front buffer reads black under Xvfb)
                shots["frame"] = ImageGrab.grab(xdisplay=os.environ["DISPLAY"]).crop((x, y, x + w, y + h))
                assert second.state == ItemState.PENDING
                win.winHandle.dispatch_event("on_key_press", key.SPACE, 0)
                win.winHandle.dispatch_event("on_key_release", key.SPACE, 0)
            assert ticks["n"] < 500, "the break did not end on SPACE"

    q.start()
    q.run_until_idle(idle=idle)
    assert shots["msg"] == msg and first.state == second.state == "finished"
    img = shots["frame"]
    img.save(tmp_path / "break.png")
    gray = img.convert("L")
    lo, hi = gray.getextrema()
    assert hi - lo > 100, "the break screen shows no text"  # text on the grey background
    if os.environ.get("RIGCONSOLE_UPDATE_SCREENSHOTS") == "1":  # the committed screenshot of the subject screen
        img.save(REPO / "docs" / "screenshots" / "plan-break-screen.png")


def test_a_plan_runs_for_one_participant_and_is_recorded_in_the_h5_and_the_state_file(rig, exp_root, tmp_path):
    from rigconsole.datalog import DataLog
    from rigconsole.plans import load_plan, read_state

    plan_file = exp_root / "battery.yaml"
    plan_file.write_text(
        "name: battery\nfields: {participant: '', session: '001'}\norder: latin square\nitems:\n"
        "  - experiment: simple/simple.py\n    expInfo: {nTrials: 2}\n"
        "  - experiment: json/named_like_a_package.py\n"
        "  - experiment: simple/simple.py\n    expInfo: {nTrials: 1}\n"
    )
    plan = load_plan(plan_file)
    run = rig.plan_run(plan, {"participant": "s02"})
    assert run.order == [1, 2, 0]  # participant 2: the Latin square's second row
    run.start()
    rig.queue.run_until_idle()
    recs = rig.session.run_records
    assert [r.key for r in recs] == ["json/named_like_a_package.py", "simple/simple.py", "simple/simple.py"]
    assert all(r.exp_info["participant"] == "s02" for r in recs)
    assert [r.n_trials for r in recs][1:] == [1, 2]
    state = read_state(run.state_file)
    assert state["participant"] == "s02" and state["order"] == [1, 2, 0]
    assert [(i["item"], i["state"]) for i in state["items"]] == [(2, "finished"), (3, "finished"), (1, "finished")]
    h5 = rig.data_log.path
    rig.close()
    with DataLog(h5, readonly=True) as log:
        meta = log.metadata("plan")
        notes = [a for a in log.annotations() if a["kind"] == "plan"]
        runs = log.runs()
    assert meta["plan_file"] == str(plan_file) and meta["order"] == [1, 2, 0] and meta["participant"] == "s02"
    assert [n["fields"]["item"] for n in notes] == [2, 3, 1]
    assert [n["fields"]["run"] for n in notes] == runs  # each run linked to its item
    # rigconsole data FILE shows the plan's progress
    import contextlib
    import io

    from rigconsole.datalog.cli import main as data_main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert data_main([str(h5)]) == 0
    text = buf.getvalue()
    assert "Plan 'battery': participant s02, 3 of 3 items done (order 2, 3, 1)" in text, text
    assert f"  item 2  json/named_like_a_package.py  finished  {runs[0]}  run finished: 1 trial" in text, text


def _calls(name: str):
    for path in sorted(APP.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name:
                yield path.relative_to(APP).as_posix()


def test_only_the_run_queue_starts_runs():
    # (the PsychoPy-compatible API itself aside: Session.runExperiment hands itself to the command
    # queue from another thread; that is a reference, not a call)
    assert set(_calls("runExperiment")) == {"plans/queue.py"}
    # qa.dry_run is handed the queue's own start call; nothing else runs a dry run
    users = {p for p in (APP.rglob("*.py")) if "dry_run(" in p.read_text() and "import dry_run" in p.read_text()}
    assert {u.relative_to(APP).as_posix() for u in users} == {"plans/queue.py"}


def test_an_outcome_sentence_is_built_in_one_place():
    phrases = (
        "every trial kept (",
        "run failed at",
        "run stopped after",
        "in the experiment's saveData",
        "run finished with errors:",
    )
    where = set()
    for path in sorted(APP.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and any(p in node.value for p in phrases)
                and not _is_docstring(tree, node)
            ):
                where.add(path.relative_to(APP).as_posix())
    assert where == {"session/outcomes.py"}, where
    assert '"saveData"' not in (APP / "ui" / "run_panel.py").read_text()


def _is_docstring(tree, const) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and first.value is const:
                return True
    return False
