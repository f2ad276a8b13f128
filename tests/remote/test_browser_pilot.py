"""The browser page says PILOT during a pilot run (headless Chromium, a real run started with
``POST /runs`` ``mode: pilot``) and not during a real one."""

from __future__ import annotations

import time

import pytest

from remote.conftest import serve_main_while
from remote.test_browser import CHROMIUM, _chromium

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")


def _dom_during(rig, tmp_path, mode: str) -> str:
    out: dict = {}

    def client():
        st, body = rig.request(
            "POST", "/api/v1/runs", token="operator", body={"experiment": "endless/endless.py", "mode": mode}
        )
        assert st in (201, 202), body
        deadline = time.monotonic() + 60
        while rig.request("GET", "/api/v1/status")[1]["state"] != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{rig.port}/"
        for _ in range(3):  # on a loaded machine the snapshot may come before the first status: look again
            out["dom"] = _chromium(base + f"#token={rig.observer_token}", tmp_path, "--dump-dom")
            if "endless/endless.py" in out["dom"]:
                break
        rig.request("POST", "/api/v1/session/stop", token="operator")
        while rig.request("GET", "/api/v1/status")[1]["state"] != "idle" and time.monotonic() < deadline + 30:
            time.sleep(0.05)

    serve_main_while(rig.session, client)
    return out["dom"]


def test_the_page_shows_pilot_only_for_a_pilot_run(rig, tmp_path):
    dom = _dom_during(rig, tmp_path, "pilot")
    assert "endless/endless.py" in dom, dom[dom.find("<main") : dom.find("<main") + 1500]
    assert ">pilot<" in dom  # the participant: "pilot"
    badge = dom.split('id="pilot"', 1)[1].split(">", 1)[0]
    assert "hidden" not in badge, badge  # the PILOT badge shows
    dom = _dom_during(rig, tmp_path, "run")
    assert "endless/endless.py" in dom
    badge = dom.split('id="pilot"', 1)[1].split(">", 1)[0]
    assert "hidden" in badge, badge
