"""The compatibility matrix (scripts/compat_matrix.py): every hardware-free Builder demo shipped
with psychopy, dry-run through the console (its default settings) and through plain PsychoPy,
both at the same time warp, with limits in the experiment's own time.

The whole matrix is a slow test (CI runs it; its budget is 10 min): ``uv run --frozen python -m
pytest tests/compat/test_matrix.py -m slow``. Set ``RIGCONSOLE_WRITE_COMPAT_DOC=1`` to also
rewrite docs/compatibility.md from this run. One short demo runs in the ordinary suite.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _matrix():
    spec = importlib.util.spec_from_file_location("compat_matrix", REPO / "scripts" / "compat_matrix.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _regressions(res: dict) -> list[str]:
    """Demos plain PsychoPy completes (or completes with errors: every trial ran) that the console
    does not complete, or completes with other trial counts."""
    out = []
    for demo, r in res.items():
        c, p = r["console"], r["plain"]
        if p["outcome"].startswith("completed"):
            if not c["outcome"].startswith("completed"):
                out.append(f"{demo}: console {c['outcome']} ({c.get('error') or c.get('where')})")
            else:
                # every loop runs as many trials on both paths, a staircase too (it ends where the
                # responses take it): the same participant (seed 1) and the experiment's own
                # randomness seeded alike on both (rigconsole.session.qa.ExperimentSeed) make the
                # same responses to the same trials
                ct, pt = c.get("trials_per_loop") or {}, p.get("trials_per_loop") or {}
                if ct != pt:
                    out.append(f"{demo}: trials {ct} != plain {pt}")
    return out


def test_one_demo_both_paths_at_the_same_warp(tmp_path):
    """The counterbalance demo through both paths at the matrix's speed (max): the same outcome and trials, each with
    its speed reached and wall time, and the table gives them."""
    m = _matrix()
    data = m.run_matrix(seconds=m.SECONDS, stuck=m.STUCK, only=["counterbalance"], speed=m.SPEED)
    ((demo, r),) = data["results"].items()
    assert not _regressions(data["results"]), r
    assert r["console"]["outcome"] == r["plain"]["outcome"] == "completed", r
    for path in ("console", "plain"):
        assert r[path]["speed_reached"] >= 1.0 and r[path]["wall_s"] > 0 and r[path]["experiment_s"] > 0, r[path]
    out = tmp_path / "compatibility.md"
    m.write_markdown(data, out)
    text = out.read_text()
    assert "speed **max**" in text and "| speed: console / plain | wall s: console / plain |" in text
    assert demo in text


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_compatibility_matrix(tmp_path):
    m = _matrix()
    demos, skipped = m.list_demos()
    assert len(demos) >= 18 and all(not str(d).startswith("Hardware") for d in demos)
    data = m.run_matrix(seconds=m.SECONDS, stuck=m.STUCK, speed=m.SPEED)
    out = tmp_path / "compatibility.md"
    m.write_markdown(data, out)
    text = out.read_text()
    assert all(str(d) in text for d in demos)
    if os.environ.get("RIGCONSOLE_WRITE_COMPAT_DOC") == "1":
        (REPO / "docs" / "compatibility.md").write_text(text)
    res = data["results"]
    # every demo that completes in plain PsychoPy completes in the console, with the same trials
    regressions = _regressions(res)
    assert not regressions, "\n".join(regressions)
    n_console = sum(1 for r in res.values() if r["console"]["outcome"].startswith("completed"))
    n_plain = sum(1 for r in res.values() if r["plain"]["outcome"].startswith("completed"))
    assert n_console >= n_plain
    # a stop names where: the routine and what it waited for
    for demo, r in res.items():
        if r["console"]["outcome"] == "stuck":
            assert r["console"].get("where"), demo
