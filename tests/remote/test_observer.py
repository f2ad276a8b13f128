"""RemoteObserver against a real server: pymanip's get_last_values, start/stop_recording shapes
(each variable with its own times), live updates resuming after a dropped connection."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from rigconsole.remote import RemoteError, RemoteObserver


def test_get_last_values_and_refusals(rig):
    rig.data_log.add_entry(x=1.0, y=2.0)
    rig.data_log.add_entry(x=3.0)
    obs = RemoteObserver("127.0.0.1", rig.port, token=rig.observer_token)
    assert obs.get_last_values() == {"x": 3.0, "y": 2.0}
    with pytest.raises(RemoteError) as err:
        RemoteObserver("127.0.0.1", rig.port, token="nope").get_last_values()
    assert err.value.status == 401
    with pytest.raises(RemoteError) as err:
        obs.stop()
    assert err.value.status == 403
    with pytest.raises(RemoteError) as err:
        RemoteObserver("127.0.0.1", 1, token="x", timeout=2).status()
    assert err.value.status == 0 and "cannot reach" in str(err.value)


def test_recording_keeps_each_variable_with_its_own_times(rig):
    dl = rig.data_log
    dl.add_entry(x=-1.0, y=-1.0)  # before the recording: not in it
    obs = RemoteObserver("127.0.0.1", rig.port, token=rig.observer_token)
    obs.start_recording()
    t1 = dl.add_entry(x=1.0, y=10.0)
    t2 = dl.add_entry(x=2.0)
    t3 = dl.add_entry(z=5.0)  # first logged during the recording
    dl.save_parameter(gain=1.5)
    rec = obs.stop_recording()
    assert rec["x"] == {"t": [t1, t2], "value": [1.0, 2.0]}
    assert rec["y"] == {"t": [t1], "value": [10.0]}
    assert rec["z"] == {"t": [t3], "value": [5.0]}
    assert rec["gain"] == 1.5 and "time" not in rec
    # same times for every variable: pymanip's reduced shape
    obs.start_recording()
    ta = dl.add_entry(x=3.0, y=30.0, z=6.0)
    tb = dl.add_entry(x=4.0, y=40.0, z=7.0)
    rec = obs.stop_recording()
    assert rec["time"] == [ta, tb] and rec["x"] == [3.0, 4.0] and rec["y"] == [30.0, 40.0]
    with pytest.raises(RuntimeError, match="start_recording"):
        obs.stop_recording()


def test_live_updates_resume_after_a_dropped_connection(rig):
    dl = rig.data_log
    obs = RemoteObserver("127.0.0.1", rig.port, token=rig.observer_token)
    got, seqs = [], []

    def produce():
        for i in range(200):
            dl.add_entry(x=float(i))
            if i == 80:
                rig.server.disconnect_clients()
            time.sleep(0.002)

    async def main():
        agen = obs.updates(retry_delay_s=0.05)
        th = threading.Thread(target=produce)
        try:
            async for ev in agen:
                if ev["type"] != "values":
                    continue
                if "start" in ev["values"]:  # the stream is live: produce, dropping the connection once
                    th.start()
                    continue
                got.append(ev["values"]["x"])
                seqs.append(ev["seq"])
                if ev["values"]["x"] == 199.0:
                    break
        finally:
            await agen.aclose()
        th.join()

    # the iterator connects first; an entry a moment later tells it the stream is live
    starter = threading.Timer(0.5, lambda: dl.add_entry(start=1.0))
    starter.start()
    asyncio.run(asyncio.wait_for(main(), 60))
    starter.join()
    assert got == [float(i) for i in range(200)]
    assert seqs == sorted(seqs)
