"""Runs and session plans: the one owner of runs (:class:`RunQueue`) and a participant's battery
of experiments (:class:`Plan`, :class:`PlanRun`). Qt-free; below the rig core, above the session.

See :mod:`.queue`, :mod:`.plan` and :mod:`.progress`.
"""

from .plan import BreakAfter, Plan, PlanError, PlanItem, latin_square, load_plan, plan_file_schema, to_psyrun
from .progress import PlanRun, read_state, state_path
from .queue import BreakSpec, ItemState, QueueEvents, QueueItem, RunQueue, worst_outcome

__all__ = [
    "RunQueue",
    "QueueItem",
    "QueueEvents",
    "ItemState",
    "BreakSpec",
    "worst_outcome",
    "Plan",
    "PlanItem",
    "BreakAfter",
    "PlanError",
    "load_plan",
    "to_psyrun",
    "plan_file_schema",
    "latin_square",
    "PlanRun",
    "read_state",
    "state_path",
]
