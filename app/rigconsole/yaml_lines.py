"""YAML files whose errors name ``file:line``: the line of each key and list item, for the
one-line errors of the rig file (:mod:`rigconsole.instruments.config`) and of session plans
(:mod:`rigconsole.plans.plan`). Qt-free, at the bottom of the layers."""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["YamlSyntaxError", "load_with_lines", "line_map", "line_for"]


class YamlSyntaxError(ValueError):
    """Text that is not YAML. ``line``: 1-based; ``what``: the parser's problem, one line."""

    def __init__(self, line: int, what: str):
        self.line, self.what = line, what
        super().__init__(f"line {line}: not valid YAML: {what}")


def line_map(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict:
    """``{field path tuple: 1-based line}`` for every mapping key and sequence item under ``node``."""
    if out is None:
        out = {(): node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            out[path + (k.value,)] = k.start_mark.line + 1
            line_map(v, path + (k.value,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out[path + (i,)] = v.start_mark.line + 1
            line_map(v, path + (i,), out)
    return out


def line_for(lines: dict, loc: tuple) -> int:
    """The line of ``loc`` (a pydantic error location), else of its nearest parent, else 1."""
    loc = tuple(loc)
    while loc not in lines and loc:
        loc = loc[:-1]
    return lines.get(loc, 1)


def load_with_lines(text: str) -> tuple[Any, dict]:
    """``(data, lines)``: ``yaml.safe_load(text)`` and its :func:`line_map` (``{}`` for empty text).

    Raises:
        YamlSyntaxError: the text is not YAML (with the line of the problem).
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        what = getattr(err, "problem", None) or (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise YamlSyntaxError(mark.line + 1 if mark is not None else 1, what) from None
    return data, (line_map(node) if node is not None else {})
