"""The same calls against ``psychopy.session.Session`` and ``rigconsole.Session``, side by side.

Equal results are asserted equal; every deliberate difference is asserted on both sides
and pinned in docs/experiment-interface.md ("Differences from psychopy.session.Session").
Calls that need no window (PsychoPy's Session opens none with ``win=None``).
"""
from __future__ import annotations

import pytest


@pytest.fixture
def pair(exp_root, tmp_path):
    from psychopy.session import Session as PsychoPySession

    from rigconsole import Session

    theirs = PsychoPySession(str(exp_root), dataDir=str(tmp_path / "data-psychopy"))
    ours = Session(exp_root, dataDir=tmp_path / "data-rig", cache_dir=tmp_path / "cache")
    yield theirs, ours
    ours.close()
    # PsychoPy's Session imports experiment folders as top-level packages ("simple") and a
    # second Session in the process would find the first's and refuse the folder
    import sys
    for name in [m for m in sys.modules if m == "simple" or m.startswith("simple.")]:
        del sys.modules[name]


CALLS = [
    ("getStatus", (), {}),
    ("getCurrentExpInfo", (), {}),
    ("getCurrentExpInfoItem", ("participant",), {}),
    ("setCurrentExpInfoItem", ("participant", "x"), {}),
    ("updateCurrentExpInfo", ({"a": 1},), {}),
    ("pauseExperiment", (), {}),
    ("resumeExperiment", (), {}),
    ("stopExperiment", (), {}),
    ("pauseLoop", (), {}),
    ("getAllTrials", (), {}),
    ("getCurrentTrial", (), {}),
    ("getFutureTrial", (), {}),
    ("getFutureTrials", (2,), {}),
    ("next", (), {}),
    ("skipTrials", (), {}),
    ("rewindTrials", (), {}),
    ("saveCurrentExperimentData", (), {}),
    ("sendExperimentData", (), {}),
    ("getPsychoPyVersion", (), {}),
]


@pytest.mark.parametrize("name,args,kwargs", CALLS, ids=[c[0] for c in CALLS])
def test_same_result_with_no_experiment_running(pair, name, args, kwargs):
    theirs, ours = pair
    assert getattr(ours, name)(*args, **kwargs) == getattr(theirs, name)(*args, **kwargs)


def test_add_experiment_and_its_expinfo(pair):
    theirs, ours = pair
    assert theirs.addExperiment("simple/simple.py") is True
    assert ours.addExperiment("simple/simple.py") is True
    assert set(ours.experiments) == set(theirs.experiments) == {"simple/simple.py"}
    assert ours.getExpInfoFromExperiment("simple/simple.py") == theirs.getExpInfoFromExperiment("simple/simple.py")


def test_time_formats(pair):
    theirs, ours = pair
    assert isinstance(ours.getTime(format=float), float) and isinstance(theirs.getTime(format=float), float)


def test_get_time_default_type(pair):
    """PsychoPy documents ``getTime(format=str)`` as an ISO string; 2026.2.5 returns a
    ``psychopy.clock.Timestamp`` (a float subclass). Both sessions return the same."""
    theirs, ours = pair
    assert type(ours.getTime()) is type(theirs.getTime())


# ---------------------------------------------------------------- deliberate differences
def test_difference_broken_file_is_listed_not_raised(pair):
    theirs, ours = pair
    with pytest.raises(Exception):
        theirs.addExperiment("broken/broken.py")
    assert ours.addExperiment("broken/broken.py") is False
    assert ours.experiment_files["broken/broken.py"].error


def test_difference_user_folder_untouched(pair, exp_root):
    theirs, ours = pair
    ours.addExperiment("simple/simple.py")
    assert not (exp_root / "simple" / "__init__.py").exists()  # rigconsole writes nothing beside the file
    theirs.addExperiment("simple/simple.py")
    assert (exp_root / "simple" / "__init__.py").exists()  # PsychoPy makes the folder a package
