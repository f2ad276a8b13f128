"""The subject-screen preview during a real run: the whole console (build_console, the preview on,
remote attach on 127.0.0.1) runs the bundled go/no-go on a real PsychoPy window under Xvfb; the
console's Subject screen dock, a RemoteObserver (the observer window, same process, over the
network) and the browser page (headless Chromium) show the thumbnail, at most one a second.

Screenshots (RIGCONSOLE_UPDATE_SCREENSHOTS=1): docs/screenshots/preview-dock.png,
docs/screenshots/preview-observer.png, docs/screenshots/preview-page.png."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from rigconsole.remote.settings import RemoteSettings
from rigconsole.session.preview import PreviewSettings
from rigconsole.settings import Settings, WindowSettings

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = REPO / "docs" / "screenshots" if os.environ.get("RIGCONSOLE_UPDATE_SCREENSHOTS") == "1" else None


def _chromium(url: str, tmp_path: Path, *args: str) -> str:
    cmd = [
        CHROMIUM or "chromium",
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1280,900",
        "--virtual-time-budget=8000",
        *args,
        url,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout


def _console(qtbot, tmp_path, preview: bool):
    from rigconsole.ui.app import build_console

    root = tmp_path / "root"
    shutil.copytree(REPO / "resources" / "experiments", root)
    settings = Settings(
        root=root,
        data_dir=tmp_path / "data",
        window=WindowSettings(size=(400, 300)),
        remote=RemoteSettings(enabled=True, port=0, tls="off", rig_name="rig-9"),
        preview=PreviewSettings(enabled=preview),
    )
    c = build_console(settings=settings, simulated_vsync_hz=60, show=True)
    qtbot.waitExposed(c.window)
    qtbot.waitUntil(lambda: c.preview_dock is not None, timeout=60_000)
    return c


@pytest.fixture
def console(qtbot, tmp_path):
    c = _console(qtbot, tmp_path, preview=True)
    yield c
    c.close()


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_dock_observer_and_page_show_the_subject_screen_during_a_real_run(qtbot, console, during_run, tmp_path):
    from PIL import Image

    from rigconsole.remote import RemoteObserver
    from rigconsole.ui.remote_observer import ObserverWindow

    c = console
    w = c.window
    server = c.rig.component("remote")
    preview = c.rig.component("preview")
    token = server.tokens.add("PI office", "observer")
    win = ObserverWindow(RemoteObserver("127.0.0.1", server.port, token=token))
    qtbot.addWidget(win)
    win.resize(1200, 760)
    win.show()
    events: list[dict] = []
    win.feed.event.connect(lambda ev: events.append(ev) if ev["type"] == "preview" else None)
    qtbot.waitUntil(lambda: win.conn.text() == "live", timeout=30_000)
    assert c.preview_dock.isVisible()

    key = "gonogo/gonogo.py"
    assert w.experiments.select(key)
    qtbot.waitUntil(lambda: w.current_key() == key)
    w.form.set_values({"participant": "pv01", "nTrials": 40, "feedback": False})
    n_runs = len(c.session.run_records)
    seen: dict = {}
    page_done = threading.Event()

    def page():  # a worker thread: the main thread runs the experiment (and serves the console)
        try:
            shot = (SHOTS or tmp_path) / "preview-page.png"
            for _ in range(4):  # a loaded machine may snapshot before the first thumbnail: look again
                dom = _chromium(
                    f"http://127.0.0.1:{server.port}/#token={token}", tmp_path, "--dump-dom", f"--screenshot={shot}"
                )
                if re.search(r'<img id="preview"[^>]*src="blob:', dom) and 'id="previewbox" hidden' not in dom:
                    break
            seen["dom"], seen["page_shot"] = dom, shot
        except BaseException as err:  # noqa: BLE001 - reported by the test
            seen["page_error"] = err
        finally:
            page_done.set()

    def running(k):
        recs = c.session.run_records
        return len(recs) > n_runs and recs[-1].n_trials >= k

    def shoot():
        dock_shot = (SHOTS or tmp_path) / "preview-dock.png"
        w.grab().save(str(dock_shot))
        obs_shot = (SHOTS or tmp_path) / "preview-observer.png"
        win.grab().save(str(obs_shot))
        seen["dock_shot"], seen["observer_shot"] = dock_shot, obs_shot
        seen["dock_size"] = c.preview_dock.view.image_size()
        seen["observer_size"] = win.preview.image_size()
        seen["caption"] = c.preview_dock.caption.text()

    script = during_run(interval_ms=50)
    # the console's and the observer's screenshots first: Chromium starting beside the run drops frames
    script.when(
        lambda: running(2) and win.preview.has_image() and c.preview_dock.view.has_image(),
        shoot,
        "screenshots",
    )
    script.when(lambda: "dock_shot" in seen, lambda: threading.Thread(target=page, daemon=True).start(), "page")
    script.when(page_done.is_set, w.stop_action.trigger, "stop")
    script.start()
    t_run = time.time()
    w.run_action.trigger()
    qtbot.waitUntil(
        lambda: len(c.session.run_records) > n_runs and c.session.run_records[-1].ended is not None, timeout=240_000
    )
    span = time.time() - t_run
    script.check(["screenshots", "page", "stop"])
    assert "page_error" not in seen, seen.get("page_error")

    # the console's dock and the observer window showed the thumbnail (320 px wide, the window's 4:3)
    assert seen["dock_size"] == (320, 240) and seen["observer_size"] == (320, 240)
    assert re.match(r"\d\d:\d\d:\d\d · 320 × 240", seen["caption"])
    assert win.preview.isVisible() and win.preview_title.text() == "Subject screen"
    # it reached the RemoteObserver as stream events, at most one a second
    run_events = [ev for ev in events if ev["t"] >= t_run]
    assert len(run_events) >= 3, events
    assert len(run_events) <= span + 1
    times = [ev["t"] for ev in run_events]
    assert all(b - a >= 0.95 for a, b in zip(times, times[1:])), times
    assert [ev["number"] for ev in run_events] == sorted({ev["number"] for ev in run_events})
    # and RemoteObserver.preview() gives the newest as a JPEG of the stimulus window
    jpeg = RemoteObserver("127.0.0.1", server.port, token=token).preview()
    assert jpeg is not None and jpeg[:3] == b"\xff\xd8\xff"
    import io

    assert Image.open(io.BytesIO(jpeg)).size == (320, 240)
    # the page: the thumbnail card, its image loaded from the API
    dom = seen["dom"]
    assert 'id="previewbox" hidden' not in dom, dom[:3000]
    m = re.search(r'<img id="preview"[^>]*>', dom)
    assert m and 'src="blob:' in m.group(0) and re.search(r'data-number="\d+"', m.group(0)), m and m.group(0)
    assert "(at most once a second)" in dom
    # (that it costs no frame is measured by benchmarks/bench_frames.py --preview, and its budget
    # rule tested in tests/session/test_preview.py: Chromium starting beside the run drops frames here)
    stats = preview.stats()
    assert stats["taken"] >= 3 and stats["readback_ms_median"] is not None
    for shot in ("page_shot", "dock_shot", "observer_shot"):
        assert seen[shot].stat().st_size > 15_000
    win.close()


def test_off_by_default_says_how_to_turn_it_on(qtbot, tmp_path):
    from rigconsole.ui.preview_dock import OFF_TEXT

    c = _console(qtbot, tmp_path, preview=False)
    try:
        assert not c.settings.preview.enabled
        assert not c.preview_dock.isVisible()
        assert c.preview_dock.view.text() == OFF_TEXT
        # the Settings dialog's checkbox turns it on: the dock shows itself and waits for a frame
        from rigconsole.ui.settings_dialog import SettingsDialog

        dlg = SettingsDialog(c.session, c.settings, c.apply_settings)
        qtbot.addWidget(dlg)
        assert not dlg.preview_check.isChecked()
        dlg.preview_check.setChecked(True)
        assert dlg.apply(), dlg.error_label.text()
        assert c.settings.preview.enabled and c.rig.component("preview").enabled
        qtbot.waitUntil(c.preview_dock.isVisible, timeout=5_000)
        assert c.preview_dock.view.text() != OFF_TEXT
    finally:
        c.close()
