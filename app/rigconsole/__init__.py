"""Rig Console: an experimenter console for PsychoPy rigs.

``from rigconsole import Session`` gives a drop-in for ``psychopy.session.Session``;
``from rigconsole import DataLog`` the HDF5 session data log; ``from rigconsole import
RemoteObserver`` pymanip's observer for a rig. They import lazily so
that ``rigconsole --version`` and the data tools work without a display.
"""

import builtins as _builtins

__version__ = "0.1.0"

#: Python's own ``builtins.__import__``, kept from the package's first import:
#: ``rigconsole.ui`` puts it back after PySide6 replaces it (see ``rigconsole.ui``)
_BUILTIN_IMPORT = _builtins.__import__

__all__ = ["Session", "DataLog", "RemoteObserver", "__version__"]


def __getattr__(name):
    if name == "Session":
        from .session import Session

        return Session
    if name == "DataLog":
        from .datalog import DataLog

        return DataLog
    if name == "RemoteObserver":
        from .remote import RemoteObserver

        return RemoteObserver
    raise AttributeError(f"module 'rigconsole' has no attribute {name!r}")
