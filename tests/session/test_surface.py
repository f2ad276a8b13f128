"""The session surface the console's views use: the real Session implements ConsoleSession, and
the placeholder shown while the rig loads is a proper object behind the same protocol."""

from __future__ import annotations

import inspect

import pytest

from rigconsole.frame_budget import IDLE
from rigconsole.session.surface import ConsoleSession, PendingSession, RigLoadingError


def _members() -> list[str]:
    return [n for n in dir(ConsoleSession) if not n.startswith("_")] + list(ConsoleSession.__annotations__)


def test_a_real_session_implements_the_protocol(make_session, exp_root):
    s = make_session(exp_root)
    assert isinstance(s, ConsoleSession)
    for name in _members():  # every member, with the same signature where it is a method
        want = getattr(ConsoleSession, name, None)
        if callable(want) and not isinstance(want, property):
            got = inspect.signature(getattr(type(s), name))
            assert list(got.parameters)[: len(inspect.signature(want).parameters)] == list(
                inspect.signature(want).parameters
            ), name


def test_the_pending_session_implements_it_and_refuses_what_needs_the_rig(tmp_path):
    p = PendingSession(tmp_path / "root", tmp_path / "data")
    assert isinstance(p, ConsoleSession)
    assert p.root == tmp_path / "root" and p.dataDir == tmp_path / "data"
    assert p.frame_budget is IDLE and p.data_log is None and p.current_run is None
    assert p.run_records == [] and dict(p.experiment_files) == {} and dict(p.instruments) == {}
    assert p.key_for(tmp_path / "root" / "gonogo" / "gonogo.py") == "gonogo/gonogo.py"
    assert not p.pauseExperiment() and not p.resumeExperiment() and not p.stopExperiment()
    with pytest.raises(RigLoadingError, match="still loading"):
        p.resolveExpInfo("gonogo/gonogo.py", {})
    with pytest.raises(RigLoadingError, match="still loading"):
        p.runExperiment("gonogo/gonogo.py")
    with pytest.raises(RigLoadingError, match="still loading"):
        p.addExperiment(tmp_path / "x.py")
