"""Repair a data log after a crash: what ``h5clear -s`` does, in pure Python.

A file killed while open for writing (SWMR or not) keeps the "file open for
write" status flags of its version 2/3 superblock set, and HDF5 then refuses to
open it ("file is already open for write ... may use <h5clear file> to clear
file consistency flags"). :func:`recover` clears those flags, recomputes the
superblock checksum (Bob Jenkins' lookup3, as HDF5's ``H5_checksum_metadata``)
and, if the stored end-of-file address lies past the real end of the file,
extends the file with zeros so HDF5 does not reject it as truncated. It then
opens the file with h5py and reads every object to prove it is usable.

Superblock v2/v3 layout (HDF5 File Format Specification, section II.A)::

    0  signature  \\x89HDF\\r\\n\\x1a\\n   8 bytes
    8  version                          1 byte (2 or 3)
    9  size of offsets (O)              1 byte
    10 size of lengths                  1 byte
    11 file consistency flags           1 byte  <- cleared here
    12 base address, superblock extension address, end-of-file address,
       root group object header address    4 x O bytes
    12+4*O  checksum (lookup3 of all bytes before it)   4 bytes
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from ..notifications import one_line
from .errors import DataLogCorruptError, NotADataLogError
from .journal import journal_path, rollback

__all__ = ["recover", "RecoveryReport", "lookup3", "find_superblock"]

SIGNATURE = b"\x89HDF\r\n\x1a\n"
_M = 0xFFFFFFFF


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _M


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 ``hashlittle`` of ``data``: HDF5's metadata checksum."""
    length = len(data)
    a = b = c = (0xDEADBEEF + length + initval) & _M
    i = 0
    while length > 12:
        a = (a + int.from_bytes(data[i : i + 4], "little")) & _M
        b = (b + int.from_bytes(data[i + 4 : i + 8], "little")) & _M
        c = (c + int.from_bytes(data[i + 8 : i + 12], "little")) & _M
        a = (a - c) & _M
        a ^= _rot(c, 4)
        c = (c + b) & _M  # noqa: E702
        b = (b - a) & _M
        b ^= _rot(a, 6)
        a = (a + c) & _M  # noqa: E702
        c = (c - b) & _M
        c ^= _rot(b, 8)
        b = (b + a) & _M  # noqa: E702
        a = (a - c) & _M
        a ^= _rot(c, 16)
        c = (c + b) & _M  # noqa: E702
        b = (b - a) & _M
        b ^= _rot(a, 19)
        a = (a + c) & _M  # noqa: E702
        c = (c - b) & _M
        c ^= _rot(b, 4)
        b = (b + a) & _M  # noqa: E702
        length -= 12
        i += 12
    if length == 0:
        return c
    tail = data[i:] + b"\0" * (12 - length)
    a = (a + int.from_bytes(tail[0:4], "little")) & _M
    b = (b + int.from_bytes(tail[4:8], "little")) & _M
    c = (c + int.from_bytes(tail[8:12], "little")) & _M
    c ^= b
    c = (c - _rot(b, 14)) & _M  # noqa: E702
    a ^= c
    a = (a - _rot(c, 11)) & _M  # noqa: E702
    b ^= a
    b = (b - _rot(a, 25)) & _M  # noqa: E702
    c ^= b
    c = (c - _rot(b, 16)) & _M  # noqa: E702
    a ^= c
    a = (a - _rot(c, 4)) & _M  # noqa: E702
    b ^= a
    b = (b - _rot(a, 14)) & _M  # noqa: E702
    c ^= b
    c = (c - _rot(b, 24)) & _M  # noqa: E702
    return c


def find_superblock(path: str | os.PathLike[str]) -> int:
    """Byte offset of the HDF5 superblock (0, 512, 1024, ...).

    Raises NotADataLogError if the file holds no HDF5 signature.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        offset = 0
        while offset + 8 <= size:
            fh.seek(offset)
            if fh.read(8) == SIGNATURE:
                return offset
            offset = 512 if offset == 0 else offset * 2
    raise NotADataLogError(f"{os.fspath(path)} is not an HDF5 file (no HDF5 signature); pick the session .h5 file")


@dataclass
class RecoveryReport:
    """What :func:`recover` did. ``str(report)`` is a one-line summary."""

    path: Path
    superblock_version: int = 0
    flags_cleared: bool = False
    extended_by: int = 0
    objects: int = 0
    original_size: int = 0
    #: pages of an unfinished structural cycle copied back from ``<file>-journal``
    pages_restored: int = 0
    #: a ``<file>-journal`` was there: an unfinished structural cycle was undone (the
    #: file cut back to its old length, ``pages_restored`` pages put back)
    journal_found: bool = False
    #: datasets with chunks in the zero-padded tail (a truncated copy, not a kill -9)
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        did = []
        if self.pages_restored or self.journal_found:
            did.append(f"rolled back an unfinished write ({self.pages_restored} pages from the journal)")
        if self.flags_cleared:
            did.append("cleared the 'open for write' flags")
        if self.extended_by:
            did.append(f"padded {self.extended_by} missing bytes at the end")
        what = "; ".join(did) if did else "nothing to repair"
        lost = f"; WARNING zero-filled (lost) data in: {', '.join(self.problems)}" if self.problems else ""
        return f"{self.path}: {what}; {self.objects} objects readable{lost}"


def recover(path: str | os.PathLike[str]) -> RecoveryReport:
    """Make a data log killed while being written open again (in place).

    First rolls back a structural write cycle the crash cut short (its
    ``<file>-journal``, see :mod:`rigconsole.datalog.journal`), then clears the
    superblock status flags (``h5clear -s``), fixes a stored
    end-of-file address past the real end, then opens the file read-only and
    reads every dataset. Trial columns of unequal length (a kill between two
    column appends) are left as they are; :meth:`DataLog.trials` truncates
    them to the shortest, i.e. to the complete rows.

    Do not run it on a file another process is still writing.

    Returns a :class:`RecoveryReport`. Raises FileNotFoundError, NotADataLogError
    (not HDF5) or DataLogCorruptError (still unreadable after repair).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file; give the path of a session .h5 file")
    report = RecoveryReport(path=p)
    base = find_superblock(p)
    report.journal_found = journal_path(p).exists()
    report.pages_restored = rollback(p)
    with open(p, "r+b") as fh:
        fh.seek(base)
        head = fh.read(12)
        version = head[8]
        report.superblock_version = version
        if version in (2, 3):
            osz = head[9]
            if osz not in (2, 4, 8, 16):
                raise DataLogCorruptError(f"{p}: superblock says offsets are {osz} bytes; the file is damaged")
            fh.seek(base)
            raw = fh.read(12 + 4 * osz)
            stored = struct.unpack("<I", fh.read(4))[0]
            if lookup3(raw) != stored:
                raise DataLogCorruptError(f"{p}: superblock checksum mismatch; the file is damaged beyond recover()")
            body = bytearray(raw)
            if body[11] != 0:
                body[11] = 0
                fh.seek(base)
                fh.write(bytes(body))
                fh.write(struct.pack("<I", lookup3(bytes(body))))
                fh.flush()
                os.fsync(fh.fileno())
                report.flags_cleared = True
            eof = int.from_bytes(body[12 + 2 * osz : 12 + 3 * osz], "little") + base
            size = os.fstat(fh.fileno()).st_size
            report.original_size = size
            if 0 < eof - size < (1 << 40):
                fh.truncate(eof)
                report.extended_by = eof - size
    _verify(p, report)
    return report


def _verify(p: Path, report: RecoveryReport) -> None:
    import h5py

    try:
        with h5py.File(p, "r", locking=False) as f:
            names: list[str] = []
            f.visit(names.append)
            for n in names:
                obj = f[n]
                if isinstance(obj, h5py.Dataset) and obj.shape and obj.shape[0]:
                    obj[-1]  # read the last row: proves the chunk index is sound
                    if report.extended_by and obj.chunks:
                        dsid = obj.id
                        for i in range(dsid.get_num_chunks()):
                            info = dsid.get_chunk_info(i)
                            if info.byte_offset + info.size > report.original_size:
                                report.problems.append("/" + n)
                                break
            report.objects = len(names)
    except (OSError, RuntimeError) as exc:  # h5py reports a damaged object header as RuntimeError
        msg = one_line(exc, with_type=False)
        raise DataLogCorruptError(f"{p}: still unreadable after clearing flags ({msg})") from exc
