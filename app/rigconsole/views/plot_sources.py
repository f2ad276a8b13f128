"""The one data path of the live plots: feeds that read a data log's in-memory state.

Every live plot (the main window's trial plot, the "New plot…" docks, the data
browser's plots) is fed by a feed here, polled by the plot's own timer on the
UI thread. Nothing is connected to the data log's or the session's events, so
no plot code ever runs inside the experiment's calls (``thisExp.nextEntry()``,
``win.flip()``): the experiment appends to the log and returns; the plot reads
what is new at its next tick, and draws only when the frame budget has room
(:meth:`rigconsole.frame_budget.FrameBudget.time_left`).

Plots number what they show from 1, as a person counts: the first trial of a
run is trial 1 (PsychoPy's ``thisN`` + 1 for a run's single loop: row ``i`` of
the run's trial table is trial ``i + 1``, :func:`trial_number`), the first
entry of a logged variable is entry 1, the first frame interval frame 1.

Sources (:class:`PlotSource`):

- ``variable``: a logged variable (``add_entry``; instrument readings arrive
  as logged variables with a unit from ``DataLog.variable_info``);
- ``trial``: a numeric trial column of a run (the newest run, or a pinned one);
- ``frames``: the run's frame intervals (ms), the frame timing.

Feeds: :class:`SourceFeed` (one source of a data log), :class:`TrialFeed`
(every column of the newest run's new trial rows) and :class:`StreamFeed`
(one variable's values as a remote rig streams them). Each has ``poll()``.

A feed's :meth:`~SourceFeed.poll` costs a few microseconds when nothing is new
(an O(log N) search, or a row count), and copies only the new points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

__all__ = [
    "PointBuffer",
    "PlotSource",
    "TRIAL_PREFIX",
    "FRAMES",
    "KINDS",
    "TrialBatch",
    "TrialFeed",
    "SourceFeed",
    "StreamFeed",
    "axis_label",
    "as_float",
    "trial_number",
    "default_columns",
    "is_timestamp",
]

#: Combo text prefix of trial columns (``"trial: key_resp.rt"``).
TRIAL_PREFIX = "trial: "
#: Combo text of the frame-interval source.
FRAMES = "frame intervals"
#: The kinds of :class:`PlotSource`.
KINDS = ("variable", "trial", "frames")


# Column-name endings that are timestamps or loop counters, not trial measures.
_TIMESTAMP_SUFFIXES = (".started", ".stopped", ".t", "thisRow.t", "_time", ".time", "onset", "offset")
_COUNTER_SUFFIXES = (".thisN", ".thisTrialN", ".thisRepN", ".thisIndex", "thisN", "thisTrialN", "thisRepN", "thisIndex")
_PREFERRED_NAMES = ("rt", "correct", "accuracy", "corr", "acc")
_PREFERRED_SUFFIXES = (".rt", ".corr")


@overload
def trial_number(row: int) -> int: ...
@overload
def trial_number(row: np.ndarray) -> np.ndarray: ...
def trial_number(row: int | np.ndarray) -> int | np.ndarray:
    """The trial number plots show for row ``row`` (0-based) of a run's trial table: ``row + 1``.

    PsychoPy counts a loop's trials from 0 (``trials.thisN``); people count from 1, and
    the console says "trial 1" for the first (the run panel's "trial n of N", the remote
    API's ``trial``). A run with one loop has one row per trial, so the number is
    ``thisN + 1``.
    """
    return row + 1


def is_timestamp(name: str) -> bool:
    """``True`` for columns that hold times of events (``x.started``, ``thisRow.t``, ...)."""
    return name.endswith(_TIMESTAMP_SUFFIXES)


def default_columns(columns: Any, exclude: Any = ()) -> list[str]:
    """The trial columns plotted by default, from ``columns`` (names, in the run's order).

    Response measures when present (``rt``, ``correct``, ``accuracy`` and
    columns ending in ``.rt`` / ``.corr``); otherwise every column that is not
    a timestamp, a loop counter or an expInfo value (``exclude``).
    """
    exclude = set(exclude)
    cols = [c for c in columns if c not in exclude]
    preferred = [c for c in cols if c.lower() in _PREFERRED_NAMES or c.endswith(_PREFERRED_SUFFIXES)]
    if preferred:
        return preferred
    return [c for c in cols if not is_timestamp(c) and not c.endswith(_COUNTER_SUFFIXES)]


@dataclass(frozen=True)
class PlotSource:
    """What a plot shows: ``kind`` ``"variable"``, ``"trial"`` (a trial column) or ``"frames"``, and its ``name``."""

    kind: str
    name: str

    @property
    def label(self) -> str:
        """Text in the source combo and the dock title: ``"temperature"``, ``"trial: key_resp.rt"``, ``"frame intervals"``."""
        if self.kind == "trial":
            return TRIAL_PREFIX + self.name
        if self.kind == "frames":
            return FRAMES
        return self.name

    @classmethod
    def from_label(cls, label: str) -> PlotSource:
        if label.startswith(TRIAL_PREFIX):
            return cls("trial", label[len(TRIAL_PREFIX) :])
        if label == FRAMES:
            return cls("frames", FRAMES)
        return cls("variable", label)


def as_float(v: Any) -> float:
    """A trial cell as a number: numbers kept, numeric text parsed, anything else NaN."""
    if isinstance(v, (int, float, np.number)):
        return float(v)
    if isinstance(v, str) and v:
        try:
            return float(v)
        except ValueError:
            return math.nan
    return math.nan


def axis_label(data_log: Any, source: PlotSource | None) -> str:
    """The y-axis label: the source's name with its unit, ``"luminance (cd/m^2)"``.

    The unit comes from ``data_log.variable_info(name)`` for logged variables
    (empty: no unit shown); frame intervals are in ms; trial columns have none.
    """
    if source is None:
        return ""
    if source.kind == "frames":
        return "frame interval (ms)"
    if source.kind == "variable" and data_log is not None and hasattr(data_log, "variable_info"):
        unit = data_log.variable_info(source.name).get("unit", "")
        if unit:
            return f"{source.name} ({unit})"
    return source.name


@dataclass
class TrialBatch:
    """Trial rows new since the last poll of a :class:`TrialFeed`.

    Attributes:
        run: the run's group (``"runs/0002_gonogo"``).
        reset: True when this is a different run than the last batch's (forget its rows).
        first_row: index of the first row in ``columns`` (0-based).
        columns: ``{column: array}`` of the new rows (float64, or object arrays of str).
        n_trials: rows in the run so far.
        started: the run's start (epoch s of the experiment clock's zero) or None.
        exp_info: the run's expInfo.
    """

    run: str
    reset: bool
    first_row: int
    columns: dict[str, np.ndarray]
    n_trials: int
    started: float | None
    exp_info: dict[str, Any] = field(default_factory=dict)

    def points(self, column: str) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray]:
        """One column of the batch as a plot takes it: ``(reset, t, index, y)`` (see :class:`SourceFeed`).

        ``t``: ``started + thisRow.t`` (epoch s; NaN without ``thisRow.t``), ``index``: the
        trial numbers (:func:`trial_number`: 1 for the run's first row), ``y``: the cells as
        numbers (text parsed, anything else NaN; a column missing from the batch: all NaN).
        """
        k = self.n_trials - self.first_row
        col = self.columns.get(column)
        if col is None:
            y = np.full(k, np.nan)
        else:
            y = col.astype(float) if col.dtype.kind == "f" else np.array([as_float(v) for v in col], dtype=float)
        rt = self.columns.get("thisRow.t")
        if rt is not None and rt.dtype.kind == "f" and self.started is not None:
            t = float(self.started) + rt
        else:
            t = np.full(len(y), np.nan)
        return self.reset, t, trial_number(np.arange(self.first_row, self.first_row + len(y), dtype=float)), y

    @property
    def has_time(self) -> bool:
        """The rows have clock times (a ``thisRow.t`` column and the run's start)."""
        rt = self.columns.get("thisRow.t")
        return rt is not None and rt.dtype.kind == "f" and self.started is not None


class TrialFeed:
    """New trial rows of the newest run (or of ``run``), read from ``data_log`` on the UI thread.

    ``data_log`` may be replaced (:meth:`use_data_log`, a new data folder) or
    None (nothing to read).
    """

    def __init__(self, data_log: Any = None, run: str | None = None) -> None:
        self._log = data_log
        self._pinned = run
        self._run: str | None = None
        self._seen = 0

    @property
    def data_log(self) -> Any:
        return self._log

    @property
    def run(self) -> str | None:
        """The run the last batch came from."""
        return self._run

    def use_data_log(self, data_log: Any) -> None:
        """Read another data log from now on (the next batch resets)."""
        self._log = data_log
        self._run = None
        self._seen = 0

    def pin(self, run: str | None) -> None:
        """Follow ``run`` (None: the newest run)."""
        self._pinned = run
        self._run = None
        self._seen = 0

    def current_run(self) -> str | None:
        """The run this feed reads now: the pinned one, else the newest in the log."""
        if self._log is None:
            return None
        if self._pinned is not None:
            return self._pinned
        runs = self._log.runs()
        return runs[-1] if runs else None

    def poll(self) -> TrialBatch | None:
        """The rows added since the last poll, or None when there are none (and the run is the same)."""
        run = self.current_run()
        if run is None:
            return None
        reset = run != self._run
        try:
            info = self._log.run_info(run)
        except KeyError:
            return None
        n = int(info["n_trials"])
        if reset:
            self._run, self._seen = run, 0
        elif n <= self._seen:
            return None
        first = self._seen
        cols = self._log.trials(run, start=first) if n > first else {}
        self._seen = n
        return TrialBatch(run, reset, first, cols, n, info.get("started"), dict(info.get("expInfo") or {}))


class SourceFeed:
    """New points of one :class:`PlotSource`: ``poll() -> (reset, t, index, y)`` or None.

    ``t`` is epoch seconds (NaN when unknown: a trial run without
    ``thisRow.t``), ``index`` the point's number counted from 1 (the trial number
    of :func:`trial_number`, the entry number, the frame number), ``y`` the value (frame intervals in ms). ``reset``
    means: forget what earlier polls gave (new source, new run, new log).
    """

    def __init__(self, data_log: Any, source: PlotSource | None, run: str | None = None) -> None:
        self._log = data_log
        self._source = source
        self._trials = TrialFeed(data_log, run)
        self._frames_run: str | None = None
        self._frames_seen = 0
        self._frame_t = math.nan  # epoch s of the end of the last frame seen
        self._last_t = -math.inf
        self._n = 0
        self._reset = True
        #: True when the trial source has thisRow.t (its points have clock times)
        self.trial_time_ok = False

    @property
    def run(self) -> str | None:
        return self._trials.current_run()

    def use_data_log(self, data_log: Any) -> None:
        """Read another data log (a new data folder); restarts."""
        self._log = data_log
        self.restart()

    def set_source(self, source: PlotSource | None) -> None:
        self._source = source
        self.restart()

    def pin(self, run: str | None) -> None:
        self._trials.pin(run)
        self.restart()

    def restart(self) -> None:
        """Read the source from its start at the next poll."""
        self._trials.use_data_log(self._log)  # same pinned run, from its first row
        self._frames_run = None
        self._last_t = -math.inf
        self._n = 0
        self._reset = True
        self.trial_time_ok = False

    def poll(self) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray] | None:
        src, log = self._source, self._log
        if src is None or log is None:
            return None
        if src.kind == "variable":
            t, y = log.logged_data_fromtimestamp(src.name, self._last_t)
            return self._out(t, y)
        if src.kind == "frames":
            return self._poll_frames()
        batch = self._trials.poll()
        if batch is None:
            return self._flush_reset()
        if batch.reset:
            self._reset, self._n = True, 0
        _reset, t, _idx, y = batch.points(src.name)
        if batch.has_time:
            if batch.reset or batch.first_row == 0:
                self.trial_time_ok = True
        elif batch.reset:
            self.trial_time_ok = False
        return self._out(t, y, keep_last=False)

    def _poll_frames(self) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray] | None:
        run = self._trials.current_run()
        if run is None:
            return self._flush_reset()
        if run != self._frames_run:
            self._frames_run, self._frames_seen, self._n, self._reset = run, 0, 0, True
            started = self._log.run_info(run).get("started")
            self._frame_t = float(started) if started is not None else math.nan
        a = self._log.frame_intervals(run, start=self._frames_seen)
        self._frames_seen += len(a)
        t = self._frame_t + np.cumsum(a)
        if len(a):
            self._frame_t = float(t[-1])
        return self._out(t, a * 1000.0, keep_last=False)

    def _flush_reset(self) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray] | None:
        if self._reset and self._source is not None:
            return self._out(np.empty(0), np.empty(0), keep_last=False)
        return None

    def _out(
        self, t: np.ndarray, y: np.ndarray, keep_last: bool = True
    ) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray] | None:
        reset = self._reset
        if not len(t) and not reset:
            return None
        self._reset = False
        if reset:
            self._n = 0
        idx = trial_number(np.arange(self._n, self._n + len(t), dtype=float))
        self._n += len(t)
        if keep_last and len(t):
            self._last_t = float(t[-1])
        return reset, np.asarray(t, dtype=float), idx, np.asarray(y, dtype=float)


class PointBuffer:
    """What a plot holds of one series: preallocated float64 columns ``t`` (epoch s), ``idx`` (the
    point's number, counted from 1: see :func:`trial_number`) and ``y``, the first ``n`` rows in
    use; amortised doubling growth. Views of the columns (``t[:n]``) are what a plot draws."""

    __slots__ = ("t", "y", "idx", "n")

    def __init__(self, cap: int = 1024) -> None:
        self.t = np.empty(cap)
        self.y = np.empty(cap)
        self.idx = np.empty(cap)
        self.n = 0

    def clear(self) -> None:
        self.n = 0

    def _reserve(self, need: int) -> None:
        cap = len(self.t)
        if need <= cap:
            return
        cap = max(need, 2 * cap)
        for name in ("t", "y", "idx"):
            new = np.empty(cap)
            new[: self.n] = getattr(self, name)[: self.n]
            setattr(self, name, new)

    def extend(self, t: np.ndarray, y: np.ndarray, idx: np.ndarray | None = None) -> None:
        """Add points: times ``t``, values ``y`` and their numbers ``idx`` (default: next in line, from 1)."""
        k = len(t)
        if not k:
            return
        self._reserve(self.n + k)
        self.t[self.n : self.n + k] = t
        self.y[self.n : self.n + k] = y
        self.idx[self.n : self.n + k] = trial_number(np.arange(self.n, self.n + k)) if idx is None else idx
        self.n += k

    def append(self, t: float, y: float) -> None:
        self.extend(np.array([t], dtype=float), np.array([y], dtype=float))


class StreamFeed:
    """One logged variable's values as a remote rig streams them, for a plot: ``poll() -> (reset, t, index, y)``.

    The observer's worker thread hands values to the GUI thread (queued signals);
    the window puts them here with :meth:`add_history` (the rig's history when the
    stream starts, older than anything added before) and :meth:`add` (one new
    value), and the plot polls as it does a :class:`SourceFeed`: the same tuple,
    ``index`` counted from 1. At most ``max_points`` are kept (older points
    are dropped, a quarter at a time, with a reset: the plot redraws what is kept).

    Values that are not numbers (None: the rig had no reading) become NaN.
    """

    def __init__(self, max_points: int = 2000) -> None:
        self.max_points = int(max_points)
        self._t: list[float] = []
        self._y: list[float] = []
        self._sent = 0
        self._reset = True
        self._first = 0  # number of points dropped from the front (index of the first kept point - 1)

    def __len__(self) -> int:
        return len(self._t)

    def add_history(self, t: list[float], values: list[Any]) -> None:
        """Put the rig's history (oldest first, older than anything added so far) before the kept points."""
        self._t[:0] = [float(x) for x in t]
        self._y[:0] = [as_float(v) for v in values]
        self._trim()
        self._reset = True

    def add(self, t: float, value: Any) -> None:
        """One new value at ``t`` (epoch s)."""
        self._t.append(float(t))
        self._y.append(as_float(value))
        if (
            len(self._t) > self.max_points + self.max_points // 4
        ):  # trimmed in steps: a reset every 500 points, not each
            self._trim()
            self._reset = True

    def _trim(self) -> None:
        drop = len(self._t) - self.max_points
        if drop > 0:
            del self._t[:drop], self._y[:drop]
            self._first += drop

    def last(self) -> float:
        """The newest value (NaN when there is none)."""
        return self._y[-1] if self._y else math.nan

    def poll(self) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray] | None:
        """What is new since the last poll (everything kept after a reset), or None."""
        reset = self._reset
        start = 0 if reset else self._sent
        if start >= len(self._t) and not reset:
            return None
        self._reset = False
        self._sent = len(self._t)
        t = np.asarray(self._t[start:], dtype=float)
        y = np.asarray(self._y[start:], dtype=float)
        idx = trial_number(np.arange(self._first + start, self._first + self._sent, dtype=float))
        return reset, t, idx, y
