"""The lazy read-only reader of a session file: open a 1 GB file without reading it all.

:class:`SessionFile` reads, at open, only what is small and may be rewritten
by a live writer (run attributes, expInfo, trial tables, annotations,
metadata, parameters, variable descriptions) plus each series' length; the
append-only series (logged variables, frame intervals, dataset arrays) are
read from the file when asked for, and only as far as they reached at open.
So opening and summarising cost the same whatever the size of the data (see
``benchmarks/bench_datalog.py --open``), and a file still being written reads
as the snapshot it was at open.

``DataLog(path, readonly=True)`` returns a :class:`ReadOnlyDataLog`: this
reader with the DataLog type (its write methods raise ReadOnlyError).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..notifications import one_line
from . import _values as V
from . import schema
from .errors import DataLogClosedError, DataLogCorruptError, ReadOnlyError, UnknownNameError
from .events import DataLogEvents
from .mirror import Run, copy_note, table_arrays
from .runs import run_info_of

__all__ = ["SessionFile"]


class SessionFile:
    """Read a session data log (format of docs/data-format.md) lazily; the read API of DataLog.

    ``SessionFile(path)`` raises FileNotFoundError, NotADataLogError,
    DataLogCorruptError (truncated, damaged, not closed cleanly and not
    readable by SWMR). Thread-safe; close it (or use ``with``).
    """

    readonly = True
    last_error = None

    def __init__(self, path: str | os.PathLike[str], **_ignored: Any) -> None:
        self.path = Path(path)
        self.events = DataLogEvents()  # a reader emits nothing; here so views can connect either
        self._rlock = threading.RLock()
        self._closed = False
        self._file: h5py.File | None = schema.open_read(self.path)
        try:
            self._index(self._file)
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            self._file.close()
            raise DataLogCorruptError(
                f"{self.path} is damaged ({one_line(exc, with_type=False)}); run `rigconsole data recover {self.path}`"
            ) from None

    def _index(self, f: h5py.File) -> None:
        self._created = float(f.attrs.get("created", 0.0))
        self._var_n: dict[str, int] = {}
        self._var_info: dict[str, dict[str, str]] = {}
        for name, ds in f.get("variables", {}).items():
            self._var_n[name] = int(ds.shape[0])
            info = schema.read_variable_info(ds)
            if info:
                self._var_info[name] = info
        self._params = {k: V.from_attr(v) for k, v in f.get("parameters", {}).attrs.items()}
        self._meta = schema.read_metadata(f)
        self._notes = schema.read_annotations(f)
        self._ds_n: dict[str, int] = {}
        for name, g in f.get("datasets", {}).items():
            self._ds_n[name] = min(int(g["t"].shape[0]), int(g["data"].shape[0]))
        self._runs: dict[str, Run] = {}
        self._frames_n: dict[str, int] = {}
        for rname, g in f.get("runs", {}).items():
            path = f"runs/{rname}"
            self._runs[path] = schema.read_run(path, g, frames=False)
            self._frames_n[path] = int(g["frame_intervals"].shape[0]) if "frame_intervals" in g else 0

    # ------------------------------------------------------------------ plumbing

    def _h5(self) -> h5py.File:
        if self._file is None:
            raise DataLogClosedError(f"{self.path}: the file is closed; open it again to read it")
        return self._file

    def _check_writable(self) -> None:
        raise ReadOnlyError(f"{self.path} was opened with readonly=True; open DataLog(path) to write")

    def _var_ds(self, name: str) -> tuple[h5py.Dataset, int]:
        n = self._var_n.get(name)
        if n is None:
            raise UnknownNameError(
                f"no logged variable {name!r} in {self.path.name}; known: {', '.join(sorted(self._var_n)) or 'none'}"
            )
        return self._h5()["variables"][name], n

    def _run(self, run: str) -> Run:
        key = run if run.startswith("runs/") else f"runs/{run}"
        try:
            return self._runs[key]
        except KeyError:
            raise UnknownNameError(
                f"no run {run!r} in {self.path.name}; known runs: {', '.join(self._runs) or 'none'}"
            ) from None

    def flush(self, timeout: float | None = 10.0) -> None:
        """No-op (nothing to write)."""

    def use_budget(self, budget: Any) -> None:
        """No-op (a reader has no writer thread)."""

    @property
    def durable_until(self) -> float:
        return 0.0

    @property
    def t0(self) -> float:
        """Creation time of the file (epoch s)."""
        return self._created

    def close(self) -> None:
        """Close the file. Idempotent."""
        with self._rlock:
            self._closed = True
            f, self._file = self._file, None
            if f is not None:
                f.close()

    def __enter__(self) -> SessionFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {str(self.path)!r} {'closed' if self._closed else 'readonly'}>"

    # ------------------------------------------------------------------ logged variables

    def logged_variables(self) -> set[str]:
        return set(self._var_n)

    def variable_length(self, name: str) -> int:
        """Number of entries of a logged variable (reads no data). Raises UnknownNameError."""
        return self._var_ds(name)[1]

    def logged_variable(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(t, values)``: two float64 arrays (N,), read from the file. Raises UnknownNameError."""
        with self._rlock:
            ds, n = self._var_ds(name)
            a = ds[:n]
        return np.ascontiguousarray(a["t"], dtype=float), np.ascontiguousarray(a["value"], dtype=float)

    __getitem__ = logged_variable

    def logged_data(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {k: self.logged_variable(k) for k in self._var_n}

    def _row(self, name: str, i: int) -> tuple[float, float] | None:
        with self._rlock:
            ds, n = self._var_ds(name)
            if not n:
                return None
            r = ds[i if i >= 0 else n + i]
        return float(r["t"]), float(r["value"])

    def logged_first_values(self) -> dict[str, tuple[float, float] | None]:
        return {k: self._row(k, 0) for k in self._var_n}

    def logged_last_values(self) -> dict[str, tuple[float, float] | None]:
        return {k: self._row(k, -1) for k in self._var_n}

    def logged_data_fromtimestamp(self, name: str, timestamp: float) -> tuple[np.ndarray, np.ndarray]:
        """Entries STRICTLY after ``timestamp``; a binary search reading O(log N) rows."""
        if name not in self._var_n:
            return np.array([]), np.array([])
        with self._rlock:
            ds, n = self._var_ds(name)
            lo, hi = 0, n
            while lo < hi:
                mid = (lo + hi) // 2
                if float(ds[mid]["t"]) <= timestamp:
                    lo = mid + 1
                else:
                    hi = mid
            a = ds[lo:n]
        return np.ascontiguousarray(a["t"], dtype=float), np.ascontiguousarray(a["value"], dtype=float)

    def variable_info(self, name: str) -> dict[str, str]:
        info = self._var_info.get(name)
        return dict(info) if info else dict.fromkeys(schema.VARIABLE_INFO_KEYS, "")

    # ------------------------------------------------------------------ parameters, annotations, metadata

    def parameter(self, name: str) -> Any:
        return self._params.get(name)

    def parameters(self) -> dict[str, Any]:
        return dict(self._params)

    def has_parameter(self, name: str) -> bool:
        return name in self._params

    def annotations(self, since: float | None = None) -> list[dict[str, Any]]:
        return [copy_note(r) for r in self._notes if since is None or r["t"] > since]

    def metadata(self, section: str) -> dict[str, Any]:
        v = self._meta.get(section)
        return json.loads(json.dumps(v)) if isinstance(v, dict) else {}

    def metadata_sections(self) -> list[str]:
        return sorted(self._meta)

    # ------------------------------------------------------------------ datasets

    def dataset_names(self) -> set[str]:
        return set(self._ds_n)

    def _dset(self, name: str) -> tuple[h5py.Group, int]:
        n = self._ds_n.get(name)
        if n is None:
            raise UnknownNameError(
                f"no dataset {name!r} in {self.path.name}; known: {', '.join(sorted(self._ds_n)) or 'none'}"
            )
        return self._h5()["datasets"][name], n

    def dataset_times(self, name: str) -> np.ndarray:
        with self._rlock:
            g, n = self._dset(name)
            return np.asarray(g["t"][:n], dtype=float)

    def dataset_shape(self, name: str) -> tuple[tuple[int, ...], np.dtype, int]:
        """``(array shape, dtype, number of arrays)`` of a dataset (reads no data)."""
        with self._rlock:
            g, n = self._dset(name)
            d = g["data"]
            return tuple(d.shape[1:]), d.dtype, n

    def dataset_last_data(self, name: str) -> tuple[float | None, np.ndarray | None]:
        if name not in self._ds_n or not self._ds_n[name]:
            return None, None
        with self._rlock:
            g, n = self._dset(name)
            return float(g["t"][n - 1]), g["data"][n - 1]

    def dataset(self, name: str, ts: float | None = None, n: int | None = None) -> np.ndarray:
        with self._rlock:
            g, count = self._dset(name)
            if ts is not None:
                hits = np.flatnonzero(g["t"][:count] == ts)
                if not hits.size:
                    raise UnknownNameError(f"dataset {name!r} has no array at t={ts!r}; see dataset_times({name!r})")
                i = int(hits[0])
            elif n is not None:
                i = range(count)[n]
            else:
                i = count - 1
            return g["data"][i]

    def datasets(self, name: str) -> Iterator[tuple[float, np.ndarray]]:
        times = self.dataset_times(name)
        for i, t in enumerate(times):
            with self._rlock:
                g, _ = self._dset(name)
                a = g["data"][i]
            yield float(t), a

    # ------------------------------------------------------------------ runs

    def runs(self) -> list[str]:
        return sorted(self._runs)

    def run_info(self, run: str) -> dict[str, Any]:
        r = self._run(run)
        return run_info_of(r, self._frames_n[r.path])

    def trial_columns(self, run: str) -> list[str]:
        return list(self._run(run).columns)

    def trials(self, run: str, start: int = 0) -> dict[str, np.ndarray]:
        return table_arrays(self._run(run).columns, start)

    def frame_intervals(self, run: str, start: int = 0) -> np.ndarray:
        r = self._run(run)
        n = self._frames_n[r.path]
        start = min(max(0, start), n)
        if start == n:
            return np.empty(0)
        with self._rlock:
            return np.asarray(self._h5()[r.path]["frame_intervals"][start:n], dtype=float)
