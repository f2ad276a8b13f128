"""expInfo with PsychoPy's key conventions; partial dicts from callers."""

from __future__ import annotations

import pytest

from rigconsole.session.expinfo import ExpInfoError, parse_exp_info, parse_pipe_syntax, resolve_exp_info

BUILDER_STYLE = {
    "participant*": "",
    "session": "001",
    "nTrials": 20,
    "goProportion": 0.7,
    "feedback": True,
    "difficulty": ["easy", "hard"],
    "rig|fix": "rig-1",
    "seed|cfg": 42,
    "date|hid": "2020-01-01",
    "expName|hid": "gng",
}


def test_pipe_syntax_matches_psychopy():
    from psychopy.data.utils import parsePipeSyntax

    for key in ["date|hid", "participant*", "a|req|cfg", " spaced |fix", "plain", r"star\*ok"]:
        name, flags = parse_pipe_syntax(key)
        ps_name, ps_flags = parsePipeSyntax(key)
        assert (name, sorted(flags)) == (ps_name, sorted(ps_flags))


def test_fields_kinds_and_flags():
    fields = {f.name: f for f in parse_exp_info(BUILDER_STYLE)}
    assert [f for f in fields] == [
        "participant",
        "session",
        "nTrials",
        "goProportion",
        "feedback",
        "difficulty",
        "rig",
        "seed",
        "date",
        "expName",
    ]
    assert fields["participant"].required and fields["participant"].kind == "text"
    assert fields["nTrials"].kind == "int" and fields["goProportion"].kind == "float"
    assert fields["feedback"].kind == "bool"
    assert fields["difficulty"].kind == "choice" and fields["difficulty"].choices == ["easy", "hard"]
    assert fields["difficulty"].default == "easy"
    assert fields["rig"].fixed and fields["seed"].config
    assert fields["date"].hidden and fields["expName"].hidden


def test_partial_dict_is_completed():
    fields = parse_exp_info(BUILDER_STYLE)
    info = resolve_exp_info(fields, {"participant": "s01", "nTrials": "8", "difficulty": "hard"}, exp_name="x")
    assert info["participant"] == "s01"
    assert info["nTrials"] == 8 and isinstance(info["nTrials"], int)
    assert info["difficulty"] == "hard"
    assert info["session"] == "001" and info["feedback"] is True
    assert info["expName"] == "gng"
    assert info["date"] != "2020-01-01" and info["date"][:4].isdigit()
    assert all("|" not in k and "*" not in k for k in info)


def test_raw_keys_accepted_and_extra_keys_pass_through():
    fields = parse_exp_info(BUILDER_STYLE)
    info = resolve_exp_info(fields, {"participant*": "s02", "extra": 1}, exp_name="x")
    assert info["participant"] == "s02" and info["extra"] == 1


@pytest.mark.parametrize(
    "given, message",
    [
        ({}, "expInfo 'participant' is required"),
        ({"participant": "  "}, "expInfo 'participant' is required"),
        ({"participant": "a", "nTrials": "many"}, "'many' is not a whole number"),
        ({"participant": "a", "goProportion": "x"}, "'x' is not a number"),
        ({"participant": "a", "difficulty": "medium"}, "'medium' is not one of: easy, hard"),
        ({"participant": "a", "feedback": "maybe"}, "'maybe' is not true/false"),
    ],
)
def test_bad_values_give_one_line_errors(given, message):
    with pytest.raises(ExpInfoError, match=message) as err:
        resolve_exp_info(parse_exp_info(BUILDER_STYLE), given, exp_name="x")
    assert "\n" not in str(err.value)


def test_exp_name_filled_when_missing():
    info = resolve_exp_info(parse_exp_info({"participant": "a"}), None, exp_name="myexp")
    assert info["expName"] == "myexp" and "date" in info
