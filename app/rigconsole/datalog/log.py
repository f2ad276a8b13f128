"""The session data log: one HDF5 file per console session.

:class:`DataLog` keeps everything in an in-memory mirror and a writer thread
copies what is new in the mirror into the HDF5 file (at most every
``flush_interval / 3`` seconds, and only when something was logged: an idle
log costs no wake-ups), then flushes it (HDF5 ``H5Fflush``: written to the OS, file consistent). The
caller's thread never touches the disk: ``add_entry`` and ``add_trial`` append
to the mirror under a lock and return. In-process readers (live plots) read the
mirror; other processes open the file in SWMR read mode.

The data API mirrors pymanip's ``AsyncSession`` (``pymanip.asyncsession``,
version 0.4.4), including its method names and return shapes; the run API
stores PsychoPy ``ExperimentHandler`` rows (one per ``thisExp.nextEntry()``).
See docs/data-format.md for the file layout.
"""

from __future__ import annotations

import atexit
import errno as errno_mod
import json
import math
import os
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from psygnal import Signal, SignalGroup

from .. import frame_budget as _fb
from . import _values as V
from .journal import JournaledFile, rollback
from .errors import (
    DataLogClosedError,
    DataLogCorruptError,
    DataLogWriteError,
    DatasetShapeError,
    InvalidNameError,
    InvalidValueError,
    NotADataLogError,
    ReadOnlyError,
    UnknownNameError,
)

FrameBudget = _fb.FrameBudget

__all__ = ["DataLog", "DataLogEvents", "new_session_path", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "rigconsole.datalog"
FORMAT_VERSION = 1
OUTCOMES = ("finished", "stopped", "failed")

_VAR_DTYPE = np.dtype([("t", "<f8"), ("value", "<f8")])
_STR = h5py.string_dtype("utf-8")
_RESERVED_RUN_ATTRS = ("experiment", "started", "ended", "outcome")
VARIABLE_INFO_KEYS = ("unit", "description", "source")
ANNOTATION_COLUMNS = ("t", "source", "kind", "text", "fields")


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


class DataLogEvents(SignalGroup):
    """Signals of a :class:`DataLog` (psygnal, no Qt).

    All but ``flushed`` and ``write_error`` are emitted synchronously on the
    thread that called the method, after the value is in the in-memory mirror
    (so a slot may read it back). ``flushed`` and ``write_error`` come from the
    writer thread. Marshal to the GUI thread yourself.
    """

    #: (timestamp epoch s, {name: float}) after add_entry
    entry_added = Signal(float, dict)
    #: ({name: value}) after save_parameter
    parameter_saved = Signal(dict)
    #: (name, timestamp epoch s, shape tuple) after add_dataset
    dataset_added = Signal(str, float, tuple)
    #: (run path, experiment name, expInfo dict) after start_run
    run_started = Signal(str, str, dict)
    #: (run path, normalised row dict) after add_trial
    trial_added = Signal(str, dict)
    #: (run path, number of intervals added) after add_frame_intervals
    frame_intervals_added = Signal(str, int)
    #: (run path, {attr: value}) after set_run_attrs
    run_attrs_set = Signal(str, dict)
    #: (run path, outcome) after end_run
    run_ended = Signal(str, str)
    #: (epoch s of the snapshot now durable) from the writer thread after each flush
    flushed = Signal(float)
    #: (one-line message) from the writer thread when writing failed
    write_error = Signal(str)
    #: (timestamp epoch s, {'t', 'source', 'kind', 'text', 'fields'}) after add_annotation
    annotation_added = Signal(float, dict)


# ----------------------------------------------------------------------------
# In-memory mirror
# ----------------------------------------------------------------------------


class _Series:
    """Growable (t, value) float64 arrays."""

    __slots__ = ("t", "v", "n")

    def __init__(self, t: np.ndarray | None = None, v: np.ndarray | None = None) -> None:
        if t is None:
            self.t = np.empty(256)
            self.v = np.empty(256)
            self.n = 0
        else:
            n = len(t)
            cap = max(256, 1 << (n + 1).bit_length())
            self.t = np.empty(cap)
            self.v = np.empty(cap)
            self.t[:n] = t
            self.v[:n] = v
            self.n = n

    def append(self, t: float, v: float) -> None:
        n = self.n
        if n == len(self.t):
            self.t = np.concatenate([self.t, np.empty(n)])
            self.v = np.concatenate([self.v, np.empty(n)])
        self.t[n] = t
        self.v[n] = v
        self.n = n + 1


class _Floats:
    """Growable float64 array (frame intervals)."""

    __slots__ = ("a", "n")

    def __init__(self, a: np.ndarray | None = None) -> None:
        a = np.empty(0) if a is None else np.asarray(a, dtype=float)
        self.a = np.empty(max(256, 2 * len(a)))
        self.a[: len(a)] = a
        self.n = len(a)

    def extend(self, vals: np.ndarray) -> None:
        k = len(vals)
        if self.n + k > len(self.a):
            new = np.empty(max(2 * len(self.a), self.n + k))
            new[: self.n] = self.a[: self.n]
            self.a = new
        self.a[self.n : self.n + k] = vals
        self.n += k


class _Column:
    __slots__ = ("kind", "values", "version")

    def __init__(self, kind: str, values: list[Any]) -> None:
        self.kind = kind  # 'f' float64 (NaN = missing) or 's' text ("" = missing)
        self.values = values
        self.version = 0  # bumped when a float column becomes text


class _Run:
    __slots__ = ("path", "experiment", "exp_info", "attrs", "columns", "n_rows", "frames", "dirty")

    def __init__(self, path: str, experiment: str, exp_info: dict[str, Any], attrs: dict[str, Any]) -> None:
        self.path = path
        self.experiment = experiment
        self.exp_info = exp_info
        self.attrs = attrs
        self.columns: dict[str, _Column] = {}
        self.n_rows = 0
        self.frames = _Floats()
        self.dirty = True  # attrs / expInfo need writing


class _Dataset:
    __slots__ = ("shape", "dtype", "times", "last", "pending", "written")

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.shape = shape
        self.dtype = dtype
        self.times: list[float] = []
        self.last: np.ndarray | None = None
        self.pending: list[tuple[float, np.ndarray]] = []
        self.written = 0  # arrays in the file


_open_logs: weakref.WeakSet[DataLog] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:  # pragma: no cover - interpreter exit
    for log in list(_open_logs):
        try:
            log.close()
        except Exception:
            pass


def _first_line(exc: BaseException) -> str:
    s = str(exc).strip()
    return s.splitlines()[0] if s else type(exc).__name__


def _open_error(path: Path, exc: OSError) -> OSError:
    """Translate an h5py open failure into a one-line, actionable error."""
    msg = str(exc)
    if isinstance(exc, FileNotFoundError) or "No such file" in msg or "unable to open file" in msg and not path.exists():
        return FileNotFoundError(errno_mod.ENOENT, f"{path}: no such file; give the path of a session .h5 file")
    if "signature" in msg or "not an HDF5" in msg.lower():
        return NotADataLogError(f"{path} is not an HDF5 file; pick a session .h5 file")
    if "already open for" in msg or "h5clear" in msg or "consistency flags" in msg:
        return DataLogCorruptError(
            f"{path} was not closed cleanly (crash, or another process is writing it); "
            f"if no process is writing it run `rigconsole data recover {path}`"
        )
    if "truncated" in msg:
        return DataLogCorruptError(f"{path} is truncated (crash or incomplete copy); run `rigconsole data recover {path}`")
    if "unable to lock" in msg or "file locking" in msg:
        return DataLogCorruptError(f"{path} is locked by another process writing it; close that process or open it readonly")
    return DataLogCorruptError(f"{path} cannot be opened as HDF5 ({_first_line(exc)}); run `rigconsole data recover {path}`")


class DataLog:
    """One session's data: logged variables, parameters, datasets and runs, in one HDF5 file.

    ``DataLog(path)`` creates the file (or appends to an existing data log);
    ``DataLog(path, readonly=True)`` opens a finished or live file for
    post-processing (a snapshot; write methods raise :class:`ReadOnlyError`).

    Every method is thread-safe. Write methods only touch memory; a writer
    thread makes everything durable (in the file, flushed to the OS, file
    consistent) within ``flush_interval`` seconds, provided a write cycle takes
    less than ``2 * flush_interval / 3`` (milliseconds in practice, see
    docs/performance.md ("Data log")). With ``fsync=True`` each flush also calls
    ``fsync`` (survives power loss, costs a disk round trip per cycle).

    The file is held in HDF5 SWMR write mode (``swmr=True``, libver 'latest')
    between cycles: appends keep it consistent for SWMR readers and across a
    ``kill -9``. A cycle that must create objects or attributes (new variable,
    run, trial column, parameter, run outcome) closes the file, reopens it
    without SWMR, writes, closes and reopens it in SWMR mode. After a crash run
    :func:`rigconsole.datalog.recover` once.

    Errors: InvalidNameError, InvalidValueError, UnknownNameError,
    DatasetShapeError (ValueError); ReadOnlyError; DataLogClosedError;
    NotADataLogError, DataLogCorruptError, DataLogWriteError (OSError).
    """

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
        self.readonly = readonly
        self.flush_interval = float(flush_interval)
        self.swmr = swmr
        self.fsync = fsync
        self.events = DataLogEvents()
        self.last_error: DataLogWriteError | None = None

        self._lock = threading.RLock()  # mirror
        self._h5lock = threading.RLock()  # file handle
        self._cond = threading.Condition(threading.Lock())
        self._wake = threading.Event()  # cuts the writer's pause between cycles short (flush, close)
        self._new_data = threading.Event()  # something to write: set by each write call, flush, close
        self._closed = False
        self._stop = False
        self._seq = 0  # bumped by each write call
        self._durable_seq = 0
        self._durable_time = 0.0
        self._last_ts = 0.0
        self.cycle_stats = {"cycles": 0, "structural": 0, "max_cycle_s": 0.0, "total_cycle_s": 0.0}
        self._budget: FrameBudget | None = None  # see use_budget

        self._vars: dict[str, _Series] = {}
        self._params: dict[str, Any] = {}
        self._params_dirty: set[str] = set()
        self._dsets: dict[str, _Dataset] = {}
        self._runs: dict[str, _Run] = {}
        self._var_info: dict[str, dict[str, str]] = {}
        self._var_info_dirty: set[str] = set()
        self._notes: list[dict[str, Any]] = []  # annotations, in the order they were added
        self._meta: dict[str, dict[str, Any]] = {}
        self._meta_dirty: set[str] = set()
        self._created = time.time()
        self._file: h5py.File | None = None

        # writer-side knowledge of what the file holds
        self._w_vars: dict[str, int] = {}
        self._w_dsets: set[str] = set()
        # run -> column -> (kind, version, rows in file, text width in bytes)
        self._w_runs: dict[str, dict[str, tuple[str, int, int, int]]] = {}
        self._w_frames: dict[str, int] = {}
        self._w_notes: int = -1  # annotation rows in the file (-1: no /annotations group yet)
        self._w_note_widths: dict[str, int] = {}  # text column -> fixed width in bytes

        if readonly:
            self._file = self._open_read()
            try:
                self._load(self._file)
            except (OSError, KeyError, ValueError) as exc:
                self._file.close()
                raise DataLogCorruptError(
                    f"{self.path} is damaged ({_first_line(exc)}); run `rigconsole data recover {self.path}`"
                ) from None
        else:
            self._open_write()
            self._thread = threading.Thread(target=self._writer, name=f"DataLog writer {self.path.name}", daemon=True)
            self._thread.start()
            _open_logs.add(self)

    # ------------------------------------------------------------------ opening

    def _open_read(self) -> h5py.File:
        if not self.path.exists():
            raise FileNotFoundError(errno_mod.ENOENT, f"{self.path}: no such file; give the path of a session .h5 file")
        self._check_signature()
        f = None
        last: OSError | None = None
        # A plain open first: it checks the file is complete (not truncated).
        # A file held (or left, by a crash) by a SWMR writer only opens in SWMR
        # read mode. Locking is off so a reader never blocks the writer; the
        # locking variants cover a file another handle in this process holds.
        for kw in ({"locking": False}, {"swmr": True, "locking": False}, {}, {"swmr": True}):
            try:
                f = h5py.File(self.path, "r", **kw)
                break
            except OSError as exc:
                if last is None or "truncated" in str(exc):
                    last = exc
                if "truncated" in str(last):
                    break
        if f is None:
            assert last is not None
            raise _open_error(self.path, last) from None
        self._check_format(f)
        return f

    def _check_signature(self) -> None:
        from .recover import find_superblock

        try:
            find_superblock(self.path)
        except NotADataLogError:
            raise NotADataLogError(f"{self.path} is not an HDF5 file; pick a session .h5 file") from None

    def _check_format(self, f: h5py.File) -> None:
        fmt = f.attrs.get("format")
        if isinstance(fmt, bytes):
            fmt = fmt.decode()
        if fmt != FORMAT_NAME:
            f.close()
            raise NotADataLogError(
                f"{self.path} is an HDF5 file but not a Rig Console data log (no format='{FORMAT_NAME}' attribute); "
                "open it with h5py instead"
            )
        ver = int(f.attrs.get("format_version", 0))
        if ver > FORMAT_VERSION:
            f.close()
            raise NotADataLogError(f"{self.path} uses data-log format {ver}; upgrade Rig Console to read it")

    def _open_write(self) -> None:
        if self.path.exists():
            self._check_signature()
            rollback(self.path)  # a structural cycle a crash cut short
            try:
                f = h5py.File(self.path, "r+", libver="latest")
            except OSError as exc:
                raise _open_error(self.path, exc) from None
            try:
                self._check_format(f)
            except NotADataLogError:
                raise
            self._load(f)
            self._writer_learn(f)
        else:
            try:
                f = h5py.File(self.path, "w-", libver="latest")
            except OSError as exc:
                raise DataLogWriteError(f"cannot create {self.path} ({_first_line(exc)}); check the data folder") from None
            f.attrs["format"] = FORMAT_NAME
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["created"] = self._created
            f.attrs["created_iso"] = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self._created))
            from .. import __version__

            f.attrs["software"] = f"rigconsole {__version__}, h5py {h5py.__version__}, HDF5 {h5py.version.hdf5_version}"
            f.create_group("variables", track_order=True)
            f.create_group("parameters")
            f.create_group("datasets", track_order=True)
            f.create_group("runs", track_order=True)
            f.close()
            f = h5py.File(self.path, "r+", libver="latest")
        if self.swmr:
            f.swmr_mode = True
        self._file = f

    # ------------------------------------------------------------------ loading

    def _load(self, f: h5py.File) -> None:
        """Fill the mirror from the file (readonly open, or append to an existing log)."""
        self._created = float(f.attrs.get("created", 0.0))
        for name, ds in f.get("variables", {}).items():
            a = ds[()]
            self._vars[name] = _Series(a["t"], a["value"])
            info = {k: str(V.from_attr(ds.attrs.get(k, ""))) for k in VARIABLE_INFO_KEYS}
            if any(info.values()):
                self._var_info[name] = info
            if a.size:
                self._last_ts = max(self._last_ts, float(a["t"].max()))
        self._params = {k: V.from_attr(v) for k, v in f.get("parameters", {}).attrs.items()}
        mg = f.get("metadata")
        self._meta = {k: _loads(V.from_attr(v)) for k, v in mg.attrs.items()} if mg is not None else {}
        self._notes = read_annotations(f)
        for name, g in f.get("datasets", {}).items():
            d = g["data"]
            t = g["t"][()]
            n = min(len(t), d.shape[0])
            ds = _Dataset(tuple(d.shape[1:]), d.dtype)
            ds.times = [float(x) for x in t[:n]]
            ds.written = n
            self._dsets[name] = ds
        for rname, g in f.get("runs", {}).items():
            path = f"runs/{rname}"
            attrs = {k: V.from_attr(v) for k, v in g.attrs.items()}
            # bookkeeping attributes start with '_' and live on the run group,
            # so they can never collide with an expInfo key
            for k in attrs.pop("_json_attrs", None) or []:
                attrs[k] = _loads(attrs.get(k))
            ei_json = attrs.pop("_expInfo_json_keys", None) or []
            order = attrs.pop("_expInfo_order", None) or []
            ei_g = g.get("expInfo")
            exp_info: dict[str, Any] = {}
            if ei_g is not None:
                exp_info = {k: V.from_attr(v) for k, v in ei_g.attrs.items()}
                for k in ei_json:
                    exp_info[k] = _loads(exp_info.get(k))
                exp_info = {**{k: exp_info[k] for k in order if k in exp_info}, **exp_info}
            run = _Run(path, str(attrs.get("experiment", "")), exp_info, attrs)
            run.dirty = False
            tg = g.get("trials")
            if tg is not None:
                names = json.loads(V.from_attr(tg.attrs.get("columns", "[]")))
                datas = {}
                for cname in names:
                    ds = tg.get(V.escape_column(cname))
                    if ds is None:
                        continue
                    datas[cname] = ds
                n = min((d.shape[0] for d in datas.values()), default=0)
                for cname, ds in datas.items():
                    if ds.dtype.kind == "f":
                        col = _Column("f", ds[:n].tolist())
                    else:
                        col = _Column("s", [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in ds[:n].tolist()])
                    run.columns[cname] = col
                run.n_rows = n
            if "frame_intervals" in g:
                run.frames = _Floats(g["frame_intervals"][()])
            self._runs[path] = run

    def _writer_learn(self, f: h5py.File) -> None:
        """Record what an existing file already holds (append mode)."""
        for name, ds in f["variables"].items():
            self._w_vars[name] = ds.shape[0]
            s = self._vars[name]
            s.n = min(s.n, ds.shape[0])
        self._w_dsets = set(f["datasets"].keys())
        ag = f.get("annotations")
        if ag is not None:
            n = min((ag[c].shape[0] for c in ANNOTATION_COLUMNS if c in ag), default=0)
            for c in ANNOTATION_COLUMNS:
                if c in ag and ag[c].shape[0] != n:
                    ag[c].resize((n,))
            self._w_notes = n
            self._w_note_widths = {c: ag[c].dtype.itemsize for c in ANNOTATION_COLUMNS[1:] if c in ag}
            del self._notes[n:]
        for path, run in self._runs.items():
            cols = {}
            self._w_frames[path] = run.frames.n
            g = f[path]
            tg = g.get("trials")
            if tg is not None:  # cut columns back to complete rows
                for c, col in run.columns.items():
                    ds = tg[V.escape_column(c)]
                    if ds.shape[0] != run.n_rows:
                        ds.resize((run.n_rows,))
                    cols[c] = (col.kind, col.version, run.n_rows, ds.dtype.itemsize if col.kind == "s" else 0)
            self._w_runs[path] = cols

    # ------------------------------------------------------------------ helpers

    def _check_writable(self) -> None:
        if self.readonly:
            raise ReadOnlyError(f"{self.path} was opened with readonly=True; open DataLog(path) to write")
        if self._closed:
            raise DataLogClosedError(f"{self.path}: the data log is closed; open a new DataLog to log more")
        if self.last_error is not None:
            raise DataLogWriteError(str(self.last_error))

    def _run(self, run: str) -> _Run:
        key = run if run.startswith("runs/") else f"runs/{run}"
        try:
            return self._runs[key]
        except KeyError:
            raise UnknownNameError(f"no run {run!r} in {self.path.name}; known runs: {', '.join(self._runs) or 'none'}") from None

    def _next_ts(self) -> float:
        now = time.time()
        if now <= self._last_ts:
            now = self._last_ts + 1e-6
        self._last_ts = now
        return now

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
        if args:
            data = _merged(args, kwargs)
        else:
            data = kwargs
        vals = {}
        known = self._vars
        for k, v in data.items():
            if k not in known:
                V.check_name(k, "logged variable")
            vals[k] = V.to_float(k, v)
        with self._lock:
            self._check_writable()
            ts = self._next_ts()
            for k, v in vals.items():
                s = known.get(k)
                if s is None:
                    s = known[k] = _Series()
                s.append(ts, v)
            self._logged()
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
        with self._lock:
            self._check_writable()
            self._params.update(clean)
            self._params_dirty.update(clean)
            self._logged()
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
        with self._lock:
            self._check_writable()
            for k, a in arrays.items():
                ds = self._dsets.get(k)
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
            ts = self._next_ts()
            for k, a in arrays.items():
                ds = self._dsets.get(k)
                if ds is None:
                    ds = self._dsets[k] = _Dataset(a.shape, a.dtype)
                elif a.dtype != ds.dtype:
                    a = a.astype(ds.dtype)
                ds.times.append(ts)
                ds.last = a
                ds.pending.append((ts, a))
            self._logged()
        for k, a in arrays.items():
            self.events.dataset_added.emit(k, ts, tuple(a.shape))
        return ts

    # ------------------------------------------------------------------ pymanip API: reading

    def logged_variables(self) -> set[str]:
        """Names of the logged variables (a set, like pymanip)."""
        with self._lock:
            return set(self._vars)

    def logged_variable(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(t, values)``: two float64 arrays of shape (N,), t in epoch seconds.

        Same as ``log[name]`` (pymanip ``AsyncSession.logged_variable``).
        Raises UnknownNameError.
        """
        # Rows below n never change and growth allocates new buffers, so the
        # copy happens outside the lock: a big read never stalls add_entry.
        with self._lock:
            s = self._vars.get(name)
            if s is None:
                raise UnknownNameError(
                    f"no logged variable {name!r} in {self.path.name}; known: {', '.join(sorted(self._vars)) or 'none'}"
                )
            t, v, n = s.t, s.v, s.n
        return t[:n].copy(), v[:n].copy()

    __getitem__ = logged_variable

    def logged_data(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{name: (t, values)}`` for every logged variable (pymanip ``logged_data``)."""
        with self._lock:
            views = [(k, s.t, s.v, s.n) for k, s in self._vars.items()]
        return {k: (t[:n].copy(), v[:n].copy()) for k, t, v, n in views}

    def logged_first_values(self) -> dict[str, tuple[float, float] | None]:
        """``{name: (t, value)}`` of each variable's first entry (pymanip ``logged_first_values``)."""
        with self._lock:
            return {k: (float(s.t[0]), float(s.v[0])) if s.n else None for k, s in self._vars.items()}

    def logged_last_values(self) -> dict[str, tuple[float, float] | None]:
        """``{name: (t, value)}`` of each variable's last entry (pymanip ``logged_last_values``)."""
        with self._lock:
            return {k: (float(s.t[s.n - 1]), float(s.v[s.n - 1])) if s.n else None for k, s in self._vars.items()}

    def logged_data_fromtimestamp(self, name: str, timestamp: float) -> tuple[np.ndarray, np.ndarray]:
        """``(t, values)`` of entries logged STRICTLY after ``timestamp`` (epoch s).

        The polling API: pass the last t you saw and you never get a point
        twice (pymanip uses ``>=``, which repeats the last point). Unknown
        names give two empty arrays, as in pymanip (a poller may start before
        the first entry). Cost: O(log N) search plus the copy of the new points.
        """
        with self._lock:
            s = self._vars.get(name)
            if s is None:
                return np.array([]), np.array([])
            t, v, n = s.t, s.v, s.n
        i = int(np.searchsorted(t[:n], timestamp, side="right"))
        return t[i:n].copy(), v[i:n].copy()

    def parameter(self, name: str) -> Any:
        """Value of a parameter, or None if absent (pymanip ``parameter``)."""
        with self._lock:
            return self._params.get(name)

    def parameters(self) -> dict[str, Any]:
        """All parameters ``{name: value}`` (pymanip ``parameters``)."""
        with self._lock:
            return dict(self._params)

    def has_parameter(self, name: str) -> bool:
        """True if the parameter was saved (pymanip ``has_parameter``)."""
        with self._lock:
            return name in self._params

    def dataset_names(self) -> set[str]:
        """Names of the datasets (a set, like pymanip)."""
        with self._lock:
            return set(self._dsets)

    def dataset_times(self, name: str) -> np.ndarray:
        """Timestamps (epoch s, float64, shape (N,)) of the arrays under ``name``."""
        with self._lock:
            return np.array(self._ds(name).times, dtype=float)

    def dataset_last_data(self, name: str) -> tuple[float | None, np.ndarray | None]:
        """``(t, array)`` of the last array under ``name``; ``(None, None)`` if unknown (pymanip)."""
        with self._lock:
            ds = self._dsets.get(name)
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
        with self._lock:
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
        with self._lock:
            times = list(self._ds(name).times)
        for i, t in enumerate(times):
            yield t, self._dataset_at(name, i)

    def _ds(self, name: str) -> _Dataset:
        ds = self._dsets.get(name)
        if ds is None:
            raise UnknownNameError(
                f"no dataset {name!r} in {self.path.name}; known: {', '.join(sorted(self._dsets)) or 'none'}"
            )
        return ds

    def _dataset_at(self, name: str, i: int) -> np.ndarray:
        with self._lock:
            ds = self._dsets[name]
            if i >= ds.written:
                k = i - ds.written
                if k < len(ds.pending):
                    return ds.pending[k][1].copy()
        if not self.readonly:
            self.flush()  # the writer may hold it in a snapshot being written
        with self._h5lock:
            f = self._file
            if f is None:
                raise DataLogClosedError(f"{self.path}: the data log is closed; open it again to read arrays")
            return f["datasets"][name]["data"][i]

    @property
    def t0(self) -> float:
        """Creation time of the file (epoch s), like pymanip's ``AsyncSession.t0``."""
        return self._created


    # ------------------------------------------------------------------ descriptions, annotations, metadata

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
        with self._lock:
            self._check_writable()
            self._var_info[name] = info
            self._var_info_dirty.add(name)
            self._logged()

    def variable_info(self, name: str) -> dict[str, str]:
        """``{'unit', 'description', 'source'}`` of a logged variable; empty strings when never described."""
        with self._lock:
            info = self._var_info.get(name)
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
            raise InvalidValueError(f"add_annotation: fields must be JSON-serialisable ({_first_line(exc)})") from None
        if timestamp is not None and not (isinstance(timestamp, (int, float)) and math.isfinite(timestamp)):
            raise InvalidValueError(f"add_annotation: timestamp must be epoch seconds (a finite number), got {timestamp!r}")
        with self._lock:
            self._check_writable()
            ts = self._next_ts() if timestamp is None else float(timestamp)
            row = {"t": ts, "source": source, "kind": kind, "text": text, "fields": json.loads(fields_json)}
            self._notes.append(row)
            self._logged()
        self.events.annotation_added.emit(ts, _copy_note(row))
        return ts

    def annotations(self, since: float | None = None) -> list[dict[str, Any]]:
        """Annotations in the order added, each ``{'t', 'source', 'kind', 'text', 'fields'}``.

        With ``since`` (epoch s) only those with ``t`` strictly after it (the
        polling convention of :meth:`logged_data_fromtimestamp`).
        """
        with self._lock:
            rows = list(self._notes)
        return [_copy_note(r) for r in rows if since is None or r["t"] > since]

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
            raise InvalidValueError(f"save_metadata({section!r}): info must be JSON-serialisable ({_first_line(exc)})") from None
        with self._lock:
            self._check_writable()
            self._meta[section] = json.loads(text)
            self._meta_dirty.add(section)
            self._logged()

    def metadata(self, section: str) -> dict[str, Any]:
        """The mapping last saved under ``section`` (a copy); ``{}`` when none was saved."""
        with self._lock:
            text = json.dumps(self._meta.get(section, {}))
        return json.loads(text)

    def metadata_sections(self) -> list[str]:
        """Names of the saved metadata sections, sorted."""
        with self._lock:
            return sorted(self._meta)

    def use_budget(self, budget: FrameBudget | None) -> None:
        """Let the writer thread work around stimulus frames (``None``: write whenever due).

        Before each write cycle the writer calls ``budget.wait_for_quiet(
        flush_interval / 4, need)`` with ``need`` the median of recent cycle
        durations (s): h5py holds the GIL while it writes, so a cycle that
        overlaps a frame's drawing delays it. A budget that raises is dropped.
        """
        if budget is not None and not callable(getattr(budget, "wait_for_quiet", None)):
            raise TypeError(f"use_budget takes a rigconsole.frame_budget.FrameBudget or None, got {type(budget).__name__}")
        self._budget = budget

    # ------------------------------------------------------------------ runs (PsychoPy)

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
        with self._lock:
            self._check_writable()
            nums = [int(p.split("/")[1].split("_")[0]) for p in self._runs if p.split("/")[1][:4].isdigit()]
            path = f"runs/{max(nums, default=0) + 1:04d}_{safe}"
            self._runs[path] = _Run(path, experiment, info, {"experiment": experiment, "started": t})
            self._logged()
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
        with self._lock:
            self._check_writable()
            r = self._run(run)
            cols = r.columns
            n = r.n_rows
            for k, v in norm.items():
                if k not in cols:
                    kind = "s" if isinstance(v, str) else "f"
                    cols[k] = _Column(kind, ([""] if kind == "s" else [V.NAN]) * n)
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
            self._logged()
        self.events.trial_added.emit(r.path, norm)

    def add_frame_intervals(self, run: str, intervals_s: Sequence[float]) -> None:
        """Append frame intervals (seconds, float64) to the run's ``frame_intervals``."""
        a = np.asarray(intervals_s, dtype=float).ravel()
        with self._lock:
            self._check_writable()
            r = self._run(run)
            r.frames.extend(a)
            self._logged()
        self.events.frame_intervals_added.emit(r.path, len(a))

    def set_run_attrs(self, run: str, **attrs: Any) -> None:
        """Set attributes of the run group (numbers, str, bool and lists of str kept; others JSON).

        Raises InvalidNameError for names starting with '_' (bookkeeping) or
        naming what start_run/end_run set (experiment, started, ended, outcome).
        """
        for k in attrs:
            if k.startswith("_") or k in _RESERVED_RUN_ATTRS:
                raise InvalidNameError(f"run attribute {k!r} is reserved; start_run/end_run set it, pick another name")
        with self._lock:
            self._check_writable()
            r = self._run(run)
            r.attrs.update(attrs)
            r.dirty = True
            self._logged()
        self.events.run_attrs_set.emit(r.path, dict(attrs))

    def end_run(self, run: str, outcome: str, **attrs: Any) -> None:
        """Record the outcome ('finished', 'stopped' or 'failed') and end time of a run.

        Extra attrs (e.g. ``error`` traceback text, ``n_trials``,
        ``dropped_frames``, ``data_files`` list of str) go on the run group.
        Raises ValueError for another outcome, UnknownNameError for an unknown run.
        """
        for k in attrs:
            if k.startswith("_") or k in _RESERVED_RUN_ATTRS:
                raise InvalidNameError(f"run attribute {k!r} is reserved; pick another name")
        if outcome not in OUTCOMES:
            raise InvalidValueError(f"run outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
        with self._lock:
            self._check_writable()
            r = self._run(run)
            r.attrs.update(attrs)
            r.attrs["outcome"] = outcome
            r.attrs["ended"] = time.time()
            r.dirty = True
            self._logged()
        self.events.run_ended.emit(r.path, outcome)

    def runs(self) -> list[str]:
        """Run group paths, oldest first, e.g. ``['runs/0001_gonogo']``."""
        with self._lock:
            return sorted(self._runs)

    def run_info(self, run: str) -> dict[str, Any]:
        """``{'run', 'experiment', 'expInfo', 'outcome', 'started', 'ended', 'n_trials', 'n_frames', 'attrs'}``.

        Times are epoch seconds; ``outcome``/``ended`` are None while the run is
        open; ``attrs`` holds every other attribute given to set_run_attrs/end_run.
        """
        with self._lock:
            r = self._run(run)
            a = dict(r.attrs)
            return {
                "run": r.path,
                "experiment": r.experiment,
                "expInfo": dict(r.exp_info),
                "outcome": a.pop("outcome", None),
                "started": a.pop("started", None),
                "ended": a.pop("ended", None),
                "n_trials": r.n_rows,
                "n_frames": r.frames.n,
                "attrs": {k: v for k, v in a.items() if k != "experiment"},
            }

    def trial_columns(self, run: str) -> list[str]:
        """Column names of the run's trial table in first-seen (PsychoPy) order."""
        with self._lock:
            return list(self._run(run).columns)

    def trials(self, run: str) -> dict[str, np.ndarray]:
        """The run's trial table: ``{column: array of shape (n_trials,)}`` in first-seen order.

        Number columns are float64 (NaN = missing); text columns are object
        arrays of str ("" = missing). ``pandas.DataFrame(log.trials(run))``
        gives PsychoPy's table.
        """
        with self._lock:
            out = {}
            for k, col in self._run(run).columns.items():
                if col.kind == "f":
                    out[k] = np.array(col.values, dtype=float)
                else:
                    a = np.empty(len(col.values), dtype=object)
                    a[:] = col.values
                    out[k] = a
            return out

    def frame_intervals(self, run: str) -> np.ndarray:
        """All frame intervals of the run (seconds, float64, shape (N,))."""
        with self._lock:
            fr = self._run(run).frames
            return fr.a[: fr.n].copy()

    # ------------------------------------------------------------------ durability

    def flush(self, timeout: float | None = 10.0) -> None:
        """Block until everything logged before the call is durable.

        Raises DataLogWriteError if the writer failed, TimeoutError after
        ``timeout`` seconds. No-op in readonly mode.
        """
        if self.readonly:
            return
        with self._lock:
            target = self._seq
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._durable_seq < target and self.last_error is None and self._thread.is_alive():
                self._new_data.set()
                self._wake.set()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"{self.path}: data not durable after {timeout} s")
                self._cond.wait(remaining if remaining is not None else 1.0)
        if self.last_error is not None:
            raise DataLogWriteError(str(self.last_error))

    @property
    def durable_until(self) -> float:
        """Epoch time of the last snapshot the writer made durable (0 before the first)."""
        return self._durable_time

    def close(self) -> None:
        """Write everything, close the file cleanly (flags cleared) and stop the writer. Idempotent.

        Raises DataLogWriteError if the final write failed (earlier data stays on disk).
        """
        if self._closed:
            return
        self._closed = True
        if not self.readonly:
            self._stop = True
            self._new_data.set()
            self._wake.set()
            self._thread.join()
            _open_logs.discard(self)
        with self._h5lock:
            self._close_quietly()
        if self.last_error is not None and not self.readonly:
            raise DataLogWriteError(str(self.last_error))

    def __enter__(self) -> DataLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "readonly" if self.readonly else ("closed" if self._closed else "writing")
        return f"<DataLog {str(self.path)!r} {mode}>"

    # ------------------------------------------------------------------ writer thread

    def _logged(self) -> None:
        """Note a write call (caller holds ``self._lock``): bump the sequence, wake the writer."""
        self._seq += 1
        if not self._new_data.is_set():
            self._new_data.set()

    def _writer(self) -> None:
        period = self.flush_interval / 3
        recent: deque[float] = deque(maxlen=16)  # durations of recent cycles that wrote, seconds
        while True:
            # sleep until something is logged: during a run this thread wakes a
            # few times a second, not every period (each wake-up takes the GIL)
            self._new_data.wait()
            self._new_data.clear()  # before the snapshot: a write after it wakes the next cycle
            budget = self._budget
            if budget is not None and not self._stop:
                need = sorted(recent)[len(recent) // 2] if recent else 0.0
                try:
                    budget.wait_for_quiet(self.flush_interval / 4, need)
                except Exception:  # a broken budget must not stop the writer
                    self._budget = None
            t0 = time.monotonic()
            stop = self._stop
            try:
                self._cycle(final=stop)
            except BaseException as exc:  # noqa: BLE001 - reported, never lost silently
                self._fail(exc)
                return
            dt = time.monotonic() - t0
            if dt > 0.0002:  # a cycle that wrote something
                recent.append(dt)
            st = self.cycle_stats
            st["cycles"] += 1
            st["total_cycle_s"] += dt
            st["max_cycle_s"] = max(st["max_cycle_s"], dt)
            if stop:
                return
            self._wake.wait(max(0.0, period - dt))
            self._wake.clear()

    def _fail(self, exc: BaseException) -> None:
        msg = _first_line(exc)
        m = re.search(r"errno = (\d+)", msg)
        code = getattr(exc, "errno", None) or (int(m.group(1)) if m else None)
        if code in (errno_mod.ENOSPC, errno_mod.EFBIG, errno_mod.EDQUOT):
            why = "disk full or file-size limit reached"
            fix = "free disk space, then start a new session file"
        else:
            why = msg
            fix = "check the disk, then start a new session file"
        when = time.strftime("%H:%M:%S", time.localtime(self._durable_time)) if self._durable_time else "the start"
        text = f"writing {self.path} failed ({why}); data up to {when} is on disk; {fix}"
        err = DataLogWriteError(text)
        err.errno = code  # type: ignore[misc]
        self.last_error = err
        with self._h5lock:
            self._close_quietly()
        with self._cond:
            self._cond.notify_all()
        self.events.write_error.emit(text)

    def _snapshot(self) -> dict[str, Any]:
        """Copy, under the mirror lock, what the file is missing."""
        snap: dict[str, Any] = {"vars": {}, "params": {}, "dsets": {}, "runs": {}, "structural": False}
        with self._lock:
            snap["seq"] = self._seq
            snap["time"] = time.time()
            for name, s in self._vars.items():
                w = self._w_vars.get(name)
                if w is None:
                    snap["structural"] = True
                    w = 0
                if s.n > w:
                    snap["vars"][name] = (w, s.t[w : s.n].copy(), s.v[w : s.n].copy())
            if self._params_dirty:
                snap["params"] = {k: self._params[k] for k in self._params_dirty}
                self._params_dirty = set()
                snap["structural"] = True
            if self._meta_dirty:
                snap["meta"] = {k: json.dumps(self._meta[k], allow_nan=True) for k in self._meta_dirty}
                self._meta_dirty = set()
                snap["structural"] = True
            ready = [k for k in self._var_info_dirty if k in self._w_vars or k in snap["vars"]]
            if ready:  # a variable described before its first entry waits for its dataset
                snap["var_info"] = {k: dict(self._var_info[k]) for k in ready}
                self._var_info_dirty.difference_update(ready)
                snap["structural"] = True
            w_notes = max(0, self._w_notes)
            if len(self._notes) > w_notes:
                new = [_note_cells(r) for r in self._notes[w_notes:]]
                widths = self._w_note_widths
                wider = self._w_notes < 0 or any(
                    len(row[i].encode()) > widths.get(c, 0) for row in new for i, c in enumerate(ANNOTATION_COLUMNS[1:], 1)
                )
                if wider:  # a new table or longer text than its fixed width: (re)write every row
                    snap["notes"] = ("create", [_note_cells(r) for r in self._notes])
                    snap["structural"] = True
                else:
                    snap["notes"] = ("append", new)
            for name, ds in self._dsets.items():
                if ds.pending:
                    if name not in self._w_dsets:
                        snap["structural"] = True
                    snap["dsets"][name] = (ds, ds.written, list(ds.pending))
            for path, r in self._runs.items():
                wcols = self._w_runs.get(path)
                rs: dict[str, Any] = {"cols": {}, "order": None, "attrs": None}
                if wcols is None:
                    snap["structural"] = True
                    rs["new"] = (r.experiment, dict(r.exp_info))
                    wcols = {}
                if r.dirty:
                    rs["attrs"] = dict(r.attrs)
                    r.dirty = False
                    snap["structural"] = True
                for c, col in r.columns.items():
                    w = wcols.get(c)
                    if w is not None and w[1] == col.version and r.n_rows > w[2]:
                        new = col.values[w[2] : r.n_rows]
                        if col.kind == "s" and max(len(x.encode()) for x in new) > w[3]:
                            w = None  # longer text than the fixed width: rewrite the column wider
                        else:
                            rs["cols"][c] = ("append", col.kind, col.version, new)
                            continue
                    if w is None or w[1] != col.version:
                        rs["cols"][c] = ("create", col.kind, col.version, list(col.values))
                        snap["structural"] = True
                if any(v[0] == "create" for v in rs["cols"].values()) and list(wcols) != list(r.columns):
                    rs["order"] = list(r.columns)
                rs["n_rows"] = r.n_rows
                wf = self._w_frames.get(path, 0)
                if r.frames.n > wf:
                    rs["frames"] = (wf, r.frames.a[wf : r.frames.n].copy())
                if rs["cols"] or rs["attrs"] is not None or "new" in rs or "frames" in rs:
                    snap["runs"][path] = rs
        return snap

    def _cycle(self, final: bool = False) -> None:
        snap = self._snapshot()
        dirty = snap["vars"] or snap["params"] or snap["dsets"] or snap["runs"] or "notes" in snap or "meta" in snap or "var_info" in snap
        if not dirty and not final:
            self._mark_durable(snap)
            return
        structural = snap["structural"]
        with self._h5lock:
            f = self._file
            assert f is not None
            journal = None
            if structural and self.swmr:
                f.close()
                self._file = None
                # Out of SWMR mode HDF5 writes its metadata in no safe order:
                # the journal lets recover() undo a cycle a kill cut short.
                journal = JournaledFile(self.path, fsync=self.fsync)
                try:
                    f = self._file = h5py.File(journal, "r+", libver="latest")  # type: ignore[arg-type]
                except BaseException:
                    journal.abandon()
                    raise
                self.cycle_stats["structural"] += 1
            try:
                self._write(f, snap)
                if final or journal is not None:
                    f.close()
                    self._file = None
                    if journal is not None:
                        journal.commit()
                        journal = None
            finally:
                if journal is not None:  # the cycle failed: leave the journal for rollback()
                    self._close_quietly()
                    journal.abandon()
            if final:
                if self.fsync:
                    _fsync_path(self.path)
            elif structural and self.swmr:
                f = self._file = h5py.File(self.path, "r+", libver="latest")
                f.swmr_mode = True
            else:
                f.flush()
                if self.fsync:
                    _fsync_path(self.path)
        self._mark_durable(snap)
        self.events.flushed.emit(snap["time"])

    def _close_quietly(self) -> None:
        f, self._file = self._file, None
        if f is not None:
            try:
                f.close()
            except Exception:
                pass

    def _mark_durable(self, snap: dict[str, Any]) -> None:
        with self._cond:
            self._durable_seq = snap["seq"]
            self._durable_time = snap["time"]
            self._cond.notify_all()

    def _write(self, f: h5py.File, snap: dict[str, Any]) -> None:
        if snap["params"]:
            g = f["parameters"]
            for k, v in snap["params"].items():
                g.attrs[k] = v
        vg = f["variables"]
        for name, (w, t, v) in snap["vars"].items():
            if name not in self._w_vars:
                vg.create_dataset(name, shape=(0,), maxshape=(None,), dtype=_VAR_DTYPE, chunks=(4096,))
                self._w_vars[name] = 0
            ds = vg[name]
            n = len(t)
            rec = np.empty(n, dtype=_VAR_DTYPE)
            rec["t"] = t
            rec["value"] = v
            ds.resize((w + n,))
            ds[w : w + n] = rec
            self._w_vars[name] = w + n
        for name, info in snap.get("var_info", {}).items():
            for k, v in info.items():
                vg[name].attrs[k] = v
        if "meta" in snap:
            mg = f.require_group("metadata")
            for k, v in snap["meta"].items():
                mg.attrs[k] = v
        if "notes" in snap:
            self._write_notes(f, *snap["notes"])
        dg = f["datasets"]
        for name, (ds, w, pending) in snap["dsets"].items():
            if name not in self._w_dsets:
                g = dg.create_group(name)
                rows = max(1, min(1024, (1 << 20) // max(1, int(np.prod(ds.shape)) * ds.dtype.itemsize)))
                g.create_dataset("t", shape=(0,), maxshape=(None,), dtype="<f8", chunks=(1024,))
                g.create_dataset(
                    "data", shape=(0, *ds.shape), maxshape=(None, *ds.shape), dtype=ds.dtype, chunks=(rows, *ds.shape)
                )
                self._w_dsets.add(name)
            g = dg[name]
            n = len(pending)
            g["data"].resize((w + n, *ds.shape))
            g["data"][w : w + n] = np.stack([a for _, a in pending])
            g["t"].resize((w + n,))
            g["t"][w : w + n] = [t for t, _ in pending]
            with self._lock:
                del ds.pending[:n]
                ds.written = w + n
        for path, rs in snap["runs"].items():
            self._write_run(f, path, rs)

    def _write_notes(self, f: h5py.File, op: str, rows: list[tuple[Any, ...]]) -> None:
        """Write annotation rows: ``create`` (re)writes the table, ``append`` adds rows after the file's."""
        if op == "create":
            if "annotations" in f:
                del f["annotations"]
            ag = f.create_group("annotations", track_order=True)
            ag.attrs["columns"] = json.dumps(list(ANNOTATION_COLUMNS))
            ag.create_dataset("t", data=np.array([r[0] for r in rows], dtype="<f8"), maxshape=(None,), chunks=(256,))
            for i, c in enumerate(ANNOTATION_COLUMNS[1:], 1):
                enc = [r[i].encode("utf-8") for r in rows]
                width = max(16, 1 << max(0, max((len(b) for b in enc), default=0) - 1).bit_length())
                dt = h5py.string_dtype("utf-8", width)
                ds = ag.create_dataset(c, shape=(len(enc),), maxshape=(None,), dtype=dt, chunks=(256,))
                if enc:
                    ds[:] = np.array(enc, dtype=dt)
                self._w_note_widths[c] = width
            self._w_notes = len(rows)
            return
        ag = f["annotations"]
        w, n = self._w_notes, len(rows)
        ag["t"].resize((w + n,))
        ag["t"][w:] = [r[0] for r in rows]
        for i, c in enumerate(ANNOTATION_COLUMNS[1:], 1):
            ds = ag[c]
            ds.resize((w + n,))
            ds[w:] = np.array([r[i].encode("utf-8") for r in rows], dtype=h5py.string_dtype("utf-8", self._w_note_widths[c]))
        self._w_notes = w + n

    def _write_run(self, f: h5py.File, path: str, rs: dict[str, Any]) -> None:
        if "new" in rs:
            experiment, info = rs["new"]
            g = f.create_group(path)
            ei = g.create_group("expInfo")
            json_keys = []
            for k, v in info.items():
                sv, was_json = V.attr_value(v)
                ei.attrs[k] = sv
                if was_json:
                    json_keys.append(k)
            if info:
                g.attrs["_expInfo_order"] = list(info)
            if json_keys:
                g.attrs["_expInfo_json_keys"] = json_keys
            tg = g.create_group("trials", track_order=True)
            tg.attrs["columns"] = "[]"
            g.create_dataset("frame_intervals", shape=(0,), maxshape=(None,), dtype="<f8", chunks=(4096,))
            self._w_runs[path] = {}
            self._w_frames[path] = 0
        g = f[path]
        if rs["attrs"] is not None:
            json_attrs = []
            for k, v in rs["attrs"].items():
                sv, was_json = V.attr_value(v)
                g.attrs[k] = sv
                if was_json:
                    json_attrs.append(k)
            if json_attrs:
                old = V.from_attr(g.attrs.get("_json_attrs", [])) or []
                g.attrs["_json_attrs"] = sorted(set(old) | set(json_attrs))
        tg = g["trials"]
        wcols = self._w_runs[path]
        n_rows = rs["n_rows"]
        for c, (op, kind, version, values) in rs["cols"].items():
            esc = V.escape_column(c)
            # Text is fixed-width UTF-8: variable-length strings live in HDF5's
            # global heap, which SWMR does not keep consistent across a kill
            # (measured: "bad heap index" after kill -9).
            if kind == "s":
                enc = [x.encode("utf-8") for x in values]
                need = max((len(b) for b in enc), default=0)
                width = wcols[c][3] if op == "append" else max(16, 1 << max(0, need - 1).bit_length())
                dtype: Any = h5py.string_dtype("utf-8", width)
                data: Any = np.array(enc, dtype=dtype)
            else:
                width = 0
                data = np.asarray(values, dtype="<f8")
                dtype = "<f8"
            if op == "create":
                if esc in tg:
                    del tg[esc]
                ds = tg.create_dataset(esc, shape=(len(values),), maxshape=(None,), dtype=dtype, chunks=(256,))
                if values:
                    ds[:] = data
                ds.attrs["name"] = c
            else:
                ds = tg[esc]
                w = wcols[c][2]
                ds.resize((w + len(values),))
                ds[w:] = data
            wcols[c] = (kind, version, n_rows, width)
        if rs["order"] is not None:
            tg.attrs["columns"] = json.dumps(rs["order"])
        if "frames" in rs:
            w, a = rs["frames"]
            ds = g["frame_intervals"]
            ds.resize((w + len(a),))
            ds[w:] = a
            self._w_frames[path] = w + len(a)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_note(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "fields": json.loads(json.dumps(row["fields"]))}


def _note_cells(row: dict[str, Any]) -> tuple[Any, ...]:
    """One annotation as the table's cells: (t, source, kind, text, fields JSON)."""
    return (row["t"], row["source"], row["kind"], row["text"], json.dumps(row["fields"], allow_nan=True))


def read_annotations(f: h5py.File) -> list[dict[str, Any]]:
    """The ``/annotations`` table of an open file as dicts (complete rows only; ``[]`` if absent)."""
    ag = f.get("annotations")
    if ag is None:
        return []
    cols = {c: ag[c] for c in ANNOTATION_COLUMNS if c in ag}
    n = min((d.shape[0] for d in cols.values()), default=0)
    if len(cols) < len(ANNOTATION_COLUMNS) or n == 0:
        return []
    t = cols["t"][:n]
    text = {c: [x.decode("utf-8", "replace") for x in cols[c][:n].tolist()] for c in ANNOTATION_COLUMNS[1:]}
    return [
        {"t": float(t[i]), "source": text["source"][i], "kind": text["kind"][i], "text": text["text"][i],
         "fields": _loads(text["fields"][i]) if text["fields"][i] else {}}
        for i in range(n)
    ]


def _loads(v: Any) -> Any:
    try:
        return json.loads(v)
    except (TypeError, ValueError):
        return v
