"""Qt-free HDF5 data log of a console session (see docs/data-format.md).

``DataLog`` mirrors pymanip's ``AsyncSession`` data API (logged variables,
parameters, datasets) and adds PsychoPy runs (expInfo, outcome, trial table,
frame intervals). ``recover`` repairs a file after a crash.
"""

from .errors import (
    DataLogClosedError,
    DataLogCorruptError,
    DataLogError,
    DataLogWriteError,
    DatasetShapeError,
    InvalidNameError,
    InvalidValueError,
    NotADataLogError,
    ReadOnlyError,
    UnknownNameError,
)
from .log import FORMAT_NAME, FORMAT_VERSION, DataLog, DataLogEvents, ReadOnlyDataLog, new_session_path
from .reader import SessionFile
from .recover import RecoveryReport, recover

__all__ = [
    "DataLog",
    "DataLogEvents",
    "ReadOnlyDataLog",
    "SessionFile",
    "new_session_path",
    "recover",
    "RecoveryReport",
    "FORMAT_NAME",
    "FORMAT_VERSION",
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
