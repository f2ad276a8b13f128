"""Loading experiments by path, in isolation; broken files listed with their reason."""

from __future__ import annotations

import os
import time

import pytest

from rigconsole.session import ExperimentLoadError, UnknownExperimentError


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if "data" not in p.parts)


def test_scan_lists_good_and_broken_with_reasons(exp_root, make_session):
    before = _tree(exp_root)
    s = make_session(exp_root, scan=True)
    files = s.experiment_files
    assert {"simple/simple.py", "failing/raises.py", "json/named_like_a_package.py", "endless/endless.py"} <= set(
        s.experiments
    )
    broken = {k: e.error for k, e in files.items() if e.broken}
    assert "syntax error (line 1)" in broken["broken/syntax_error.py"]
    assert "missing run()" in broken["broken/no_run.py"]
    assert broken["broken/bad.psyexp"].startswith("not a valid Builder experiment")
    assert "rigconsole_no_such_module" in broken["broken/import_error.py"]
    for reason in broken.values():
        assert "\n" not in reason
    # nothing written into the user's folders (no __init__.py, no compiled scripts)
    assert _tree(exp_root) == before


def test_broken_experiment_never_breaks_the_session(exp_root, make_session):
    s = make_session(exp_root, scan=True)
    with pytest.raises(ExperimentLoadError, match="is broken: syntax error"):
        s.runExperiment("broken/syntax_error.py")
    with pytest.raises(UnknownExperimentError, match="no experiment named 'nope.py'"):
        s.runExperiment("nope.py")
    assert s.runExperiment("simple/simple.py", {"participant": "p1"}) is True


def test_folder_named_like_an_installed_package(exp_root, make_session):
    s = make_session(exp_root)
    assert s.addExperiment("json/named_like_a_package.py") is True
    assert s.runExperiment("json/named_like_a_package.py") is True
    assert s.run_records[-1].n_trials == 1
    import json

    assert hasattr(json, "dumps")  # the real json package untouched


def test_edited_experiment_is_reloaded(exp_root, make_session):
    s = make_session(exp_root)
    s.addExperiment("simple/simple.py")
    assert s.experiments["simple/simple.py"].expInfo["nTrials"] == 5
    path = exp_root / "simple" / "simple.py"
    path.write_text(path.read_text().replace("'nTrials': 5", "'nTrials': 2"))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    s.runExperiment("simple/simple.py", {"participant": "p"})
    assert s.run_records[-1].n_trials == 2
    # and a file that becomes broken is reported as broken, not run stale
    path.write_text("def run(:\n")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 2 * 10**9))
    with pytest.raises(ExperimentLoadError, match="syntax error"):
        s.runExperiment("simple/simple.py", {"participant": "p"})


def test_builder_psyexp_compiles_outside_user_folder(gng_root, make_session, tmp_path):
    s = make_session(gng_root)
    assert s.addExperiment("GoNoGo/gng.psyexp") is True
    entry = s.experiment_files["GoNoGo/gng.psyexp"]
    assert entry.kind == "builder"
    assert entry.script_path.parent == tmp_path / "cache"
    assert not (gng_root / "GoNoGo" / "gng.py").exists()
    assert not (gng_root / "GoNoGo" / "__init__.py").exists()
    names = [f.name for f in s.expInfoFields("GoNoGo/gng.psyexp")]
    assert names[:2] == ["participant", "session"]
    # the module sees its own folder, so relative assets (conditions.xlsx, go.png) resolve
    assert entry.module._thisDir == str(gng_root / "GoNoGo")
