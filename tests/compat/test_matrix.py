"""The compatibility matrix (slow, ~20 min; scripts/test and CI run it): every hardware-free Builder demo shipped with
psychopy, dry-run through the console and through plain PsychoPy (scripts/compat_matrix.py).

Run: ``uv run --frozen python -m pytest tests/compat/test_matrix.py -m slow``. Set
``RIGCONSOLE_WRITE_COMPAT_DOC=1`` to also rewrite docs/compatibility.md from this run.
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


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_compatibility_matrix(tmp_path):
    m = _matrix()
    demos, skipped = m.list_demos()
    assert len(demos) >= 18 and all(not str(d).startswith("Hardware") for d in demos)
    data = m.run_matrix(seconds=20, stuck=12)  # stuck > the demos' 10 s input-free routines
    out = tmp_path / "compatibility.md"
    m.write_markdown(data, out)
    text = out.read_text()
    assert all(str(d) in text for d in demos)
    if os.environ.get("RIGCONSOLE_WRITE_COMPAT_DOC") == "1":
        (REPO / "docs" / "compatibility.md").write_text(text)
    res = data["results"]
    # a demo one path completes and the other stops at a dry-run limit (stuck or time limit) is
    # run again, both paths, with room: on a loaded machine a slow window is not incompatibility
    slow = [d for d, r in res.items()
            if {r["console"]["outcome"], r["plain"]["outcome"]} & {"stuck", "time limit"}
            and (r["console"]["outcome"].startswith("completed") or r["plain"]["outcome"].startswith("completed"))]
    if slow:
        print(f"again with longer limits: {slow}")
        res = m.merge(data, m.run_matrix(seconds=120, stuck=30, only=slow))["results"]
    # every demo that completes in plain PsychoPy completes in the console, with the same trials;
    # one that plain PsychoPy fails after its last trial ("completed with errors": every trial ran)
    # the console completes too, with every trial kept
    regressions = []
    for demo, r in res.items():
        c, p = r["console"], r["plain"]
        if p["outcome"].startswith("completed"):
            if not c["outcome"].startswith("completed"):
                regressions.append(f"{demo}: console {c['outcome']} ({c.get('error') or c.get('where')})")
            elif c.get("trials_per_loop") != p.get("trials_per_loop"):
                regressions.append(f"{demo}: trials {c.get('trials_per_loop')} != plain {p.get('trials_per_loop')}")
    assert not regressions, "\n".join(regressions)
    n_console = sum(1 for r in res.values() if r["console"]["outcome"].startswith("completed"))
    n_plain = sum(1 for r in res.values() if r["plain"]["outcome"].startswith("completed"))
    assert n_console >= n_plain
