"""The rig file: the bundled one validates, bad ones get one line per problem with field path and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rigconsole.instruments import RigFileError, default_rig_file, load_rig_file, parse_rig_text, rig_file_schema
from rigconsole.instruments.cli import main as rig_main

REPO = Path(__file__).resolve().parents[2]


def test_the_bundled_simulated_rig_validates():
    cfg = load_rig_file(default_rig_file())
    assert set(cfg.instruments) == {"photometer", "thermometer", "psu"}
    ph = cfg.instruments["photometer"]
    assert ph.backend == "@sim" and cfg.resolve(ph.profile).is_file()
    assert ph.channels["luminance"].unit == "cd/m^2"
    assert cfg.instruments["psu"].setpoints["voltage"].max == 12
    assert cfg.monitoring is not None and cfg.resolve(cfg.monitoring.file).is_file()


def test_defaults_are_pyvisa_py_and_star_idn():
    cfg = parse_rig_text("instruments:\n  a:\n    resource: TCPIP0::127.0.0.1::5025::SOCKET\n")
    a = cfg.instruments["a"]
    assert (a.backend, a.idn, a.read_termination, a.timeout_s) == ("@py", "*IDN?", "\n", 1.0)


BAD = """\
rig: bad rig
instruments:
  photometer:
    resource: USB0::1::INSTR
    backend: "@sim"
  thermometer:
    resource: GPIB0::12::INSTR
    channels:
      temperature:
        query: "MEAS:TEMP?"
        period_s: -1
  psu:
    resource: USB0::2::INSTR
    setpoints:
      voltage:
        command: "VOLT {value}"
        min: 0
        max: twelve
    bogus: 1
"""


def test_a_bad_file_gets_one_line_per_problem_with_field_path_and_line():
    with pytest.raises(RigFileError) as ei:
        parse_rig_text(BAD, source="bad.yaml")
    lines = str(ei.value).splitlines()
    assert lines == ei.value.problems
    assert len(lines) == 4, lines
    by_path = {ln.split(": ")[1]: ln for ln in lines}
    assert by_path["instruments.thermometer.channels.temperature.period_s"].startswith("bad.yaml:11: ")
    assert "greater than 0" in by_path["instruments.thermometer.channels.temperature.period_s"]
    assert by_path["instruments.psu.setpoints.voltage.max"].startswith("bad.yaml:18: ")
    assert by_path["instruments.psu.bogus"].startswith("bad.yaml:19: ")
    # the model-level check (profile missing for @sim) points at the instrument's line
    assert by_path["instruments.photometer"].startswith("bad.yaml:3: ")
    assert "needs 'profile'" in by_path["instruments.photometer"]


@pytest.mark.parametrize(
    "text, expect",
    [
        ("instruments:\n  a: [1, 2\n", "not valid YAML"),
        ("- just a list\n", "must be a mapping"),
        ("instruments:\n  bad-name:\n    resource: X\n", "plain identifier"),
        ("instruments:\n  a:\n    resource: X\n    channels:\n      c: {unit: V}\n", "exactly one of 'query'"),
        (
            "instruments:\n  a:\n    resource: X\n    setpoints:\n      v: {command: 'VOLT', min: 0, max: 1}\n",
            "{value}",
        ),
        (
            "instruments:\n  a:\n    resource: X\n    setpoints:\n      v: {command: 'VOLT {value}', min: 5, max: 1}\n",
            "min must not exceed max",
        ),
        ("instruments:\n  a:\n    resource: X\n    channels:\n      c: {property: voltage}\n", "no PyMeasure 'driver'"),
    ],
)
def test_each_kind_of_mistake_is_named(text, expect):
    with pytest.raises(RigFileError) as ei:
        parse_rig_text(text, source="r.yaml")
    assert expect in str(ei.value)
    assert str(ei.value).startswith("r.yaml:")


def test_a_missing_profile_or_monitoring_file_is_named_with_its_line(tmp_path):
    p = tmp_path / "rig.yaml"
    p.write_text(
        "instruments:\n  a:\n    resource: X\n    backend: '@sim'\n    profile: nowhere.yaml\n"
        "monitoring:\n  file: gone.py\n"
    )
    with pytest.raises(RigFileError) as ei:
        load_rig_file(p)
    lines = ei.value.problems
    assert any(ln.startswith(f"{p}:5: instruments.a.profile: no such file") for ln in lines), lines
    assert any(ln.startswith(f"{p}:7: monitoring.file: no such file") for ln in lines), lines


def test_the_published_json_schema_is_current():
    published = json.loads((REPO / "docs" / "rig-file.schema.json").read_text())
    assert published == rig_file_schema(), (
        "regenerate: python -m rigconsole.instruments.schema > docs/rig-file.schema.json"
    )
    assert "instruments" in published["properties"]
    assert "base_dir" not in published["properties"]


def test_rig_check_exit_codes(tmp_path, rig_dir, capsys):
    assert rig_main(["check", str(rig_dir / "simulated.yaml")]) == 0
    out = capsys.readouterr().out
    assert "*IDN? Rig Console,SIM-LM-100,LM0001,1.0" in out
    assert "luminance = " in out and "cd/m^2" in out
    assert "temperature = " in out and "degC" in out
    assert rig_main(["check"], rig_file=rig_dir / "simulated.yaml") == 0  # the Settings' rig file
    assert str(rig_dir / "simulated.yaml") in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    assert rig_main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 4 and f"{bad}:11:" in err
    # an instrument nobody answers for: a closed port on 127.0.0.1
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    off = tmp_path / "off.yaml"
    off.write_text(f"instruments:\n  gone:\n    resource: TCPIP0::127.0.0.1::{port}::SOCKET\n    open_timeout_s: 0.5\n")
    assert rig_main(["check", str(off)]) == 1
    assert "gone: UNREACHABLE" in capsys.readouterr().out
