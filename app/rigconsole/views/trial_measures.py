"""The run's response measures in one place: what the trial plot draws, running accuracy, median RT.

The console's trial plot ("Response measures (auto)"), the remote observer
window, the dashboard tile and the browser page all show the same thing: the
columns :func:`~.plot_sources.default_columns` chooses (``rt``, ``correct``,
``accuracy``, ``*.rt``, ``*.corr``), the running accuracy and the median
response time. The rig's remote server computes them here for every trial and
sends them with the trial event (``measures``), so a remote view draws and
prints what the console computed, never a second implementation (the page's
JavaScript only draws).

Accuracy is the mean of the trials' correct codes (1/0, PsychoPy's
``key_resp.corr``; the first of ``correct``, ``corr``, ``*.corr``), or, in an
experiment that stores only a running ``accuracy`` column, its last value.
The median RT is over the trials with a response (finite ``rt`` / ``*.rt``),
in seconds as PsychoPy stores it.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from .plot_sources import as_float, default_columns

__all__ = ["TrialMeasures", "accuracy_column", "rt_column"]

_CORRECT_NAMES = ("correct", "corr")
_RT_NAMES = ("rt",)


def accuracy_column(columns: list[str]) -> tuple[str | None, bool]:
    """``(column, is_running)``: the correct-code column (``False``), else a running ``accuracy``/``acc`` one (``True``)."""
    for c in columns:
        if c.lower() in _CORRECT_NAMES or c.endswith(".corr"):
            return c, False
    for c in columns:
        if c.lower() in ("accuracy", "acc"):
            return c, True
    return None, False


def rt_column(columns: list[str]) -> str | None:
    """The response-time column (``rt`` or the first ``*.rt``), or None."""
    for c in columns:
        if c.lower() in _RT_NAMES or c.endswith(".rt"):
            return c
    return None


class TrialMeasures:
    """Response measures of one run, fed its trial rows one at a time (:meth:`add`).

    Args:
        exclude: column names that are not measures (the run's expInfo keys).

    Attributes:
        n: trials added.
        accuracy_by_trial: running accuracy after each trial (NaN before the first scored one), a list.
    """

    #: points kept for a sparkline
    SPARK_POINTS = 60

    def __init__(self, exclude: Any = ()) -> None:
        self._exclude = set(exclude)
        self._columns: list[str] = []
        self._numeric: set[str] = set()
        self._correct: list[float] = []
        self._last_running = math.nan
        self._rts: list[float] = []
        self.n = 0
        self.accuracy_by_trial: list[float] = []

    def add(self, row: dict[str, Any]) -> dict[str, Any]:
        """Take one trial row (``{column: value}``, as ``thisExp.nextEntry()`` stored it); returns :meth:`summary`."""
        self.n += 1
        for k, v in row.items():
            if k not in self._columns:
                self._columns.append(k)
            if math.isfinite(as_float(v)):
                self._numeric.add(k)
        cols = [c for c in self._columns if c in self._numeric and c not in self._exclude]
        acc_col, running = accuracy_column(cols)
        if acc_col is not None:
            v = as_float(row.get(acc_col))
            if math.isfinite(v):
                if running:
                    self._last_running = v
                else:
                    self._correct.append(v)
        rt_col = rt_column(cols)
        if rt_col is not None:
            v = as_float(row.get(rt_col))
            if math.isfinite(v):
                self._rts.append(v)
        self.accuracy_by_trial.append(self.accuracy())
        return self.summary()

    def columns(self) -> list[str]:
        """The response measures to plot (numeric columns seen, as the console's "Response measures (auto)")."""
        return default_columns([c for c in self._columns if c in self._numeric], self._exclude)

    def accuracy(self) -> float:
        """Proportion correct so far (0-1), NaN before the first scored trial."""
        if self._correct:
            return sum(self._correct) / len(self._correct)
        return self._last_running

    def median_rt(self) -> float:
        """Median response time of the trials with a response, seconds; NaN when none."""
        return statistics.median(self._rts) if self._rts else math.nan

    def summary(self) -> dict[str, Any]:
        """JSON-ready: ``{'n', 'columns', 'accuracy', 'median_rt', 'n_rt', 'spark', 'text'}`` (NaN as None;
        ``text`` the line every view prints, :func:`format_summary`).

        ``spark`` is the running accuracy of the last :attr:`SPARK_POINTS` trials (None before scoring).
        """

        def num(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 6)

        out = {
            "n": self.n,
            "columns": self.columns(),
            "accuracy": num(self.accuracy()),
            "median_rt": num(self.median_rt()),
            "n_rt": len(self._rts),
            "spark": [num(a) for a in self.accuracy_by_trial[-self.SPARK_POINTS :]],
        }
        out["text"] = format_summary(out)
        return out

    @classmethod
    def of_table(cls, table: dict[str, Any], exclude: Any = ()) -> TrialMeasures:
        """The measures of a run's trial table (``DataLog.trials(run)``: ``{column: array}``)."""
        cols = list(table)
        n = len(next(iter(table.values()))) if table else 0
        return cls.of_rows([{c: table[c][i] for c in cols} for i in range(n)], exclude)

    @classmethod
    def of_rows(cls, rows: list[dict[str, Any]], exclude: Any = ()) -> TrialMeasures:
        """The measures of a run's rows so far (an observer attaching mid-run, the trials endpoint)."""
        m = cls(exclude)
        for r in rows:
            m.add(r)
        return m


def format_summary(summary: dict[str, Any] | None) -> str:
    """One line for people: ``"accuracy 83% · median RT 412 ms · 24 trials"`` (parts absent when unknown)."""
    if not summary:
        return ""
    parts = []
    if summary.get("accuracy") is not None:
        parts.append(f"accuracy {summary['accuracy'] * 100:.0f}%")
    if summary.get("median_rt") is not None:
        parts.append(f"median RT {summary['median_rt'] * 1000:.0f} ms")
    parts.append(f"{summary.get('n', 0)} trials")
    return " · ".join(parts)


__all__ += ["format_summary"]
