"""Fixtures for the data-tools UI tests: real DataLog files in tmp_path, closed at teardown."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

import rigconsole.ui  # noqa: F401  (pins Qt to PySide6 before pytest-qt/pyqtgraph import it)

from support.datalog_fill import SCREENSHOTS, fill_session  # noqa: F401  (re-exported for tests)


@pytest.fixture
def make_log(tmp_path):
    """Factory for live DataLogs in tmp_path (closed at teardown)."""
    from rigconsole.datalog import DataLog

    made = []

    def make(name: str = "session.h5", **kw):
        log = DataLog(tmp_path / name, **kw)
        made.append(log)
        return log

    yield make
    for log in made:
        log.close()
