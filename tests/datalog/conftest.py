"""Fixtures for the data-log tests: every DataLog opened here is closed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
if str(APP) not in sys.path:  # tests also run without an installed package
    sys.path.insert(0, str(APP))

from rigconsole.datalog import DataLog  # noqa: E402,F401  (the package imports from app/)


@pytest.fixture
def log(make_log):
    return make_log()
