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
HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:  # instrument_helpers
    sys.path.insert(0, HERE)

from rigconsole.instruments import InstrumentManager  # noqa: E402
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
