"""``rigconsole replay``: a recorded session served as a live rig through the real RemoteServer,
and the shared ConnectionManager following replayed rigs (Qt-free; real HDF5 files, real
aiohttp server on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import threading
import time

import pytest

from support.lab import write_session


def _tokens():
    from rigconsole.remote import TokenStore

    store = TokenStore(None)
    return store, store.add("PI office", "observer"), store.add("second tech", "operator")


def _norm(v):
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def test_a_replayed_session_streams_the_trials_and_variables_the_file_holds(tmp_path):
    from rigconsole.datalog import DataLog
    from rigconsole.remote import RemoteError, RemoteObserver
    from rigconsole.remote.replay import Replay

    path = write_session(tmp_path / "session.h5", seconds=6.0, runs=2, trials=8, rate_hz=10.0, fail=True)
    store, obs_token, op_token = _tokens()
    rp = Replay(path, speed=4.0, tokens=store, announce=False)
    got: list[dict] = []
    loop = asyncio.new_event_loop()

    async def follow():
        async for ev in RemoteObserver("127.0.0.1", rp.port, token=obs_token).updates(after=0):
            got.append(ev)

    def run_follower(task):
        try:
            loop.run_until_complete(task)
        except asyncio.CancelledError:
            pass
        finally:
            loop.close()

    rp.server.start()  # serve first, so the observer is there from the first event
    observer = RemoteObserver("127.0.0.1", rp.port, token=obs_token)
    observer.start_recording()
    task = loop.create_task(follow())
    th = threading.Thread(target=run_follower, args=(task,))
    th.start()
    try:
        t_start = time.time()
        rp.start()
        assert rp.wait(30), "the replay did not play through"
        assert time.time() - t_start >= rp.duration_s * 0.9  # at 4x the recorded pace, not at once
        assert observer.status()["rig"] == "replay of session"
        with pytest.raises(RemoteError) as no:  # tokens work as on a rig
            RemoteObserver("127.0.0.1", rp.port, token="wrong").status()
        assert no.value.status == 401
        with pytest.raises(RemoteError) as forbidden:
            observer.pause()
        assert forbidden.value.status == 403
        rec = observer.stop_recording(reduce_time=False)
        time.sleep(1.5)  # the last batches reach the stream follower
    finally:
        loop.call_soon_threadsafe(task.cancel)
        th.join(10)
    src = DataLog(path, readonly=True)
    try:
        for name in ("pupil_mm", "luminance_cd_m2"):
            t_file, v_file = src.logged_variable(name)
            assert rec[name]["value"] == v_file.tolist(), name  # every value, in order, none repeated
            # recorded spacing at 4x: (t - t_first) / 4
            rel = [t - rec[name]["t"][0] for t in rec[name]["t"]]
            want = [(t - t_file[0]) / 4.0 for t in t_file.tolist()]
            assert max(abs(a - b) for a, b in zip(rel, want)) < 0.25
        trials = [e for e in got if e["type"] == "trial"]
        runs = src.runs()
        for run_index, run in enumerate(runs, start=1):
            table = src.trials(run)
            rows = [e["row"] for e in trials if e["run_index"] == run_index]
            assert len(rows) == src.run_info(run)["n_trials"] > 0
            for i, row in enumerate(rows):
                assert {k: _norm(row.get(k)) for k in table} == {
                    k: _norm(a[i].item() if hasattr(a[i], "item") else a[i]) for k, a in table.items()
                }
        ended = [e["run"]["state"] for e in got if e["type"] == "run_ended"]
        assert ended == [src.run_info(r)["outcome"] for r in runs] == ["finished", "failed"]
        states = [(e["name"], e["state"]) for e in got if e["type"] == "instrument"]
        assert states == [("photometer", "connected"), ("photometer", "down"), ("photometer", "connected")]
        notes = [e["annotation"]["text"] for e in got if e["type"] == "annotation"]
        assert "lights dimmed" in notes
    finally:
        src.close()
        rp.close()


def test_control_on_a_replay_is_accepted_and_logged_but_changes_nothing(tmp_path):
    from rigconsole.remote import RemoteObserver
    from rigconsole.remote.replay import Replay

    path = write_session(tmp_path / "s.h5", seconds=8.0, runs=1, trials=20)
    store, _, op_token = _tokens()
    rp = Replay(path, speed=2.0, tokens=store, announce=False)
    rp.start()
    try:
        op = RemoteObserver("127.0.0.1", rp.port, token=op_token)
        deadline = time.time() + 10
        while op.status()["state"] != "running" and time.time() < deadline:
            time.sleep(0.1)
        assert op.status()["state"] == "running"
        n = op.status()["trial"]
        assert op.pause()["done"] is True  # accepted ...
        time.sleep(1.0)
        st = op.status()
        assert st["state"] == "running" and st["trial"] > n  # ... and the replay plays on
        texts = [a["text"] for a in op._get("annotations")["annotations"]]
        assert "pause by second tech" in texts  # logged with the token's name
        assert rp.session.control_requests == ["pause"]
    finally:
        rp.close()


def test_replay_command_line_errors_are_one_line(tmp_path):
    from rigconsole.cli import main

    assert main(["replay", str(tmp_path / "none.h5"), "--remote", "0"]) == 2
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    assert main(["replay", str(bad), "--remote", "0"]) == 1
    path = write_session(tmp_path / "s.h5", seconds=1.0, runs=1, trials=2)
    assert main(["replay", str(path), "--remote", "0", "--speed", "0"]) == 2


def test_replay_command_plays_a_file_through(tmp_path):
    path = write_session(tmp_path / "s.h5", seconds=2.0, runs=1, trials=3)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from rigconsole.cli import main; sys.exit(main())",
            "replay",
            str(path),
            "--speed",
            "4",
            "--remote",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "as rig 'replay of s' on http://127.0.0.1:" in out.stdout and "played through" in out.stdout


def test_one_connection_manager_follows_many_rigs_on_one_thread_and_notices_a_rig_going_away(tmp_path):
    from rigconsole.remote import RemoteObserver
    from rigconsole.remote.connections import ConnectionManager
    from rigconsole.remote.replay import Replay

    store, obs_token, _ = _tokens()
    rigs = [
        Replay(
            write_session(tmp_path / f"s{i}.h5", seconds=30.0, runs=1, trials=30),
            loop=True,
            tokens=store,
            announce=False,
            rig_name=f"rig-{i}",
        )
        for i in range(4)
    ]
    for rp in rigs:
        rp.start()
    threads_before = threading.active_count()
    others = {
        t for t in threading.enumerate() if t.name == "rigconsole connections"
    }  # a shared manager of earlier tests
    manager = ConnectionManager(heartbeat_s=2.0)
    try:
        feeds, seen, lines = [], {}, {}
        for rp in rigs:
            f = manager.add(RemoteObserver("127.0.0.1", rp.port, token=obs_token), start=False)
            f.events.status.connect(lambda st, f=f: seen.__setitem__(id(f), st["rig"]))
            f.events.connection.connect(lambda what, f=f: lines.setdefault(id(f), []).append(what))
            f.start()
            feeds.append(f)
        bad = manager.add(RemoteObserver("127.0.0.1", rigs[0].port, token="wrong"))
        deadline = time.time() + 20
        while time.time() < deadline and not (
            all(f.connection == "live" for f in feeds) and bad.connection.startswith("refused")
        ):
            time.sleep(0.1)
        assert [f.connection for f in feeds] == ["live"] * 4 and bad.connection.startswith("refused")
        assert sorted(seen.values()) == ["rig-0", "rig-1", "rig-2", "rig-3"]
        assert threading.active_count() - threads_before <= 2  # one manager thread (+ a resolver at most)
        assert len({t for t in threading.enumerate() if t.name == "rigconsole connections"} - others) == 1
        gone = rigs.pop()
        t0 = time.monotonic()
        gone.close()  # the rig's process going away
        while feeds[-1].connection == "live" and time.monotonic() - t0 < 10:
            time.sleep(0.05)
        assert feeds[-1].connection.startswith("lost"), feeds[-1].connection
        assert time.monotonic() - t0 < manager.heartbeat_s
        assert all(f.connection == "live" for f in feeds[:-1])  # the others go on
    finally:
        manager.close()
        for rp in rigs:
            rp.close()
    assert not {t for t in threading.enumerate() if t.name == "rigconsole connections"} - others
