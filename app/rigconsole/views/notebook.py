"""The lab notebook: notes typed at the rig (Ctrl+N) or sent by an operator, and where plots draw them.

A note is one row of the data log's ``/annotations`` table (kind ``"note"``,
:meth:`rigconsole.datalog.DataLog.add_annotation`), the same table PsychoPy's
``addAnnotation`` and the remote API write to. Its ``fields`` say where it
belongs (the convention of Bpod's ``BpodNotebook``, notes per trial with a
marker code):

- ``run``: the data-log run group (``"runs/0002_gonogo"``) running when the
  note was taken, absent for a session note (taken while idle);
- ``trial``: the 0-based index of the trial running then (PsychoPy's
  ``trials.thisN``: the number of trial rows the run had stored), absent for
  a session note; plots put the note at trial number ``trial + 1``
  (:func:`~.plot_sources.trial_number`);
- ``marker``: an optional marker code, an int 1-9 (typed on the number keys).

Everything here is Qt-free and reads only the data log's public in-memory
readers, so the console, ``rigconsole run`` and the remote server place a note
the same way.
"""

from __future__ import annotations

import math
from typing import Any

from .plot_sources import trial_number

__all__ = [
    "NOTE_KIND",
    "MAX_NOTE_CHARS",
    "MARKERS",
    "check_note",
    "running_trial",
    "add_note",
    "is_note",
    "note_label",
    "note_x",
    "NoteFeed",
]

#: The annotation kind of a notebook note.
NOTE_KIND = "note"
#: Longest note accepted, characters (the remote API's limit too).
MAX_NOTE_CHARS = 2000
#: The marker codes a note may carry.
MARKERS = tuple(range(1, 10))


def check_note(text: Any, marker: Any = None) -> tuple[str, int | None]:
    """``(text stripped, marker)`` of a valid note; raises ValueError with a one-line message saying what to fix.

    ``text`` must be a str of 1-2000 characters (not only spaces); ``marker`` None or an int 1-9.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a note needs some text (1-2000 characters)")
    if len(text) > MAX_NOTE_CHARS:
        raise ValueError(f"a note is at most {MAX_NOTE_CHARS} characters, this one has {len(text)}: shorten it")
    if marker is not None and (isinstance(marker, bool) or not isinstance(marker, int) or marker not in MARKERS):
        raise ValueError(f"a note's marker code is a number 1-9 (or none), got {marker!r}")
    return text.strip(), marker


def running_trial(data_log: Any) -> tuple[str | None, int | None]:
    """``(run group, trial index)`` of the trial running now in ``data_log``, or ``(None, None)`` when idle.

    The newest run group counts as running until its end is recorded
    (``run_info(run)["ended"]`` is None); the running trial's 0-based index is
    the number of trial rows it stored so far (``n_trials``).
    """
    if data_log is None:
        return None, None
    runs = data_log.runs()
    if not runs:
        return None, None
    info = data_log.run_info(runs[-1])
    ended = info.get("ended")
    if ended is not None and not (isinstance(ended, float) and math.isnan(ended)):
        return None, None
    return runs[-1], int(info.get("n_trials") or 0)


def add_note(
    data_log: Any,
    text: str,
    *,
    marker: int | None = None,
    source: str = "console",
    place: tuple[str | None, int | None] | None = None,
) -> dict[str, Any]:
    """Record a note in ``data_log`` at the running trial (or for the session when idle); returns its row.

    The row is ``{'t', 'source', 'kind': 'note', 'text', 'fields'}`` with ``fields``
    holding ``run``, ``trial`` (see the module docstring) and ``marker`` when given.
    ``source`` says who: ``"console"`` or ``"remote:<token name>"``. ``place``: the
    ``(run, trial)`` taken earlier with :func:`running_trial` (the console takes it when
    Ctrl+N is pressed, so a note typed slowly still belongs to that trial). Raises
    ValueError (bad text or marker: nothing recorded) and what ``add_annotation``
    raises (``ReadOnlyError``, ``DataLogWriteError``).
    """
    text, marker = check_note(text, marker)
    if data_log is None:
        raise ValueError("no session data log is open: choose a data folder in Settings to keep notes")
    run, trial = running_trial(data_log) if place is None else place
    fields: dict[str, Any] = {}
    if run is not None:
        fields.update(run=run, trial=trial)
    if marker is not None:
        fields["marker"] = marker
    t = data_log.add_annotation(text, source=source, kind=NOTE_KIND, **fields)
    return {"t": t, "source": source, "kind": NOTE_KIND, "text": text, "fields": fields}


def is_note(row: dict[str, Any]) -> bool:
    """True for an annotation row that is a notebook note (kind ``"note"``)."""
    return row.get("kind") == NOTE_KIND


def note_label(row: dict[str, Any]) -> str:
    """The short label a plot marker carries: the marker code (``"3"``), or ``"N"`` for a note without one."""
    m = (row.get("fields") or {}).get("marker")
    return str(m) if m is not None else "N"


def note_x(row: dict[str, Any], axis: str, run: str | None = None) -> float | None:
    """Where a plot puts the note on its x axis, or None where it has no place.

    ``axis``: ``"time"`` (x in epoch seconds: the note's ``t``) or ``"trial"`` (x is
    the trial number of ``run``: ``trial + 1`` for a note of that run, None for
    notes of other runs and session notes). Any other axis (entry #, frame #): None.
    """
    if axis == "time":
        return float(row["t"])
    if axis == "trial":
        f = row.get("fields") or {}
        if run is None or f.get("run") != run or not isinstance(f.get("trial"), int):
            return None
        return float(trial_number(f["trial"]))
    return None


class NoteFeed:
    """The notes of a data log, read by polling (a plot's timer calls :meth:`poll`; cheap when nothing is new).

    Attributes:
        notes: every note seen so far, oldest first (annotation rows, see :func:`add_note`).
    """

    def __init__(self, data_log: Any = None) -> None:
        self._log = data_log
        self._after: float | None = None
        self.notes: list[dict[str, Any]] = []

    def use_data_log(self, data_log: Any) -> None:
        """Read another data log: the notes are forgotten and read again from its start."""
        self._log = data_log
        self._after = None
        self.notes = []

    def add(self, row: dict[str, Any]) -> None:
        """Take a note that arrived another way (a remote rig's ``annotation`` event, or its history); other
        kinds, and a note already held (same ``t``), are ignored."""
        if is_note(row) and all(n["t"] != row.get("t") for n in self.notes):
            self.notes.append(dict(row))

    def poll(self) -> bool:
        """Read the annotations newer than the last seen; True when a note arrived (or the log changed)."""
        log = self._log
        if log is None or not hasattr(log, "annotations"):
            return False
        rows = log.annotations(since=self._after)
        if not rows:
            return False
        self._after = rows[-1]["t"]
        new = [r for r in rows if is_note(r)]
        self.notes.extend(new)
        return bool(new)
