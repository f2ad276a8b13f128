"""What the console's views use of a session: :class:`ConsoleSession`, and the one shown while
the rig loads, :class:`PendingSession`. Qt-free.

The console window is on the screen before PsychoPy is loaded, so its views
(the window, the experiment list, the bridge and the run controller) are
built on a :class:`PendingSession` and switched to the rig's
:class:`~rigconsole.session.Session` once it exists. Both implement the
:class:`ConsoleSession` protocol, the one statement of that surface: the
Session implements it by being what it is (tests check
``isinstance(session, ConsoleSession)`` on a real one and the type checker
checks :class:`PendingSession` against it), so the placeholder cannot drift
from the real thing unnoticed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..frame_budget import IDLE, FrameBudget
from .runs import RunRecord, SessionEvents

__all__ = ["ConsoleSession", "PendingSession", "RigLoadingError"]


@runtime_checkable
class ConsoleSession(Protocol):
    """The session surface the console's views read and call (PsychoPy's names where
    PsychoPy's ``Session`` has them). Paths are absolute; runs are
    :class:`~rigconsole.session.runs.RunRecord` s."""

    dataDir: Path
    events: SessionEvents

    @property
    def root(self) -> Path: ...
    @property
    def frame_budget(self) -> FrameBudget: ...
    @property
    def data_log(self) -> Any: ...
    @property
    def current_run(self) -> RunRecord | None: ...
    @property
    def run_records(self) -> list[RunRecord]: ...
    @property
    def experiment_files(self) -> Mapping[str, Any]: ...
    @property
    def instruments(self) -> Mapping[str, Any]: ...

    def connect_console(
        self, pump: Callable[[float], None] | None, wakeup: Callable[[], None] | None = None
    ) -> None: ...
    def disconnect_console(self) -> None: ...
    def key_for(self, path: str | os.PathLike) -> str: ...
    def expInfoFields(self, key: str) -> list[Any]: ...
    def resolveExpInfo(self, key: str, expInfo: Mapping[str, Any] | None = None) -> dict[str, Any]: ...
    def addExperiment(
        self, file: Any, key: Any = None, folder: Any = None, *, copy_outside_root: bool | None = None
    ) -> Any: ...
    def removeExperiment(self, key: str) -> bool: ...
    def scanRoot(self) -> Mapping[str, Any]: ...
    def runExperiment(self, key: Any, expInfo: Any = None, blocking: bool = True) -> Any: ...
    def pauseExperiment(self) -> Any: ...
    def resumeExperiment(self) -> Any: ...
    def stopExperiment(self) -> Any: ...


class RigLoadingError(RuntimeError):
    """Asked a :class:`PendingSession` to do what needs the rig (the console disables these meanwhile)."""


class PendingSession:
    """The :class:`ConsoleSession` the console window shows while the rig is being built.

    The root and data folders of the settings, no experiments, no runs, the
    idle frame budget (:data:`rigconsole.frame_budget.IDLE`), no data log and
    no instruments. It never announces anything. What would start, steer or
    change something raises :class:`RigLoadingError` (the window disables
    those actions meanwhile); pausing, resuming and stopping return ``False``
    (nothing runs).
    """

    def __init__(self, root: Path, data_dir: Path):
        self._root = Path(root)
        self.dataDir = Path(data_dir)
        self.events = SessionEvents()

    @property
    def root(self) -> Path:
        return self._root

    @property
    def frame_budget(self) -> FrameBudget:
        return IDLE

    @property
    def data_log(self) -> Any:
        return None

    @property
    def current_run(self) -> RunRecord | None:
        return None

    @property
    def run_records(self) -> list[RunRecord]:
        return []

    @property
    def experiment_files(self) -> Mapping[str, Any]:
        return MappingProxyType({})

    @property
    def instruments(self) -> Mapping[str, Any]:
        return MappingProxyType({})

    def connect_console(self, pump: Callable[[float], None] | None, wakeup: Callable[[], None] | None = None) -> None:
        """Nothing flips before the rig exists: the hooks are not needed."""

    def disconnect_console(self) -> None:
        """See :meth:`connect_console`."""

    def key_for(self, path: str | os.PathLike) -> str:
        """The key a file would have (its path relative to the root, ``/``-separated)."""
        p = Path(path).absolute()
        try:
            return p.relative_to(self._root.absolute()).as_posix()
        except ValueError:
            return p.as_posix()

    def _loading(self, what: str) -> RigLoadingError:
        return RigLoadingError(f"cannot {what}: the rig is still loading")

    def expInfoFields(self, key: str) -> list[Any]:
        raise self._loading(f"read the expInfo of {key!r}")

    def resolveExpInfo(self, key: str, expInfo: Mapping[str, Any] | None = None) -> dict[str, Any]:
        raise self._loading(f"run {key!r}")

    def addExperiment(
        self, file: Any, key: Any = None, folder: Any = None, *, copy_outside_root: bool | None = None
    ) -> Any:
        raise self._loading(f"add {file}")

    def removeExperiment(self, key: str) -> bool:
        raise self._loading(f"remove {key!r}")

    def scanRoot(self) -> Mapping[str, Any]:
        raise self._loading("scan the experiment root folder")

    def runExperiment(self, key: Any, expInfo: Any = None, blocking: bool = True) -> Any:
        raise self._loading(f"run {key!r}")

    def pauseExperiment(self) -> bool:
        return False

    def resumeExperiment(self) -> bool:
        return False

    def stopExperiment(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<PendingSession root={str(self._root)!r}: the rig is loading>"


if TYPE_CHECKING:  # the type checker holds both to the protocol (mypy in scripts/test)
    from .session import Session

    def _real(s: Session) -> ConsoleSession:
        return s

    def _pending(p: PendingSession) -> ConsoleSession:
        return p
