"""The stall guard: serving the console in a run's stretches with no ``win.flip()``.

Experiments do not flip while they set up (reading conditions files, making
stimuli) or save, nor while they wait in ``core.wait``/``event.waitKeys``;
the console, which shares the main thread, would freeze for hundreds of
milliseconds. While a run is in progress an interval timer (POSIX
``setitimer(ITIMER_REAL)``, ``SIGALRM``) is set to ``stall_limit_s`` every
time the console is served; a frame loop that flips on time only pushes it
back (one system call per frame, no signal, no thread taking the GIL). When
it expires, its handler (on the main thread, between two bytecodes of
whatever runs) applies the rule below.

Why a guard and not only explicit serving: the session serves the console
explicitly between its own long steps (set-up, saving: ``serve_if_due``),
but most of a run's set-up is the experiment's own code (Builder's ``run()``
makes every component before its first frame; a script prepares its trial
list), which the session cannot split. So the guard stays, with an explicit
rule in place of the former one (any code except a list of modules and
functions whose *names* contained "draw", "flip"...).

The rule (:meth:`StallGuard.may_serve`): the console is served from an
interruption only when every Python frame from the interrupted one up to the
session's own run step (the *boundary*: the run driver's ``run``, its
wrap-up, the session's ``saveExperimentData``) is

1. the experiment's own code: a file in the experiment's folder, or its
   compiled Builder script; or
2. PsychoPy's data handling, ``psychopy/data/`` (ExperimentHandler,
   TrialHandler, ``importConditions``, saving CSV/psydat: no GL, no locks),
   and the plain file writing it and the run's wrap-up call:
   ``psychopy/logging.py`` (its ``flush()`` writes the run's log lines, 35-100 ms
   at a run's end) and ``psychopy/tools/filetools.py`` (``openOutputFile``,
   the pickle of the psydat file); or
3. one of PsychoPy's waiting functions (:data:`WAITING_FUNCTIONS`:
   ``core.wait``, ``event.waitKeys``, ``Keyboard.waitKeys``).

Anything else on the stack (PsychoPy's visual code and stimulus
constructors, pyglet, GL wrappers, ``logging``, ``threading``, h5py, Rig
Console itself, any other library) may be drawing, hold a GL state between
calls, or hold a lock the console's own code takes (Rig Console's data log
uses re-entrant locks, which the console code would re-enter on the same
thread). Then the guard *defers*: it sets a profile hook (``sys.setprofile``)
that serves at the first return into code the rule allows (for a stimulus
constructor: the moment it returns to the experiment's ``run()``; the
returning function has finished its body, its ``with`` blocks and ``finally``
clauses included, so it holds no lock and draws nothing), or after a C call
made from allowed code, for at most :attr:`StallGuard.defer_s`; after that it
tries again from the timer ``poll_s`` later.

What console code may touch when served this way: the console runs between
two statements of the experiment, on its stack. It may process its own
events (Qt, asyncio), read the session's and the data log's state, queue
calls (``Session.commands``) and change the run's status
(pause/resume/stop). It must not draw into the stimulus window or leave
another GL context current (the frame hook makes PsychoPy's current again
after every pump), must not start a run (refused: ``RunInProgressError``),
and must not block waiting for the main thread (it is the main thread).

Where ``setitimer`` is missing (Windows), a ``sys.setprofile`` hook makes the
same check every ``check_every`` Python calls instead (it slows Python code
while a run is in progress).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["StallGuard", "WAITING_FUNCTIONS"]

log = logging.getLogger(__name__)

#: PsychoPy's waiting functions, ``(module, qualified name)``: the console is served inside them
WAITING_FUNCTIONS = (
    ("psychopy.clock", "wait"),
    ("psychopy.event", "waitKeys"),
    ("psychopy.hardware.keyboard", "Keyboard.waitKeys"),
    ("psychopy.hardware.keyboard", "KeyboardDevice.waitKeys"),
)


def _waiting_codes() -> set[Any]:
    import importlib

    codes = set()
    for module_name, qualname in WAITING_FUNCTIONS:
        try:
            obj: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                obj = getattr(obj, part)
        except Exception:  # a PsychoPy without it (or no display for its import)
            continue
        code = getattr(getattr(obj, "__func__", obj), "__code__", None)
        if code is not None:
            codes.add(code)
    return codes


def _psychopy_file_writers() -> frozenset[str]:
    """The source files of PsychoPy's log and output-file writing (see the rule, item 2)."""
    import importlib.util

    files = set()
    for name in ("psychopy.logging", "psychopy.tools.filetools"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.origin:
            files.add(spec.origin)
    return frozenset(files)


def _psychopy_data_dir() -> str | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec("psychopy.data")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return os.path.dirname(spec.origin) + os.sep


class StallGuard:
    """Serves the console during a run's stretches with no flips (see the module docstring).

    Args:
        pump: serves the console (``FrameHook.pump_now``).
        stall_limit_s: how long the console may go unserved before the timer fires, seconds.
        poll_s: when a deferral found no allowed point in ``defer_s``, try again after this, seconds.
        defer_s: how long a deferral's profile hook may wait for an allowed point, seconds.
        check_every: profile mode (no ``setitimer``): check every this many calls.
    """

    SIGNAL = getattr(signal, "SIGALRM", None)

    def __init__(
        self,
        pump: Callable[[], None],
        stall_limit_s: float = 0.03,
        poll_s: float = 0.005,
        defer_s: float = 0.02,
        check_every: int = 200,
    ):
        self._pump = pump
        self.stall_limit_s = stall_limit_s
        self.poll_s = poll_s
        self.defer_s = defer_s
        self.check_every = check_every
        self.last_served = time.perf_counter()
        #: times the console was served from an interruption (timer or deferral)
        self.interruptions = 0
        #: interruptions that landed where the rule forbids serving (a deferral followed)
        self.deferrals = 0
        self._count = 0
        self._enabled = False
        self._mode: str | None = None
        self._previous_handler: Any = None
        self._boundary: frozenset = frozenset()
        self._folders: tuple[str, ...] = ()
        self._files: frozenset[str] = frozenset()
        self._allowed: dict[Any, bool] = {}  # code object -> the rule's verdict for its frames
        self._waiting: set[Any] | None = None
        self._data_dir: str | None = None
        self._writers: frozenset[str] = frozenset()
        self._defer_until = 0.0

    # -- the rule ---------------------------------------------------------------
    def configure(
        self,
        boundary_codes: Iterable[Any] = (),
        experiment_files: Iterable[str | os.PathLike] = (),
        experiment_folders: Iterable[str | os.PathLike] = (),
    ) -> None:
        """Set what :meth:`may_serve` allows (see :meth:`enable` for the arguments)."""
        if self._waiting is None:
            self._waiting = _waiting_codes()
            self._data_dir = _psychopy_data_dir()
            self._writers = _psychopy_file_writers()
        self._boundary = frozenset(boundary_codes)
        self._files = frozenset(str(f) for f in experiment_files)
        self._folders = tuple(str(f).rstrip(os.sep) + os.sep for f in experiment_folders) or ("\0",)
        self._allowed = {}

    def _code_allowed(self, code: Any) -> bool:
        verdict = self._allowed.get(code)
        if verdict is None:
            name = code.co_filename
            verdict = (
                name in self._files
                or name.startswith(self._folders)
                or code in (self._waiting or ())
                or (self._data_dir is not None and name.startswith(self._data_dir))
                or name in self._writers
            )
            self._allowed[code] = verdict
        return verdict

    def may_serve(self, frame: Any) -> bool:
        """The rule: ``True`` when every frame from ``frame`` up to the boundary is allowed.

        A stack that never reaches the boundary (code outside a run step) is not served.
        """
        boundary = self._boundary
        while frame is not None:
            code = frame.f_code
            if code in boundary:
                return True
            if not self._code_allowed(code):
                return False
            frame = frame.f_back
        return False

    def served(self) -> None:
        """Note that the console has just been served (called by the frame hook): the timer restarts."""
        self.last_served = time.perf_counter()
        if self._mode == "timer":
            if sys.getprofile() == self._deferred:  # served anyway: the deferral is moot
                sys.setprofile(None)
            self._arm(self.stall_limit_s)

    def _arm(self, seconds: float) -> None:
        signal.setitimer(signal.ITIMER_REAL, seconds)

    def _serve(self) -> None:
        self.last_served = time.perf_counter()
        self.interruptions += 1
        try:
            self._pump()
        except Exception:  # never break the experiment from an interruption
            log.exception("console pump failed during a stretch with no flips")
        self.last_served = time.perf_counter()

    # -- timer mode (POSIX) ---------------------------------------------------
    def _on_signal(self, signum: int, frame: Any) -> None:
        if not self._enabled or self._mode != "timer":
            return
        if self.may_serve(frame):
            self._serve()
            # the pump restarts the timer (served()); a pump that did not run
            # (one is already running further up the stack) must not leave it off
            if signal.getitimer(signal.ITIMER_REAL)[0] == 0.0:
                self._arm(self.stall_limit_s)
            return
        self.deferrals += 1
        if sys.getprofile() is None:
            self._defer_until = time.perf_counter() + self.defer_s
            sys.setprofile(self._deferred)
        else:
            self._arm(self.poll_s)  # someone else profiles: only retry from the timer

    def _deferred(self, frame: Any, event: str, arg: Any) -> None:
        """Profile hook of a deferral: serve at the first return into allowed code."""
        if event == "return":
            frame = frame.f_back  # the caller, which resumes now
        elif event != "c_return":
            if event == "call" and time.perf_counter() > self._defer_until:
                sys.setprofile(None)
                if self._enabled:
                    self._arm(self.poll_s)
            return
        if frame is None or not self._enabled or not self.may_serve(frame):
            return
        sys.setprofile(None)
        self._serve()
        if signal.getitimer(signal.ITIMER_REAL)[0] == 0.0:
            self._arm(self.stall_limit_s)

    # -- profile mode (fallback) ------------------------------------------------
    def _profile(self, frame: Any, event: str, arg: Any) -> None:
        self._count += 1
        if self._count < self.check_every:
            return
        self._count = 0
        if time.perf_counter() - self.last_served > self.stall_limit_s and self.may_serve(frame):
            self._serve()

    def enable(
        self,
        boundary_codes: Iterable[Any] = (),
        experiment_files: Iterable[str | os.PathLike] = (),
        experiment_folders: Iterable[str | os.PathLike] = (),
    ) -> None:
        """Start guarding for one run (main thread only).

        Args:
            boundary_codes: code objects of the session's own run steps (where the
                walk up the interrupted stack stops: the experiment runs below them).
            experiment_files: the experiment's own files (its compiled Builder script).
            experiment_folders: folders whose files are the experiment's code.
        """
        if self._enabled or threading.current_thread() is not threading.main_thread():
            return
        self.configure(boundary_codes, experiment_files, experiment_folders)
        self.last_served = time.perf_counter()
        if self.SIGNAL is not None and hasattr(signal, "setitimer"):
            if signal.getitimer(signal.ITIMER_REAL)[0] or signal.getsignal(self.SIGNAL) not in (
                signal.SIG_DFL,
                signal.SIG_IGN,
                None,
            ):
                log.info("SIGALRM is in use; the console may stall between flips during this run")
                return
            self._previous_handler = signal.signal(self.SIGNAL, self._on_signal)
            self._mode = "timer"
            self._enabled = True
            self._arm(self.stall_limit_s)
            return
        if sys.getprofile() is not None:
            log.info("a profiler is active; the console may stall between flips")
            return
        self._mode = "profile"
        self._enabled = True
        sys.setprofile(self._profile)

    def disable(self) -> None:
        """Stop guarding (main thread only); a pending deferral is dropped."""
        if not self._enabled:
            return
        self._enabled = False
        if self._mode == "timer":
            self._arm(0.0)  # disarm
            if self.SIGNAL is not None:
                signal.signal(self.SIGNAL, self._previous_handler or signal.SIG_DFL)
            if sys.getprofile() == self._deferred:
                sys.setprofile(None)
        elif self._mode == "profile":
            sys.setprofile(None)
        self._mode = None
