"""The in-memory mirror of a session data log: what a writing :class:`~.log.DataLog` holds.

Write calls append here under :attr:`Mirror.lock` and return; the writer
thread takes :meth:`Mirror.snapshot` of what the file is missing (it passes
what the file holds, a :class:`~.schema.FileState`) and writes it outside the
lock. In-process readers (live plots) read the mirror, never the file.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import numpy as np

__all__ = ["Mirror", "Series", "Floats", "Column", "Run", "Dataset", "note_cells", "copy_note", "table_arrays"]


class Series:
    """Growable (t, value) float64 arrays (one logged variable)."""

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


class Floats:
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


class Column:
    """One trial column: kind 'f' (float64, NaN = missing) or 's' (text, "" = missing)."""

    __slots__ = ("kind", "values", "version")

    def __init__(self, kind: str, values: list[Any]) -> None:
        self.kind = kind
        self.values = values
        self.version = 0  # bumped when a float column becomes text


class Run:
    __slots__ = ("path", "experiment", "exp_info", "attrs", "columns", "n_rows", "frames", "dirty")

    def __init__(self, path: str, experiment: str, exp_info: dict[str, Any], attrs: dict[str, Any]) -> None:
        self.path = path
        self.experiment = experiment
        self.exp_info = exp_info
        self.attrs = attrs
        self.columns: dict[str, Column] = {}
        self.n_rows = 0
        self.frames = Floats()
        self.dirty = True  # attrs / expInfo need writing


class Dataset:
    __slots__ = ("shape", "dtype", "times", "last", "pending", "written")

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.shape = shape
        self.dtype = dtype
        self.times: list[float] = []
        self.last: np.ndarray | None = None
        self.pending: list[tuple[float, np.ndarray]] = []
        self.written = 0  # arrays in the file


def table_arrays(columns: dict[str, Column], start: int = 0) -> dict[str, np.ndarray]:
    """A trial table as arrays from row ``start`` on: float64 for number columns, object (str) for text."""
    out = {}
    for k, col in columns.items():
        vals = col.values[max(0, start) :]
        if col.kind == "f":
            out[k] = np.array(vals, dtype=float)
        else:
            a = np.empty(len(vals), dtype=object)
            a[:] = vals
            out[k] = a
    return out


def copy_note(row: dict[str, Any]) -> dict[str, Any]:
    """A caller's copy of an annotation row (its ``fields`` deep-copied)."""
    return {**row, "fields": json.loads(json.dumps(row["fields"]))}


def note_cells(row: dict[str, Any]) -> tuple[Any, ...]:
    """One annotation as the table's cells: (t, source, kind, text, fields JSON)."""
    return (row["t"], row["source"], row["kind"], row["text"], json.dumps(row["fields"], allow_nan=True))


class Mirror:
    """Everything a writing data log holds, guarded by :attr:`lock` (an RLock).

    Callers hold ``lock`` while they read or change the containers; each
    change ends with :meth:`logged`, which wakes the writer.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        #: set by each write call: the writer has something to write
        self.new_data = threading.Event()
        self.seq = 0  # bumped by each write call
        self.last_ts = 0.0
        self.created = time.time()
        self.vars: dict[str, Series] = {}
        self.params: dict[str, Any] = {}
        self.params_dirty: set[str] = set()
        self.dsets: dict[str, Dataset] = {}
        self.runs: dict[str, Run] = {}
        self.var_info: dict[str, dict[str, str]] = {}
        self.var_info_dirty: set[str] = set()
        self.notes: list[dict[str, Any]] = []  # annotations, in the order added
        self.meta: dict[str, dict[str, Any]] = {}
        self.meta_dirty: set[str] = set()

    def next_ts(self) -> float:
        """``time.time()``, nudged by 1 µs so timestamps strictly increase (hold ``lock``)."""
        now = time.time()
        if now <= self.last_ts:
            now = self.last_ts + 1e-6
        self.last_ts = now
        return now

    def logged(self) -> None:
        """Note a write call (hold ``lock``): bump the sequence, wake the writer."""
        self.seq += 1
        if not self.new_data.is_set():
            self.new_data.set()

    def datasets_written(self, name: str, n: int) -> None:
        """The writer wrote the first ``n`` pending arrays of dataset ``name``."""
        with self.lock:
            ds = self.dsets[name]
            del ds.pending[:n]
            ds.written += n

    def snapshot(self, fs: Any) -> dict[str, Any]:
        """Copy, under the lock, what the file (described by ``fs``, a FileState) is missing.

        Clears the dirty marks it copies. ``structural`` is True when the
        write must create objects or attributes (not possible in SWMR mode).
        """
        snap: dict[str, Any] = {"vars": {}, "params": {}, "dsets": {}, "runs": {}, "structural": False}
        with self.lock:
            snap["seq"] = self.seq
            snap["time"] = time.time()
            for name, s in self.vars.items():
                w = fs.vars.get(name)
                if w is None:
                    snap["structural"] = True
                    w = 0
                if s.n > w:
                    snap["vars"][name] = (w, s.t[w : s.n].copy(), s.v[w : s.n].copy())
            if self.params_dirty:
                snap["params"] = {k: self.params[k] for k in self.params_dirty}
                self.params_dirty = set()
                snap["structural"] = True
            if self.meta_dirty:
                snap["meta"] = {k: json.dumps(self.meta[k], allow_nan=True) for k in self.meta_dirty}
                self.meta_dirty = set()
                snap["structural"] = True
            ready = [k for k in self.var_info_dirty if k in fs.vars or k in snap["vars"]]
            if ready:  # a variable described before its first entry waits for its dataset
                snap["var_info"] = {k: dict(self.var_info[k]) for k in ready}
                self.var_info_dirty.difference_update(ready)
                snap["structural"] = True
            self._snap_notes(fs, snap)
            for name, ds in self.dsets.items():
                if ds.pending:
                    if name not in fs.dsets:
                        snap["structural"] = True
                    snap["dsets"][name] = (ds, ds.written, list(ds.pending))
            for path, r in self.runs.items():
                rs = self._snap_run(fs, r, snap)
                if rs is not None:
                    snap["runs"][path] = rs
        return snap

    def _snap_notes(self, fs: Any, snap: dict[str, Any]) -> None:
        w = max(0, fs.notes)
        if len(self.notes) <= w:
            return
        new = [note_cells(r) for r in self.notes[w:]]
        wider = fs.notes < 0 or any(
            len(row[i].encode()) > fs.note_widths.get(c, 0)
            for row in new
            for i, c in enumerate(("source", "kind", "text", "fields"), 1)
        )
        if wider:  # a new table or longer text than its fixed width: (re)write every row
            snap["notes"] = ("create", [note_cells(r) for r in self.notes])
            snap["structural"] = True
        else:
            snap["notes"] = ("append", new)

    def _snap_run(self, fs: Any, r: Run, snap: dict[str, Any]) -> dict[str, Any] | None:
        wcols = fs.runs.get(r.path)
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
        wf = fs.frames.get(r.path, 0)
        if r.frames.n > wf:
            rs["frames"] = (wf, r.frames.a[wf : r.frames.n].copy())
        if rs["cols"] or rs["attrs"] is not None or "new" in rs or "frames" in rs:
            return rs
        return None
