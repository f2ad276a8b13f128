"""Exceptions raised by the data log.

Every message is one line that says what to fix. Each class derives from the
builtin that fits (``ValueError`` for bad input, ``OSError`` for files), so
callers that only know the builtins still catch them.
"""

from __future__ import annotations

import io

__all__ = [
    "DataLogError",
    "InvalidNameError",
    "InvalidValueError",
    "UnknownNameError",
    "DatasetShapeError",
    "ReadOnlyError",
    "DataLogClosedError",
    "NotADataLogError",
    "DataLogCorruptError",
    "DataLogWriteError",
]


class DataLogError(Exception):
    """Base class of every data-log error (also derives from a builtin)."""


class InvalidNameError(DataLogError, ValueError):
    """A logged-variable, parameter or dataset name is empty, not a str, or holds '/'."""


class InvalidValueError(DataLogError, ValueError):
    """A value cannot be stored where it was given (e.g. text passed to add_entry)."""


class UnknownNameError(DataLogError, KeyError, ValueError):
    """No logged variable, dataset, parameter or run of that name in this log.

    Derives from ``KeyError`` (``log[name]`` lookups) and ``ValueError``
    (pymanip's AsyncSession raises ``ValueError`` for a bad dataset name).
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DatasetShapeError(DataLogError, ValueError):
    """An array added to an existing dataset has another shape or an incompatible dtype."""


class ReadOnlyError(DataLogError, io.UnsupportedOperation):
    """A write method was called on a log opened with ``readonly=True``."""


class DataLogClosedError(DataLogError, ValueError):
    """The log was used after ``close()``."""


class NotADataLogError(DataLogError, OSError):
    """The file is not HDF5, or is HDF5 but was not written by Rig Console."""


class DataLogCorruptError(DataLogError, OSError):
    """The file is truncated, damaged, or was not closed cleanly (run ``recover``)."""


class DataLogWriteError(DataLogError, OSError):
    """Writing to disk failed (disk full, file-size limit, I/O error).

    Raised by write methods after the writer thread hit the error; everything
    made durable before the error stays in the file.
    """
