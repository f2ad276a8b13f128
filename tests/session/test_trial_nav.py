"""Trial navigation as PsychoPy documents it: PsychoPy's own ``trialNav`` test experiment
(shipped in its package, ``tests/data/test_session/root/testTrialNav``) through
``rigconsole.Session``, where PsychoPy 2026.2's own TrialHandler fails it ("Expected 4, got 3")."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest


def _trial_nav_root(tmp_path: Path) -> Path:
    import psychopy

    src = Path(psychopy.__file__).parent / "tests" / "data" / "test_session" / "root" / "testTrialNav"
    root = tmp_path / "root"
    shutil.copytree(src, root / "testTrialNav")
    return root


def _rows(data_dir: Path) -> list[dict]:
    files = sorted(data_dir.rglob("*.csv"))
    assert files, f"no CSV under {data_dir}"
    with open(files[-1], newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def test_psychopys_trial_nav_experiment_passes_through_rigconsole_session(tmp_path, make_session):
    root = _trial_nav_root(tmp_path)
    s = make_session(root, experiments={"trialNav": "testTrialNav/trialNav.psyexp"})
    s.warm_up()  # the routines last 0.1 s, non-slip: a first flip that makes textures must not eat one
    assert s.runExperiment("trialNav", {"participant": "nav"}) is True
    rec = s.run_records[-1]
    assert rec.error is None, rec.traceback
    assert rec.state == "finished"
    # the 8 cases ran, one per trial that ran: 0, 5, 5, 3, 6, 6, 9, 1 (each row keeps the
    # thisN of the trial that ran in it, not of the trial it jumped to)
    rows = _rows(tmp_path / "data")
    assert [int(float(r["trials.thisN"])) for r in rows] == [0, 5, 5, 3, 6, 6, 9, 1]


def test_the_same_experiment_fails_with_psychopys_own_navigation(tmp_path, make_session, monkeypatch):
    """The fix is what makes it pass: with PsychoPy's TrialHandler2 navigation left in place the
    experiment's own assertion fails as it does in plain PsychoPy."""
    from rigconsole.session import session as session_module

    root = _trial_nav_root(tmp_path)
    s = make_session(root, experiments={"trialNav": "testTrialNav/trialNav.psyexp"})
    s.warm_up()  # the routines last 0.1 s, non-slip: a first flip that makes textures must not eat one
    import contextlib

    monkeypatch.setattr(session_module, "fixed_navigation", contextlib.nullcontext)
    with pytest.raises(AssertionError, match="Expected 4, got 3"):
        s.runExperiment("trialNav", {"participant": "nav"})


def test_psychopys_navigation_comes_back_after_a_run(tmp_path, make_session):
    from psychopy.data import TrialHandler2

    from rigconsole.session import trial_nav

    root = _trial_nav_root(tmp_path)
    s = make_session(root, experiments={"trialNav": "testTrialNav/trialNav.psyexp"})
    s.warm_up()  # the routines last 0.1 s, non-slip: a first flip that makes textures must not eat one
    s.runExperiment("trialNav", {"participant": "nav"})
    assert TrialHandler2.skipTrials is not trial_nav.skip_trials
    assert TrialHandler2.rewindTrials is not trial_nav.rewind_trials
