"""Descriptions of logged variables (units), annotations and metadata of a session data log.

:class:`NotesMixin` is that part of :class:`~.log.DataLog`'s API; it works on
the log's in-memory mirror (``self._m``) like the rest of DataLog. The file
layout is in docs/data-format.md (``/variables/<name>`` attributes,
``/annotations``, ``/metadata``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from ..notifications import one_line
from . import _values as V
from .errors import InvalidNameError, InvalidValueError
from .mirror import copy_note
from .schema import VARIABLE_INFO_KEYS

__all__ = ["NotesMixin"]


class NotesMixin:
    """Variable descriptions, annotations and metadata sections."""

    _m: Any
    events: Any

    def _check_writable(self) -> None:  # pragma: no cover - DataLog's
        raise NotImplementedError

    def describe_variable(self, name: str, *, unit: str = "", description: str = "", source: str = "") -> None:
        """Give a logged variable its unit (``"cd/m^2"``, SI symbols), a description and its source.

        Stored as the attributes ``unit``, ``description``, ``source`` of
        ``/variables/<name>`` in the file; a later call replaces all three. May be
        called before the first ``add_entry`` of ``name`` (the attributes are
        written with the variable's first values). ``source`` names who logs it,
        e.g. ``"instrument:photometer"``. Raises InvalidNameError,
        InvalidValueError (a non-str field), ReadOnlyError, DataLogWriteError.
        """
        V.check_name(name, "logged variable")
        info = {"unit": unit, "description": description, "source": source}
        for k, v in info.items():
            if not isinstance(v, str):
                raise InvalidValueError(f"describe_variable({name!r}): {k} must be str, got {type(v).__name__} {v!r}")
        self._check_writable()
        with self._m.lock:
            self._m.var_info[name] = info
            self._m.var_info_dirty.add(name)
            self._m.logged()

    def variable_info(self, name: str) -> dict[str, str]:
        """``{'unit', 'description', 'source'}`` of a logged variable; empty strings when never described."""
        with self._m.lock:
            info = self._m.var_info.get(name)
        return dict(info) if info else dict.fromkeys(VARIABLE_INFO_KEYS, "")

    def add_annotation(
        self, text: str, *, source: str = "console", kind: str = "note", timestamp: float | None = None, **fields: Any
    ) -> float:
        """Add one row to the ``/annotations`` table and return its time (epoch s).

        ``source`` says who: ``"console"``, ``"instrument:photometer"``,
        ``"remote:PI office"``; ``kind`` what: ``"note"``, ``"state"``,
        ``"control"``. ``fields`` must be JSON-serialisable (stored as one JSON
        object). ``timestamp`` (epoch s) defaults to now, on the same strictly
        increasing clock as ``add_entry``. Raises InvalidValueError (nothing is
        recorded then), ReadOnlyError, DataLogWriteError.
        """
        for k, v in (("text", text), ("source", source), ("kind", kind)):
            if not isinstance(v, str):
                raise InvalidValueError(f"add_annotation: {k} must be str, got {type(v).__name__} {v!r}")
        try:
            fields_json = json.dumps(fields, allow_nan=True)
        except (TypeError, ValueError) as exc:
            raise InvalidValueError(
                f"add_annotation: fields must be JSON-serialisable ({one_line(exc, with_type=False)})"
            ) from None
        if timestamp is not None and not (isinstance(timestamp, (int, float)) and math.isfinite(timestamp)):
            raise InvalidValueError(
                f"add_annotation: timestamp must be epoch seconds (a finite number), got {timestamp!r}"
            )
        self._check_writable()
        with self._m.lock:
            ts = self._m.next_ts() if timestamp is None else float(timestamp)
            row = {"t": ts, "source": source, "kind": kind, "text": text, "fields": json.loads(fields_json)}
            self._m.notes.append(row)
            self._m.logged()
        self.events.annotation_added.emit(ts, copy_note(row))
        return ts

    def annotations(self, since: float | None = None) -> list[dict[str, Any]]:
        """Annotations in the order added, each ``{'t', 'source', 'kind', 'text', 'fields'}``.

        With ``since`` (epoch s) only those with ``t`` strictly after it (the
        polling convention of :meth:`logged_data_fromtimestamp`).
        """
        with self._m.lock:
            rows = list(self._m.notes)
        return [copy_note(r) for r in rows if since is None or r["t"] > since]

    def save_metadata(self, section: str, info: Mapping[str, Any]) -> None:
        """Store provenance (``"rig"``, ``"monitor"``, ``"instrument/photometer"``) as JSON in the file.

        A later save of the same section replaces it. ``info`` must be a
        JSON-serialisable mapping. Stored as the attribute ``section`` of the
        ``/metadata`` group (JSON text). Raises InvalidNameError (empty
        section), InvalidValueError, ReadOnlyError, DataLogWriteError.
        """
        if not isinstance(section, str) or not section.strip():
            raise InvalidNameError(f"metadata section must be a non-empty str like 'rig', got {section!r}")
        if not isinstance(info, Mapping):
            raise InvalidValueError(f"save_metadata({section!r}): info must be a mapping, got {type(info).__name__}")
        try:
            text = json.dumps(dict(info), allow_nan=True)
        except (TypeError, ValueError) as exc:
            raise InvalidValueError(
                f"save_metadata({section!r}): info must be JSON-serialisable ({one_line(exc, with_type=False)})"
            ) from None
        self._check_writable()
        with self._m.lock:
            self._m.meta[section] = json.loads(text)
            self._m.meta_dirty.add(section)
            self._m.logged()

    def metadata(self, section: str) -> dict[str, Any]:
        """The mapping last saved under ``section`` (a copy); ``{}`` when none was saved."""
        with self._m.lock:
            text = json.dumps(self._m.meta.get(section, {}))
        return json.loads(text)

    def metadata_sections(self) -> list[str]:
        """Names of the saved metadata sections, sorted."""
        with self._m.lock:
            return sorted(self._m.meta)
