"""Remote views and emails say "pilot" (core suite: Qt blocked; a real session and stimulus window,
the real server on 127.0.0.1, a real SMTP server): a pilot run's status and stream events carry
``pilot``, ``observe --text`` says "pilot run", and the run's email says so in its subject and body."""

from __future__ import annotations

import asyncio
import threading
import time

from aiosmtpd.controller import Controller

from rigconsole.remote import RemoteObserver
from rigconsole.remote.cli import event_line, status_line
from rigconsole.remote.notify import Notifier
from rigconsole.remote.view import state_words

from support.smtp import Inbox, email_settings, free_port


def test_a_pilot_run_is_said_pilot_by_the_api_the_stream_text_and_email(rig):
    inbox = Inbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    notifier = Notifier(email_settings(port), rig_name="rig-test", retry_delays_s=(0.1,))
    notifier.start()
    notifier.attach(session=rig.session)
    queue = rig.server.view.queue
    live = threading.Event()
    got: dict = {"events": [], "status": None}

    async def follow():
        obs = RemoteObserver("127.0.0.1", rig.port, token=rig.observer_token)

        def said(what):
            if what == "live":
                live.set()

        async for ev in obs.updates(on_connection=said, heartbeat_s=60):
            got["events"].append(ev)
            if ev["type"] == "trial" and got["status"] is None:  # mid-run: what GET /status says
                got["status"] = await asyncio.to_thread(rig.request, "GET", "/api/v1/status")
            if ev["type"] == "run_ended":
                return

    worker = threading.Thread(target=lambda: asyncio.run(follow()), name="observer")
    worker.start()
    try:
        assert live.wait(30)
        time.sleep(0.2)
        item = queue.run_now("simple/simple.py", {"participant": "", "nTrials": 30}, mode="pilot")
        queue.run_until_idle()
        worker.join(60)
        assert not worker.is_alive()
        assert item.state == "finished" and item.record.pilot
        assert inbox.wait(1)
    finally:
        notifier.close()
        ctl.stop()

    code, st = got["status"]
    assert code == 200 and st["run"]["pilot"] is True and st["expInfo"]["participant"] == "pilot"
    assert status_line(st).startswith("rig rig-test: running (pilot run), simple/simple.py trial ")
    assert state_words(st["state"], st["run"]) == "Running · PILOT"  # the observer window and dashboard tile
    runs = {ev["type"]: ev["run"] for ev in got["events"] if ev["type"] in ("run_started", "run_ended")}
    assert runs["run_started"]["pilot"] and runs["run_ended"]["pilot"]
    assert (
        event_line({"type": "run_started", "run": runs["run_started"]})
        .split(" ", 1)[1]
        .startswith("pilot run 1 (simple/simple.py) started")
    )
    assert event_line({"type": "run_ended", "run": runs["run_ended"]}).endswith(
        "pilot run 1 (simple/simple.py) finished: 30 of 30 trials"
    )
    mail = inbox.parsed(0)
    assert mail["Subject"] == "[rig-test] pilot run 1 simple/simple.py: finished"
    body = mail.get_content()
    assert body.startswith("Pilot run 1 of simple/simple.py on rig rig-test") and "A PILOT run" in body


def test_a_real_run_is_not_said_pilot():
    run = {"index": 2, "key": "gonogo.py", "state": "finished", "trial": 3, "of": 3, "pilot": False}
    assert event_line({"type": "run_ended", "run": run}).endswith(" run 2 (gonogo.py) finished: 3 of 3 trials")
    assert state_words("running", run) == "Running" and state_words("idle", None) == "Idle"
    st = {"rig": "r", "state": "running", "run": run, "trial": 3, "of": 3}
    assert status_line(st) == "rig r: running, gonogo.py trial 3 of 3"


def test_post_runs_refuses_an_unknown_mode(rig):
    code, body = rig.request(
        "POST", "/api/v1/runs", token="operator", body={"experiment": "simple/simple.py", "mode": "rehearsal"}
    )
    assert code == 400 and body["error"] == "'mode' must be 'run' or 'pilot'"
    assert rig.session.run_records == []
