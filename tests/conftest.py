"""Fixtures shared by every test: settings in a temporary place, real experiment
folders in tmp_path, and a real Session with a real (small) PsychoPy window.

With RIGCONSOLE_BLOCK_QT=1 (the core suite in CI), importing PySide6, PyQt,
pyqtgraph or qasync raises ImportError: the core packages must not need them.
"""

from __future__ import annotations

import gc
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
                raise ModuleNotFoundError(f"{name} is blocked in the core test suite", name=name)
            return None

    for mod in list(sys.modules):
        if mod.split(".")[0] in _BlockQt.blocked:
            raise RuntimeError(f"{mod} was imported before the core suite started (run with -p no:pytest-qt)")
    sys.meta_path.insert(0, _BlockQt())


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes minutes on this machine; deselect with -m 'not slow'")
    config.addinivalue_line(
        "markers",
        "timing: measures time on this machine (frame intervals, console stalls); its tolerance is "
        "meant to pass on a loaded 2-core VM; deselect with -m 'not timing'",
    )
    config.addinivalue_line(
        "markers",
        "slow: minutes (the Builder-demo matrix, schemathesis, the bundle build); scripts/test and CI run "
        "them; deselect with -m 'not slow'",
    )


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    """Never touch the user's settings, caches or data."""
    monkeypatch.setenv("RIGCONSOLE_SETTINGS", str(tmp_path / "settings.json"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))  # the log file (rigconsole run writes it)
    monkeypatch.setenv(
        "RIGCONSOLE_MDNS", "off"
    )  # no multicast onto the real network; discovery tests turn it on on their own veth
    cwd = os.getcwd()
    yield
    os.chdir(cwd)
    if "PySide6" in sys.modules:
        # what a Qt test let go of (windows, controllers, their timers) is collected here, between
        # tests, not by a collection that happens to run inside the next test's nested event loop
        # (a run pumps Qt from inside a queued slot; PySide6 has crashed collecting there)
        gc.collect()


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


class DuringRun:
    """Steps executed *while* a run is in progress.

    A run is a blocking loop started from a zero-delay timer; it serves Qt on
    each flip, so the test's own ``qtbot.waitUntil`` loop (further down the
    stack) only gets control back when the run has ended. Steps therefore run
    from a QTimer, which fires inside the frame pump: each step waits for its
    condition, then runs its action. Failures are collected in :attr:`errors`
    (an exception inside the pump must not leak into the experiment).

    Usage::

        script = DuringRun()
        script.when(lambda: rec.n_trials >= 2, lambda: window.stop_action.trigger(), "stop")
        script.start()
        ... trigger the run, wait for it to end ...
        script.check(["stop"])
    """

    def __init__(self, interval_ms: int = 10):
        from PySide6.QtCore import QTimer

        self.steps: list = []
        self.done: list[str] = []
        self.errors: list[str] = []
        self.notes: dict = {}
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def when(self, condition, action, name: str) -> DuringRun:
        self.steps.append((condition, action, name))
        return self

    def start(self) -> None:
        self.timer.start()

    def _tick(self) -> None:
        import traceback

        if not self.steps:
            self.timer.stop()
            return
        condition, action, name = self.steps[0]
        try:
            if not condition():
                return
            self.steps.pop(0)
            action()
            self.done.append(name)
        except Exception:
            self.steps.clear()
            self.errors.append(f"step {name!r} failed:\n{traceback.format_exc()}")

    def check(self, expected: list[str]) -> None:
        self.timer.stop()
        assert not self.errors, "\n".join(self.errors)
        assert self.done == expected, f"steps done: {self.done}, still waiting: {[s[2] for s in self.steps]}"


@pytest.fixture
def during_run():
    scripts = []

    def make(interval_ms: int = 10) -> DuringRun:
        s = DuringRun(interval_ms)
        scripts.append(s)
        return s

    yield make
    for s in scripts:
        s.timer.stop()


@pytest.fixture
def make_log(tmp_path):
    """``make_log(name='session.h5', **kw)`` -> a real DataLog in tmp_path, closed at teardown."""
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
