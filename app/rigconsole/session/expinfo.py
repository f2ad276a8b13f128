"""expInfo schema: PsychoPy's expInfo conventions as typed fields.

An experiment declares a module-level ``expInfo`` dict. PsychoPy Builder
writes flags into its keys with "pipe syntax" (``'date|hid'``), marks required
fields with ``|req`` or a ``*`` and uses a list value to offer choices (the
first item is the default). This module turns such a dict into a list of
:class:`ExpInfoField` (what the console's form is generated from) and resolves
a partial dict given by a caller into the complete, clean-keyed expInfo an
experiment's ``setupData`` receives.

Conventions follow ``psychopy.data.utils.parsePipeSyntax`` and
``psychopy.gui.DlgFromDict`` (PsychoPy 2026.2). :class:`ExpInfoAPI` holds the
Session's expInfo methods (PsychoPy's ``getExpInfoFromExperiment`` and
``showExpInfoDlgFromExperiment``, and the console's fields and resolution).
"""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ExpInfoAPI",
    "ExpInfoError",
    "ExpInfoField",
    "parse_pipe_syntax",
    "parse_exp_info",
    "resolve_exp_info",
    "date_str",
]

log = logging.getLogger("rigconsole.session")

#: Flags PsychoPy understands in expInfo keys.
KNOWN_FLAGS = ("req", "cfg", "fix", "hid")


class ExpInfoError(ValueError):
    """An expInfo value is missing or invalid; the message says which and how to fix it."""


def parse_pipe_syntax(key: str) -> tuple[str, list[str]]:
    """Split an expInfo key into its clean name and its flags.

    Same rules as ``psychopy.data.utils.parsePipeSyntax``: an unescaped ``*``
    means ``|req``; flags follow ``|``; names and flags are stripped.

    >>> parse_pipe_syntax("date|hid")
    ('date', ['hid'])
    >>> parse_pipe_syntax("participant*")
    ('participant', ['req'])
    """
    key = re.sub(r"(?<!\\)\*", "|req", key)
    name, *flags = key.split("|")
    flags = sorted({flag.strip() for flag in flags if flag.strip()})
    return name.strip(), flags


def date_str() -> str:
    """The date string Builder puts in ``expInfo['date']`` (``data.getDateStr()``:
    ``YYYY-MM-DD_HHhMM.SS.mmm``)."""
    now = time.time()
    ms = int((now % 1) * 1000)
    return time.strftime("%Y-%m-%d_%Hh%M.%S", time.localtime(now)) + f".{ms:03d}"


@dataclass
class ExpInfoField:
    """One expInfo entry as the console's form shows it.

    Attributes:
        name: the clean key (pipe flags removed), e.g. ``"participant"``.
        raw_key: the key as the experiment wrote it, e.g. ``"participant|req"``.
        kind: ``"text"``, ``"choice"``, ``"bool"``, ``"int"`` or ``"float"``.
        default: the default value (for a choice, the first item).
        choices: the allowed values for a choice, else empty.
        required: a value must be given (``|req`` or ``*``).
        hidden: not shown in the form (``|hid``); still passed to the experiment.
        fixed: shown read-only (``|fix``).
        config: an advanced setting (``|cfg``), shown in a collapsed section.
    """

    name: str
    raw_key: str
    kind: str
    default: Any
    choices: list[Any] = field(default_factory=list)
    required: bool = False
    hidden: bool = False
    fixed: bool = False
    config: bool = False

    def coerce(self, value: Any) -> Any:
        """Convert ``value`` (e.g. text from a form or a command line) to this field's type.

        Raises:
            ExpInfoError: the value cannot be read as this field's type, is not
                one of the choices, or is empty for a required field.
        """
        if self.kind == "bool":
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("1", "true", "yes", "on"):
                    value = True
                elif low in ("0", "false", "no", "off", ""):
                    value = False
                else:
                    raise ExpInfoError(f"expInfo {self.name!r}: {value!r} is not true/false")
            value = bool(value)
        elif self.kind == "int":
            try:
                value = int(str(value).strip()) if not isinstance(value, int) else value
            except ValueError:
                raise ExpInfoError(f"expInfo {self.name!r}: {value!r} is not a whole number") from None
        elif self.kind == "float":
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ExpInfoError(f"expInfo {self.name!r}: {value!r} is not a number") from None
        elif self.kind == "choice":
            if value not in self.choices:
                as_text = {str(c): c for c in self.choices}
                if str(value) in as_text:
                    value = as_text[str(value)]
                else:
                    options = ", ".join(str(c) for c in self.choices)
                    raise ExpInfoError(f"expInfo {self.name!r}: {value!r} is not one of: {options}")
        else:
            value = "" if value is None else value
        if self.required and (value is None or (isinstance(value, str) and not value.strip())):
            raise ExpInfoError(f"expInfo {self.name!r} is required: give it a value")
        return value


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, (list, tuple)):
        return "choice"
    return "text"


def parse_exp_info(exp_info: Mapping[str, Any]) -> list[ExpInfoField]:
    """Turn an experiment's expInfo dict into form fields, in the dict's order.

    Args:
        exp_info: the experiment's module-level ``expInfo`` (raw keys).

    Returns:
        One :class:`ExpInfoField` per key. ``date`` and ``expName`` are always
        hidden: the session fills them in (PsychoPy's Session needs both).
    """
    fields = []
    for raw_key, value in exp_info.items():
        name, flags = parse_pipe_syntax(str(raw_key))
        kind = _kind_of(value)
        choices = list(value) if kind == "choice" else []
        default = (choices[0] if choices else "") if kind == "choice" else value
        fields.append(
            ExpInfoField(
                name=name,
                raw_key=str(raw_key),
                kind=kind,
                default=default,
                choices=choices,
                required="req" in flags,
                hidden="hid" in flags or name in ("date", "expName"),
                fixed="fix" in flags,
                config="cfg" in flags,
            )
        )
    return fields


def resolve_exp_info(fields: list[ExpInfoField], given: Mapping[str, Any] | None, *, exp_name: str) -> dict[str, Any]:
    """Build the complete expInfo an experiment runs with.

    Starts from each field's default, applies the caller's (possibly partial)
    ``given`` values, keyed by clean name or raw key, and fills ``date``
    (always the current date, as Builder's ``run`` does) and ``expName``.

    Args:
        fields: from :func:`parse_exp_info`.
        given: values to apply; may be partial or ``None``. Keys the
            experiment does not declare are passed through unchanged, as
            PsychoPy does.
        exp_name: the experiment's name, used when it declares none.

    Returns:
        A new dict with clean keys.

    Raises:
        ExpInfoError: a value does not fit its field (see :meth:`ExpInfoField.coerce`).
    """
    given = dict(given or {})
    by_raw = {f.raw_key: f.name for f in fields}
    clean_given: dict[str, Any] = {}
    for key, value in given.items():
        key = by_raw.get(key, parse_pipe_syntax(str(key))[0])
        clean_given[key] = value
    result: dict[str, Any] = {}
    for f in fields:
        if f.name in clean_given:
            value = clean_given.pop(f.name)
            result[f.name] = value if f.name in ("date", "expName") else f.coerce(value)
        else:
            result[f.name] = f.coerce(f.default) if f.required else f.default
    result.update(clean_given)
    if not given.get("date") and not given.get("date|hid"):
        result["date"] = date_str()
    if not result.get("expName"):
        result["expName"] = exp_name
    return result


class ExpInfoAPI:
    """The Session's expInfo methods; mixed into :class:`rigconsole.session.Session`,
    which supplies ``_entry(key)`` (the loaded experiment) and ``params`` (an ``AliasDict``)."""

    params: Any

    def getExpInfoFromExperiment(self, key, sessionParams=True):
        """The experiment's module-level expInfo dict itself (raw keys, e.g.
        ``'participant|req'``), with the Session's params written into it when
        ``sessionParams`` (PsychoPy API: the same object, changed in place, as PsychoPy
        returns).

        Raises:
            UnknownExperimentError, ExperimentLoadError: no such (loadable) experiment.
        """
        expInfo = self._entry(key).module.expInfo  # type: ignore[attr-defined]
        if sessionParams:
            self._apply_params(expInfo)
        return expInfo

    def _apply_params(self, expInfo: dict) -> dict:
        """Session params override the experiment's (aliases removed first), as PsychoPy does."""
        for k in self.params.aliases:
            if k in expInfo:
                del expInfo[k]
        for k in self.params:
            expInfo[k] = self.params[k]
        return expInfo

    def expInfoFields(self, key: str) -> list[ExpInfoField]:
        """The expInfo form fields of an experiment (see :func:`parse_exp_info`), from
        its expInfo as the file declares it, with the session's params: a run that changed
        the module's dict (PsychoPy lets it) does not change the form."""
        entry = self._entry(key)  # type: ignore[attr-defined]
        entry.fields = parse_exp_info(self._apply_params(copy.deepcopy(entry.declared_exp_info)))
        return entry.fields

    def resolveExpInfo(self, key: str, expInfo: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Complete a (partial) expInfo for a run: defaults, choices, ``date``, ``expName``
        (see :func:`resolve_exp_info`); a new dict, ``expInfo`` is not changed.

        Raises:
            ExpInfoError: a value does not fit (one line saying which and why).
        """
        entry = self._entry(key)  # type: ignore[attr-defined]
        return resolve_exp_info(self.expInfoFields(key), expInfo, exp_name=entry.exp_name)

    def showExpInfoDlgFromExperiment(self, key, expInfo=None):
        """Run the experiment's ``showExpInfoDlg`` (PsychoPy API). The console uses its own form instead.

        Returns:
            The expInfo the dialog returns (as PsychoPy's code does; its docstring
            says ``True``); ``expInfo`` itself when the experiment has no dialog;
            ``None`` when the participant cancelled (Builder's dialog then calls
            ``core.quit()``, which ends the process under PsychoPy's Session).
        """
        if expInfo is None:
            expInfo = self.getExpInfoFromExperiment(key)
        module = self._entry(key).module  # type: ignore[attr-defined]
        if not hasattr(module, "showExpInfoDlg"):
            return expInfo
        try:
            return module.showExpInfoDlg(expInfo=expInfo)
        except SystemExit:
            log.info("the expInfo dialog of %s was cancelled", key)
            return None
