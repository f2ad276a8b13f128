"""Fixtures for the packaging tests: an isolated home for launched processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import rigconsole.ui  # noqa: F401  (pins Qt to PySide6 before pytest-qt imports it)

REPO = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: builds the PyInstaller bundle and installs the .deb (minutes)")


@pytest.fixture
def app_env(tmp_path) -> dict:
    """The environment for a launched console: its own HOME, XDG folders, settings and log folder."""
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ)
    env.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_STATE_HOME": str(home / ".local" / "state"),
            "RIGCONSOLE_SETTINGS": str(home / ".config" / "rigconsole" / "settings.json"),
        }
    )
    env.pop("RIGCONSOLE_LOG_DIR", None)
    env.pop("QT_QPA_PLATFORM", None)
    return env
