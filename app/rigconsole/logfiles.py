"""The console's log file: rotating, in the platform's log folder (platformdirs).

Where it is (``platformdirs.user_log_dir("rigconsole", appauthor=False)``):

- Linux: ``~/.local/state/rigconsole/log/rigconsole.log`` (``$XDG_STATE_HOME``)
- Windows: ``%LOCALAPPDATA%\\rigconsole\\Logs\\rigconsole.log``
- macOS: ``~/Library/Logs/rigconsole/rigconsole.log``

``RIGCONSOLE_LOG_DIR`` overrides the folder (tests, a lab's shared drive).
The file rotates at 1 MiB and keeps 5 old files (``rigconsole.log.1`` ...),
so a technician can always send the last few sessions' worth and the folder
never grows without bound. Qt-free: the CLI's headless ``run`` may use it too.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

import platformdirs

__all__ = [
    "log_dir",
    "log_file_path",
    "setup_log_file",
    "current_log_path",
    "close_log_file",
    "MAX_BYTES",
    "BACKUP_COUNT",
]

APP = "rigconsole"
FILE_NAME = "rigconsole.log"
#: rotate when the file reaches this size (bytes)
MAX_BYTES = 1 << 20
#: old files kept (``rigconsole.log.1`` ... ``.5``)
BACKUP_COUNT = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"


def log_dir() -> Path:
    """The folder the log file goes in (see the module docstring); not created here."""
    env = os.environ.get("RIGCONSOLE_LOG_DIR")
    if env:
        return Path(env)
    return Path(platformdirs.user_log_dir(APP, appauthor=False))


def log_file_path() -> Path:
    """``log_dir() / "rigconsole.log"``."""
    return log_dir() / FILE_NAME


class _RigConsoleFileHandler(logging.handlers.RotatingFileHandler):
    """Marks the handler this module installed, so a second call does not add another."""


def current_log_path() -> Path | None:
    """The path of the log file the root logger writes to, or ``None`` before :func:`setup_log_file`."""
    for h in logging.getLogger().handlers:
        if isinstance(h, _RigConsoleFileHandler):
            return Path(h.baseFilename)
    return None


def setup_log_file(level: int = logging.INFO, path: Path | None = None) -> Path | None:
    """Send the root logger's records at ``level`` and above to the rotating log file.

    Idempotent: a second call returns the path already in use. When the folder
    cannot be created or the file opened (read-only home, full disk) it logs
    one warning and returns ``None``: the console still runs, without a file.

    Args:
        level: the file handler's level (``logging.INFO``).
        path: the file (default :func:`log_file_path`).

    Returns:
        The log file's absolute path, or ``None`` when it could not be opened.
    """
    existing = current_log_path()
    if existing is not None:
        return existing
    path = Path(path) if path is not None else log_file_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = _RigConsoleFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8", delay=False
        )
    except OSError as err:
        logging.getLogger(APP).warning("no log file: cannot write %s (%s)", path, err)
        return None
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    return Path(handler.baseFilename)


def close_log_file() -> None:
    """Remove and close the handler :func:`setup_log_file` installed (tests; the app never needs it)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, _RigConsoleFileHandler):
            root.removeHandler(h)
            h.close()
