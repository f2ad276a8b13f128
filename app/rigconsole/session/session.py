"""``rigconsole.Session``: a drop-in for ``psychopy.session.Session``, the facade over its parts.

Same constructor, public methods and public attributes as PsychoPy 2026.2's
``Session`` (see ``psychopy/session.py``, and the reference text
``psychopy-session-api.txt``), so code written against it, and experiments
that receive ``thisSession`` in ``run()``, work unchanged; PsychoPy's names
stay camelCase here, our extensions are PEP 8. The work is done by:

- :mod:`.registry`: the experiments (discover, load by file path in isolation,
  reload an edited file, broken entries with a reason);
- :mod:`.window`: the stimulus window kept open across runs;
- :mod:`.driver`: the run lifecycle, the pause loop, the stop grace, the trial
  capture (each run in its experiment's own folder; a run that raises or calls
  ``core.quit()`` ends as failed and the session stays usable);
- :mod:`.frames`: the frame pump, which serves the console between frames and
  implements :class:`rigconsole.frame_budget.FrameBudget`;
- :mod:`.commands`: the main-thread command queue; :mod:`.expinfo`: expInfo in
  PsychoPy's key conventions, possibly partial, and the expInfo methods;
  :mod:`.devices`: the device methods; :mod:`.running`: the methods acting on
  the running experiment.

Where PsychoPy's own methods crash or return other than they document, these
work and return what PsychoPy documents; every such difference is a row of the
table in docs/experiment-interface.md, pinned by tests/compat/test_session_parity.py.

Announcements go through :class:`.runs.SessionEvents` (Qt-free). The console
(or a headless loop) connects with :meth:`Session.connect_console`; the rig
core hands the session its data log (:meth:`Session.use_data_log`) and
instruments (:meth:`Session.use_instruments`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..frame_budget import FrameBudget
from .commands import CommandQueue, is_main_thread
from .devices import DevicesAPI
from .driver import RunDriver
from .expinfo import ExpInfoAPI
from .frames import FrameHook
from .loader import ExperimentFile
from .registry import ExperimentModules, ExperimentRegistry, UnknownExperimentError
from .running import RunningExperimentAPI
from .runs import RunInProgressError, RunRecord, SessionEvents
from .trial_nav import fixed_navigation
from .window import StimulusWindow, tidy_heap

__all__ = ["Session", "RunInProgressError", "UnknownExperimentError"]

log = logging.getLogger("rigconsole.session")


class Session(ExpInfoAPI, DevicesAPI, RunningExperimentAPI):
    """A set of experiments in one root folder, run one at a time in one window.

    Parameters mirror ``psychopy.session.Session``:

    Args:
        root: folder holding the experiments (``.py`` scripts and Builder
            ``.psyexp`` files, possibly in subfolders).
        dataDir: folder for data; default ``<root>/data/<timestamp>`` as in PsychoPy.
        clock: ``"iso"``, ``"float"``/``None`` or a strftime format, as in PsychoPy.
        win: a ``psychopy.visual.Window``, a dict of ``Window`` arguments, the
            key of an experiment whose ``setupWindow`` to use, or ``None``
            (created on first need).
        experiments: ``{key: path}`` to register at once.
        loggingLevel: level of the session log file (``dataDir/session_*.log``).
        priorityThreshold, params, liaison, restMsg: as in PsychoPy.

    Rig Console extensions (keyword-only):
        cache_dir: where compiled Builder scripts go (default: the platform
            cache folder).
        simulated_vsync_hz: make ``flip`` wait for a simulated vertical blank
            at this rate (Hz), for displays without vsync (Xvfb).
        keyboard_backend: PsychoPy keyboard backend forced for every
            experiment; default ``"event"``, which reads keys from the
            stimulus window only, so keys typed into the console never reach
            an experiment (Psychtoolbox's backend reads keys globally).
        stop_grace_s: seconds an experiment may keep flipping after a stop
            request before ``flip`` raises :class:`RunStopped` (for scripts
            that never check ``thisExp.status``).
        scan: register every experiment under ``root`` at construction.
        copy_outside_root: what :meth:`addExperiment` does with a file outside
            ``root`` by default: copy its folder into root, as PsychoPy does
            (``True``), or register it where it is (``False``: the console's
            rig, whose settings keep experiments from elsewhere).
        stimulus_area: ``(x, y, width, height)``, pixels on the stimulus window's
            screen, that a window which is not full screen keeps to (e.g. beside the
            console on a one-screen computer; see :meth:`set_stimulus_area`).

    Raises:
        NotADirectoryError: ``root`` does not exist.
    """

    def __init__(
        self,
        root,
        dataDir=None,
        clock="iso",
        win=None,
        experiments=None,
        loggingLevel="info",
        priorityThreshold=None,
        params=None,
        liaison=None,
        restMsg="Rest",
        *,
        cache_dir: str | os.PathLike | None = None,
        simulated_vsync_hz: float | None = None,
        keyboard_backend: str | None = "event",
        stop_grace_s: float = 1.0,
        scan: bool = False,
        copy_outside_root: bool = True,
        stimulus_area: tuple[int, int, int, int] | None = None,
    ):
        from psychopy import constants, core, data
        from psychopy import logging as pslogging
        from psychopy.tools.arraytools import AliasDict

        root = Path(root).absolute()
        if not root.is_dir():
            raise NotADirectoryError(f"experiment root folder does not exist: {root}")
        if dataDir is None:
            dataDir = root / "data" / str(core.Clock().getTime(format="%Y-%m-%d_%H-%M-%S-%f"))
        dataDir = Path(dataDir).absolute()
        dataDir.mkdir(parents=True, exist_ok=True)
        self.dataDir = dataDir
        wallTime = data.getDateStr(fractionalSecondDigits=6)
        self.logFile = pslogging.LogFile(
            str(dataDir / f"session_{wallTime}.log"), level=getattr(pslogging, loggingLevel.upper())
        )
        if liaison is not None:
            liaison.logger.addTarget(self.logFile)
        self.priorityThreshold = (constants.priority.EXCLUDE + 1) if priorityThreshold is None else priorityThreshold
        if cache_dir is None:
            import platformdirs

            cache_dir = Path(platformdirs.user_cache_dir("rigconsole")) / "compiled"
        self.cache_dir = Path(cache_dir)
        self.simulated_vsync_hz = simulated_vsync_hz
        self.keyboard_backend = keyboard_backend
        #: :meth:`addExperiment`'s default for files outside root (see :class:`Session`)
        self.copy_outside_root = copy_outside_root
        self.liaison = liaison
        self.params = AliasDict(params or {})

        self.events = SessionEvents()
        self.commands = CommandQueue()
        #: the frame pump (see :mod:`.frames`); its port is :attr:`frame_budget`
        self.frame_hook = FrameHook(self._on_frame, simulated_vsync_hz=simulated_vsync_hz, submit=self.commands.submit)
        self._registry = ExperimentRegistry(root, self.cache_dir, self.events.experiments_changed.emit)
        self._modules = ExperimentModules(self._registry)
        self._window = StimulusWindow(self.frame_hook, restMsg, simulated_vsync_hz)
        self._window.set_free_area(stimulus_area)
        self._driver = RunDriver(
            self._window,
            self.frame_hook,
            self.commands,
            self.events,
            stop_grace_s=stop_grace_s,
            prepare_inputs=self._force_keyboard_backend,
        )
        self._data_log = None
        self._instruments: Mapping[str, Any] = MappingProxyType({})
        self._alive = False

        self._force_keyboard_backend()
        if experiments is not None:
            for nm, exp in experiments.items():
                self.addExperiment(exp, key=nm)
        if scan:
            self.scanRoot()
        if isinstance(win, dict):
            self.setupWindowFromParams(win)
        elif isinstance(win, str) and win in self.experiment_files:
            self.setupWindowFromExperiment(win)
        elif win is not None:
            self.win = win

        def _make_clock(spec):
            if spec in (None, "float"):
                return core.Clock()
            if spec == "iso":
                return core.Clock(format=str)
            if isinstance(spec, str):
                return core.Clock(format=spec)
            return spec

        self.experimentClock = _make_clock(clock)
        self.sessionClock = _make_clock(clock if isinstance(clock, str) or clock is None else None)

    # ------------------------------------------------------- the console's ports
    @property
    def frame_budget(self) -> FrameBudget:
        """The frame pump's :class:`rigconsole.frame_budget.FrameBudget`: time left in a
        console pump, the quiet window after a flip, main-thread calls between frames."""
        return self.frame_hook

    def connect_console(self, pump: Callable[[float], None] | None, wakeup: Callable[[], None] | None = None) -> None:
        """Serve a console (the Qt loop, or a headless loop) between frames.

        Args:
            pump: ``pump(budget_s)`` processes the console's pending events for at
                most ``budget_s`` seconds; called on the main thread in each frame's
                slack, in stretches with no flips and in the pause loop.
            wakeup: called from any thread after a call is queued on
                :attr:`commands`, so the console's loop schedules a drain.
        """
        self.frame_hook.set_pump(pump)
        self.commands.set_wakeup(wakeup)

    def disconnect_console(self) -> None:
        """Stop serving the console (the session keeps working with no pump)."""
        self.frame_hook.set_pump(None)
        self.commands.set_wakeup(None)

    @property
    def data_log(self):
        """The session's HDF5 data log (:class:`rigconsole.datalog.DataLog`), or ``None``.

        Experiments log through it as ``thisSession.data_log.add_entry(name=value)``;
        set with :meth:`use_data_log` (by the rig core)."""
        return self._data_log

    def use_data_log(self, data_log) -> None:
        """Make ``data_log`` (a writable DataLog, or ``None``) the session's :attr:`data_log`.

        Raises:
            RunInProgressError: a run is in progress (its rows go to one log).
        """
        if self.current_run is not None and data_log is not self._data_log:
            raise RunInProgressError("cannot change the data log during a run")
        self._data_log = data_log

    @property
    def instruments(self) -> Mapping[str, Any]:
        """The rig's instruments by name (``thisSession.instruments["photometer"]``);
        read-only, empty when the rig has none."""
        return self._instruments

    def use_instruments(self, instruments: Mapping[str, Any] | None) -> None:
        """Offer ``instruments`` (name → instrument) to experiments; ``None``: none."""
        self._instruments = MappingProxyType(dict(instruments or {}))

    # ------------------------------------------------------------------ window
    @property
    def win(self):
        """The stimulus window shared by every run (``psychopy.visual.Window``)."""
        return self._window.win

    @win.setter
    def win(self, value):
        self._window.adopt(value)

    @property
    def restMsg(self) -> str:
        """The message shown between runs (PsychoPy API); settable, shown from the next rest."""
        return self._window.rest_msg

    @restMsg.setter
    def restMsg(self, value: str) -> None:
        self._window.rest_msg = str(value)

    def setupWindowFromParams(self, params, measureFrameRate=False, recreate=True, blocking=True):
        """Create the window, or update it, from ``psychopy.visual.Window`` arguments (PsychoPy API)."""
        if not is_main_thread():
            return self.commands.call(self.setupWindowFromParams, params, measureFrameRate, recreate, blocking=blocking)
        self._window.setup(params, recreate=recreate)
        if measureFrameRate:
            rate = self.getFrameRate(retest=True)
            info = self.getCurrentExpInfo()
            if info is not False:
                info["frameRate"] = rate
        return True

    def set_stimulus_area(self, area: tuple[int, int, int, int] | None) -> None:
        """Keep a stimulus window that is not full screen inside ``area`` (or anywhere: ``None``);
        see :meth:`.window.StimulusWindow.set_free_area`. During a run the window is at most
        moved; one that must change size gets it when it is next made. From any thread
        (done on the main thread).

        Raises:
            ValueError: an area with no width or height.
        """
        if not is_main_thread():
            self.commands.call(self.set_stimulus_area, area)
            return
        self._window.set_free_area(area, remake=self.current_run is None)

    @property
    def pilot_mode(self) -> bool:
        """PsychoPy's pilot mode as this session set it (:meth:`set_pilot_mode`)."""
        return self._window.pilot

    def set_pilot_mode(self, on: bool) -> None:
        """Runs from now on are pilot runs (``True``) or real ones: PsychoPy's global pilot mode
        (``psychopy.piloting.setPilotMode``, which Builder scripts and PsychoPy read) and PsychoPy's
        pilot-mode preferences (``prefs.piloting``) on the stimulus window: its piloting indicator, an
        orange border; a full-screen window made windowed (800x600 by default); the mouse shown
        (:meth:`.window.StimulusWindow.set_pilot`, which undoes them when pilot mode ends).
        A run started in pilot mode is marked (``RunRecord.pilot``, the ``piloting`` data column
        PsychoPy's Builder scripts write). Between runs the rest screen is shown again at once, with
        or without the border. Main thread, between runs (the run owner,
        :class:`rigconsole.plans.RunQueue`, sets it around a pilot item)."""
        from psychopy import piloting, prefs

        try:  # PsychoPy's "Pilot mode" preferences (what a Builder script applies in pilot mode)
            pref = dict(prefs.piloting)
        except (AttributeError, KeyError):
            pref = {}
        piloting.setPilotMode(bool(on))
        self._window.set_pilot(
            bool(on),
            border=bool(pref.get("showPilotingIndicator", True)),
            windowed_size=pref.get("forcedWindowSize", (800, 600)) if pref.get("forceWindowed", True) else None,
            mouse_visible=bool(pref.get("forceMouseVisible", True)),
        )
        if self.current_run is None and self._window.usable():
            self._window.show_rest()  # the subject screen says so between runs too (border on, or gone)

    def setupWindowFromExperiment(self, key, expInfo=None, blocking=True):
        """Set the window up with an experiment's ``setupWindow`` (PsychoPy API)."""
        if not is_main_thread():
            return self.commands.call(self.setupWindowFromExperiment, key, expInfo, blocking=blocking)
        entry = self._entry(key)
        if expInfo is None:
            expInfo = self.getExpInfoFromExperiment(key)
        self._window.setup_with(entry.module, expInfo)
        return True

    def getFrameRate(self, retest=False):
        """The window's measured frame rate, Hz (PsychoPy API)."""
        return self._window.frame_rate(retest)

    def warm_up(self) -> float:
        """Load PsychoPy's lazily loaded drawing code before any run (see
        :meth:`.window.StimulusWindow.warm_up`); returns the seconds it took."""
        return self._window.warm_up()

    @staticmethod
    def tidy_heap() -> None:
        """Collect garbage now and freeze what lives (see :func:`.window.tidy_heap`)."""
        tidy_heap()

    # -------------------------------------------------------------- experiments
    @property
    def root(self) -> Path:
        """The experiment root folder (absolute); change it with :meth:`set_root`."""
        return self._registry.root

    @property
    def experiment_files(self) -> dict[str, ExperimentFile]:
        """``{key: ExperimentFile}`` of every registered experiment, broken ones included."""
        return self._registry.files

    @property
    def experimentObjects(self) -> dict[str, Any]:
        """``{key: psychopy.experiment.Experiment | None}`` (PsychoPy API)."""
        return self._registry.objects

    @property
    def experiments(self) -> ExperimentModules:
        """``{key: module}`` of the experiments that loaded (PsychoPy API), a live mapping:
        ``del session.experiments[key]`` unregisters one, as in PsychoPy. Broken ones
        are in :attr:`experiment_files`."""
        return self._modules

    def key_for(self, path: str | os.PathLike) -> str:
        """The key an experiment file is registered under by default: its path relative
        to :attr:`root` with ``/`` separators (``"gonogo/gonogo.py"``, PsychoPy's
        convention), or its absolute path when it lies outside root. A relative
        ``path`` is taken relative to root."""
        return self._registry.key_for(path)

    def addExperiment(self, file, key=None, folder=None, *, copy_outside_root: bool | None = None):
        """Register an experiment file (``.py`` or ``.psyexp``) under ``key`` (PsychoPy API).

        As in PsychoPy, a file outside :attr:`root` has its folder (``folder``,
        default the file's own) copied into the root, and the copy is registered and
        run (see :meth:`.registry.ExperimentRegistry.copy_into_root`). Unlike
        PsychoPy, nothing is written into the experiment's folder (no
        ``__init__.py``, no compiled script), and a file that does not load is
        registered as broken (see :attr:`experiment_files`) instead of raising.

        Args:
            file: path, absolute or relative to :attr:`root`.
            key: the name to refer to it by; default: :meth:`key_for` the
                (copied) file, e.g. ``"GoNoGo/gng.psyexp"`` (PsychoPy's default).
            folder: the experiment's project folder, copied into root when it lies outside.
            copy_outside_root: (Rig Console) ``False`` registers a file outside the
                root where it is, under its absolute path (the rig's extra
                experiments); default: the session's :attr:`copy_outside_root`.

        Returns:
            ``True`` if it loaded, ``False`` if it is broken.

        Raises:
            ValueError, FileExistsError, OSError: the folder cannot be copied into
                root (one line saying why); nothing is registered.
        """
        if self.copy_outside_root if copy_outside_root is None else copy_outside_root:
            file = self._registry.copy_into_root(file, folder)
        return not self._registry.add(file, key).broken

    def removeExperiment(self, key: str) -> bool:
        """Unregister an experiment (the file is left alone). Returns ``False`` if unknown."""
        return self._registry.remove(key)

    def discover(self) -> list[Path]:
        """Experiment files under :attr:`root` (see :meth:`.registry.ExperimentRegistry.discover`)."""
        return self._registry.discover()

    def scanRoot(self) -> dict[str, ExperimentFile]:
        """Register every experiment under :attr:`root` and reload changed ones; drop vanished ones.

        Returns:
            :attr:`experiment_files`.
        """
        return self._registry.scan()

    def set_root(self, root) -> None:
        """Switch to another experiment root folder and register what is in it.

        Raises:
            RunInProgressError: a run is in progress.
            NotADirectoryError: the folder does not exist.
        """
        root = Path(root).absolute()
        if self.current_run is not None:
            raise RunInProgressError("cannot change the experiment folder during a run")
        if not root.is_dir():
            raise NotADirectoryError(f"experiment root folder does not exist: {root}")
        self._registry.set_root(root)

    def set_data_dir(self, data_dir) -> None:
        """Write the next runs' data to another folder (created if needed).

        Raises:
            RunInProgressError: a run is in progress.
            OSError: the folder cannot be created.
        """
        if self.current_run is not None:
            raise RunInProgressError("cannot change the data folder during a run")
        data_dir = Path(data_dir).absolute()
        data_dir.mkdir(parents=True, exist_ok=True)
        self.dataDir = data_dir

    def _entry(self, key: str) -> ExperimentFile:
        """The loaded experiment for ``key``, reloaded first if its file changed (not while it runs).

        Raises:
            UnknownExperimentError: no such key.
            ExperimentLoadError: the experiment is broken (message: the reason).
        """
        run = self.current_run
        return self._registry.entry(key, keep=run.key if run is not None else None)

    # ------------------------------------------------------------------- runs
    @property
    def current_run(self) -> RunRecord | None:
        """The run in progress, if any."""
        return self._driver.current

    @property
    def run_records(self) -> list[RunRecord]:
        """Every run of this session, oldest first."""
        return self._driver.records

    @property
    def runs(self) -> list[Any]:
        """The ExperimentHandler of every run that ended (PsychoPy API)."""
        return self._driver.handlers

    @property
    def currentExperiment(self):
        """The running experiment's ExperimentHandler, ``None`` between runs (PsychoPy API)."""
        return self._driver.current_experiment

    @property
    def stop_grace_s(self) -> float:
        """Seconds a script may keep flipping after a stop request (see :class:`Session`)."""
        return self._driver.stop_grace_s

    def runExperiment(self, key, expInfo=None, blocking=True):
        """Run one experiment to its end in the session window (PsychoPy API).

        Calls the experiment's ``setupData``, ``setupWindow``, ``setupInputs``
        (plain scripts), ``run`` and ``saveData``, from its own folder (see
        :mod:`.driver`). From a thread other than the main one,
        ``blocking=False`` queues the run and returns ``True``;
        ``blocking=True`` waits for the main thread to run it.

        Args:
            key: the experiment's key.
            expInfo: a full or partial expInfo; missing values take the
                experiment's defaults, ``date`` and ``expName`` are filled in.
                As in PsychoPy, a dict given here is the one the experiment
                gets and changes: it is completed in place (clean keys,
                defaults, typed values) before ``setupData``, and afterwards
                holds what the run wrote into it. ``None``: a new dict from
                the experiment's defaults (PsychoPy would hand over, and let
                the run change, the experiment's module-level ``expInfo``).

        Returns:
            ``True`` when the run finished or was stopped; ``False`` when it
            failed by calling ``core.quit()``/``sys.exit()``.

        Raises:
            RunInProgressError: another run is in progress.
            UnknownExperimentError, ExperimentLoadError, ExpInfoError: bad input; nothing ran.
            Exception: whatever the experiment raised (as PsychoPy's Session
                does), after the run was recorded as failed (or as finished
                with errors when every trial ran and PsychoPy's end-of-run
                export raised: :mod:`.outcomes`), its data saved and the
                window restored.
        """
        if not is_main_thread():
            return self.commands.call(self.runExperiment, key, expInfo, blocking=blocking)
        if self.current_run is not None:
            raise RunInProgressError(f"cannot start {key!r}: {self.current_run.key!r} is still running")
        entry = self._entry(key)
        exp_info = self.resolveExpInfo(key, expInfo)
        if isinstance(expInfo, dict):  # the caller's dict is the experiment's, as in PsychoPy
            expInfo.clear()
            expInfo.update(exp_info)
            exp_info = expInfo
        with fixed_navigation():  # skipTrials/rewindTrials as PsychoPy documents them (see .trial_nav)
            return self._driver.run(
                entry,
                exp_info,
                data_dir=str(self.dataDir),
                log_file=self.logFile,
                clock=self.experimentClock,
                this_session=self,
                save_data=self._save_run_data,
                guard_codes=(Session._save_run_data.__code__, Session.saveExperimentData.__code__),
            )

    def _save_run_data(self, key: str, this_exp) -> None:
        """The run driver's wrap-up step: the experiment's ``saveData`` through the PsychoPy API."""
        self.saveExperimentData(key, thisExp=this_exp)

    def _on_frame(self, now: float) -> None:
        """The frame hook's per-flip call (see :meth:`.driver.RunDriver.on_frame`)."""
        self._driver.on_frame(now)

    def pauseExperiment(self):
        """Pause the running experiment (PsychoPy API); any thread. ``False`` if none runs."""
        return self._driver.pause()

    def resumeExperiment(self):
        """Resume the paused experiment (PsychoPy API); any thread. ``False`` if none runs."""
        return self._driver.resume()

    def stopExperiment(self):
        """Stop the running experiment (PsychoPy API); any thread. ``False`` if none runs.

        Sets the ExperimentHandler's status to FINISHED, which Builder loops
        and well-behaved scripts check each frame. A script that ignores it is
        stopped at a flip after ``stop_grace_s``.
        """
        return self._driver.stop()

    # ------------------------------------------------------------------- data
    def saveExperimentData(self, key, thisExp=None, blocking=True):
        """Run the experiment's ``saveData`` on a run's ExperimentHandler (PsychoPy API).

        Args:
            thisExp: default: the last run of ``key`` (:attr:`runs`).

        Returns:
            ``True`` when saved (or queued, ``blocking=False`` from another
            thread); ``False`` when ``key`` has no run to save (PsychoPy's
            calls ``saveData(None)``, which raises).
        """
        if not is_main_thread():
            return self.commands.call(self.saveExperimentData, key, thisExp, blocking=blocking)
        if thisExp is None:
            for run in reversed(self.runs):
                if run.name == key:
                    thisExp = run
                    break
            else:
                log.warning("no run of %s to save", key)
                return False
        module = self._entry(key).module
        if hasattr(module, "saveData"):
            module.saveData(thisExp)
        else:
            thisExp.saveAsWideText(thisExp.dataFileName + ".csv", delim="auto")
        return True

    def saveCurrentExperimentData(self, blocking=True):
        """:meth:`saveExperimentData` of the running experiment (PsychoPy API); ``False`` if none runs."""
        if self.currentExperiment is None:
            return False
        return self.saveExperimentData(self.currentExperiment.name, thisExp=self.currentExperiment, blocking=blocking)

    # -------------------------------------------------------------- lifecycle
    def getTime(self, format=str):
        """The session clock's time (PsychoPy API): ``format=float`` seconds, ``str``
        (default) the ISO time, a strftime format, or ``None`` the clock's own style.
        PsychoPy 2026.2 returns a ``psychopy.clock.Timestamp`` (a float that prints
        in that format) for ``str`` and strftime formats, and so does this."""
        return self.sessionClock.getTime(format=format)

    def getPsychoPyVersion(self):
        """The installed PsychoPy's version string (PsychoPy API)."""
        from psychopy import __version__

        return __version__

    def onIdle(self):
        """Keep the window showing the rest message and flush logs (PsychoPy API)."""
        if self._window.usable() and self.current_run is None:
            self._window.show_rest()
        self.logFile.logger.flush()
        return True

    def start(self):
        """Drain the command queue on the main thread until :meth:`stop` (PsychoPy API).

        For use without the console (no Qt loop); from another thread it does
        nothing and returns ``True``, as PsychoPy's does.
        """
        if not is_main_thread() or self._alive:
            return True
        self._alive = True
        try:
            while self._alive:
                self.commands.drain()
                self.onIdle()
                time.sleep(0.01 if len(self.commands) == 0 else 0)
        finally:
            self._alive = False
        return True

    def stop(self):
        """End :meth:`start`'s loop (PsychoPy API). Safe from any thread."""
        self._alive = False

    def close(self, blocking=True):
        """Close the window and the log file (PsychoPy API)."""
        if not is_main_thread():
            return self.commands.call(self.close, blocking=blocking)
        self.stop()
        self._window.close()
        try:
            self.logFile.logger.flush()
            self.logFile.logger.removeTarget(self.logFile)
        except Exception:
            pass
        return True

    def __repr__(self) -> str:
        return f"<rigconsole.Session root={str(self.root)!r} experiments={len(self.experiment_files)}>"
