"""Session plans: a participant's battery of experiments, in a YAML file. Qt-free.

A plan names the participant fields asked once (``participant``, ``session`` and
any expInfo key its items share) and an ordered list of items; each item gives an
experiment, expInfo overrides, a mode (``run``, ``pilot`` or ``dry run``) and what
comes after it (straight on, or a break with a message on the subject screen that
a key or the technician ends). The order is fixed, or counterbalanced by
participant with a balanced Latin square (Williams 1949: each item precedes every
other equally often).  See ``docs/technicians-guide.md`` ("Run a participant's
battery") and the published JSON Schema ``docs/plan-file.schema.json``
(``python -m rigconsole.plans.schema``)::

    # yaml-language-server: $schema=../../docs/plan-file.schema.json
    name: Demo battery
    fields: {participant: "", session: "001"}
    order: fixed                     # or: latin square
    items:
      - experiment: gonogo/gonogo.py # relative to the plan file
        expInfo: {nTrials: 12}
        after: {break: "Take a short rest. Press space to go on.", seconds: 60}
      - experiment: detection/detection.psyexp

PsychoPy Runner's ``.psyrun`` files (a JSON list of ``{"path": folder, "file":
name, "runMode": "run" | "pilot"}``) import (:func:`load_plan`) and export
(:func:`to_psyrun`). A bad file raises :class:`PlanError`, one line per problem
naming ``file:line``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..yaml_lines import YamlSyntaxError, line_for, load_with_lines

__all__ = [
    "Plan",
    "PlanItem",
    "BreakAfter",
    "PlanError",
    "load_plan",
    "parse_plan_text",
    "to_psyrun",
    "plan_file_schema",
    "latin_square",
    "participant_number",
    "MODES",
    "EXPERIMENT_SUFFIXES",
]

#: an item's modes: a real run, PsychoPy's pilot mode, or a dry run (a simulated participant)
MODES = ("run", "pilot", "dry run")
EXPERIMENT_SUFFIXES = (".py", ".psyexp")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BreakAfter(_Model):
    """A break after an item: a message on the subject screen until a key (or the technician) ends it."""

    break_: str = Field(
        ..., alias="break", min_length=1, description="the message shown on the subject screen during the break"
    )
    keys: list[str] = Field(["space"], description="keys that end the break (PsychoPy key names)")
    seconds: float | None = Field(
        None, gt=0, description="end the break after this many seconds (none: only a key or the technician ends it)"
    )
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @property
    def message(self) -> str:
        return self.break_


class PlanItem(_Model):
    """One experiment of a plan."""

    experiment: str = Field(
        ..., min_length=1, description="the experiment file (.py or .psyexp), relative to the plan file's folder"
    )
    expInfo: dict[str, Any] = Field(
        default_factory=dict, description="expInfo values for this item (over the experiment's defaults)"
    )
    mode: Literal["run", "pilot", "dry run"] = Field(
        "run", description="run; pilot (PsychoPy's pilot mode); dry run (a simulated participant, data apart)"
    )
    after: Literal["continue"] | BreakAfter = Field("continue", description="'continue' (straight on) or a break")
    label: str = Field("", description="a name for the item in the console (default: the experiment's)")

    @field_validator("experiment")
    @classmethod
    def _suffix(cls, v: str) -> str:
        if not v.endswith(EXPERIMENT_SUFFIXES):
            raise ValueError(f"{v!r} is not an experiment: give a .py script or a Builder .psyexp file")
        return v


class Plan(_Model):
    """A session plan (see the module docstring)."""

    name: str = Field("", description="the plan's name, shown in the console and the data file")
    fields: dict[str, Any] = Field(
        default_factory=lambda: {"participant": "", "session": "001"},
        description="participant fields asked once, with defaults; every item whose "
        "experiment has such an expInfo field gets the value",
    )
    order: Literal["fixed", "latin square"] = Field(
        "fixed", description="'fixed', or 'latin square': a balanced Latin square row chosen by the participant number"
    )
    items: list[PlanItem] = Field(..., min_length=1, description="the experiments, in order")

    _source: Path | None = None

    @field_validator("fields")
    @classmethod
    def _participant(cls, v: dict) -> dict:
        if "participant" not in v:
            raise ValueError("fields must include 'participant'")
        return v

    @property
    def source(self) -> Path | None:
        """The plan file it was read from (``None``: built in code)."""
        return self._source

    def with_source(self, path: Path | None) -> Plan:
        self._source = Path(path).absolute() if path is not None else None
        return self

    @property
    def folder(self) -> Path:
        return self._source.parent if self._source is not None else Path.cwd()

    def experiment_path(self, item: PlanItem) -> Path:
        """The item's experiment file, absolute (relative paths are against the plan file's folder)."""
        p = Path(item.experiment).expanduser()
        return p if p.is_absolute() else (self.folder / p).absolute()

    def order_for(self, participant: Any) -> list[int]:
        """The item order (0-based indices into :attr:`items`) for ``participant``.

        Raises:
            ValueError: a Latin-square plan and a participant with no number in it.
        """
        n = len(self.items)
        if self.order == "fixed" or n == 1:
            return list(range(n))
        rows = latin_square(n)
        return rows[(participant_number(participant) - 1) % len(rows)]


def latin_square(n: int) -> list[list[int]]:
    """Balanced Latin square orders of ``n`` items (Williams design), 0-based.

    Row 1 is ``0, 1, n-1, 2, n-2, ...``; row ``r`` adds ``r`` (mod ``n``). Every item
    precedes every other item equally often; for odd ``n`` that needs the reversed rows
    too, so there are ``2n`` rows then (``n`` rows for even ``n``).
    """
    if n < 1:
        raise ValueError("a Latin square needs at least one item")
    first, lo, hi = [0], 1, n - 1
    while len(first) < n:
        first.append(lo)
        lo += 1
        if len(first) < n:
            first.append(hi)
            hi -= 1
    rows = [[(x + r) % n for x in first] for r in range(n)]
    if n % 2:
        rows += [list(reversed(row)) for row in rows]
    return rows


def participant_number(participant: Any) -> int:
    """The number in a participant id (``"s07"`` → 7, ``12`` → 12): the last run of digits.

    Raises:
        ValueError: no digits (a counterbalanced plan needs one).
    """
    found = re.findall(r"\d+", str(participant))
    if not found or int(found[-1]) < 1:
        raise ValueError(
            f"participant {participant!r} has no number (1 or more) to choose the counterbalanced "
            "order by: use an id like s01 or 7"
        )
    return int(found[-1])


class PlanError(ValueError):
    """A plan file that cannot be used. ``str(err)``: one line per problem (``file:line: field.path: what``)."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def parse_plan_text(text: str, *, source: str = "<plan>", path: Path | None = None) -> Plan:
    """Validate a YAML plan's text. Raises :class:`PlanError` (one line per problem, ``source:line: ...``)."""
    try:
        data, lines = load_with_lines(text)
    except YamlSyntaxError as err:
        raise PlanError([f"{source}:{err.line}: not valid YAML: {err.what}"]) from None
    if not isinstance(data, dict):
        raise PlanError([f"{source}:1: a plan is a mapping with 'items:' (a list of experiments) at its top"])
    try:
        plan = Plan.model_validate(data)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            branch = [x for x in e["loc"] if x in ("literal['continue']", "BreakAfter")]
            if branch and (branch[0] == "BreakAfter") != (
                e["loc"].index(branch[0]) + 1 < len(e["loc"]) or isinstance(e.get("input"), dict)
            ):
                continue  # the union's other branch: 'after' is 'continue' or a mapping with 'break'
            loc = tuple(
                x
                for x in e["loc"]
                if not (isinstance(x, str) and ("function-" in x or x in ("literal['continue']", "BreakAfter")))
            )
            where = ".".join(str(x) for x in loc) or "(top)"
            problems.append(f"{source}:{line_for(lines, loc)}: {where}: {e['msg'].removeprefix('Value error, ')}")
        raise PlanError(list(dict.fromkeys(problems))) from None
    plan.with_source(path)
    missing = [
        f"{source}:{line_for(lines, ('items', i, 'experiment'))}: items.{i}.experiment: no such file "
        f"{str(plan.experiment_path(item))!r}"
        for i, item in enumerate(plan.items)
        if path is not None and not plan.experiment_path(item).is_file()
    ]
    if missing:
        raise PlanError(missing)
    return plan


def _from_psyrun(text: str, path: Path) -> Plan:
    try:
        data = json.loads(text)
    except ValueError as err:
        raise PlanError([f"{path}:{getattr(err, 'lineno', 1)}: not valid JSON: {getattr(err, 'msg', err)}"]) from None
    if not isinstance(data, list) or not data:
        raise PlanError([f'{path}:1: a .psyrun file is a JSON list of {{"path", "file", "runMode"}} tasks'])
    items, problems = [], []
    for i, task in enumerate(data):
        if not isinstance(task, dict) or not isinstance(task.get("file"), str):
            problems.append(f"{path}:1: task {i + 1}: needs 'file' (and 'path', the folder)")
            continue
        folder = task.get("path") or "."
        exp = Path(folder) / task["file"]
        mode = task.get("runMode", "run")
        if mode not in ("run", "pilot"):
            problems.append(f"{path}:1: task {i + 1}: runMode must be 'run' or 'pilot', not {mode!r}")
            continue
        items.append({"experiment": str(exp), "mode": mode})
    if problems:
        raise PlanError(problems)
    try:
        plan = Plan.model_validate({"name": path.stem, "items": items})
    except ValidationError as err:
        raise PlanError([f"{path}:1: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()]) from None
    plan.with_source(path)
    missing = [
        f"{path}:1: task {i + 1}: no such file {str(plan.experiment_path(it))!r}"
        for i, it in enumerate(plan.items)
        if not plan.experiment_path(it).is_file()
    ]
    if missing:
        raise PlanError(missing)
    return plan


def load_plan(path: str | Path) -> Plan:
    """Read a plan: YAML (``.yaml``/``.yml``) or PsychoPy Runner's ``.psyrun`` (JSON).

    Raises:
        PlanError: unreadable, invalid, or naming an experiment file that does not exist.
    """
    p = Path(path).expanduser().absolute()
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise PlanError([f"{p}: cannot read the plan: {err.strerror or err}"]) from None
    if p.suffix == ".psyrun":
        return _from_psyrun(text, p)
    return parse_plan_text(text, source=str(p), path=p)


def to_psyrun(plan: Plan) -> list[dict[str, str]]:
    """The plan as PsychoPy Runner's task list (``json.dumps`` it into a ``.psyrun`` file).

    Each item becomes ``{"path": folder, "file": name, "runMode": "run" | "pilot"}``
    with absolute folders; a dry run (no Runner equivalent) becomes ``"pilot"``. The
    Runner has no participant fields, breaks or counterbalancing: those stay in the YAML.
    """
    out = []
    for item in plan.items:
        exp = plan.experiment_path(item)
        out.append({"path": str(exp.parent), "file": exp.name, "runMode": "run" if item.mode == "run" else "pilot"})
    return out


def plan_file_schema() -> dict:
    """The plan file's JSON Schema (draft 2020-12), as published in ``docs/plan-file.schema.json``."""
    return Plan.model_json_schema(mode="validation")
