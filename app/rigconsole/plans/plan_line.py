"""One line about a rig's plan for the observer window and the dashboard tile:
"item k of n, participant X, estimated finish HH:MM" from the queue's summary
(:meth:`rigconsole.plans.RunQueue.summary`: the stream's ``queue`` events and
``GET /api/v1/queue``). The browser page builds the same line (remote/static/).
No Qt here: a plain function of the summary."""

from __future__ import annotations

import time
from typing import Any

from .queue import ItemState

__all__ = ["plan_line"]


def plan_line(summary: dict[str, Any] | None, *, clock: str = "%H:%M") -> str:
    """``"item 2 of 3, participant s01, estimated finish 16:42"`` for a queue summary with a plan
    (``""``: no plan, or the plan has no items). k counts the ended items and the running one, as
    the Plan panel does; "paused" is added while the queue holds; the finish is left out when no
    item left has a past duration (``estimate.unknown`` covers them all) and after the last item."""
    if not summary or not summary.get("plan"):
        return ""
    items = summary.get("items") or []
    if not items:
        return ""
    plan = summary["plan"]
    ended = sum(1 for it in items if it.get("state") in ItemState.ENDED)
    running = summary.get("running") is not None
    k = min(ended + (1 if running else 0), len(items)) or 1
    parts = [f"item {k} of {len(items)}", f"participant {plan.get('participant', '?')}"]
    left = [it for it in items if it.get("state") not in ItemState.ENDED]
    est = summary.get("estimate") or {}
    if left and isinstance(est.get("finish"), (int, float)) and est.get("unknown", 0) < len(left):
        parts.append("estimated finish " + time.strftime(clock, time.localtime(est["finish"])))
    elif not left:
        parts.append("done")
    if summary.get("holding") and left:
        parts.append("paused")
    return ", ".join(parts)
