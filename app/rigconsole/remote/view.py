"""What the remote server reads of a rig: a small adapter over a Rig, or a Session and a DataLog.

The server never writes these objects' attributes and never runs control on
its own thread: it reads the session's announcements (psygnal events) and
public state, the data log's thread-safe in-memory readers, and sends
control through the session's main-thread command queue.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, Protocol

from ..frame_budget import IDLE, FrameBudget

__all__ = ["RigView", "RigSurface", "is_pilot", "state_words", "PILOT_WORD"]

#: what every remote view (observer window, dashboard tile, browser page, ``observe --text``, emails)
#: says of a pilot run (PsychoPy's pilot mode: a person trying the task, its data in the pilot folder)
PILOT_WORD = "PILOT"


def is_pilot(run: Any) -> bool:
    """``True`` for a pilot run's summary (the API's ``run``: ``RunRecord.summary()["pilot"]``)."""
    return bool(isinstance(run, dict) and run.get("pilot"))


def state_words(state: str, run: Any = None) -> str:
    """A run state as the remote views say it: ``"Running"``; a pilot run's ``"Running · PILOT"``."""
    word = str(state).capitalize()
    return f"{word} · {PILOT_WORD}" if is_pilot(run) else word


class RigSurface(Protocol):
    """What :meth:`RigView.from_rig` reads of a :class:`rigconsole.rig.Rig` (which implements
    it; ``remote`` sits below ``rig`` and does not import it)."""

    @property
    def session(self) -> Any: ...
    @property
    def data_log(self) -> Any: ...
    @property
    def frame_budget(self) -> FrameBudget: ...
    @property
    def settings(self) -> Any: ...
    @property
    def events(self) -> Any: ...
    @property
    def queue(self) -> Any: ...
    def component(self, name: str) -> Any | None: ...


class RigView:
    """The parts of a rig the remote server uses.

    Args:
        session: a :class:`rigconsole.session.Session`.
        data_log: a :class:`rigconsole.datalog.DataLog`, a callable returning the
            current one (a Rig replaces its data log when the data folder
            changes), or ``None``.
        rig_name: shown to observers (default: the host name).
        budget: the frame-budget port (default: ``session.frame_budget``).
        instruments: an instrument manager (``.instruments`` mapping and
            ``.events.state_changed(name, state, message)``), or ``None``.
        data_log_changed: a psygnal signal emitting the new data log (a Rig's
            ``events.data_log_changed``), or ``None``.
        queue: the rig's run queue (:class:`rigconsole.plans.RunQueue`, the one owner of
            runs: ``POST /runs`` and the queue endpoints hand it work), or ``None`` (then
            they answer 503).
        preview: the subject-screen preview (:class:`rigconsole.session.preview.SubjectPreview`:
            ``events.thumbnail`` and ``latest``), or ``None`` (``GET /preview.jpg`` answers 404).
    """

    def __init__(
        self,
        session: Any,
        data_log: Any = None,
        *,
        rig_name: str | None = None,
        budget: FrameBudget | None = None,
        instruments: Any = None,
        data_log_changed: Any = None,
        queue: Any = None,
        preview: Any = None,
    ) -> None:
        self.session = session
        self.queue = queue
        self.preview = preview
        self._data_log: Callable[[], Any] = (
            data_log if callable(data_log) and not hasattr(data_log, "add_entry") else (lambda: data_log)
        )
        self.rig_name = rig_name or socket.gethostname()
        self.budget: FrameBudget = budget if budget is not None else session.frame_budget or IDLE
        self.instruments = instruments
        self.data_log_changed = data_log_changed

    @classmethod
    def from_rig(cls, rig: RigSurface, *, rig_name: str | None = None) -> RigView:
        """The view of a :class:`rigconsole.rig.Rig` (its session, current data log, budget,
        instruments, and ``settings.remote.rig_name`` unless ``rig_name`` is given)."""
        name = rig_name or rig.settings.remote.rig_name or None
        return cls(
            rig.session,
            lambda: rig.data_log,
            rig_name=name,
            budget=rig.frame_budget,
            instruments=rig.component("instruments"),
            data_log_changed=rig.events.data_log_changed,
            queue=rig.queue,
            preview=rig.component("preview"),
        )

    @property
    def data_log(self) -> Any:
        """The data log in force now, or ``None``."""
        return self._data_log()

    def instrument_names(self) -> list[str]:
        mgr = self.instruments
        if mgr is None:
            return []
        try:
            return sorted(dict(mgr.instruments))
        except Exception:
            return []
