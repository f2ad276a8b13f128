"""The file schema of a session data log: how each part sits in HDF5 (docs/data-format.md).

Creating and checking files, translating open errors, reading the small
parts (run attributes, expInfo, trial tables, annotations, metadata) and
writing a mirror snapshot. Only the writer thread calls the ``write_*``
functions; :class:`FileState` is its knowledge of what the file holds.
"""

from __future__ import annotations

import errno as errno_mod
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..notifications import one_line
from . import _values as V
from .errors import DataLogCorruptError, NotADataLogError
from .mirror import Column, Floats, Mirror, Run, Series

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "VARIABLE_INFO_KEYS",
    "ANNOTATION_COLUMNS",
    "FileState",
    "create_file",
    "open_read",
    "check_signature",
    "check_format",
    "open_error",
    "load",
    "learn",
    "read_run",
    "read_annotations",
    "read_metadata",
    "read_variable_info",
    "write",
    "loads",
]

FORMAT_NAME = "rigconsole.datalog"
FORMAT_VERSION = 1
VARIABLE_INFO_KEYS = ("unit", "description", "source")
ANNOTATION_COLUMNS = ("t", "source", "kind", "text", "fields")
VAR_DTYPE = np.dtype([("t", "<f8"), ("value", "<f8")])


@dataclass
class FileState:
    """What the file holds, as the writer knows it."""

    vars: dict[str, int] = field(default_factory=dict)  # variable -> rows
    dsets: set[str] = field(default_factory=set)
    # run -> column -> (kind, version, rows in file, text width in bytes)
    runs: dict[str, dict[str, tuple[str, int, int, int]]] = field(default_factory=dict)
    frames: dict[str, int] = field(default_factory=dict)
    notes: int = -1  # annotation rows (-1: no /annotations group yet)
    note_widths: dict[str, int] = field(default_factory=dict)  # text column -> fixed width, bytes


def loads(v: Any) -> Any:
    try:
        return json.loads(v)
    except (TypeError, ValueError):
        return v


# ----------------------------------------------------------------------------- opening


def open_error(path: Path, exc: OSError) -> OSError:
    """Translate an h5py open failure into a one-line, actionable error."""
    msg = str(exc)
    if (
        isinstance(exc, FileNotFoundError)
        or "No such file" in msg
        or "unable to open file" in msg
        and not path.exists()
    ):
        return FileNotFoundError(errno_mod.ENOENT, f"{path}: no such file; give the path of a session .h5 file")
    if "signature" in msg or "not an HDF5" in msg.lower():
        return NotADataLogError(f"{path} is not an HDF5 file; pick a session .h5 file")
    if "already open for" in msg or "h5clear" in msg or "consistency flags" in msg:
        return DataLogCorruptError(
            f"{path} was not closed cleanly (crash, or another process is writing it); "
            f"if no process is writing it run `rigconsole data recover {path}`"
        )
    if "truncated" in msg:
        return DataLogCorruptError(
            f"{path} is truncated (crash or incomplete copy); run `rigconsole data recover {path}`"
        )
    if "unable to lock" in msg or "file locking" in msg:
        return DataLogCorruptError(
            f"{path} is locked by another process writing it; close that process or open it readonly"
        )
    return DataLogCorruptError(
        f"{path} cannot be opened as HDF5 ({one_line(exc, with_type=False)}); run `rigconsole data recover {path}`"
    )


def check_signature(path: Path) -> None:
    from .recover import find_superblock

    try:
        find_superblock(path)
    except NotADataLogError:
        raise NotADataLogError(f"{path} is not an HDF5 file; pick a session .h5 file") from None


def check_format(f: h5py.File, path: Path) -> None:
    """Raise NotADataLogError (closing ``f``) unless ``f`` is a data log this version reads."""
    fmt = f.attrs.get("format")
    if isinstance(fmt, bytes):
        fmt = fmt.decode()
    if fmt != FORMAT_NAME:
        f.close()
        raise NotADataLogError(
            f"{path} is an HDF5 file but not a Rig Console data log (no format='{FORMAT_NAME}' attribute); "
            "open it with h5py instead"
        )
    ver = int(f.attrs.get("format_version", 0))
    if ver > FORMAT_VERSION:
        f.close()
        raise NotADataLogError(f"{path} uses data-log format {ver}; upgrade Rig Console to read it")


def open_read(path: Path) -> h5py.File:
    """Open a data log for reading: a plain open, else a SWMR read (a live or crashed writer's file)."""
    if not path.exists():
        raise FileNotFoundError(errno_mod.ENOENT, f"{path}: no such file; give the path of a session .h5 file")
    check_signature(path)
    f = None
    last: OSError | None = None
    # A plain open first: it checks the file is complete (not truncated).
    # A file held (or left, by a crash) by a SWMR writer only opens in SWMR
    # read mode. Locking is off so a reader never blocks the writer; the
    # locking variants cover a file another handle in this process holds.
    for kw in ({"locking": False}, {"swmr": True, "locking": False}, {}, {"swmr": True}):
        try:
            f = h5py.File(path, "r", **kw)
            break
        except OSError as exc:
            if last is None or "truncated" in str(exc):
                last = exc
            if "truncated" in str(last):
                break
    if f is None:
        assert last is not None
        raise open_error(path, last) from None
    check_format(f, path)
    return f


def create_file(path: Path, created: float) -> None:
    """Create an empty data log at ``path`` (fails if it exists) and close it."""
    from .. import __version__

    f = h5py.File(path, "w-", libver="latest")
    try:
        f.attrs["format"] = FORMAT_NAME
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["created"] = created
        f.attrs["created_iso"] = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(created))
        f.attrs["software"] = f"rigconsole {__version__}, h5py {h5py.__version__}, HDF5 {h5py.version.hdf5_version}"
        for g in ("variables", "parameters", "datasets", "runs"):
            f.create_group(g, track_order=g != "parameters")
    finally:
        f.close()


# ----------------------------------------------------------------------------- reading the small parts


def read_variable_info(ds: h5py.Dataset) -> dict[str, str] | None:
    info = {k: str(V.from_attr(ds.attrs.get(k, ""))) for k in VARIABLE_INFO_KEYS}
    return info if any(info.values()) else None


def read_metadata(f: h5py.File) -> dict[str, Any]:
    mg = f.get("metadata")
    return {k: loads(V.from_attr(v)) for k, v in mg.attrs.items()} if mg is not None else {}


def read_annotations(f: h5py.File) -> list[dict[str, Any]]:
    """The ``/annotations`` table as dicts (complete rows only; ``[]`` if absent)."""
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
        {
            "t": float(t[i]),
            "source": text["source"][i],
            "kind": text["kind"][i],
            "text": text["text"][i],
            "fields": loads(text["fields"][i]) if text["fields"][i] else {},
        }
        for i in range(n)
    ]


def read_run(path: str, g: h5py.Group, *, frames: bool = True) -> Run:
    """A run group as a mirror :class:`Run` (attrs, expInfo, trial table; frame intervals if ``frames``)."""
    attrs = {k: V.from_attr(v) for k, v in g.attrs.items()}
    # bookkeeping attributes start with '_' and live on the run group,
    # so they can never collide with an expInfo key
    for k in attrs.pop("_json_attrs", None) or []:
        attrs[k] = loads(attrs.get(k))
    ei_json = attrs.pop("_expInfo_json_keys", None) or []
    order = attrs.pop("_expInfo_order", None) or []
    ei_g = g.get("expInfo")
    exp_info: dict[str, Any] = {}
    if ei_g is not None:
        exp_info = {k: V.from_attr(v) for k, v in ei_g.attrs.items()}
        for k in ei_json:
            exp_info[k] = loads(exp_info.get(k))
        exp_info = {**{k: exp_info[k] for k in order if k in exp_info}, **exp_info}
    run = Run(path, str(attrs.get("experiment", "")), exp_info, attrs)
    run.dirty = False
    tg = g.get("trials")
    if tg is not None:
        names = json.loads(V.from_attr(tg.attrs.get("columns", "[]")))
        datas = {}
        for cname in names:
            ds = tg.get(V.escape_column(cname))
            if ds is not None:
                datas[cname] = ds
        n = min((d.shape[0] for d in datas.values()), default=0)
        for cname, ds in datas.items():
            if ds.dtype.kind == "f":
                col = Column("f", ds[:n].tolist())
            else:
                col = Column(
                    "s", [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in ds[:n].tolist()]
                )
            run.columns[cname] = col
        run.n_rows = n
    if frames and "frame_intervals" in g:
        run.frames = Floats(g["frame_intervals"][()])
    return run


def load(f: h5py.File, m: Mirror) -> None:
    """Fill the mirror from the file (appending to an existing log)."""
    m.created = float(f.attrs.get("created", 0.0))
    for name, ds in f.get("variables", {}).items():
        a = ds[()]
        m.vars[name] = Series(a["t"], a["value"])
        info = read_variable_info(ds)
        if info:
            m.var_info[name] = info
        if a.size:
            m.last_ts = max(m.last_ts, float(a["t"].max()))
    m.params = {k: V.from_attr(v) for k, v in f.get("parameters", {}).attrs.items()}
    m.meta = read_metadata(f)
    m.notes = read_annotations(f)
    from .mirror import Dataset

    for name, g in f.get("datasets", {}).items():
        d = g["data"]
        t = g["t"][()]
        n = min(len(t), d.shape[0])
        ds = Dataset(tuple(d.shape[1:]), d.dtype)
        ds.times = [float(x) for x in t[:n]]
        ds.written = n
        m.dsets[name] = ds
    for rname, g in f.get("runs", {}).items():
        m.runs[f"runs/{rname}"] = read_run(f"runs/{rname}", g)


def learn(f: h5py.File, m: Mirror) -> FileState:
    """What an existing file already holds (append mode); cuts partial rows back to complete ones."""
    fs = FileState()
    for name, ds in f["variables"].items():
        fs.vars[name] = ds.shape[0]
        s = m.vars[name]
        s.n = min(s.n, ds.shape[0])
    fs.dsets = set(f["datasets"].keys())
    ag = f.get("annotations")
    if ag is not None:
        n = min((ag[c].shape[0] for c in ANNOTATION_COLUMNS if c in ag), default=0)
        for c in ANNOTATION_COLUMNS:
            if c in ag and ag[c].shape[0] != n:
                ag[c].resize((n,))
        fs.notes = n
        fs.note_widths = {c: ag[c].dtype.itemsize for c in ANNOTATION_COLUMNS[1:] if c in ag}
        del m.notes[n:]
    for path, run in m.runs.items():
        cols = {}
        fs.frames[path] = run.frames.n
        tg = f[path].get("trials")
        if tg is not None:  # cut columns back to complete rows
            for c, col in run.columns.items():
                ds = tg[V.escape_column(c)]
                if ds.shape[0] != run.n_rows:
                    ds.resize((run.n_rows,))
                cols[c] = (col.kind, col.version, run.n_rows, ds.dtype.itemsize if col.kind == "s" else 0)
        fs.runs[path] = cols
    return fs


# ----------------------------------------------------------------------------- writing a snapshot


def write(f: h5py.File, snap: dict[str, Any], fs: FileState, m: Mirror) -> None:
    """Write a :meth:`Mirror.snapshot` into ``f`` and update ``fs``."""
    if snap["params"]:
        g = f["parameters"]
        for k, v in snap["params"].items():
            g.attrs[k] = v
    vg = f["variables"]
    for name, (w, t, v) in snap["vars"].items():
        if name not in fs.vars:
            vg.create_dataset(name, shape=(0,), maxshape=(None,), dtype=VAR_DTYPE, chunks=(4096,))
            fs.vars[name] = 0
        ds = vg[name]
        n = len(t)
        rec = np.empty(n, dtype=VAR_DTYPE)
        rec["t"] = t
        rec["value"] = v
        ds.resize((w + n,))
        ds[w : w + n] = rec
        fs.vars[name] = w + n
    for name, info in snap.get("var_info", {}).items():
        for k, v in info.items():
            vg[name].attrs[k] = v
    if "meta" in snap:
        mg = f.require_group("metadata")
        for k, v in snap["meta"].items():
            mg.attrs[k] = v
    if "notes" in snap:
        _write_notes(f, fs, *snap["notes"])
    dg = f["datasets"]
    for name, (ds, w, pending) in snap["dsets"].items():
        if name not in fs.dsets:
            g = dg.create_group(name)
            rows = max(1, min(1024, (1 << 20) // max(1, int(np.prod(ds.shape)) * ds.dtype.itemsize)))
            g.create_dataset("t", shape=(0,), maxshape=(None,), dtype="<f8", chunks=(1024,))
            g.create_dataset(
                "data", shape=(0, *ds.shape), maxshape=(None, *ds.shape), dtype=ds.dtype, chunks=(rows, *ds.shape)
            )
            fs.dsets.add(name)
        g = dg[name]
        n = len(pending)
        g["data"].resize((w + n, *ds.shape))
        g["data"][w : w + n] = np.stack([a for _, a in pending])
        g["t"].resize((w + n,))
        g["t"][w : w + n] = [t for t, _ in pending]
        m.datasets_written(name, n)
    for path, rs in snap["runs"].items():
        _write_run(f, fs, path, rs)


def _text(values: list[str], width: int) -> tuple[Any, np.ndarray]:
    dt = h5py.string_dtype("utf-8", width)
    return dt, np.array([x.encode("utf-8") for x in values], dtype=dt)


def _width(values: list[str]) -> int:
    need = max((len(x.encode("utf-8")) for x in values), default=0)
    return max(16, 1 << max(0, need - 1).bit_length())


def _write_notes(f: h5py.File, fs: FileState, op: str, rows: list[tuple[Any, ...]]) -> None:
    """Annotation rows: ``create`` (re)writes the table, ``append`` adds rows after the file's."""
    if op == "create":
        if "annotations" in f:
            del f["annotations"]
        ag = f.create_group("annotations", track_order=True)
        ag.attrs["columns"] = json.dumps(list(ANNOTATION_COLUMNS))
        ag.create_dataset("t", data=np.array([r[0] for r in rows], dtype="<f8"), maxshape=(None,), chunks=(256,))
        for i, c in enumerate(ANNOTATION_COLUMNS[1:], 1):
            vals = [r[i] for r in rows]
            width = _width(vals)
            dt, data = _text(vals, width)
            ds = ag.create_dataset(c, shape=(len(vals),), maxshape=(None,), dtype=dt, chunks=(256,))
            if vals:
                ds[:] = data
            fs.note_widths[c] = width
        fs.notes = len(rows)
        return
    ag = f["annotations"]
    w, n = fs.notes, len(rows)
    ag["t"].resize((w + n,))
    ag["t"][w:] = [r[0] for r in rows]
    for i, c in enumerate(ANNOTATION_COLUMNS[1:], 1):
        ds = ag[c]
        ds.resize((w + n,))
        ds[w:] = _text([r[i] for r in rows], fs.note_widths[c])[1]
    fs.notes = w + n


def _write_run(f: h5py.File, fs: FileState, path: str, rs: dict[str, Any]) -> None:
    if "new" in rs:
        _experiment, info = rs["new"]
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
        fs.runs[path] = {}
        fs.frames[path] = 0
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
    wcols = fs.runs[path]
    n_rows = rs["n_rows"]
    for c, (op, kind, version, values) in rs["cols"].items():
        esc = V.escape_column(c)
        # Text is fixed-width UTF-8: variable-length strings live in HDF5's
        # global heap, which SWMR does not keep consistent across a kill
        # (measured: "bad heap index" after kill -9).
        if kind == "s":
            width = wcols[c][3] if op == "append" else _width(values)
            dtype, data = _text(values, width)
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
        fs.frames[path] = w + len(a)
