"""Qt-free session layer: the Session (PsychoPy Session API superset), experiment
loading, expInfo schema, the main-thread command queue and the frame pump."""

from .commands import CommandQueue
from .expinfo import ExpInfoError, ExpInfoField, parse_exp_info, resolve_exp_info
from .loader import ExperimentFile, ExperimentLoadError
from .runs import RunInProgressError, RunRecord, RunState, RunStopped, SessionEvents
from .session import Session, UnknownExperimentError

__all__ = [
    "Session",
    "SessionEvents",
    "RunRecord",
    "RunState",
    "RunInProgressError",
    "RunStopped",
    "ExperimentFile",
    "ExperimentLoadError",
    "ExpInfoError",
    "ExpInfoField",
    "parse_exp_info",
    "resolve_exp_info",
    "CommandQueue",
    "UnknownExperimentError",
]
