"""Fixtures for the data-log tests: every DataLog opened here is closed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
if str(APP) not in sys.path:  # tests also run without an installed package
    sys.path.insert(0, str(APP))

from rigconsole.datalog import DataLog  # noqa: E402


@pytest.fixture
def make_log(tmp_path):
    """``make_log(name='s.h5', **kw)`` -> DataLog in tmp_path, closed at teardown."""
    opened: list[DataLog] = []

    def make(name: str = "session.h5", **kw) -> DataLog:
        log = DataLog(tmp_path / name, **kw)
        opened.append(log)
        return log

    yield make
    for log in opened:
        try:
            log.close()
        except Exception:
            pass


@pytest.fixture
def log(make_log):
    return make_log()
