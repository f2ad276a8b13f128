"""What the remote server reads of a rig: a small adapter over a Rig, or a Session and a DataLog.

The server never writes these objects' attributes and never runs control on
its own thread: it reads the session's announcements (psygnal events) and
public state, the data log's thread-safe in-memory readers, and sends
control through the session's main-thread command queue.
"""
from __future__ import annotations

import socket
from typing import Any, Callable

from ..frame_budget import IDLE, FrameBudget

__all__ = ["RigView"]


class RigView:
    """The parts of a rig the remote server uses.

    Args:
        session: a :class:`rigconsole.session.Session`.
        data_log: a :class:`rigconsole.datalog.DataLog`, a callable returning the
            current one (a Rig replaces its data log when the data folder
            changes), or ``None``.
        rig_name: shown to observers (default: the host name).
        budget: the frame-budget port (default: ``session.frame_budget`` when
            the session has one, else :data:`rigconsole.frame_budget.IDLE`).
        instruments: an instrument manager (``.instruments`` mapping and
            ``.events.state_changed(name, state, message)``), or ``None``.
        data_log_changed: a psygnal signal emitting the new data log (a Rig's
            ``events.data_log_changed``), or ``None``.
        queue: the rig's run queue (:class:`rigconsole.plans.RunQueue`, the one owner of
            runs: ``POST /runs`` and the queue endpoints hand it work), or ``None`` (then
            they answer 503).
    """

    def __init__(self, session: Any, data_log: Any = None, *, rig_name: str | None = None,
                 budget: FrameBudget | None = None, instruments: Any = None,
                 data_log_changed: Any = None, queue: Any = None) -> None:
        self.session = session
        self.queue = queue
        self._data_log: Callable[[], Any] = data_log if callable(data_log) and not hasattr(data_log, "add_entry") \
            else (lambda: data_log)
        self.rig_name = rig_name or socket.gethostname()
        if budget is None:
            budget = getattr(session, "frame_budget", None) or IDLE
        self.budget: FrameBudget = budget
        self.instruments = instruments
        self.data_log_changed = data_log_changed

    @classmethod
    def from_rig(cls, rig: Any, *, rig_name: str | None = None) -> "RigView":
        """The view of a :class:`rigconsole.rig.Rig` (its session, current data log, budget, instruments)."""
        settings = getattr(rig, "settings", None)
        name = rig_name or getattr(getattr(settings, "remote", None), "rig_name", "") or None
        events = getattr(rig, "events", None)
        comp = getattr(rig, "component", None)
        return cls(rig.session, lambda: rig.data_log, rig_name=name,
                   budget=getattr(rig, "frame_budget", None),
                   instruments=comp("instruments") if callable(comp) else None,
                   data_log_changed=getattr(events, "data_log_changed", None), queue=rig.queue)

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
