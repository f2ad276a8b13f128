"""The session data log: one HDF5 file per console session.

:class:`DataLog` is the API. Write calls append to the in-memory mirror
(:mod:`.mirror`) under a lock and return: the caller's thread never touches
the disk. The writer thread (:mod:`.writer`) copies what is new into the file
(:mod:`.schema`, the layout of docs/data-format.md) at most every
``flush_interval / 3`` seconds, and only when something was logged.
In-process readers (live plots) read the mirror; other processes open the file
in SWMR read mode; ``DataLog(path, readonly=True)`` is the lazy reader
(:mod:`.reader`) with this type.

The data API mirrors pymanip's ``AsyncSession`` (``pymanip.asyncsession``,
version 0.4.4), including its method names and return shapes; the run API
(:mod:`.runs`) stores PsychoPy ``ExperimentHandler`` rows (one per
``thisExp.nextEntry()``).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..frame_budget import FrameBudget
from ..notifications import one_line
from . import _values as V
from . import schema
from .errors import (
    DataLogClosedError,
    DataLogWriteError,
    DatasetShapeError,
    InvalidValueError,
    UnknownNameError,
)
from .events import DataLogEvents
from .journal import rollback
from .mirror import Dataset, Mirror, Series
from .notes import NotesMixin
from .reader import SessionFile
from .runs import RunsMixin
from .schema import FORMAT_NAME, FORMAT_VERSION
from .writer import Writer

__all__ = ["DataLog", "ReadOnlyDataLog", "DataLogEvents", "new_session_path", "FORMAT_NAME", "FORMAT_VERSION"]


def _merged(args: tuple[Mapping[str, Any], ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """pymanip's calling convention: dicts given positionally, then keywords, merged in order."""
    data: dict[str, Any] = {}
    for a in args:
        data.update(a)
    data.update(kwargs)
    return data


def new_session_path(data_dir: str | os.PathLike[str], *, now: float | None = None) -> Path:
    """Path for a new session file: ``<data_dir>/session_YYYY-MM-DD_HHMMSS.h5``.

    Local time of ``now`` (epoch seconds, default: the current time). Creates
    ``data_dir`` if needed; adds ``_2``, ``_3``... if the name is taken.
    """
    d = Path(data_dir)
    d.mkdir(parents=True, exist_ok=True)
    stem = time.strftime("session_%Y-%m-%d_%H%M%S", time.localtime(time.time() if now is None else now))
    p = d / f"{stem}.h5"
    k = 2
    while p.exists():
        p = d / f"{stem}_{k}.h5"
        k += 1
    return p


_open_logs: weakref.WeakSet[DataLog] = weakref.WeakSet()


def _live_writer(path: Path) -> DataLog | None:
    """The open DataLog of this process writing ``path``, if any."""
    try:
        key = path.resolve()
    except OSError:
        return None
    for log in list(_open_logs):
        if not log._closed and not log.readonly and log.path.resolve() == key:
            return log
    return None


@atexit.register
def _close_all() -> None:  # pragma: no cover - interpreter exit
    for log in list(_open_logs):
        try:
            log.close()
        except Exception:
            pass


class DataLog(RunsMixin, NotesMixin):
    """One session's data: logged variables, parameters, datasets and runs, in one HDF5 file.

    ``DataLog(path)`` creates the file (or appends to an existing data log);
    ``DataLog(path, readonly=True)`` opens a finished or live file for
    post-processing: a :class:`ReadOnlyDataLog` (a snapshot read lazily; write
    methods raise :class:`ReadOnlyError`).

    Every method is thread-safe. Write methods only touch memory; a writer
    thread makes everything durable (in the file, flushed to the OS, file
    consistent) within ``flush_interval`` seconds, provided a write cycle takes
    less than ``2 * flush_interval / 3`` (milliseconds in practice, see
    docs/performance.md ("Data log")). With ``fsync=True`` each flush also calls
    ``fsync`` (survives power loss, costs a disk round trip per cycle).

    The file is held in HDF5 SWMR write mode (``swmr=True``, libver 'latest')
    between cycles: appends keep it consistent for SWMR readers and across a
    ``kill -9``. A cycle that must create objects or attributes (new variable,
    run, trial column, parameter, run outcome, annotation column, metadata)
    closes the file, reopens it without SWMR through a rollback journal,
    writes, closes and reopens it in SWMR mode. After a crash run
    :func:`rigconsole.datalog.recover` once.

    Errors: InvalidNameError, InvalidValueError, UnknownNameError,
    DatasetShapeError (ValueError); ReadOnlyError; DataLogClosedError;
    NotADataLogError, DataLogCorruptError, DataLogWriteError (OSError).
    """

    def __new__(cls, path: str | os.PathLike[str] = "", *, readonly: bool = False, **kw: Any) -> DataLog:
        if readonly and cls is DataLog:
            return object.__new__(ReadOnlyDataLog)
        return object.__new__(cls)

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        readonly: bool = False,
        flush_interval: float = 0.1,
        swmr: bool = True,
        fsync: bool = False,
    ) -> None:
        if not flush_interval > 0:
            raise ValueError(f"flush_interval must be > 0 seconds, got {flush_interval!r}")
        self.path = Path(path)
        self.readonly = False
        self.flush_interval = float(flush_interval)
        self.swmr = swmr
        self.fsync = fsync
        self.events = DataLogEvents()
        self._closed = False
        self._m = Mirror()
        f, state = self._open_write()
        self._writer = Writer(
            self.path, self._m, self.events, f, state, flush_interval=self.flush_interval, swmr=swmr, fsync=fsync
        )
        self._writer.start()
        _open_logs.add(self)

    def _open_write(self) -> tuple[h5py.File, schema.FileState]:
        if self.path.exists():
            schema.check_signature(self.path)
            rollback(self.path)  # a structural cycle a crash cut short
            try:
                f = h5py.File(self.path, "r+", libver="latest")
            except OSError as exc:
                raise schema.open_error(self.path, exc) from None
            schema.check_format(f, self.path)
            schema.load(f, self._m)
            state = schema.learn(f, self._m)
        else:
            try:
                schema.create_file(self.path, self._m.created)
            except OSError as exc:
                raise DataLogWriteError(
                    f"cannot create {self.path} ({one_line(exc, with_type=False)}); check the data folder"
                ) from None
            f = h5py.File(self.path, "r+", libver="latest")
            state = schema.FileState()
        if self.swmr:
            f.swmr_mode = True
        return f, state

    # ------------------------------------------------------------------ helpers

    @property
    def last_error(self) -> DataLogWriteError | None:
        """The writer's failure (disk full, I/O error), or None; once set, write calls raise it."""
        return self._writer.last_error

    @property
    def cycle_stats(self) -> dict[str, float]:
        """Writer counters: ``cycles``, ``structural``, ``max_cycle_s``, ``total_cycle_s`` (seconds)."""
        return self._writer.cycle_stats

    def _check_writable(self) -> None:
        if self._closed:
            raise DataLogClosedError(f"{self.path}: the data log is closed; open a new DataLog to log more")
        if self.last_error is not None:
            raise DataLogWriteError(str(self.last_error))

    # ------------------------------------------------------------------ pymanip API: writing

    def add_entry(self, *args: Mapping[str, Any], **kwargs: Any) -> float:
        """Log scalar values, all with one timestamp (pymanip ``AsyncSession.add_entry``).

        Values are passed as dicts and/or keyword arguments; each must be a
        real number (int, float, bool, numpy scalar). The timestamp is
        ``time.time()`` at the call (epoch seconds, float64), nudged by 1 µs
        if needed so timestamps in a log strictly increase.

        Returns the timestamp. Raises InvalidNameError, InvalidValueError
        (nothing of the call is recorded then), ReadOnlyError, DataLogWriteError.
        """
        self._check_writable()
        if args:
            data = _merged(args, kwargs)
        else:
            data = kwargs
        vals = {}
        known = self._m.vars
        for k, v in data.items():
            if k not in known:
                V.check_name(k, "logged variable")
            vals[k] = V.to_float(k, v)
        with self._m.lock:
            ts = self._m.next_ts()
            for k, v in vals.items():
                s = known.get(k)
                if s is None:
                    s = known[k] = Series()
                s.append(ts, v)
            self._m.logged()
        self.events.entry_added.emit(ts, vals)
        return ts

    def save_parameter(self, *args: Mapping[str, Any], **kwargs: Any) -> None:
        """Save named constants (pymanip ``AsyncSession.save_parameter``); a later save replaces.

        Values: numbers, bools or str (pymanip stores floats only; text is
        allowed here). Stored as attributes of the ``/parameters`` group.
        Raises InvalidNameError, InvalidValueError, ReadOnlyError.
        """
        data = _merged(args, kwargs)
        clean = {}
        for k, v in data.items():
            V.check_name(k, "parameter")
            if isinstance(v, np.generic):
                v = v.item()
            if not isinstance(v, (int, float, bool, str)):
                raise InvalidValueError(
                    f"parameter {k!r} got {type(v).__name__}: parameters are numbers or text; use add_dataset for arrays"
                )
            clean[k] = v
        self._check_writable()
        with self._m.lock:
            self._m.params.update(clean)
            self._m.params_dirty.update(clean)
            self._m.logged()
        self.events.parameter_saved.emit(dict(clean))

    def add_dataset(self, *args: Mapping[str, Any], **kwargs: Any) -> float:
        """Append numpy arrays to named time series of arrays (pymanip ``AsyncSession.add_dataset``).

        Each array gets the call's timestamp (epoch s). The first array under a
        name fixes its shape and dtype; later ones must have the same shape and
        a dtype castable to it ('same_kind'). The array is copied.

        Returns the timestamp. Raises InvalidNameError, InvalidValueError
        (non-numeric), DatasetShapeError, ReadOnlyError, DataLogWriteError.
        """
        data = _merged(args, kwargs)
        arrays = {}
        for k, v in data.items():
            V.check_name(k, "dataset")
            a = np.array(v, copy=True)
            if a.dtype.kind not in "biufc":
                raise InvalidValueError(f"dataset {k!r} got dtype {a.dtype}: datasets hold numeric arrays")
            arrays[k] = a
        self._check_writable()
        with self._m.lock:
            for k, a in arrays.items():
                ds = self._m.dsets.get(k)
                if ds is not None:
                    if a.shape != ds.shape:
                        raise DatasetShapeError(
                            f"dataset {k!r} holds arrays of shape {ds.shape}, got {a.shape}; "
                            "arrays under one name keep their shape: use a new name"
                        )
                    if a.dtype != ds.dtype and not np.can_cast(a.dtype, ds.dtype, "same_kind"):
                        raise DatasetShapeError(
                            f"dataset {k!r} holds {ds.dtype}, got {a.dtype}; convert with .astype({str(ds.dtype)!r}) "
                            "or use a new name"
                        )
            ts = self._m.next_ts()
            for k, a in arrays.items():
                ds = self._m.dsets.get(k)
                if ds is None:
                    ds = self._m.dsets[k] = Dataset(a.shape, a.dtype)
                elif a.dtype != ds.dtype:
                    a = a.astype(ds.dtype)
                ds.times.append(ts)
                ds.last = a
                ds.pending.append((ts, a))
            self._m.logged()
        for k, a in arrays.items():
            self.events.dataset_added.emit(k, ts, tuple(a.shape))
        return ts

    # ------------------------------------------------------------------ pymanip API: reading

    def logged_variables(self) -> set[str]:
        """Names of the logged variables (a set, like pymanip)."""
        with self._m.lock:
            return set(self._m.vars)

    def logged_variable(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(t, values)``: two float64 arrays of shape (N,), t in epoch seconds.

        Same as ``log[name]`` (pymanip ``AsyncSession.logged_variable``).
        Raises UnknownNameError.
        """
        # Rows below n never change and growth allocates new buffers, so the
        # copy happens outside the lock: a big read never stalls add_entry.
        with self._m.lock:
            s = self._m.vars.get(name)
            if s is None:
                raise UnknownNameError(
                    f"no logged variable {name!r} in {self.path.name}; known: {', '.join(sorted(self._m.vars)) or 'none'}"
                )
            t, v, n = s.t, s.v, s.n
        return t[:n].copy(), v[:n].copy()

    __getitem__ = logged_variable

    def variable_length(self, name: str) -> int:
        """Number of entries of a logged variable. Raises UnknownNameError."""
        with self._m.lock:
            s = self._m.vars.get(name)
            if s is not None:
                return s.n
        raise UnknownNameError(
            f"no logged variable {name!r} in {self.path.name}; known: {', '.join(sorted(self._m.vars)) or 'none'}"
        )

    def logged_data(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{name: (t, values)}`` for every logged variable (pymanip ``logged_data``)."""
        with self._m.lock:
            views = [(k, s.t, s.v, s.n) for k, s in self._m.vars.items()]
        return {k: (t[:n].copy(), v[:n].copy()) for k, t, v, n in views}

    def logged_first_values(self) -> dict[str, tuple[float, float] | None]:
        """``{name: (t, value)}`` of each variable's first entry (pymanip ``logged_first_values``)."""
        with self._m.lock:
            return {k: (float(s.t[0]), float(s.v[0])) if s.n else None for k, s in self._m.vars.items()}

    def logged_last_values(self) -> dict[str, tuple[float, float] | None]:
        """``{name: (t, value)}`` of each variable's last entry (pymanip ``logged_last_values``)."""
        with self._m.lock:
            return {k: (float(s.t[s.n - 1]), float(s.v[s.n - 1])) if s.n else None for k, s in self._m.vars.items()}

    def logged_data_fromtimestamp(self, name: str, timestamp: float) -> tuple[np.ndarray, np.ndarray]:
        """``(t, values)`` of entries logged STRICTLY after ``timestamp`` (epoch s).

        The polling API: pass the last t you saw and you never get a point
        twice (pymanip uses ``>=``, which repeats the last point). Unknown
        names give two empty arrays, as in pymanip (a poller may start before
        the first entry). Cost: O(log N) search plus the copy of the new points.
        """
        with self._m.lock:
            s = self._m.vars.get(name)
            if s is None:
                return np.array([]), np.array([])
            t, v, n = s.t, s.v, s.n
        i = int(np.searchsorted(t[:n], timestamp, side="right"))
        return t[i:n].copy(), v[i:n].copy()

    def parameter(self, name: str) -> Any:
        """Value of a parameter, or None if absent (pymanip ``parameter``)."""
        with self._m.lock:
            return self._m.params.get(name)

    def parameters(self) -> dict[str, Any]:
        """All parameters ``{name: value}`` (pymanip ``parameters``)."""
        with self._m.lock:
            return dict(self._m.params)

    def has_parameter(self, name: str) -> bool:
        """True if the parameter was saved (pymanip ``has_parameter``)."""
        with self._m.lock:
            return name in self._m.params

    def dataset_names(self) -> set[str]:
        """Names of the datasets (a set, like pymanip)."""
        with self._m.lock:
            return set(self._m.dsets)

    def dataset_times(self, name: str) -> np.ndarray:
        """Timestamps (epoch s, float64, shape (N,)) of the arrays under ``name``."""
        with self._m.lock:
            return np.array(self._ds(name).times, dtype=float)

    def dataset_last_data(self, name: str) -> tuple[float | None, np.ndarray | None]:
        """``(t, array)`` of the last array under ``name``; ``(None, None)`` if unknown (pymanip)."""
        with self._m.lock:
            ds = self._m.dsets.get(name)
            if ds is None or not ds.times:
                return None, None
            if ds.last is not None:
                return ds.times[-1], ds.last.copy()
            n = len(ds.times) - 1
        return ds.times[-1], self._dataset_at(name, n)

    def dataset(self, name: str, ts: float | None = None, n: int | None = None) -> np.ndarray:
        """One array of ``name``: at timestamp ``ts`` (exact), the ``n``-th, or the last (pymanip ``dataset``).

        Raises UnknownNameError for an unknown name or timestamp.
        """
        with self._m.lock:
            ds = self._ds(name)
            if ts is not None:
                try:
                    i = ds.times.index(ts)
                except ValueError:
                    raise UnknownNameError(
                        f"dataset {name!r} has no array at t={ts!r}; see dataset_times({name!r})"
                    ) from None
            elif n is not None:
                i = range(len(ds.times))[n]
            else:
                i = len(ds.times) - 1
                if ds.last is not None:
                    return ds.last.copy()
        return self._dataset_at(name, i)

    def datasets(self, name: str) -> Iterator[tuple[float, np.ndarray]]:
        """Generator of ``(t, array)`` for every array of ``name``, oldest first (pymanip ``datasets``).

        Raises UnknownNameError (a ValueError, like pymanip) when iterated.
        """
        with self._m.lock:
            times = list(self._ds(name).times)
        for i, t in enumerate(times):
            yield t, self._dataset_at(name, i)

    def _ds(self, name: str) -> Dataset:
        ds = self._m.dsets.get(name)
        if ds is None:
            raise UnknownNameError(
                f"no dataset {name!r} in {self.path.name}; known: {', '.join(sorted(self._m.dsets)) or 'none'}"
            )
        return ds

    def _dataset_at(self, name: str, i: int) -> np.ndarray:
        with self._m.lock:
            ds = self._m.dsets[name]
            if i >= ds.written:
                k = i - ds.written
                if k < len(ds.pending):
                    return ds.pending[k][1].copy()
        if self._closed:
            raise DataLogClosedError(f"{self.path}: the data log is closed; open it again to read arrays")
        self.flush()  # the writer may hold it in a snapshot being written
        return self._writer.read_array(name, i)

    @property
    def t0(self) -> float:
        """Creation time of the file (epoch s), like pymanip's ``AsyncSession.t0``."""
        return self._m.created

    def use_budget(self, budget: FrameBudget | None) -> None:
        """Let the writer thread work around stimulus frames (``None``: write whenever due).

        Before each write cycle the writer calls ``budget.wait_for_quiet(
        flush_interval / 4, need)`` with ``need`` the median of recent cycle
        durations (s): h5py holds the GIL while it writes, so a cycle that
        overlaps a frame's drawing delays it. A budget that raises is dropped.
        """
        if budget is not None and not callable(getattr(budget, "wait_for_quiet", None)):
            raise TypeError(
                f"use_budget takes a rigconsole.frame_budget.FrameBudget or None, got {type(budget).__name__}"
            )
        self._writer.use_budget(budget)

    # ------------------------------------------------------------------ durability

    def flush(self, timeout: float | None = 10.0) -> None:
        """Block until everything logged before the call is durable.

        Raises DataLogWriteError if the writer failed, TimeoutError after
        ``timeout`` seconds.
        """
        with self._m.lock:
            target = self._m.seq
        self._writer.flush(target, timeout)

    def copy_file(self, dest: str | os.PathLike[str]) -> Path:
        """Copy the session file as it is now (everything logged before the call) to ``dest``.

        The copy is a closed, consistent data log (open it with
        ``DataLog(dest, readonly=True)``); the writer waits while the file is
        copied, so nothing logged meanwhile is lost. Raises DataLogWriteError
        if the writer failed, DataLogClosedError after :meth:`close`.
        """
        if self._closed:
            raise DataLogClosedError(f"{self.path}: the data log is closed; copy the file itself")
        self.flush()
        self._writer.copy_file(Path(dest))
        return Path(dest)

    @property
    def durable_until(self) -> float:
        """Epoch time of the last snapshot the writer made durable (0 before the first)."""
        return self._writer.durable_time

    def close(self) -> None:
        """Write everything, close the file cleanly (flags cleared) and stop the writer. Idempotent.

        Raises DataLogWriteError if the final write failed (earlier data stays on disk).
        """
        if self._closed:
            return
        self._closed = True
        self._writer.stop()
        _open_logs.discard(self)
        if self.last_error is not None:
            raise DataLogWriteError(str(self.last_error))

    def __enter__(self) -> DataLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<DataLog {str(self.path)!r} {'closed' if self._closed else 'writing'}>"


class ReadOnlyDataLog(SessionFile, DataLog):
    """What ``DataLog(path, readonly=True)`` returns: the lazy :class:`~.reader.SessionFile`.

    Same read API as DataLog; every write method raises ReadOnlyError.

    A file a DataLog of this same process is writing is read from a copy taken
    at open (:meth:`DataLog.copy_file`, in a temporary folder removed on
    :meth:`close`): HDF5 shares one open file per process, so opening it again
    would take the writer out of SWMR mode and stop it ("file already in SWMR
    writing mode"). Another process reads the live file itself, through SWMR.
    ``path`` is the live file's either way.
    """

    def __enter__(self) -> ReadOnlyDataLog:
        return self

    def __init__(self, path: str | os.PathLike[str], **kw: Any) -> None:
        self._snapshot_dir: Path | None = None
        live = _live_writer(Path(path))
        if live is None:
            super().__init__(path, **kw)
            return
        tmp = Path(tempfile.mkdtemp(prefix="rigconsole-live-"))
        try:
            super().__init__(live.copy_file(tmp / Path(path).name), **kw)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._snapshot_dir = tmp
        self.path = Path(path)

    def close(self) -> None:
        super().close()
        tmp, self._snapshot_dir = self._snapshot_dir, None
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    def __repr__(self) -> str:
        return f"<DataLog {str(self.path)!r} {'closed' if self._closed else 'readonly'}>"
