"""The remote trial view during a real run: the whole console (build_console, remote attach on
127.0.0.1) runs the bundled go/no-go on a real PsychoPy window under Xvfb; the observer window
(same process, over the network), the dashboard tile and the browser page (headless Chromium)
show the run's response measures by trial, the running accuracy and the median RT, the same
numbers the rig computed (views.trial_measures) from the trials in its data log.

Screenshots (RIGCONSOLE_UPDATE_SCREENSHOTS=1): docs/screenshots/remote-trial-observer.png,
docs/screenshots/remote-trial-page.png."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

pytest.importorskip("PySide6", reason="the Qt suite (the core suite blocks Qt)")

from rigconsole.settings import Settings, WindowSettings  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = REPO / "docs" / "screenshots" if os.environ.get("RIGCONSOLE_UPDATE_SCREENSHOTS") == "1" else None
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
        "--window-size=1280,900",
        "--virtual-time-budget=8000",
        *args,
        url,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout


@pytest.fixture
def console(qtbot, tmp_path):
    from rigconsole.remote.settings import RemoteSettings
    from rigconsole.ui.app import build_console

    root = tmp_path / "root"
    shutil.copytree(REPO / "resources" / "experiments", root)
    settings = Settings(
        root=root,
        data_dir=tmp_path / "data",
        window=WindowSettings(size=(400, 300)),
        remote=RemoteSettings(enabled=True, port=0, tls="off", rig_name="rig-7"),
    )
    c = build_console(settings=settings, simulated_vsync_hz=60, show=True)
    qtbot.waitExposed(c.window)
    qtbot.waitUntil(lambda: c.notebook is not None, timeout=60_000)
    yield c
    c.close()


def test_observer_window_tile_and_page_show_the_trial_plot_of_a_real_run(qtbot, console, during_run, tmp_path):
    from rigconsole.remote import RemoteObserver
    from rigconsole.ui.remote_dashboard import DashboardWindow
    from rigconsole.ui.remote_observer import ObserverWindow
    from rigconsole.views.trial_measures import TrialMeasures

    c = console
    w = c.window
    server = c.rig.component("remote")
    observer_token = server.tokens.add("PI office", "observer")
    win = ObserverWindow(RemoteObserver("127.0.0.1", server.port, token=observer_token))
    qtbot.addWidget(win)
    win.resize(1200, 720)
    win.show()
    dash = DashboardWindow([RemoteObserver("127.0.0.1", server.port, token=observer_token)])
    qtbot.addWidget(dash)
    dash.show()
    tile = dash.tiles[0]
    qtbot.waitUntil(lambda: win.conn.text() == "live" and tile.conn.text() == "live", timeout=30_000)

    key = "gonogo/gonogo.py"
    assert w.experiments.select(key)
    qtbot.waitUntil(lambda: w.current_key() == key)
    w.form.set_values({"participant": "tv01", "nTrials": 60, "feedback": False})
    n_runs = len(c.session.run_records)
    seen: dict = {}
    page_done = threading.Event()

    def page():  # a worker thread: the main thread is busy running the experiment (and serving the server)
        try:
            base = f"http://127.0.0.1:{server.port}/"
            shot = (SHOTS or tmp_path) / "remote-trial-page.png"
            for _ in range(4):  # a loaded machine may snapshot before the stream is live: look again
                dom = _chromium(base + f"#token={observer_token}", tmp_path, "--dump-dom", f"--screenshot={shot}")
                if re.search(r'id="trialsummary">accuracy \d+% · median RT', dom) and 'id="conn" class="live"' in dom:
                    break
            seen["dom"] = dom
            seen["page_shot"] = shot
        except BaseException as err:  # noqa: BLE001 - reported by the test
            seen["page_error"] = err
        finally:
            page_done.set()

    def running(k):
        recs = c.session.run_records
        return len(recs) > n_runs and recs[-1].n_trials >= k

    def shoot_observer():
        win.trial_view.redraw()
        shot = (SHOTS or tmp_path) / "remote-trial-observer.png"
        win.grab().save(str(shot))
        seen["observer_shot"] = shot
        seen["observer"] = {
            "summary": win.trial_view.summary.text(),
            "series": {k: win.trial_view.plot.series(k) for k in win.trial_view.plot.visible_series()},
        }
        seen["tile"] = tile.spark.text()
        dash.grab().save(str(tmp_path / "dashboard.png"))
        # a PI attaching now, mid-run: the trials so far come first (GET runs/{id}/trials), then live ones
        late = ObserverWindow(RemoteObserver("127.0.0.1", server.port, token=observer_token))
        qtbot.addWidget(late)
        late.show()
        seen["late"] = late

    def late_has_history():
        late = seen["late"]
        x, _ = late.trial_view.plot.series("correct")
        return len(x) >= 8 and x[0] == 1.0

    def late_done():
        late = seen["late"]
        seen["late_x"] = list(late.trial_view.plot.series("correct")[0])
        seen["late_summary"] = late.trial_view.summary.text()

    # a participant: SPACE into the stimulus window now and then (go trials get a response time)
    pyglet_window = c.session.win.winHandle._window
    stop_keys = threading.Event()

    def press():
        while not stop_keys.wait(0.45):
            subprocess.run(["xdotool", "windowfocus", str(pyglet_window)], capture_output=True, check=False)
            subprocess.run(["xdotool", "key", "space"], capture_output=True, check=False)

    keys = threading.Thread(target=press, daemon=True)
    keys.start()
    script = during_run(interval_ms=50)
    script.when(lambda: running(3), lambda: threading.Thread(target=page, daemon=True).start(), "page")
    script.when(lambda: running(8) and "median RT" in win.trial_view.summary.text(), shoot_observer, "observer")
    script.when(late_has_history, late_done, "late")
    script.when(page_done.is_set, w.stop_action.trigger, "stop")
    script.start()
    w.run_action.trigger()
    try:
        qtbot.waitUntil(
            lambda: len(c.session.run_records) > n_runs and c.session.run_records[-1].ended is not None, timeout=240_000
        )
    finally:
        stop_keys.set()
        keys.join(5)
    script.check(["page", "observer", "late", "stop"])
    assert "page_error" not in seen, seen.get("page_error")
    rec = c.session.run_records[-1]

    # the rig's own numbers, from the trials in its data log, at the time of the observer's screenshot
    group = c.rig.recorder.group_for(rec)
    table = c.data_log.trials(group)
    obs = seen["observer"]
    n_then = int(re.search(r"(\d+) trials", obs["summary"]).group(1))
    first = {k: v[:n_then] for k, v in table.items()}
    want = TrialMeasures.of_table(first, rec.exp_info).summary()
    assert obs["summary"] == want["text"]
    assert re.fullmatch(r"accuracy \d+% · median RT \d+ ms · \d+ trials", obs["summary"])
    # the plot: the response measures the console's trial plot shows ("Response measures (auto)"), by trial
    assert set(obs["series"]) == set(want["columns"]) >= {"rt", "correct", "accuracy"}
    x, y = obs["series"]["correct"]
    assert list(x) == [float(i + 1) for i in range(n_then)] and list(y) == list(first["correct"])
    # the tile: the accuracy sparkline ends at the rig's running accuracy
    assert seen["tile"].startswith("accuracy ") and seen["tile"].endswith("%")

    # the late observer: every trial from the first, numbered as the console numbers them
    assert seen["late_x"][:8] == [float(i + 1) for i in range(8)]
    assert seen["late_summary"].startswith("accuracy ")
    seen["late"].close()

    # the page: the trial card, with the rig's summary line and a drawn plot
    dom = seen["dom"]
    m = re.search(r'id="trialsummary">(accuracy \d+%[^<]*)<', dom)
    assert m, dom[:2000]
    assert re.fullmatch(r"accuracy \d+% · median RT \d+ ms · \d+ trials", m.group(1))
    assert ">correct<" in dom.replace("</i>", ">") and ">accuracy<" in dom.replace("</i>", ">")
    assert seen["page_shot"].stat().st_size > 20_000 and seen["observer_shot"].stat().st_size > 20_000
    win.close()
    dash.close()
