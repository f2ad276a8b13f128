"""Polling the simulated rig (pyvisa-sim) into a real HDF5 data log; commands and setpoint limits."""

from __future__ import annotations

import threading

import pytest

from rigconsole.datalog import DataLog
from rigconsole.instruments import ConnectionState, InstrumentDownError, SetpointError, load_rig_file, parse_rig_text
from rigconsole.instruments.links import driver_channels
from rigconsole.instruments.sim_drivers import SimulatedPowerSupply

from instrument_helpers import wait_for


@pytest.fixture
def rig(rig_dir):
    return load_rig_file(rig_dir / "simulated.yaml")


def test_readings_land_in_the_data_log_with_units_idn_and_state_changes(rig, make_manager, make_log, tmp_path):
    log = make_log()
    m = make_manager(rig, data_log=log)
    m.start()
    assert m.wait_connected(5), {n: (i.state, i.message) for n, i in m.instruments.items()}
    assert wait_for(
        lambda: all(len(log.logged_variable(v)[0]) >= 3 for v in ("photometer.luminance", "thermometer.temperature")),
        10,
    )
    threads = {t.name for t in threading.enumerate()}
    assert {"instrument-photometer", "instrument-thermometer", "instrument-psu"} <= threads
    m.close()
    path = log.path
    log.close()
    with DataLog(path, readonly=True) as ro:
        t, v = ro.logged_variable("photometer.luminance")
        assert len(v) >= 3 and all(98.0 <= x <= 102.0 for x in v)  # the profile's RANDOM(98, 102)
        assert len(set(v.tolist())) > 1  # readings change
        assert all(b > a for a, b in zip(t, t[1:]))
        assert ro.variable_info("photometer.luminance") == {
            "unit": "cd/m^2",
            "description": "photometer luminance",
            "source": "instrument:photometer",
        }
        assert ro.variable_info("thermometer.humidity")["unit"] == "%"
        _, hum = ro.logged_variable("thermometer.humidity")
        assert all(40.0 <= x <= 45.0 for x in hum)  # parsed by its regex from 'RH 42.1 %'
        meta = ro.metadata("instrument/photometer")
        assert meta["idn"] == "Rig Console,SIM-LM-100,LM0001,1.0"
        assert meta["settings"]["resource"] == "USB0::0x1AB1::0x0100::LM0001::INSTR"
        assert meta["channels"]["luminance"]["unit"] == "cd/m^2"
        states = [(a["source"], a["fields"]["state"]) for a in ro.annotations() if a["kind"] == "state"]
        ph = [s for src, s in states if src == "instrument:photometer"]
        assert ph == ["connecting", "connected", "disconnected"]  # each change once


def test_last_values_need_no_io_and_queries_run_in_the_worker(rig, make_manager):
    m = make_manager(rig)
    m.start()
    assert m.wait_connected(5)
    ph = m["photometer"]
    assert wait_for(lambda: ph.value("luminance") is not None)
    r = ph.last("luminance")
    assert r.unit == "cd/m^2" and ph["luminance"] == r.value
    seen = []
    orig = ph._io

    def spy(fn):
        seen.append(threading.current_thread().name)
        return orig(fn)

    ph._io = spy
    assert ph.query("*IDN?") == "Rig Console,SIM-LM-100,LM0001,1.0"
    assert ph.query_async("MEAS:LUM?").result(5)
    assert 98.0 <= ph.read("luminance") <= 102.0
    assert seen and set(seen) == {"instrument-photometer"}
    n = len(seen)
    ph.value("luminance"), ph.readings(), ph.last("tristimulus_x")
    assert len(seen) == n  # readers never cause I/O
    with pytest.raises(KeyError, match="no channel 'nope'"):
        ph.value("nope")


def test_setpoints_are_held_to_their_limits_and_commands_are_named(rig, make_manager):
    m = make_manager(rig)
    m.start()
    assert m.wait_connected(5)
    psu = m["psu"]
    psu.set("voltage", 3.3)
    assert psu.query("VOLT?") == "3.300"
    assert wait_for(lambda: psu.value("voltage") == pytest.approx(3.3), 5)
    for bad in (500, -1, 12.001):
        with pytest.raises(SetpointError, match="outside its limits"):
            psu.set("voltage", bad)
    with pytest.raises(SetpointError, match="outside its limits"):
        psu.send_async("VOLT 500")  # a raw command is held to them too
    with pytest.raises(SetpointError, match="no setpoint 'current'"):
        psu.set("current", 1)
    assert psu.query("VOLT?") == "3.300"  # nothing was sent
    assert psu.send_async("VOLT 4.5").result(5) == ""
    assert psu.send_async("VOLT?").result(5) == "4.500"
    psu.command("output_on")
    assert psu.query("OUTP?") == "1"
    with pytest.raises(SetpointError, match="no command 'explode'"):
        psu.command("explode")


def test_pymeasure_measurements_become_channels():
    chans = driver_channels(SimulatedPowerSupply)
    assert set(chans) == {"current"}  # voltage and output are controls
    assert chans["current"].property == "current"
    assert "current" in chans["current"].description
    cfg = parse_rig_text(
        "instruments:\n  psu:\n    resource: USB0::0x1AB1::0x0300::PS0003::INSTR\n    backend: '@sim'\n"
        "    profile: p.yaml\n    driver: rigconsole.instruments.sim_drivers.SimulatedPowerSupply\n"
    )
    from rigconsole.instruments import InstrumentManager

    m = InstrumentManager(cfg)
    assert set(m["psu"].channels) == {"current"}


def test_an_unknown_driver_is_down_with_its_reason_and_requests_fail_at_once(make_manager):
    cfg = parse_rig_text("instruments:\n  x:\n    resource: USB0::1::INSTR\n    driver: no_such_pkg.Driver\n")
    m = make_manager(cfg)
    m.start()
    x = m["x"]
    assert x.state == ConnectionState.DOWN and "cannot import 'no_such_pkg'" in x.message
    with pytest.raises(InstrumentDownError):
        x.query_async("*IDN?").result(0.1)


def test_a_new_data_log_gets_the_descriptions_and_provenance_again(rig, make_manager, make_log):
    first, second = make_log("a.h5"), make_log("b.h5")
    m = make_manager(rig, data_log=first)
    m.start()
    assert m.wait_connected(5)
    m.use_data_log(second)
    assert second.variable_info("psu.current")["unit"] == "A"
    assert second.metadata("instrument/psu")["idn"] == "Rig Console,SIM-PSU-30,PS0003,1.0"
    assert wait_for(lambda: "thermometer.temperature" in second.logged_variables(), 5)
    first.close()  # a closed log never stops polling
    m.use_data_log(first)
    n = m["photometer"].last("luminance").t
    assert wait_for(lambda: m["photometer"].last("luminance").t > n, 5)


def test_a_failing_subscriber_never_stops_an_instrument(rig, make_manager):
    m = make_manager(rig)

    def broken(*args):
        raise RuntimeError("a view's bug")

    m.events.reading.connect(broken)
    m.events.state_changed.connect(broken)
    m.start()
    assert m.wait_connected(5)
    assert wait_for(lambda: m["photometer"].last("luminance") is not None, 5)
    t = m["photometer"].last("luminance").t
    assert wait_for(lambda: m["photometer"].last("luminance").t > t, 5)  # still polling
    assert m["photometer"].state.value == "connected"
