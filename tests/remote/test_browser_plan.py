"""The browser page shows "item k of n, participant, estimated finish" during a real plan (headless
Chromium, Debian's; a real Session and run queue served over 127.0.0.1)."""

from __future__ import annotations

import re
import threading
import time

import pytest

from remote.test_browser import CHROMIUM, _chromium

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")


def test_the_page_shows_the_plan(rig, exp_root, tmp_path):
    from rigconsole.plans import PlanRun, load_plan

    queue = rig.server.view.queue
    plan_file = exp_root / "battery.yaml"
    plan_file.write_text(
        "name: Page battery\nfields: {participant: ''}\nitems:\n"
        "  - experiment: simple/simple.py\n    expInfo: {nTrials: 3}\n"
        "  - experiment: simple/simple.py\n    expInfo: {nTrials: 5000}\n"
        "  - experiment: simple/simple.py\n    expInfo: {nTrials: 2}\n"
    )
    out = {}

    def client():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            q = rig.request("GET", "/api/v1/queue")[1]
            if q["running"] is not None and q["items"][1]["state"] == "running":
                break
            time.sleep(0.05)
        time.sleep(0.5)  # some trials of item 2: its estimate is known
        base = f"http://127.0.0.1:{rig.port}/"
        for _ in range(3):  # on a loaded machine the snapshot may come before the answers: look again
            out["dom"] = _chromium(base + f"#token={rig.observer_token}", tmp_path, "--dump-dom")
            if "Plan: item" in out["dom"]:
                break
        rig.request("POST", "/api/v1/queue/stop", token="operator")

    done = threading.Event()
    run = PlanRun(load_plan(plan_file), {"participant": "s21"}, queue, tmp_path / "data")
    run.start()

    def drive():  # the client runs on its thread; the plan's runs here (the rig's main thread)
        th = threading.Thread(target=lambda: (client(), done.set()))
        th.start()
        while not done.is_set():
            queue.run_until_idle()
            rig.session.commands.drain()
            time.sleep(0.01)
        th.join(10)

    drive()
    run.close()
    m = re.search(r'<div id="plan">([^<]*)</div>', out["dom"])
    assert m, out["dom"][-2000:]
    assert re.fullmatch(r"Plan: item 2 of 3, participant s21, estimated finish \d\d:\d\d", m.group(1)), m.group(1)
