"""Session plan files: YAML validated with one-line file:line errors, the published JSON Schema,
PsychoPy Runner's .psyrun import and export, and the balanced Latin square by participant."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from rigconsole.plans import PlanError, latin_square, load_plan, plan_file_schema, to_psyrun

REPO = Path(__file__).resolve().parents[2]


def _plan(tmp_path, text: str, name="plan.yaml") -> Path:
    for exp in ("a.py", "b.py", "c.psyexp", "d.py"):
        (tmp_path / exp).write_text("# an experiment\n")
    p = tmp_path / name
    p.write_text(text)
    return p


def test_the_published_schema_is_the_models():
    published = json.loads((REPO / "docs" / "plan-file.schema.json").read_text())
    assert published == plan_file_schema(), "regenerate: python -m rigconsole.plans.schema > docs/plan-file.schema.json"
    assert set(published["properties"]) == {"name", "fields", "order", "items"}


def test_the_bundled_demo_plan_loads():
    plan = load_plan(REPO / "resources" / "experiments" / "demo-battery.yaml")
    assert [Path(i.experiment).name for i in plan.items] == ["gonogo.py", "detection.psyexp"]
    assert all(plan.experiment_path(i).is_file() for i in plan.items)
    assert plan.items[0].after.message.startswith("Well done") and plan.items[1].after == "continue"


@pytest.mark.parametrize(
    "text, line, says",
    [
        (
            "items:\n  - experiment: a.py\n    mode: fast\n",
            3,
            "items.0.mode: Input should be 'run', 'pilot' or 'dry run'",
        ),
        (
            "items:\n  - experiment: a.py\n  - experiment: notes.txt\n",
            3,
            "items.1.experiment: 'notes.txt' is not an experiment",
        ),
        (
            "items:\n  - experiment: a.py\n    after: {break: Rest, sekonds: 3}\n",
            3,
            "items.0.after.sekonds: Extra inputs",
        ),
        (
            "items:\n  - experiment: a.py\n    after:\n      break: Rest\n      seconds: -1\n",
            5,
            "items.0.after.seconds",
        ),
        (
            "name: x\nfields: {session: 1}\nitems:\n  - experiment: a.py\n",
            2,
            "fields: fields must include 'participant'",
        ),
        ("order: random\nitems:\n  - experiment: a.py\n", 1, "order: Input should be 'fixed' or 'latin square'"),
        ("items:\n  - experiment: missing.py\n", 2, "items.0.experiment: no such file"),
        ("items:\n  - experiment: a.py\n  - [\n", 4, "not valid YAML"),
        ("items: []\n", 1, "items: List should have at least 1 item"),
    ],
)
def test_a_bad_plan_says_file_line_and_what_to_fix_in_one_line(tmp_path, text, line, says):
    p = _plan(tmp_path, text)
    with pytest.raises(PlanError) as err:
        load_plan(p)
    first = str(err.value).splitlines()[0]
    assert first.startswith(f"{p}:{line}: "), first
    assert says in first, first


def test_a_psyrun_file_imports_and_the_plan_exports_back_to_runner_format(tmp_path):
    _plan(tmp_path, "")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "e.psyexp").write_text("<x/>")
    runner = [
        {"path": str(tmp_path), "file": "a.py", "runMode": "run"},
        {"path": "sub", "file": "e.psyexp", "runMode": "pilot"},
    ]
    psyrun = tmp_path / "tasks.psyrun"
    psyrun.write_text(json.dumps(runner))
    plan = load_plan(psyrun)
    assert [(Path(i.experiment).name, i.mode) for i in plan.items] == [("a.py", "run"), ("e.psyexp", "pilot")]
    assert plan.experiment_path(plan.items[1]) == sub / "e.psyexp"  # relative to the .psyrun's folder
    exported = to_psyrun(plan)
    assert exported == [
        {"path": str(tmp_path), "file": "a.py", "runMode": "run"},
        {"path": str(sub), "file": "e.psyexp", "runMode": "pilot"},
    ]
    back = tmp_path / "back.psyrun"
    back.write_text(json.dumps(exported))
    assert [(plan.experiment_path(i), i.mode) for i in plan.items] == [
        (load_plan(back).experiment_path(i), i.mode) for i in load_plan(back).items
    ]
    # PsychoPy Runner's own reader: a JSON list of {path, file, runMode}
    assert all(
        set(t) == {"path", "file", "runMode"} and t["runMode"] in ("run", "pilot") for t in json.loads(back.read_text())
    )


def test_a_bad_psyrun_says_what_is_wrong(tmp_path):
    p = tmp_path / "t.psyrun"
    p.write_text('[{"path": ".", "file": "nope.py", "runMode": "run"}]')
    with pytest.raises(PlanError, match=r"t\.psyrun:1: task 1: no such file"):
        load_plan(p)
    p.write_text('[{"path": ".", "file": "nope.py", "runMode": "fast"}]')
    with pytest.raises(PlanError, match="runMode must be 'run' or 'pilot'"):
        load_plan(p)
    p.write_text("{not json")
    with pytest.raises(PlanError, match=r"t\.psyrun:1: not valid JSON"):
        load_plan(p)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_the_latin_square_is_balanced(n):
    rows = latin_square(n)
    assert len(rows) == (n if n % 2 == 0 else 2 * n)
    for row in rows:
        assert sorted(row) == list(range(n))
    for pos in range(n):  # each item equally often in each position
        counts = [sum(1 for r in rows if r[pos] == i) for i in range(n)]
        assert len(set(counts)) == 1
    pairs = [(r[k], r[k + 1]) for r in rows for k in range(n - 1)]
    # each item immediately precedes every other item equally often (first-order carry-over balance)
    assert len({pairs.count(p) for p in itertools.permutations(range(n), 2)}) == 1


def test_participants_1_to_n_get_the_latin_square_rows(tmp_path):
    p = _plan(
        tmp_path,
        "order: latin square\nitems:\n  - experiment: a.py\n  - experiment: b.py\n"
        "  - experiment: c.psyexp\n  - experiment: d.py\n",
    )
    plan = load_plan(p)
    rows = latin_square(4)
    assert rows[0] == [0, 1, 3, 2]
    for k in range(1, 9):  # participant k gets row (k-1) mod 4, whatever the id looks like
        assert plan.order_for(f"s{k:02d}") == rows[(k - 1) % 4]
        assert plan.order_for(k) == rows[(k - 1) % 4]
    with pytest.raises(ValueError, match="has no number"):
        plan.order_for("anna")
    fixed = load_plan(_plan(tmp_path, "items:\n  - experiment: a.py\n  - experiment: b.py\n", "f.yaml"))
    assert fixed.order_for("anna") == [0, 1]


def test_the_export_command_writes_a_psyrun_that_imports_back(tmp_path):
    from rigconsole.plans.psyrun import main

    demo = REPO / "resources" / "experiments" / "demo-battery.yaml"
    out = tmp_path / "demo.psyrun"
    assert main([str(demo), str(out)]) == 0
    tasks = json.loads(out.read_text())
    assert [(t["file"], t["runMode"]) for t in tasks] == [("gonogo.py", "run"), ("detection.psyexp", "run")]
    assert [load_plan(out).experiment_path(i) for i in load_plan(out).items] == [
        load_plan(demo).experiment_path(i) for i in load_plan(demo).items
    ]
    assert main([str(tmp_path / "nope.yaml"), str(out)]) == 2
