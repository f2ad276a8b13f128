"""The writer thread of a session data log: makes the mirror durable in the HDF5 file.

It wakes when something was logged (an idle log costs no wake-ups), at most
every ``flush_interval / 3`` seconds, asks its frame budget for a quiet moment,
takes a :meth:`~.mirror.Mirror.snapshot`, writes it and flushes (HDF5
``H5Fflush``: in the OS, file consistent). The file stays in SWMR write mode
between cycles; a cycle that must create objects or attributes closes it,
writes without SWMR through the rollback journal, and reopens it in SWMR mode.
"""

from __future__ import annotations

import errno as errno_mod
import os
import re
import shutil
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..frame_budget import FrameBudget
from ..notifications import one_line
from . import schema
from .errors import DataLogClosedError, DataLogWriteError
from .journal import JournaledFile
from .mirror import Mirror

__all__ = ["Writer"]


class Writer:
    """Owns the open file handle and the thread that writes ``mirror`` into it.

    ``events`` is the log's :class:`~.log.DataLogEvents` (``flushed`` and
    ``write_error`` are emitted from the writer thread).
    """

    def __init__(
        self,
        path: Path,
        mirror: Mirror,
        events: Any,
        file: h5py.File,
        state: schema.FileState,
        *,
        flush_interval: float,
        swmr: bool,
        fsync: bool,
    ) -> None:
        self.path = path
        self.mirror = mirror
        self.events = events
        self.flush_interval = flush_interval
        self.swmr = swmr
        self.fsync = fsync
        self.state = state
        self.last_error: DataLogWriteError | None = None
        self.cycle_stats = {"cycles": 0, "structural": 0, "max_cycle_s": 0.0, "total_cycle_s": 0.0}
        self.durable_seq = 0
        self.durable_time = 0.0
        self._file: h5py.File | None = file
        self._budget: FrameBudget | None = None
        self._h5lock = threading.RLock()  # the file handle
        self._cond = threading.Condition(threading.Lock())
        self._wake = threading.Event()  # cuts the pause between cycles short (flush, close)
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=f"DataLog writer {path.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def use_budget(self, budget: FrameBudget | None) -> None:
        self._budget = budget

    # ------------------------------------------------------------------ callers' side

    def flush(self, target_seq: int, timeout: float | None) -> None:
        """Block until the snapshot with sequence ``target_seq`` is durable (see DataLog.flush)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self.durable_seq < target_seq and self.last_error is None and self._thread.is_alive():
                self.mirror.new_data.set()
                self._wake.set()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"{self.path}: data not durable after {timeout} s")
                self._cond.wait(remaining if remaining is not None else 1.0)
        if self.last_error is not None:
            raise DataLogWriteError(str(self.last_error))

    def stop(self) -> None:
        """Write everything, close the file and end the thread."""
        self._stop = True
        self.mirror.new_data.set()
        self._wake.set()
        self._thread.join()
        with self._h5lock:
            self._close_quietly()

    def copy_file(self, dest: Path) -> None:
        """Copy the file, consistent between two cycles, to ``dest`` (the writer waits meanwhile)."""
        with self._h5lock:
            f = self._file
            if f is None:
                raise DataLogClosedError(f"{self.path}: the data log is closed; open the file itself")
            f.flush()
            shutil.copyfile(self.path, dest)

    def read_array(self, name: str, i: int) -> np.ndarray:
        """The ``i``-th array of dataset ``name`` from the file."""
        with self._h5lock:
            f = self._file
            if f is None:
                raise DataLogClosedError(f"{self.path}: the data log is closed; open it again to read arrays")
            return f["datasets"][name]["data"][i]

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        period = self.flush_interval / 3
        recent: deque[float] = deque(maxlen=16)  # durations of recent cycles that wrote, seconds
        new_data = self.mirror.new_data
        while True:
            # sleep until something is logged: during a run this thread wakes a
            # few times a second, not every period (each wake-up takes the GIL)
            new_data.wait()
            new_data.clear()  # before the snapshot: a write after it wakes the next cycle
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
        msg = one_line(exc, with_type=False)
        m = re.search(r"errno = (\d+)", msg)
        code = getattr(exc, "errno", None) or (int(m.group(1)) if m else None)
        if code in (errno_mod.ENOSPC, errno_mod.EFBIG, errno_mod.EDQUOT):
            why = "disk full or file-size limit reached"
            fix = "free disk space, then start a new session file"
        else:
            why = msg
            fix = "check the disk, then start a new session file"
        when = time.strftime("%H:%M:%S", time.localtime(self.durable_time)) if self.durable_time else "the start"
        text = f"writing {self.path} failed ({why}); data up to {when} is on disk; {fix}"
        err = DataLogWriteError(text)
        err.errno = code  # type: ignore[misc]
        self.last_error = err
        with self._h5lock:
            self._close_quietly()
        with self._cond:
            self._cond.notify_all()
        self.events.write_error.emit(text)

    def _cycle(self, final: bool = False) -> None:
        snap = self.mirror.snapshot(self.state)
        dirty = (
            snap["vars"] or snap["params"] or snap["dsets"] or snap["runs"] or {"notes", "meta", "var_info"} & set(snap)
        )
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
                schema.write(f, snap, self.state, self.mirror)
                if final or journal is not None:
                    f.close()
                    self._file = None
                    if journal is not None:
                        journal.commit()  # raises the journal's kept OSError if a write failed
                        journal = None
            except BaseException as exc:
                if journal is None:
                    raise
                # the cycle failed: leave the journal for rollback(). After a
                # failed write the journal only changes its copy in memory, so
                # this close cannot touch the file on disk.
                self._close_quietly()
                journal.abandon()
                if journal.error is not None and exc is not journal.error:
                    raise journal.error from exc  # the disk's error, not HDF5's report of a short read
                raise
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
            self.durable_seq = snap["seq"]
            self.durable_time = snap["time"]
            self._cond.notify_all()


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
