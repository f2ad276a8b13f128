"""The lab dashboard against replayed rigs (real RemoteServers on 127.0.0.1 playing real session
files): tiles sorted with the failed and lost first, red within the heartbeat, a notification
naming the rig, the grid reflowing with the width, the rig list saved and ticked again."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("PySide6", reason="the Qt suite (the core suite blocks Qt)")

from support.lab import write_session  # noqa: E402


@pytest.fixture
def lab(tmp_path):
    from rigconsole.remote import TokenStore
    from rigconsole.remote.replay import Replay

    store = TokenStore(None)
    token = store.add("lab manager", "observer")
    rigs = []
    for i in range(4):
        path = write_session(tmp_path / f"rig{i}.h5", seconds=20.0 if i else 8.0, runs=1, trials=12, fail=(i == 0))
        rp = Replay(path, speed=1.0, loop=(i != 0), tokens=store, announce=False, rig_name=f"rig-{i + 1}")
        rp.start()
        rigs.append(rp)
    yield rigs, token
    for rp in rigs:
        rp.close()


def test_dashboard_puts_the_failed_and_the_silent_rig_first_red_and_says_which(qtbot, lab):
    from rigconsole.remote import RemoteObserver
    from rigconsole.remote.connections import ConnectionManager
    from rigconsole.remote.recent import load_dashboard_rigs
    from rigconsole.ui.remote_dashboard import TILE_WIDTH, DashboardWindow

    rigs, token = lab
    ports = sorted(rp.port for rp in rigs)
    manager = ConnectionManager(heartbeat_s=2.0)
    shown: list = []
    dash = DashboardWindow(
        [RemoteObserver("127.0.0.1", rp.port, token=token) for rp in reversed(rigs)],
        manager=manager,
        notify=lambda title, msg: shown.append((title, msg)),
    )
    qtbot.addWidget(dash)
    dash.resize(2 * TILE_WIDTH + 80, 600)
    dash.show()
    try:
        qtbot.waitUntil(lambda: all(t.conn.text() == "live" for t in dash.tiles), timeout=20000)
        assert dash.columns == 2
        dash.resize(4 * TILE_WIDTH + 120, 600)  # wider: the grid reflows to more columns
        qtbot.waitUntil(lambda: dash.columns == 4, timeout=3000)
        # rig-1's recorded run fails 7.7 s in: its tile turns red, goes first, and a notification names it
        qtbot.waitUntil(lambda: any("rig-1" in title for title, _ in shown), timeout=15000)
        first = dash.ordered_tiles()[0]
        assert first.rig_name == "rig-1" and "failed" in first.alarm and "bad stimulus size" in first.alarm
        assert "3px solid" in first.styleSheet()
        qtbot.waitUntil(lambda: "1 need attention" in dash.summary.text(), timeout=2000)  # reflowed
        assert dash.grid.itemAtPosition(0, 0).widget() is first
        # rig-3 goes silent (its process ends): red within the heartbeat, named, sorted among the first
        gone = rigs[2]
        tile = next(t for t in dash.tiles if t.rig_name == "rig-3")
        t0 = time.monotonic()
        gone.close()
        qtbot.waitUntil(lambda: bool(tile.alarm), timeout=int(manager.heartbeat_s * 1000))
        assert time.monotonic() - t0 < manager.heartbeat_s
        qtbot.waitUntil(lambda: any("rig-3" in title for title, _ in shown), timeout=2000)
        qtbot.waitUntil(lambda: {t.rig_name for t in dash.ordered_tiles()[:2]} == {"rig-1", "rig-3"}, timeout=3000)
        assert all(not t.alarm for t in dash.ordered_tiles()[2:])
        assert sorted(r["port"] for r in load_dashboard_rigs()) == ports
    finally:
        dash.close()
        manager.close()


def test_the_rig_chooser_ticks_the_rigs_the_dashboard_showed_last(qtbot, lab):
    from remote.keyring_backends import MemoryKeyring, using
    from rigconsole.remote.recent import remember_rig, save_dashboard_rigs
    from rigconsole.ui.remote_dashboard import ChooseRigsDialog

    rigs, token = lab
    with using(MemoryKeyring()):
        for rp in rigs:
            remember_rig({"host": "127.0.0.1", "port": rp.port, "tls": False}, token)
        save_dashboard_rigs([{"host": "127.0.0.1", "port": rp.port} for rp in rigs[1:3]])
        dlg = ChooseRigsDialog(browse=False)
        qtbot.addWidget(dlg)
        ticked = sorted(e["port"] for check, _, e in dlg.rows if check.isChecked())
        assert ticked == sorted(rp.port for rp in rigs[1:3]) and len(dlg.rows) == 4
        assert sorted(o.port for o in dlg.observers()) == ticked


def test_the_dashboard_reopens_with_the_rigs_it_showed_last(qtbot, lab):
    from remote.keyring_backends import MemoryKeyring, using
    from rigconsole.remote import RemoteObserver
    from rigconsole.remote.recent import remember_rig
    from rigconsole.ui.remote_dashboard import DashboardWindow, saved_dashboard

    rigs, token = lab
    with using(MemoryKeyring()):
        assert saved_dashboard() is None  # nothing saved yet: the chooser asks
        for rp in rigs[:2]:
            remember_rig({"host": "127.0.0.1", "port": rp.port, "tls": False}, token)
        first = DashboardWindow([RemoteObserver("127.0.0.1", rp.port, token=token) for rp in rigs[:2]])
        qtbot.addWidget(first)
        first.close()  # "the next start": the same rigs, tokens from the keyring
        again = saved_dashboard()
        qtbot.addWidget(again)
        assert sorted(t.observer.port for t in again.tiles) == sorted(rp.port for rp in rigs[:2])
        again.show()
        try:
            qtbot.waitUntil(lambda: all(t.conn.text() == "live" for t in again.tiles), timeout=20000)
        except Exception:
            raise AssertionError([t.conn.text() for t in again.tiles]) from None
        again.close()
