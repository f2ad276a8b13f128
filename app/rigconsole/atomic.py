"""Files written whole or not at all: a reader (or a restart after kill -9 or a power cut) sees the
old file or the new one, never half of one. Qt-free, at the bottom of the layers.

Used for the small state files the console keeps: settings, recent rigs, a plan's progress, past
run durations.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_text_atomically(path: Path | str, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder, ``fsync`` and
    ``os.replace`` (atomic on POSIX and Windows), then ``fsync`` the folder so the rename is durable
    too. The folder is made when missing. Returns the path.

    Raises:
        OSError: the folder cannot be written (the old file, if any, is left as it was).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # the rename itself durable too (POSIX; a folder cannot be opened so on Windows)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return path


def write_json_atomically(path: Path | str, data: Any, *, indent: int = 1) -> Path:
    """:func:`write_text_atomically` of ``data`` as JSON (``str()`` of what JSON cannot hold)."""
    return write_text_atomically(path, json.dumps(data, indent=indent, default=str))
