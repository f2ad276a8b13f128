"""Fixtures shared by every test: settings in a temporary place, real experiment
folders in tmp_path, and a real Session with a real (small) PsychoPy window.

With RIGCONSOLE_BLOCK_QT=1 (the core suite in CI), importing PySide6, PyQt,
pyqtgraph or qasync raises ImportError: the core packages must not need them.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
EXPERIMENTS = HERE / "experiments"
REPO = HERE.parent

if os.environ.get("RIGCONSOLE_BLOCK_QT") == "1":
    class _BlockQt:
        blocked = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "qasync", "shiboken6")

        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in self.blocked:
                raise ImportError(f"{name} is blocked in the core test suite")
            return None

    for mod in list(sys.modules):
        if mod.split(".")[0] in _BlockQt.blocked:
            raise RuntimeError(f"{mod} was imported before the core suite started (run with -p no:pytestqt)")
    sys.meta_path.insert(0, _BlockQt())


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    """Never touch the user's settings, caches or data."""
    monkeypatch.setenv("RIGCONSOLE_SETTINGS", str(tmp_path / "settings.json"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    cwd = os.getcwd()
    yield
    os.chdir(cwd)


@pytest.fixture
def exp_root(tmp_path) -> Path:
    """A copy of tests/experiments (simple, failing, quitter, broken, json, endless, ignorer)."""
    root = tmp_path / "experiments"
    shutil.copytree(EXPERIMENTS, root)
    return root


@pytest.fixture
def gng_root(tmp_path) -> Path:
    """A copy of PsychoPy's own GoNoGo Builder demo (shipped inside psychopy)."""
    import psychopy

    src = Path(psychopy.__file__).parent / "demos" / "builder" / "Experiments" / "GoNoGo"
    root = tmp_path / "builder"
    shutil.copytree(src, root / "GoNoGo")
    for stray in (root / "GoNoGo").glob("*.py"):
        stray.unlink()
    return root


@pytest.fixture
def make_session(tmp_path):
    """Factory for real Sessions with a small window; closes them at teardown."""
    from rigconsole import Session

    made = []

    def make(root, **kwargs):
        kwargs.setdefault("dataDir", tmp_path / "data")
        kwargs.setdefault("win", {"size": [320, 240], "fullscr": False, "units": "height"})
        kwargs.setdefault("cache_dir", tmp_path / "cache")
        s = Session(root, **kwargs)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()
