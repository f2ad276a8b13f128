"""The rig file: a rig's instruments declared once, in YAML, validated with pydantic.

YAML because pyvisa-sim profiles and QCoDeS station files are YAML (QCoDeS'
``station-template.schema.json`` is the model for the published schema,
``docs/rig-file.schema.json``). See ``docs/instruments.md`` for the reference.

A bad file raises :class:`RigFileError` whose message has one line per problem,
each naming the field path and the line of the file, e.g.::

    rig.yaml:14: instruments.psu.setpoints.voltage.max: Input should be a valid number

``python -m rigconsole.instruments.schema`` prints the JSON Schema.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from ..yaml_lines import YamlSyntaxError, line_for, line_map, load_with_lines

__all__ = [
    "RigConfig",
    "InstrumentConfig",
    "ChannelConfig",
    "SetpointConfig",
    "MonitoringConfig",
    "RigFileError",
    "load_rig_file",
    "parse_rig_text",
    "rig_file_schema",
    "default_rig_file",
]

_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChannelConfig(_Model):
    """One polled reading: a SCPI query (or a PyMeasure property) and how to read its reply."""

    query: str | None = Field(None, description="SCPI query sent to read the channel, e.g. 'MEAS:TEMP?'")
    property: str | None = Field(None, description="PyMeasure driver property to read instead of a query")
    parse: Literal["float", "int", "bool"] = Field("float", description="how the reply becomes a number")
    regex: str | None = Field(None, description="regular expression; group 1 (or the whole match) is parsed")
    index: int | None = Field(None, ge=0, description="take this comma-separated field of the reply (0 = first)")
    unit: str = Field("", description="unit of the reading, stored with the logged variable, e.g. 'cd/m^2'")
    period_s: float = Field(1.0, gt=0, description="poll period, seconds")
    limits: tuple[float, float] | None = Field(
        None, description="plausible range [min, max]; a reading outside it is a bad reply, not logged"
    )
    description: str = ""

    @model_validator(mode="after")
    def _one_source(self):
        if (self.query is None) == (self.property is None):
            raise ValueError("give exactly one of 'query' (SCPI) or 'property' (PyMeasure driver)")
        if self.limits is not None and self.limits[0] > self.limits[1]:
            raise ValueError("limits must be [min, max] with min <= max")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as err:
                raise ValueError(f"regex does not compile: {err}") from None
        return self


class SetpointConfig(_Model):
    """A value the console may set, only within its limits (a typo cannot send 500 V)."""

    command: str = Field(..., description="SCPI command template with {value}, e.g. 'VOLT {value:.3f}'")
    min: float = Field(..., description="lowest value allowed, in the setpoint's unit")
    max: float = Field(..., description="highest value allowed, in the setpoint's unit")
    unit: str = ""
    query: str | None = Field(None, description="SCPI query reading the value back, e.g. 'VOLT?'")

    @model_validator(mode="after")
    def _check(self):
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        if "{value" not in self.command:
            raise ValueError("command must contain {value} where the number goes, e.g. 'VOLT {value:.3f}'")
        try:
            self.command.format(value=1.0)
        except (ValueError, KeyError, IndexError) as err:
            raise ValueError(f"command template does not format a number: {err}") from None
        return self


class RetryConfig(_Model):
    """When an instrument counts as degraded or down, and how fast it is retried."""

    down_after_timeouts: int = Field(2, ge=1, description="consecutive timeouts before the instrument is down")
    backoff_first_s: float = Field(1.0, gt=0, description="first wait before re-opening, seconds")
    backoff_max_s: float = Field(30.0, gt=0, description="longest wait between re-opening attempts, seconds")


class InstrumentConfig(_Model):
    """One instrument: a VISA resource, its backend, timeouts, channels, commands and setpoints."""

    resource: str = Field(..., description="VISA resource name, e.g. 'TCPIP0::127.0.0.1::5025::SOCKET'")
    backend: str = Field(
        "@py",
        description="'@py' (pyvisa-py), '@sim' (pyvisa-sim, needs 'profile'), "
        "'@ivi' or a path to the system VISA library",
    )
    profile: str | None = Field(None, description="pyvisa-sim profile (YAML), relative to the rig file")
    driver: str | None = Field(
        None,
        description="PyMeasure instrument class by dotted name, e.g. 'pymeasure.instruments.keithley.Keithley2000'",
    )
    open_timeout_s: float = Field(2.0, gt=0, description="how long opening the resource may take, seconds")
    timeout_s: float = Field(1.0, gt=0, description="I/O timeout of one query, seconds")
    read_termination: str | None = "\n"
    write_termination: str | None = "\n"
    idn: str | None = Field("*IDN?", description="identification query, null for instruments without one")
    enabled: bool = Field(True, description="connect at start")
    description: str = ""
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    commands: dict[str, str] = Field(default_factory=dict, description="named SCPI commands, e.g. zero: 'CAL:ZERO'")
    setpoints: dict[str, SetpointConfig] = Field(default_factory=dict)
    retry: RetryConfig = Field(default_factory=RetryConfig)

    @field_validator("channels", "commands", "setpoints")
    @classmethod
    def _names(cls, v):
        for k in v:
            if not re.match(_NAME, k):
                raise ValueError(f"name {k!r} must be a plain identifier (letters, digits, '_')")
        return v

    @model_validator(mode="after")
    def _backend(self):
        if self.backend == "@sim" and not self.profile:
            raise ValueError("backend '@sim' needs 'profile' (a pyvisa-sim YAML file)")
        if self.profile and self.backend != "@sim":
            raise ValueError("'profile' is only used with backend '@sim'")
        if self.driver is not None and not re.match(r"^[A-Za-z_][\w.]*\.[A-Za-z_]\w*$", self.driver):
            raise ValueError("driver must be a dotted class name like 'package.module.Class'")
        if self.driver is None:
            for k, ch in self.channels.items():
                if ch.property is not None:
                    raise ValueError(f"channel {k!r} reads property {ch.property!r} but no PyMeasure 'driver' is set")
        if self.retry.backoff_first_s > self.retry.backoff_max_s:
            raise ValueError("retry.backoff_first_s must not exceed retry.backoff_max_s")
        return self


class MonitoringConfig(_Model):
    """pymanip-style monitoring tasks: ``async def task(rig)`` coroutines in a Python file."""

    file: str = Field(..., description="Python file, relative to the rig file")
    tasks: list[str] | None = Field(None, description="coroutine functions to run; default: every public async def")


class RigConfig(_Model):
    """A rig file: the rig's name, its instruments and its monitoring tasks."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Rig Console rig file"},
    )

    rig: str = Field("rig", description="the rig's name, written into each session file")
    instruments: dict[str, InstrumentConfig] = Field(default_factory=dict)
    monitoring: MonitoringConfig | None = None
    _base_dir: Path | None = PrivateAttr(None)

    @property
    def base_dir(self) -> Path | None:
        """The folder relative paths (profiles, monitoring file) resolve against: the rig file's."""
        return self._base_dir

    @field_validator("instruments")
    @classmethod
    def _names(cls, v):
        for k in v:
            if not re.match(_NAME, k):
                raise ValueError(f"instrument name {k!r} must be a plain identifier (letters, digits, '_')")
        return v

    def resolve(self, rel: str) -> Path:
        """A path from the file (a profile, the monitoring file), made absolute against the file's folder."""
        p = Path(rel).expanduser()
        if not p.is_absolute() and self.base_dir is not None:
            p = self.base_dir / p
        return p


class RigFileError(ValueError):
    """A rig file that cannot be used. ``str(err)``: one line per problem (``file:line: field.path: what``).

    ``problems`` is the list of those lines.
    """

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def parse_rig_text(text: str, *, source: str = "<rig file>", base_dir: Path | None = None) -> RigConfig:
    """Validate a rig file's text. Raises :class:`RigFileError` (one line per problem)."""
    try:
        data, lines = load_with_lines(text)
    except YamlSyntaxError as err:
        raise RigFileError([f"{source}:{err.line}: not valid YAML: {err.what}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RigFileError([f"{source}:1: the rig file must be a mapping with 'instruments:' at its top"])
    try:
        cfg = RigConfig.model_validate(data)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            loc = tuple(x for x in e["loc"] if not (isinstance(x, str) and x.startswith("function-")))
            where = ".".join(str(x) for x in loc) or "(top)"
            msg = e["msg"].removeprefix("Value error, ")
            problems.append(f"{source}:{line_for(lines, loc)}: {where}: {msg}")
        raise RigFileError(problems) from None
    cfg._base_dir = base_dir
    return cfg


def load_rig_file(path: str | Path) -> RigConfig:
    """Read and validate a rig file (YAML). Relative paths in it resolve against its folder.

    Raises :class:`RigFileError` for a missing, unreadable or invalid file; also
    when a ``@sim`` profile or the monitoring file it names does not exist.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise RigFileError([f"{p}: cannot read the rig file: {err.strerror or err}"]) from None
    cfg = parse_rig_text(text, source=str(p), base_dir=p.resolve().parent)
    lines = line_map(yaml.compose(text, Loader=yaml.SafeLoader) or yaml.MappingNode("", []))
    missing = []
    for name, inst in cfg.instruments.items():
        if inst.profile and not cfg.resolve(inst.profile).is_file():
            loc: tuple[str, ...] = ("instruments", name, "profile")
            missing.append(
                f"{p}:{line_for(lines, loc)}: {'.'.join(loc)}: no such file {str(cfg.resolve(inst.profile))!r}"
            )
    if cfg.monitoring is not None and not cfg.resolve(cfg.monitoring.file).is_file():
        loc = ("monitoring", "file")
        missing.append(
            f"{p}:{line_for(lines, loc)}: monitoring.file: no such file {str(cfg.resolve(cfg.monitoring.file))!r}"
        )
    if missing:
        raise RigFileError(missing)
    return cfg


def rig_file_schema() -> dict:
    """The rig file's JSON Schema (draft 2020-12), as published in ``docs/rig-file.schema.json``."""
    return RigConfig.model_json_schema(mode="validation")


def default_rig_file() -> Path:
    """The bundled simulated rig: ``resources/rigs/simulated.yaml`` (source tree or installed app)."""
    here = Path(__file__).resolve()
    cands = [here.parents[3] / "resources" / "rigs", here.parents[1] / "resources" / "rigs"]
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        cands.insert(0, Path(frozen) / "resources" / "rigs")
    for c in cands:
        if (c / "simulated.yaml").is_file():
            return c / "simulated.yaml"
    return cands[0] / "simulated.yaml"
