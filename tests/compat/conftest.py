"""Fixtures for the compatibility suite: copies of PsychoPy's own Builder demos and a per-flip hook."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


def builder_demos() -> Path:
    import psychopy

    return Path(psychopy.__file__).parent / "demos" / "builder"


@pytest.fixture
def demo_root(tmp_path):
    """``copy(rel)``: copy a demo folder (relative to psychopy/demos/builder) into a fresh root; returns the root."""
    root = tmp_path / "demos"

    def copy(rel: str) -> Path:
        src = builder_demos() / rel
        dst = root / src.name
        shutil.copytree(src, dst)
        for stray in dst.glob("*.py"):
            if stray.with_suffix(".psyexp").exists():
                stray.unlink()
        return root

    return copy


class EveryFlip:
    """Call ``fn(win)`` after every flip of a PsychoPy window (``win.callOnFlip``, re-registered each flip)."""

    def __init__(self, win, fn):
        self.win, self.fn, self.active = win, fn, True
        win.callOnFlip(self._tick)

    def _tick(self):
        if not self.active:
            return
        self.fn(self.win)
        self.win.callOnFlip(self._tick)  # PsychoPy runs functions scheduled during the calls at the next flip

    def stop(self):
        self.active = False


@pytest.fixture
def every_flip():
    """``every_flip(win, fn)`` -> :class:`EveryFlip`; stopped at teardown."""
    made = []

    def make(win, fn):
        h = EveryFlip(win, fn)
        made.append(h)
        return h

    yield make
    for h in made:
        h.stop()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: long runs (the compatibility matrix, ~20 min here); deselect with -m 'not slow'"
    )
