"""The PsychoPy runs of a session data log: expInfo, trial rows, frame intervals, outcome.

:class:`RunsMixin` is the run half of :class:`~.log.DataLog`'s API; it works on
the log's in-memory mirror (``self._m``) like the rest of DataLog.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import _values as V
from .errors import InvalidNameError, InvalidValueError, UnknownNameError
from .events import DataLogEvents
from .mirror import Column, Run, table_arrays

__all__ = ["RunsMixin", "OUTCOMES"]

#: a run's outcome: the session's RunState values of an ended run
#: ("finished with errors": every trial ran, then PsychoPy's end-of-run export raised)
OUTCOMES = ("finished", "finished with errors", "stopped", "failed")
_RESERVED_RUN_ATTRS = ("experiment", "started", "ended", "outcome")


class RunsMixin:
    """Runs: one group per experiment run, numbered in start order (``runs/0001_gonogo``)."""

    _m: Any
    path: Any
    events: DataLogEvents

    def _check_writable(self) -> None:  # pragma: no cover - DataLog's
        raise NotImplementedError

    def _run(self, run: str) -> Run:
        key = run if run.startswith("runs/") else f"runs/{run}"
        try:
            return self._m.runs[key]
        except KeyError:
            raise UnknownNameError(
                f"no run {run!r} in {self.path.name}; known runs: {', '.join(self._m.runs) or 'none'}"
            ) from None

    def start_run(self, experiment: str, exp_info: Mapping[str, Any], *, started: float | None = None) -> str:
        """Open a run group ``runs/NNNN_<experiment>`` and return its path.

        ``exp_info`` is PsychoPy's expInfo dict, stored as attributes of the
        run's ``expInfo`` group (str, numbers and bools kept; other values
        JSON-encoded). ``started`` is epoch seconds (default now).
        """
        if not isinstance(experiment, str) or not experiment:
            raise InvalidNameError(f"experiment name must be a non-empty str, got {experiment!r}")
        info = {str(k): v for k, v in dict(exp_info).items()}
        t = time.time() if started is None else float(started)
        safe = re.sub(r"[^A-Za-z0-9_.\-]+", "_", experiment).strip(".") or "run"
        self._check_writable()
        with self._m.lock:
            nums = [int(p.split("/")[1].split("_")[0]) for p in self._m.runs if p.split("/")[1][:4].isdigit()]
            path = f"runs/{max(nums, default=0) + 1:04d}_{safe}"
            self._m.runs[path] = Run(path, experiment, info, {"experiment": experiment, "started": t})
            self._m.logged()
        self.events.run_started.emit(path, experiment, dict(info))
        return path

    def add_trial(self, run: str, row: Mapping[str, Any]) -> None:
        """Append one trial row (one PsychoPy ``thisExp.nextEntry()``) to a run.

        Keys are PsychoPy data names (``key_resp.rt``, ``trials.thisN``).
        Values: None (missing), bool/int/float/numpy scalars (stored float64),
        str (kept), lists/dicts/arrays (stored as JSON text). A new column
        gets NaN ("" for text) in earlier rows; a column that receives text
        after numbers becomes a text column (numbers formatted, no data
        lost). Raises UnknownNameError for an unknown run.
        """
        norm = {str(k): V.trial_cell(v) for k, v in row.items()}
        self._check_writable()
        with self._m.lock:
            r = self._run(run)
            cols = r.columns
            n = r.n_rows
            for k, v in norm.items():
                if k not in cols:
                    kind = "s" if isinstance(v, str) else "f"
                    cols[k] = Column(kind, ([""] if kind == "s" else [V.NAN]) * n)
            for k, col in cols.items():
                v = norm.get(k)
                if v is None:
                    col.values.append(V.NAN if col.kind == "f" else "")
                elif isinstance(v, str):
                    if col.kind == "f":
                        col.values = ["" if math.isnan(x) else V.fmt_number(x) for x in col.values]
                        col.kind = "s"
                        col.version += 1
                    col.values.append(v)
                else:
                    col.values.append(v if col.kind == "f" else V.fmt_number(v))
            r.n_rows = n + 1
            self._m.logged()
        self.events.trial_added.emit(r.path, norm)

    def add_frame_intervals(self, run: str, intervals_s: Sequence[float]) -> None:
        """Append frame intervals (seconds, float64) to the run's ``frame_intervals``."""
        a = np.asarray(intervals_s, dtype=float).ravel()
        self._check_writable()
        with self._m.lock:
            r = self._run(run)
            r.frames.extend(a)
            self._m.logged()
        self.events.frame_intervals_added.emit(r.path, len(a))

    def set_run_attrs(self, run: str, **attrs: Any) -> None:
        """Set attributes of the run group (numbers, str, bool and lists of str kept; others JSON).

        Raises InvalidNameError for names starting with '_' (bookkeeping) or
        naming what start_run/end_run set (experiment, started, ended, outcome).
        """
        for k in attrs:
            if k.startswith("_") or k in _RESERVED_RUN_ATTRS:
                raise InvalidNameError(f"run attribute {k!r} is reserved; start_run/end_run set it, pick another name")
        self._check_writable()
        with self._m.lock:
            r = self._run(run)
            r.attrs.update(attrs)
            r.dirty = True
            self._m.logged()
        self.events.run_attrs_set.emit(r.path, dict(attrs))

    def end_run(self, run: str, outcome: str, **attrs: Any) -> None:
        """Record the outcome (one of :data:`OUTCOMES`) and end time of a run.

        Extra attrs (e.g. ``error`` traceback text, ``n_trials``,
        ``dropped_frames``, ``data_files`` list of str) go on the run group.
        Raises ValueError for another outcome, UnknownNameError for an unknown run.
        """
        for k in attrs:
            if k.startswith("_") or k in _RESERVED_RUN_ATTRS:
                raise InvalidNameError(f"run attribute {k!r} is reserved; pick another name")
        if outcome not in OUTCOMES:
            raise InvalidValueError(f"run outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
        self._check_writable()
        with self._m.lock:
            r = self._run(run)
            r.attrs.update(attrs)
            r.attrs["outcome"] = outcome
            r.attrs["ended"] = time.time()
            r.dirty = True
            self._m.logged()
        self.events.run_ended.emit(r.path, outcome)

    def runs(self) -> list[str]:
        """Run group paths, oldest first, e.g. ``['runs/0001_gonogo']``."""
        with self._m.lock:
            return sorted(self._m.runs)

    def run_info(self, run: str) -> dict[str, Any]:
        """``{'run', 'experiment', 'expInfo', 'outcome', 'started', 'ended', 'n_trials', 'n_frames', 'attrs'}``.

        Times are epoch seconds; ``outcome``/``ended`` are None while the run is
        open; ``attrs`` holds every other attribute given to set_run_attrs/end_run.
        """
        with self._m.lock:
            r = self._run(run)
            return run_info_of(r, r.frames.n)

    def trial_columns(self, run: str) -> list[str]:
        """Column names of the run's trial table in first-seen (PsychoPy) order."""
        with self._m.lock:
            return list(self._run(run).columns)

    def trials(self, run: str, start: int = 0) -> dict[str, np.ndarray]:
        """The run's trial table: ``{column: array of shape (n_trials - start,)}`` in first-seen order.

        Number columns are float64 (NaN = missing); text columns are object
        arrays of str ("" = missing). ``pandas.DataFrame(log.trials(run))``
        gives PsychoPy's table. ``start`` skips the first rows (a live view
        reads only the rows it has not seen; a column that appeared later
        still has every row).
        """
        with self._m.lock:
            return table_arrays(self._run(run).columns, start)

    def frame_intervals(self, run: str, start: int = 0) -> np.ndarray:
        """The run's frame intervals from the ``start``-th on (seconds, float64, shape (N - start,))."""
        with self._m.lock:
            fr = self._run(run).frames
            return fr.a[min(max(0, start), fr.n) : fr.n].copy()


def run_info_of(r: Any, n_frames: int) -> dict[str, Any]:
    """A run's summary (see ``DataLog.run_info``) from its mirror or reader record ``r``
    (``path``, ``experiment``, ``exp_info``, ``attrs``, ``n_rows``) and its frame count."""
    a = dict(r.attrs)
    return {
        "run": r.path,
        "experiment": r.experiment,
        "expInfo": dict(r.exp_info),
        "outcome": a.pop("outcome", None),
        "started": a.pop("started", None),
        "ended": a.pop("ended", None),
        "n_trials": r.n_rows,
        "n_frames": n_frames,
        "attrs": {k: v for k, v in a.items() if k != "experiment"},
    }
