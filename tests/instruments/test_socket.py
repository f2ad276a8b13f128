"""Against the SCPI socket simulator on 127.0.0.1: a slow reply, a timeout, a hang, a dropped
connection, garbage, and the recovery; the main thread's frame loop keeps going meanwhile."""

from __future__ import annotations

import threading
import time

import pytest

from rigconsole.instruments import ConnectionState, InstrumentDownError, InstrumentTimeoutError
from rigconsole.instruments.simulator import SimulatedInstrument

from instrument_helpers import socket_rig, wait_for

pytestmark = pytest.mark.slow

S = ConnectionState


def states_of(manager):
    seen = []
    manager.events.state_changed.connect(lambda name, state, msg: seen.append(state))
    return seen


def test_a_slow_reply_within_the_timeout_keeps_the_instrument_connected(sim, make_manager):
    m = make_manager(socket_rig(sim.resource, timeout_s=1.0))
    m.start()
    assert m.wait_connected(3)
    sim.set_mode("late", 0.2)
    t0 = time.monotonic()
    reply = m["sensor"].query("MEAS:TEMP?")
    assert time.monotonic() - t0 >= 0.2
    assert 20.0 < float(reply) < 24.0
    n = m["sensor"].last("temperature").t
    assert wait_for(lambda: m["sensor"].last("temperature").t > n + 0.2, 3)
    assert m["sensor"].state == S.CONNECTED


def test_timeouts_degrade_then_down_requests_fail_at_once_and_it_recovers(sim, make_manager, make_log):
    log = make_log()
    m = make_manager(socket_rig(sim.resource, timeout_s=0.3, down_after=2), data_log=log)
    seen = states_of(m)
    m.start()
    assert m.wait_connected(3)
    assert wait_for(lambda: m["sensor"].value("temperature") is not None)
    sim.set_mode("late", 1.0)  # every reply comes after the timeout
    assert wait_for(lambda: m["sensor"].state == S.RECONNECTING, 3)
    assert seen[:5] == ["connecting", "connected", "degraded", "down", "reconnecting"]
    fut = m["sensor"].query_async("*IDN?")
    assert fut.done() and isinstance(fut.exception(), InstrumentDownError)  # no waiting on a down instrument
    with pytest.raises(InstrumentDownError, match="sensor is reconnecting"):
        m["sensor"].query("*IDN?")
    t_down = time.time()
    time.sleep(0.5)
    sim.set_mode("normal")
    assert wait_for(lambda: m["sensor"].state == S.CONNECTED, 5)
    t_up = time.time()
    n0 = len(log.logged_variable("sensor.temperature")[0])
    assert wait_for(lambda: len(log.logged_variable("sensor.temperature")[0]) > n0 + 2, 3)
    # the gap is explicit in the file: a 'down' annotation, then 'connected' again, no readings between
    notes = [(a["t"], a["fields"]["state"]) for a in log.annotations() if a["source"] == "instrument:sensor"]
    down_t = next(t for t, s in notes if s == "down")
    up_t = [t for t, s in notes if s == "connected"][-1]
    assert down_t < t_down < up_t <= t_up
    t, _ = log.logged_variable("sensor.temperature")
    assert not any(down_t < x < up_t for x in t)
    assert [s for _, s in notes].count("down") == 1  # retries are not logged again


def test_a_hung_instrument_is_down_and_the_frame_loop_keeps_flipping(sim, make_manager):
    from psychopy import visual

    timeout = 1.0
    win = visual.Window(size=[320, 240], units="height", checkTiming=False, allowGUI=False)
    try:
        m = make_manager(socket_rig(sim.resource, timeout_s=timeout, down_after=1, period_s=0.1))
        m.start()
        assert m.wait_connected(3)
        sim.set_mode("hang")
        t_hang = time.monotonic()
        stamps = []
        down_at = None
        while time.monotonic() - t_hang < 2.5:  # the experiment's frame loop
            win.flip()
            stamps.append(time.monotonic())
            if down_at is None and m["sensor"].state in (S.DOWN, S.RECONNECTING):
                down_at = stamps[-1] - t_hang
            m["sensor"].value("temperature")  # an experiment reading the last value
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        assert down_at is not None and down_at < timeout + 0.5, down_at  # one poll period + its timeout
        # the worker was blocked in I/O for whole timeouts (1 s); the main thread never was
        assert len(stamps) > 20 and max(gaps) < timeout / 2, (len(stamps), max(gaps))
        with pytest.raises(InstrumentDownError):
            m["sensor"].query("MEAS:TEMP?")
        sim.set_mode("normal")
        assert wait_for(lambda: m["sensor"].state == S.CONNECTED, 5)
    finally:
        win.close()


def test_a_blocking_query_on_a_hang_costs_the_caller_its_timeout_not_more(sim, make_manager):
    m = make_manager(socket_rig(sim.resource, timeout_s=0.4, down_after=3))
    m.start()
    assert m.wait_connected(3)
    sim.set_mode("hang")
    t0 = time.monotonic()
    with pytest.raises(InstrumentTimeoutError):
        m["sensor"].query("MEAS:TEMP?", timeout=2.0)
    assert time.monotonic() - t0 < 2.0  # the worker's I/O timeout ended it


def test_a_dropped_connection_and_a_switched_off_instrument_recover(make_manager):
    with SimulatedInstrument() as sim:
        port = sim.port
        m = make_manager(socket_rig(sim.resource, timeout_s=0.3))
        seen = states_of(m)
        m.start()
        assert m.wait_connected(3)
        sim.drop_connections()  # the cable is pulled and put back
        assert wait_for(lambda: len(seen) > 2 and m["sensor"].state == S.CONNECTED, 5), seen
        n = m["sensor"].last("temperature").t
        assert wait_for(lambda: m["sensor"].last("temperature").t > n, 3)
    # switched off: the port refuses connections
    assert wait_for(lambda: m["sensor"].state == S.RECONNECTING, 5)
    assert "refused" in m["sensor"].message or "no reply" in m["sensor"].message
    with SimulatedInstrument(port=port):  # switched on again
        assert wait_for(lambda: m["sensor"].state == S.CONNECTED, 5)
        n = m["sensor"].last("temperature").t
        assert wait_for(lambda: m["sensor"].last("temperature").t > n, 3)


def test_drop_mode_closes_on_each_command_and_garbage_degrades_without_logging(sim, make_manager, make_log):
    log = make_log()
    m = make_manager(socket_rig(sim.resource, timeout_s=0.3), data_log=log)
    m.start()
    assert m.wait_connected(3)
    sim.set_mode("garbage")
    assert wait_for(lambda: m["sensor"].state == S.DEGRADED, 3)
    assert "bad reply" in m["sensor"].message
    sim.set_mode("normal")
    assert wait_for(lambda: m["sensor"].state == S.CONNECTED, 3)
    _, v = log.logged_variable("sensor.temperature")
    assert all(20.0 < x < 24.0 for x in v)  # no garbage in the file
    sim.set_mode("drop")
    assert wait_for(lambda: m["sensor"].state in (S.DOWN, S.RECONNECTING), 3)
    sim.set_mode("normal")
    assert wait_for(lambda: m["sensor"].state == S.CONNECTED, 5)


def test_the_simulator_is_told_over_its_own_socket():
    import socket

    with SimulatedInstrument() as sim:
        with socket.create_connection(("127.0.0.1", sim.port), timeout=2) as c:
            f = c.makefile("rw", newline="\n")
            f.write("SIM:MODE HANG\n")
            f.flush()
            assert f.readline().strip() == "OK" and sim.mode == "hang"
            f.write("SIM:MODE?\n")
            f.flush()
            assert f.readline().strip() == "HANG"
            f.write("SIM:MODE LATE 0.1\n")
            f.flush()
            assert f.readline().strip() == "OK"
            f.write("*IDN?\n")
            f.flush()
            assert f.readline().strip().startswith("Rig Console,SIM-TEMP-1")


class RecordingBudget:
    """A frame budget (the port) that records who asks it, as the frame pump would be asked."""

    running = True
    refresh_hz = 60.0

    def __init__(self):
        self.calls = []

    def time_left(self):
        return 0.005

    def wait_for_quiet(self, timeout_s, need_s=0.0):
        self.calls.append((threading.current_thread().name, timeout_s, need_s))
        return True

    def submit(self, fn, *a, **k):
        raise AssertionError("instruments never need the main thread")


def test_workers_ask_the_frame_budget_before_decoding_and_logging(sim, make_manager):
    budget = RecordingBudget()
    m = make_manager(socket_rig(sim.resource, period_s=0.05), budget=budget)
    m.start()
    assert m.wait_connected(3)
    assert wait_for(lambda: len(budget.calls) >= 5, 3)
    assert {c[0] for c in budget.calls} == {"instrument-sensor"}
    assert all(0 < c[1] <= 0.05 and c[2] >= 0 for c in budget.calls)
    assert any(c[2] > 0 for c in budget.calls[2:])  # it learns what a cycle needs
