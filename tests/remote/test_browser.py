"""The browser page in headless Chromium (Debian's), during a real run: status, trial n of N,
live plots of logged variables, controls only for operators. Screenshot (RIGCONSOLE_UPDATE_SCREENSHOTS=1): docs/screenshots/remote-page.png."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from remote.conftest import serve_main_while

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")


def _chromium(url: str, tmp_path: Path, *args: str) -> str:
    cmd = [
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1280,800",
        "--virtual-time-budget=10000",
        *args,
        url,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return proc.stdout


def test_page_shows_a_real_run_live(rig, tmp_path):
    dl = rig.data_log
    out = {}

    def client():
        st, q = rig.request(
            "POST",
            "/api/v1/runs",
            token="operator",
            body={"experiment": "endless/endless.py", "expInfo": {"participant": "p42"}},
        )
        assert st == 202
        stop = threading.Event()

        def log_values():
            i = 0
            while not stop.is_set():
                dl.add_entry(pupil_mm=3.0 + 0.5 * ((i % 40) / 40), luminance=40.0 + (i % 7))
                i += 1
                time.sleep(0.02)

        th = threading.Thread(target=log_values)
        th.start()
        deadline = time.monotonic() + 60
        while rig.request("GET", "/api/v1/status")[1]["state"] != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        base = f"http://127.0.0.1:{rig.port}/"
        for _ in range(3):  # on a loaded machine the snapshot may come before the stream's welcome: look again
            out["operator_dom"] = _chromium(base + f"#token={rig.operator_token}", tmp_path, "--dump-dom")
            if 'id="conn" class="live"' in out["operator_dom"] and "pupil_mm" in out["operator_dom"]:
                break
        out["observer_dom"] = _chromium(base + f"#token={rig.observer_token}", tmp_path, "--dump-dom")
        out["refused_dom"] = _chromium(base + "#token=wrong", tmp_path, "--dump-dom")
        shot = tmp_path / "remote-page.png"
        _chromium(base + f"#token={rig.operator_token}", tmp_path, f"--screenshot={shot}")
        out["shot"] = shot
        stop.set()
        th.join()
        rig.request("POST", "/api/v1/session/stop", token="operator")
        while rig.request("GET", "/api/v1/status")[1]["state"] != "idle" and time.monotonic() < deadline + 30:
            time.sleep(0.05)

    serve_main_while(rig.session, client)
    dom = out["operator_dom"]
    assert 'id="state">running<' in dom.replace('class="state running" ', "") or ">running<" in dom
    assert "endless/endless.py" in dom and "p42" in dom
    assert "pupil_mm" in dom and "luminance" in dom  # a live plot each
    assert 'id="controls" hidden' not in dom  # operator: control buttons shown
    # during the run: Pause and Stop act, Resume does not (as the console's toolbar)
    assert '<button id="pause">' in dom and '<button id="stop">' in dom
    assert '<button id="resume" disabled="">' in dom
    assert 'id="conn" class="live"' in dom
    assert "second tech (operator)" in dom
    obs = out["observer_dom"]
    assert "PI office (observer)" in obs and 'id="controls" hidden' in obs
    assert "missing or invalid token" in out["refused_dom"]
    assert out["shot"].stat().st_size > 10_000
    if os.environ.get("RIGCONSOLE_UPDATE_SCREENSHOTS") == "1":
        shutil.copy(out["shot"], SHOTS / "remote-page.png")
