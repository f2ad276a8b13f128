"""Fixtures for the instrument tests: a copy of the bundled simulated rig, the SCPI socket
simulator on 127.0.0.1, managers and data logs that are closed at teardown."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
if str(APP) not in sys.path:  # tests also run without an installed package
    sys.path.insert(0, str(APP))

from rigconsole.instruments import InstrumentManager, parse_rig_text  # noqa: E402
from rigconsole.instruments.simulator import SimulatedInstrument  # noqa: E402

RIGS = Path(__file__).resolve().parents[2] / "resources" / "rigs"


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes seconds (timeouts, reconnect backoff); deselect with -m 'not slow'")


@pytest.fixture
def rig_dir(tmp_path) -> Path:
    """A copy of resources/rigs (simulated.yaml, sim-instruments.yaml, monitoring.py)."""
    d = tmp_path / "rigs"
    shutil.copytree(RIGS, d)
    return d


@pytest.fixture
def sim():
    """A SCPI instrument on a free port of 127.0.0.1 (stopped at teardown)."""
    s = SimulatedInstrument().start()
    yield s
    s.stop()


@pytest.fixture
def make_manager():
    """``make_manager(config, **kw)`` -> InstrumentManager, closed at teardown."""
    made = []

    def make(config, **kw):
        m = InstrumentManager(config, **kw)
        made.append(m)
        return m

    yield make
    for m in made:
        m.close()


@pytest.fixture
def make_log(tmp_path):
    from rigconsole.datalog import DataLog

    opened = []

    def make(name: str = "session.h5", **kw):
        log = DataLog(tmp_path / name, **kw)
        opened.append(log)
        return log

    yield make
    for log in opened:
        try:
            log.close()
        except Exception:
            pass


def socket_rig(resource: str, *, timeout_s: float = 0.3, period_s: float = 0.1, down_after: int = 2,
               backoff: float = 0.2, extra: str = "") -> object:
    """A rig file (parsed) with one instrument 'sensor' on the socket simulator."""
    return parse_rig_text(f"""
rig: socket test rig
instruments:
  sensor:
    resource: "{resource}"
    timeout_s: {timeout_s}
    open_timeout_s: 0.5
    retry: {{down_after_timeouts: {down_after}, backoff_first_s: {backoff}, backoff_max_s: {backoff * 4}}}
    channels:
      temperature: {{query: "MEAS:TEMP?", unit: degC, period_s: {period_s}, limits: [-40, 80]}}
    setpoints:
      voltage: {{command: "VOLT {{value:.3f}}", query: "VOLT?", unit: V, min: 0, max: 12}}
{extra}""")


def wait_for(cond, timeout: float = 5.0, interval: float = 0.01) -> bool:
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(interval)
    return bool(cond())
