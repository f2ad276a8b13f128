"""Logged variables, parameters and datasets: pymanip AsyncSession's data API on HDF5."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from rigconsole.datalog import DataLog, UnknownNameError


def test_add_entry_roundtrip_like_pymanip(log):
    before = time.time()
    for i in range(4):
        log.add_entry(a=i)
    log.add_entry({"b": 1.5}, c=np.float32(2.0))
    after = time.time()
    t, v = log.logged_variable("a")
    tt, vv = log["a"]
    assert t.dtype == np.float64 and v.dtype == np.float64 and t.shape == (4,)
    assert np.array_equal(v, [0, 1, 2, 3]) and np.array_equal(t, tt) and np.array_equal(v, vv)
    assert before <= t[0] and t[-1] <= after and np.all(np.diff(t) > 0)
    assert log.logged_variables() == {"a", "b", "c"}
    data = log.logged_data()
    assert set(data) == {"a", "b", "c"} and np.array_equal(data["a"][1], v)
    assert log.logged_first_values()["a"] == (t[0], 0.0)
    assert log.logged_last_values()["a"] == (t[-1], 3.0)
    assert log.logged_last_values()["b"][0] == log.logged_last_values()["c"][0]  # one timestamp per call


def test_fromtimestamp_is_strictly_after(log):
    for i in range(10):
        log.add_entry(x=i)
    t, v = log.logged_variable("x")
    t2, v2 = log.logged_data_fromtimestamp("x", t[4])
    assert np.array_equal(v2, [5, 6, 7, 8, 9])
    t3, v3 = log.logged_data_fromtimestamp("x", t[-1])
    assert t3.size == 0 and v3.size == 0
    t4, v4 = log.logged_data_fromtimestamp("x", 0.0)
    assert np.array_equal(v4, v)
    e_t, e_v = log.logged_data_fromtimestamp("never_logged", 0.0)  # pymanip: empty arrays
    assert e_t.size == 0 and e_v.size == 0


def test_poller_never_sees_a_point_twice_or_misses_one(log):
    n = 20000
    seen: list[float] = []
    done = threading.Event()

    def poll():
        last = 0.0
        while True:
            finished = done.is_set()
            t, v = log.logged_data_fromtimestamp("p", last)
            seen.extend(v.tolist())
            if t.size:
                last = t[-1]
            if finished:
                return

    th = threading.Thread(target=poll)
    th.start()
    for i in range(n):
        log.add_entry(p=i)
    done.set()
    th.join()
    assert seen == list(range(n))


def test_concurrent_writers_lose_nothing(make_log, tmp_path):
    log = make_log("threads.h5")

    def work(k):
        for i in range(2000):
            log.add_entry(**{f"w{k}": i, "shared": k})

    ths = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    log.close()
    with h5py.File(tmp_path / "threads.h5") as f:
        for k in range(4):
            assert np.array_equal(f[f"variables/w{k}"]["value"], np.arange(2000))
        t = f["variables/shared"]["t"]
        assert len(t) == 8000 and np.all(np.diff(t) > 0)


def test_data_on_disk_within_flush_interval_without_close(make_log, tmp_path):
    log = make_log("live.h5", flush_interval=0.1)
    log.add_entry(temp=21.5)
    deadline = time.time() + 0.1
    log.flush()  # explicit flush works too; also check the writer met its own window
    assert log.durable_until <= deadline + 0.05
    # another process (SWMR reader) sees it while the writer keeps the file open
    code = (
        "import h5py,sys; f=h5py.File(sys.argv[1],'r',swmr=True,locking=False);print(f['variables/temp']['value'][-1])"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "live.h5")], capture_output=True, text=True)
    assert out.stdout.strip() == "21.5", out.stderr
    log.add_entry(temp=22.5)
    time.sleep(0.15)  # no flush(): the writer's own window
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "live.h5")], capture_output=True, text=True)
    assert out.stdout.strip() == "22.5", out.stderr
    # and a readonly DataLog in another process reads the live file (SWMR read fallback)
    code = (
        "import sys; sys.path.insert(0, sys.argv[2]); from rigconsole.datalog import DataLog;"
        "ro = DataLog(sys.argv[1], readonly=True); print(ro['temp'][1].tolist()); ro.close()"
    )
    app = str(Path(__file__).resolve().parents[2] / "app")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "live.h5"), app], capture_output=True, text=True)
    assert out.stdout.strip() == "[21.5, 22.5]", out.stderr
    log.add_entry(temp=23.5)  # the writer is unaffected by the reader
    log.flush()
    assert log["temp"][1].tolist() == [21.5, 22.5, 23.5]
    stats = log.cycle_stats
    assert stats["cycles"] >= 1


def test_idle_writer_does_not_wake_and_new_data_still_lands_in_time(make_log, tmp_path):
    """The writer sleeps while nothing is logged (each wake-up takes the GIL from a frame loop)."""
    log = make_log("idle.h5", flush_interval=0.1)
    log.add_entry(temp=1.0)
    log.flush()
    time.sleep(0.05)
    cycles = log.cycle_stats["cycles"]
    time.sleep(0.5)  # 15 of the writer's periods
    assert log.cycle_stats["cycles"] == cycles
    log.add_entry(temp=2.0)
    t0 = time.time()
    deadline = time.monotonic() + 1.0
    while log.durable_until < t0 - 0.01 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert log.durable_until >= t0 - 0.01 and time.time() - t0 < 0.15, "the new entry must land within flush_interval"
    assert log.cycle_stats["cycles"] == cycles + 1


def test_parameters(log):
    log.save_parameter({"c": 3e8, "pi": 3.14}, a=1, b=2)
    log.save_parameter(d=10, rig="rig-A")
    log.save_parameter(a=5)
    assert log.parameter("a") == 5 and log.parameter("rig") == "rig-A"
    assert log.parameter("missing") is None  # as pymanip
    assert log.has_parameter("pi") and not log.has_parameter("nope")
    assert log.parameters() == {"a": 5, "b": 2, "c": 3e8, "pi": 3.14, "d": 10, "rig": "rig-A"}


def test_datasets_like_pymanip(log, tmp_path):
    log.add_dataset(a=np.array([1, 2, 3, 4]))
    log.add_dataset(c=[1.0, 2.0, 3.0])
    time.sleep(0.002)
    log.add_dataset(b=np.array([5, 6, 7, 8]))
    log.add_dataset(c=[4.0, 5.0, 6.0])
    assert np.array_equal(log.dataset("a"), [1, 2, 3, 4])
    assert log.dataset_names() == {"a", "b", "c"}
    t_last, last = log.dataset_last_data("c")
    assert np.array_equal(last, [4, 5, 6])
    times = log.dataset_times("c")
    assert times.shape == (2,) and times[-1] == t_last
    gen = log.datasets("c")
    assert iter(gen) is gen  # a generator, like pymanip
    got = list(gen)
    assert [t for t, _ in got] == times.tolist()
    assert np.array_equal(got[0][1], [1, 2, 3])
    log.flush()
    assert np.array_equal(log.dataset("c", ts=times[0]), [1, 2, 3])  # read back from the file
    assert np.array_equal(log.dataset("c", n=0), [1, 2, 3])
    assert log.dataset_last_data("nope") == (None, None)
    with pytest.raises(UnknownNameError):
        list(log.datasets("nope"))
    with pytest.raises(UnknownNameError):
        log.dataset("c", ts=123.0)
    log.close()
    with h5py.File(tmp_path / "session.h5") as f:
        assert f["datasets/c/data"].shape == (2, 3)
        assert np.array_equal(f["datasets/c/t"][()], times)


def test_readonly_reopen_and_append(make_log, tmp_path):
    log = make_log("s.h5")
    log.add_entry(x=1)
    log.save_parameter(p=1)
    log.add_dataset(img=np.eye(3))
    log.close()
    log.close()  # idempotent
    with DataLog(tmp_path / "s.h5", readonly=True) as ro:
        assert ro["x"][1].tolist() == [1.0]
        assert ro.parameters() == {"p": 1}
        assert np.array_equal(ro.dataset("img"), np.eye(3))
    with DataLog(tmp_path / "s.h5") as again:  # appending to an existing log (pymanip exist_ok)
        again.add_entry(x=2)
        again.add_dataset(img=np.zeros((3, 3)))
    with DataLog(tmp_path / "s.h5", readonly=True) as ro:
        assert ro["x"][1].tolist() == [1.0, 2.0]
        assert len(ro.dataset_times("img")) == 2
        assert np.array_equal(ro.dataset("img", n=0), np.eye(3))


def test_signals_emitted_on_caller_thread(log):
    got = []
    log.events.entry_added.connect(lambda t, vals: got.append(("entry", threading.get_ident(), vals)))
    log.events.parameter_saved.connect(lambda d: got.append(("param", d)))
    log.events.dataset_added.connect(lambda name, t, shape: got.append(("ds", name, shape)))
    flushed = threading.Event()
    log.events.flushed.connect(lambda t: flushed.set())
    log.add_entry(a=1)
    log.save_parameter(k=2)
    log.add_dataset(z=np.zeros((2, 2)))
    assert got[0] == ("entry", threading.get_ident(), {"a": 1.0})
    assert got[1] == ("param", {"k": 2})
    assert got[2] == ("ds", "z", (2, 2))
    assert flushed.wait(2)


def test_file_is_self_describing(log, tmp_path):
    log.add_entry(a=1)
    log.close()
    with h5py.File(tmp_path / "session.h5") as f:
        assert f.attrs["format"] == "rigconsole.datalog"
        assert f.attrs["format_version"] == 1
        assert set(f) == {"variables", "parameters", "datasets", "runs"}
        rec = f["variables/a"][()]
        assert rec.dtype.names == ("t", "value")


def test_writer_waits_for_its_budget_but_never_longer_than_the_timeout(make_log):
    log = make_log(flush_interval=0.1)
    calls = []

    class NeverAGoodMoment:
        running = True
        refresh_hz = 60.0

        def wait_for_quiet(self, timeout_s, need_s=0.0):
            calls.append(timeout_s)
            assert 0 <= need_s < 1
            time.sleep(timeout_s)
            return False

    log.use_budget(NeverAGoodMoment())
    t0 = time.perf_counter()
    log.add_entry(x=1.0)
    log.flush()
    assert time.perf_counter() - t0 < 0.5
    assert calls and all(0 < t <= 0.1 for t in calls)
    assert list(DataLog(log.path, readonly=True).logged_variable("x")[1]) == [1.0]

    class Broken:
        def wait_for_quiet(self, timeout_s, need_s=0.0):
            calls.append("broken")
            raise RuntimeError("budget failed")

    log.use_budget(Broken())  # a broken budget is dropped; the writer keeps writing
    log.add_entry(x=2.0)
    log.flush()
    n = calls.count("broken")
    log.add_entry(x=3.0)
    log.flush()
    assert n == 1 and calls.count("broken") == 1 and log.last_error is None
    assert list(log.logged_variable("x")[1]) == [1.0, 2.0, 3.0]
