"""lab-dashboard.png: the lab dashboard watching 20 replayed rigs, one of whose runs failed.

Twenty session files are recorded through the real DataLog API (tests/support/lab.py), each
served by ``rigconsole.remote.replay.Replay`` (the real RemoteServer on 127.0.0.1, a free port)
as ``rig-01`` ... ``rig-20``; rig-07's recorded run fails. The dashboard follows all twenty
through the one shared connection manager; the window is grabbed once rig-07's tile is red.

Run (needs a display; on a server under Xvfb):

    xvfb-run -a -s "-screen 0 1920x1080x24" uv run --frozen python docs/screenshots/make_lab_dashboard.py
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests"))


def main() -> int:
    os.environ.setdefault("RIGCONSOLE_MDNS", "off")
    tmp = Path(tempfile.mkdtemp(prefix="lab-dashboard-"))
    os.environ["RIGCONSOLE_SETTINGS"] = str(tmp / "settings.json")
    from PySide6.QtWidgets import QApplication

    from rigconsole.remote import RemoteObserver, TokenStore
    from rigconsole.remote.replay import Replay
    from rigconsole.ui.remote_dashboard import TILE_WIDTH, DashboardWindow
    from support.lab import write_session

    app = QApplication.instance() or QApplication(sys.argv[:1])
    store = TokenStore(None)
    token = store.add("lab manager", "observer")
    rigs = []
    for i in range(20):
        failing = i == 6
        path = write_session(tmp / f"rig{i + 1:02d}.h5", seconds=10.0 if failing else 120.0, runs=1,
                             trials=40, fail=failing, rate_hz=5.0,
                              participant=f"s{3 * i + 11}-")
        rp = Replay(path, speed=1.0 + (i % 4) * 0.5, loop=not failing, tokens=store, announce=False,
                    rig_name=f"rig-{i + 1:02d}")
        rp.start()
        rigs.append(rp)
    dash = DashboardWindow([RemoteObserver("127.0.0.1", rp.port, token=token) for rp in rigs],
                           notify=lambda title, msg: None, save=False)
    dash.resize(5 * (TILE_WIDTH + 10) + 50, 1000)
    dash.show()
    deadline = time.time() + 60
    while time.time() < deadline and not any(t.alarm for t in dash.tiles):
        app.processEvents()
        time.sleep(0.02)
    for _ in range(100):  # the reflow and a few more events
        app.processEvents()
        time.sleep(0.02)
    out = HERE / "lab-dashboard.png"
    ok = dash.grab().save(str(out))
    print(out if ok else "could not save the screenshot", flush=True)
    dash.close()
    for rp in rigs:
        rp.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
