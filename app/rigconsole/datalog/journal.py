"""Rollback journal for the data log's structural write cycles.

Why: in SWMR mode HDF5 orders its metadata writes so the file on disk is
consistent at every moment, which is what makes a ``kill -9`` between appends
harmless. Creating objects or attributes is not allowed in SWMR mode, so a
structural cycle (new variable, run, trial column, run outcome) reopens the
file without SWMR, and HDF5 then writes its metadata cache in no particular
order when the file is closed. A kill in the middle of that close can leave an
object header pointing at a block that was never written (seen in CI as
``RuntimeError: Object visitation failed (bad version number for message)``,
about one kill in a few hundred).

What: the same idea as SQLite's rollback journal. During a structural cycle
HDF5 reaches the file through :class:`JournaledFile` (h5py's ``fileobj``
driver). Before a byte of the file as it was when the cycle began is
overwritten, its 4 KiB page is appended to ``<file>-journal``; the journal is
deleted once HDF5 has closed the file. A journal still on disk means a cycle
did not finish: :func:`rollback` copies the saved pages back and cuts the file
to its old length, which gives the file exactly as the last completed cycle
left it (closed cleanly). The cycle's own data was never acknowledged as
durable, so nothing acknowledged is lost.

Journal layout (little-endian)::

    header   b"RCJRNL01" | original file size (u64) | crc32 of the size (u32)
    record   offset (u64) | length (u32) | crc32 of offset+length+bytes (u32) | bytes

A record holds a run of consecutive 4 KiB pages.

Records are written with one ``write`` each, before the page is overwritten, so
a record cut short by the kill (bad crc) is one whose page was never touched.
With ``fsync=True`` the journal is fsynced after each record (survives power
loss too, at a disk round trip per page).

A failed write (disk full, file-size limit, I/O error) is not raised to HDF5.
h5py's ``fileobj`` driver reports a callback's exception by returning -1 with
the Python exception still set, and HDF5 carries on: it evicts, flushes and
closes through the same file object, and every later callback then runs with
an exception pending (``SystemError: ... returned a result with an exception
set``, errors ignored in ``ObjectID.__dealloc__``, and a segfault seen in
``File.close()``). So the first OSError is kept in :attr:`JournaledFile.error`
and the file object goes on as a private copy in memory: later writes and
truncations change only that copy (the pages they touch, read in from the file
as it is), reads see it, and the file on disk is not written again. HDF5 sees
a working file and closes cleanly; :meth:`~JournaledFile.commit` then raises
the kept error and the caller leaves the journal for :func:`rollback`, which
restores the file as the last completed cycle left it. A failed read returns
short, which the driver reports to HDF5 as a plain error (no Python exception).

Only the writer thread of one DataLog uses a JournaledFile; it is not
thread-safe. An advisory ``flock`` on the journal tells :func:`rollback` that a
live process still owns it (POSIX only: on Windows there is no such check, and
the positioned reads and writes fall back to seek + read/write).
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory lock; recovery must not run beside a live writer
    fcntl = None  # type: ignore[assignment]

__all__ = ["JournaledFile", "rollback", "journal_path", "JournalBusyError"]

MAGIC = b"RCJRNL01"
PAGE = 4096
_HEAD = struct.Struct("<8sQI")
_REC = struct.Struct("<QII")


_BINARY = getattr(os, "O_BINARY", 0)  # Windows opens text mode otherwise


class JournalBusyError(OSError):
    """The journal belongs to a process that is still writing the file."""


def _pread(fd: int, n: int, off: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, n, off)
    os.lseek(fd, off, os.SEEK_SET)  # Windows: one thread uses the descriptor
    return os.read(fd, n)


def _pwrite_all(fd: int, b: bytes | bytearray | memoryview, off: int) -> None:
    """Write all of ``b`` at offset ``off`` (a write may take only part of it)."""
    view = memoryview(b)
    done = 0
    while done < len(view):
        if hasattr(os, "pwrite"):
            done += os.pwrite(fd, view[done:], off + done)
        else:
            os.lseek(fd, off + done, os.SEEK_SET)
            done += os.write(fd, view[done:])


def _header(size0: int) -> bytes:
    return _HEAD.pack(MAGIC, size0, zlib.crc32(struct.pack("<Q", size0)))


def _record(off: int, data: bytes) -> bytes:
    return _REC.pack(off, len(data), zlib.crc32(struct.pack("<QI", off, len(data)) + data)) + data


def journal_path(path: str | os.PathLike[str]) -> Path:
    """``<path>-journal``: where the rollback journal of data log ``path`` lives."""
    p = Path(path)
    return p.with_name(p.name + "-journal")


class JournaledFile:
    """A file object for h5py's ``fileobj`` driver that journals overwritten pages.

    ``path`` must exist. Pages (4096 bytes) of the first ``original size`` bytes
    are saved to the journal the first time they are written or truncated away.
    Call :meth:`commit` after the h5py File is closed; :meth:`abandon` leaves the
    journal for :func:`rollback`. The constructor raises OSError from the file
    system as is; an OSError while HDF5 writes is kept in :attr:`error` (the
    file on disk is not written after it, see the module docstring) and raised
    by :meth:`commit`.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.journal = journal_path(self.path)
        self.fsync = fsync
        #: the first OSError of a write, truncate or read (None while all went well)
        self.error: OSError | None = None
        self._fd = os.open(self.path, os.O_RDWR | _BINARY)
        self._pos = 0
        self._saved: set[int] = set()
        self._copy: dict[int, bytearray] = {}  # after an error: page -> its bytes in memory
        self._cut = 0  # after an error: bytes of the fd from here on read as zeros
        self.pages_saved = 0
        try:
            self.size0 = self._size = os.fstat(self._fd).st_size
            self._jfd = os.open(self.journal, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _BINARY, 0o644)
        except BaseException:
            os.close(self._fd)
            raise
        if fcntl is not None:
            fcntl.flock(self._jfd, fcntl.LOCK_EX)
        self._jend = 0
        self._jwrite(_header(self.size0))

    # -- the file-object protocol h5py's fileobj driver uses (never raises OSError)
    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 0:
            self._pos = pos
        elif whence == 1:
            self._pos += pos
        else:
            self._pos = self._size + pos
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = max(0, self._size - self._pos)
        try:
            b = _pread(self._fd, n, self._pos) if self.error is None else self._read_copy(self._pos, n)
        except OSError as exc:
            self._failed(exc)
            return b""  # short: the driver returns an error to HDF5 with no exception set
        if len(b) < n:  # past the end reads as zeros, as HDF5's sec2 driver does
            b += bytes(n - len(b))
        self._pos += n
        return b

    def write(self, b: bytes | bytearray | memoryview) -> int:
        n = len(b)
        if self.error is None:
            try:
                self._save(self._pos, self._pos + n)
                _pwrite_all(self._fd, b, self._pos)
            except OSError as exc:
                self._failed(exc)
        if self.error is not None:
            self._write_copy(self._pos, b)
        self._pos += n
        self._size = max(self._size, self._pos)
        return n

    def truncate(self, size: int | None = None) -> int:
        size = self._pos if size is None else size
        if self.error is None:
            try:
                self._save(size, self.size0)
                os.ftruncate(self._fd, size)
            except OSError as exc:
                self._failed(exc)
        if self.error is not None:
            self._truncate_copy(size)
        self._size = size
        return size

    def flush(self) -> None:
        pass  # pwrite goes straight to the OS; fsync, if asked, happens in commit()

    # -- after an error: the private copy in memory
    def _failed(self, exc: OSError) -> None:
        if self.error is None:
            self.error = exc
            self._cut = self._size

    def _page(self, pg: int) -> bytearray:
        """Page ``pg`` of the copy, read in from the file the first time."""
        page = self._copy.get(pg)
        if page is None:
            off = pg * PAGE
            keep = max(0, min(PAGE, self._cut - off))
            page = bytearray(PAGE)
            if keep:
                try:
                    data = _pread(self._fd, keep, off)
                except OSError:
                    data = b""  # unreadable: zeros (written over, or HDF5 finds a bad checksum)
                page[: len(data)] = data
            self._copy[pg] = page
        return page

    def _read_copy(self, off: int, n: int) -> bytes:
        n = max(0, min(n, self._size - off))
        out = bytearray()
        while len(out) < n:
            pos = off + len(out)
            pg, at = divmod(pos, PAGE)
            take = min(PAGE - at, n - len(out))
            page = self._copy.get(pg)
            if page is not None:
                out += page[at : at + take]
            else:  # not written since the error: the file as it is (zeros past the cut)
                keep = max(0, min(take, self._cut - pos))
                data = _pread(self._fd, keep, pos) if keep else b""
                out += data + bytes(take - len(data))
        return bytes(out)

    def _write_copy(self, off: int, b: bytes | bytearray | memoryview) -> None:
        view = memoryview(b).cast("B")
        done = 0
        while done < len(view):
            pg, at = divmod(off + done, PAGE)
            take = min(PAGE - at, len(view) - done)
            self._page(pg)[at : at + take] = view[done : done + take]
            done += take

    def _truncate_copy(self, size: int) -> None:
        for pg in [pg for pg in self._copy if pg * PAGE >= size]:
            del self._copy[pg]
        pg, at = divmod(size, PAGE)
        if at and pg in self._copy:
            self._copy[pg][at:] = bytes(PAGE - at)
        self._cut = min(self._cut, size)

    # -- journal
    def _save(self, start: int, end: int) -> None:
        end = min(end, self.size0)
        if start >= end:
            return
        todo = [pg for pg in range(start // PAGE, (end - 1) // PAGE + 1) if pg not in self._saved]
        while todo:  # one record per run of consecutive pages (a chunk rewrite is one record)
            first = last = todo.pop(0)
            while todo and todo[0] == last + 1:
                last = todo.pop(0)
            off = first * PAGE
            data = _pread(self._fd, min((last + 1) * PAGE, self.size0) - off, off)
            self._jwrite(_record(off, data))
            self._saved.update(range(first, last + 1))
            self.pages_saved += last - first + 1

    def _jwrite(self, b: bytes) -> None:
        _pwrite_all(self._jfd, b, self._jend)
        self._jend += len(b)
        if self.fsync:
            os.fsync(self._jfd)

    def commit(self) -> None:
        """The cycle is complete (h5py closed the file): drop the journal.

        Raises :attr:`error` if a write failed (the journal is then kept: call
        :meth:`abandon`), or OSError from the fsync or unlink.
        """
        if self.error is not None:
            raise self.error
        if self.fsync:
            os.fsync(self._fd)
        os.close(self._fd)
        if fcntl is not None:
            os.unlink(self.journal)
            os.close(self._jfd)  # releases the flock after the journal is gone
        else:  # Windows cannot delete an open file
            os.close(self._jfd)
            os.unlink(self.journal)

    def abandon(self) -> None:
        """Close both files and leave the journal: the next rollback() restores the file."""
        for fd in (self._fd, self._jfd):
            try:
                os.close(fd)
            except OSError:
                pass


def rollback(path: str | os.PathLike[str]) -> int:
    """Undo an unfinished structural cycle of data log ``path``, if its journal is there.

    Returns the number of pages restored (0 and nothing done when there is no
    journal; a journal with no valid header is deleted, since the file was not
    touched before the header was written). Raises JournalBusyError if a live
    process holds the journal, OSError from the file system.
    """
    jp = journal_path(path)
    try:
        jfd = os.open(jp, os.O_RDWR | _BINARY)
    except FileNotFoundError:
        return 0
    try:
        if fcntl is not None:
            try:
                fcntl.flock(jfd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise JournalBusyError(f"{path} is being written by another process; close it there first") from None
        with os.fdopen(os.dup(jfd), "rb") as jf:
            raw = jf.read()
        restored = 0
        if len(raw) >= _HEAD.size:
            size0 = _HEAD.unpack_from(raw)[1]
            if raw[: _HEAD.size] == _header(size0):  # magic and checksum
                fd = os.open(path, os.O_RDWR | _BINARY)
                try:
                    pos = _HEAD.size
                    while pos + _REC.size <= len(raw):
                        off, n, _ = _REC.unpack_from(raw, pos)
                        data = raw[pos + _REC.size : pos + _REC.size + n]
                        if raw[pos : pos + _REC.size + n] != _record(off, data):
                            break  # cut short by the kill: its page was never overwritten
                        _pwrite_all(fd, data, off)
                        restored += (n + PAGE - 1) // PAGE
                        pos += _REC.size + n
                    os.ftruncate(fd, size0)
                    os.fsync(fd)
                finally:
                    os.close(fd)
        if fcntl is None:  # Windows cannot delete an open file
            os.close(jfd)
            jfd = -1
        os.unlink(jp)
        return restored
    finally:
        if jfd >= 0:
            os.close(jfd)
