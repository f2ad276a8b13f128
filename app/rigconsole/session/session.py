"""``rigconsole.Session``: a drop-in for ``psychopy.session.Session``.

Same constructor, public methods and public attributes as PsychoPy 2026.2's
``Session`` (see ``psychopy/session.py``), so code written against it, and
experiments that receive ``thisSession`` in ``run()``, work unchanged. On top:

- experiments load by file path in isolation (see :mod:`.loader`), broken
  files are listed with a reason, edited files are reloaded, and each run
  happens in its experiment's own folder;
- expInfo follows PsychoPy's key conventions and may be given partially
  (see :mod:`.expinfo`);
- a main-thread command queue (see :mod:`.commands`) that the console's
  Qt/asyncio loop drains;
- pause, resume and stop work for Builder and plain scripts, with a pause
  loop that keeps flipping the window and serving the console;
- a run that raises or calls ``core.quit()`` ends as failed; the session and
  its window stay usable;
- announcements through :class:`.runs.SessionEvents` (Qt-free).
"""
from __future__ import annotations

import ast
import gc
import inspect
import logging
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from . import expinfo as _expinfo
from .commands import CommandQueue, is_main_thread
from ..frame_budget import FrameBudget
from .frames import FrameHook, frame_stats
from .loader import EXPERIMENT_SUFFIXES, ExperimentFile, ExperimentLoadError, file_signature, load_experiment
from .runs import RunInProgressError, RunRecord, RunState, RunStopped, SessionEvents

__all__ = ["Session", "RunInProgressError", "UnknownExperimentError"]

log = logging.getLogger("rigconsole.session")

# psychopy.constants values (kept literal so this module imports without psychopy)
NOT_STARTED, STARTED, PAUSED, FINISHED = 0, 1, 2, -1

SKIP_DIRS = {"data", "__pycache__", "node_modules"}


class UnknownExperimentError(KeyError):
    """No experiment is registered under that key."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it one plain line
        return str(self.args[0]) if self.args else "unknown experiment"


def _accepts(fn: Callable, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _script_precheck(path: Path) -> str | None:
    """Check a ``.py`` file without running it: a syntax error or missing functions."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as err:
        return f"syntax error (line {err.lineno}): {err.msg}"
    except (OSError, UnicodeDecodeError) as err:
        return f"cannot read the file: {err}"
    names = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    missing = [fn for fn in ("setupData", "run") if fn not in names]
    if missing:
        return f"not an experiment script: missing {', '.join(f + '()' for f in missing)}"
    return None


class Session:
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
    ):
        from psychopy import constants, core, data, logging as pslogging
        from psychopy.tools.arraytools import AliasDict

        self.root = Path(root)
        if not self.root.is_absolute():
            self.root = self.root.absolute()
        if not self.root.is_dir():
            raise NotADirectoryError(f"experiment root folder does not exist: {self.root}")
        self.restMsg = restMsg
        if dataDir is None:
            dataDir = self.root / "data" / str(core.Clock().getTime(format="%Y-%m-%d_%H-%M-%S-%f"))
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
        self.stop_grace_s = stop_grace_s

        self.events = SessionEvents()
        self.commands = CommandQueue()
        self.frame_hook = FrameHook(self._on_frame, simulated_vsync_hz=simulated_vsync_hz,
                                    submit=self.commands.submit)
        self.experiment_files: dict[str, ExperimentFile] = {}
        self.experimentObjects: dict[str, Any] = {}
        self.run_records: list[RunRecord] = []
        self._data_log = None
        self._instruments: Mapping[str, Any] = MappingProxyType({})
        self.runs: list[Any] = []
        self.currentExperiment = None
        self.liaison = liaison
        self.params = AliasDict(params or {})
        self._win = None
        self._win_params: dict[str, Any] | None = None
        self._run: RunRecord | None = None
        self._alive = False
        self._last_status: int | None = None
        self._stop_at: float | None = None
        self._intervals_sent = 0
        self._last_interval_emit = 0.0
        self._module_has_pause = True

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

    def connect_console(self, pump: Callable[[float], None] | None,
                        wakeup: Callable[[], None] | None = None) -> None:
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
        if self._run is not None and data_log is not self._data_log:
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
        return self._win

    @win.setter
    def win(self, value):
        self._win = value
        if value is not None:
            self.frame_hook.attach(value)
        else:
            self.frame_hook.detach()

    def _window_usable(self) -> bool:
        return self._win is not None and not getattr(self._win, "_closed", False)

    def _ensure_window(self) -> None:
        if self._window_usable():
            return
        params = dict(self._win_params or {})
        if self._win is not None:
            log.warning("the stimulus window was closed by the last run; opening it again")
        self._win = None
        self.setupWindowFromParams(params or {"size": [800, 600], "fullscr": False, "units": "height"})

    def setupWindowFromParams(self, params, measureFrameRate=False, recreate=True, blocking=True):
        """Create the window, or update it, from ``psychopy.visual.Window`` arguments (PsychoPy API)."""
        if not is_main_thread():
            return self.commands.call(self.setupWindowFromParams, params, measureFrameRate, recreate, blocking=blocking)
        params = dict(params)
        self._win_params = dict(params)
        needs_recreate = False
        if self._window_usable():
            for param in ("fullscr", "size", "pos", "screen"):
                if param in params:
                    current = getattr(self._win, param, None)
                    try:
                        same = list(current) == list(params[param])
                    except TypeError:
                        same = current == params[param]
                    if not same:
                        needs_recreate = True
        if self._win is not None and (not self._window_usable() or (recreate and needs_recreate)):
            try:
                if self._window_usable():
                    self._win.close()
            finally:
                self.win = None
        if self._win is None:
            from psychopy.visual import Window
            params.setdefault("checkTiming", False)
            self.win = Window(**params)
            if self.simulated_vsync_hz:
                self._win._monitorFrameRate = float(self.simulated_vsync_hz)
            self._win.showMessage(self.restMsg)
        else:
            for name in ("color", "colorSpace", "backgroundImage", "backgroundFit", "units"):
                if name in params:
                    setattr(self._win, name, params[name])
        self._win.title = "PsychoPy Session"
        if measureFrameRate:
            rate = self.getFrameRate(retest=True)
            info = self.getCurrentExpInfo()
            if info is not False:
                info["frameRate"] = rate
        return True

    def setupWindowFromExperiment(self, key, expInfo=None, blocking=True):
        """Set the window up with an experiment's ``setupWindow`` (PsychoPy API)."""
        if not is_main_thread():
            return self.commands.call(self.setupWindowFromExperiment, key, expInfo, blocking=blocking)
        entry = self._entry(key)
        if expInfo is None:
            expInfo = self.getExpInfoFromExperiment(key)
        self._setup_window_with(entry.module, expInfo)
        return True

    def _setup_window_with(self, module, expInfo) -> None:
        """Call a module's ``setupWindow`` on the session window; adopt a window it returns instead."""
        win = module.setupWindow(expInfo=expInfo, win=self._win) if hasattr(module, "setupWindow") else None
        if win is not None and win is not self._win:
            self.win = win
        if self._win is not None:
            self._win.title = "PsychoPy Session"

    def getFrameRate(self, retest=False):
        """The window's measured frame rate, Hz (PsychoPy API)."""
        if retest or self._win._monitorFrameRate is None:
            self._win._monitorFrameRate = self.simulated_vsync_hz or self._win.getActualFrameRate()
        return self._win._monitorFrameRate

    # -------------------------------------------------------------- experiments
    @property
    def experiments(self) -> dict[str, Any]:
        """``{key: module}`` of the experiments that loaded (PsychoPy API); broken ones are in :attr:`experiment_files`."""
        return {k: e.module for k, e in self.experiment_files.items() if e.module is not None}

    def key_for(self, path: str | os.PathLike) -> str:
        """The key an experiment file is registered under by default: its path relative
        to :attr:`root` with ``/`` separators (``"gonogo/gonogo.py"``, PsychoPy's
        convention), or its absolute path when it lies outside root. A relative
        ``path`` is taken relative to root."""
        file = Path(path)
        if not file.is_absolute():
            file = self.root / file
        file = file.absolute()
        try:
            return file.relative_to(self.root).as_posix()
        except ValueError:
            return str(file)

    def addExperiment(self, file, key=None, folder=None):
        """Register an experiment file (``.py`` or ``.psyexp``) under ``key`` (PsychoPy API).

        Unlike PsychoPy, nothing is copied or written into the experiment's
        folder, and a file that does not load is registered as broken (see
        :attr:`experiment_files`) instead of raising.

        Args:
            file: path, absolute or relative to :attr:`root`.
            key: the name to refer to it by; default: its path relative to
                root, e.g. ``"GoNoGo/gng.psyexp"`` (PsychoPy's default).
            folder: ignored (PsychoPy uses it to copy experiments into root).

        Returns:
            ``True`` if it loaded, ``False`` if it is broken.
        """
        file = Path(file)
        if not file.is_absolute():
            file = self.root / file
        file = file.absolute()
        if key is None:
            key = self.key_for(file)
        entry = self._load(file, key)
        self.experiment_files[key] = entry
        self.experimentObjects.setdefault(key, None)
        self.events.experiments_changed.emit()
        return not entry.broken

    def _load(self, file: Path, key: str) -> ExperimentFile:
        if file.suffix == ".py" and file.is_file():
            reason = _script_precheck(file)
            if reason is not None:
                entry = ExperimentFile(key=key, path=file, error=reason)
                try:
                    entry.signature = file_signature(file)
                except OSError:
                    pass
                log.warning("experiment %s is broken: %s", key, reason)
                return entry
        elif file.suffix not in EXPERIMENT_SUFFIXES:
            return ExperimentFile(key=key, path=file, error=f"not an experiment file (expected .py or .psyexp): {file.name}")
        entry = load_experiment(file, key, self.cache_dir)
        if entry.broken:
            log.warning("experiment %s is broken: %s", key, entry.error)
        else:
            log.info("loaded experiment %s", key)
        return entry

    def set_root(self, root) -> None:
        """Switch to another experiment root folder and register what is in it.

        Raises:
            RunInProgressError: a run is in progress.
            NotADirectoryError: the folder does not exist.
        """
        root = Path(root).absolute()
        if self._run is not None:
            raise RunInProgressError("cannot change the experiment folder during a run")
        if not root.is_dir():
            raise NotADirectoryError(f"experiment root folder does not exist: {root}")
        self.root = root
        self.experiment_files.clear()
        self.experimentObjects.clear()
        self.scanRoot()
        self.events.experiments_changed.emit()

    def set_data_dir(self, data_dir) -> None:
        """Write the next runs' data to another folder (created if needed).

        Raises:
            RunInProgressError: a run is in progress.
            OSError: the folder cannot be created.
        """
        if self._run is not None:
            raise RunInProgressError("cannot change the data folder during a run")
        data_dir = Path(data_dir).absolute()
        data_dir.mkdir(parents=True, exist_ok=True)
        self.dataDir = data_dir

    def warm_up(self) -> float:
        """Load PsychoPy's lazily loaded drawing machinery before any run.

        The first stimuli a process creates import and initialise fonts
        (freetype), text layout, shaders and textures: measured ~0.3-0.5 s
        with no flip, which would freeze the console at the start of the
        first run. This draws one of each common stimulus into the back
        buffer and clears it (nothing is shown).

        Returns:
            Seconds it took.
        """
        from psychopy import visual

        t0 = time.perf_counter()
        self._ensure_window()
        win = self._win
        stims = [
            visual.TextStim(win, text="warm-up", height=0.05),
            visual.TextBox2(win, text="warm-up", letterHeight=0.05, size=(0.5, 0.1)),
            visual.GratingStim(win, tex="sin", mask="gauss", size=0.2),
            visual.ImageStim(win, image=None, size=0.1),
            visual.Rect(win, width=0.1, height=0.1),
            visual.Circle(win, radius=0.05),
        ]
        for stim in stims:
            try:
                stim.draw()
            except Exception:  # a stimulus type this rig cannot draw: not our business here
                log.debug("warm-up: could not draw %s", type(stim).__name__, exc_info=True)
        win.clearBuffer()
        self.tidy_heap()
        return time.perf_counter() - t0

    @staticmethod
    def tidy_heap() -> None:
        """Collect garbage now and move every live object out of the collector's view.

        A full (generation 2) garbage collection scans every object of the
        process: measured 25-150 ms here with PsychoPy, Qt and pandas loaded,
        a stall in the middle of a run. ``gc.freeze()`` keeps the objects that
        exist now out of later collections, so collections during a run only
        scan what the run allocates. Called after the warm-up and after every
        run (when no experiment is running).
        """
        gc.collect()
        gc.freeze()

    def removeExperiment(self, key: str) -> bool:
        """Unregister an experiment (the file is left alone). Returns ``False`` if unknown."""
        if key not in self.experiment_files:
            return False
        del self.experiment_files[key]
        self.experimentObjects.pop(key, None)
        self.events.experiments_changed.emit()
        return True

    def discover(self) -> list[Path]:
        """Experiment files under :attr:`root`: ``.psyexp`` files and ``.py`` scripts.

        Skips hidden folders, ``data`` folders and ``__pycache__``, and a
        ``.py`` that sits beside a ``.psyexp`` of the same name (Builder's
        compiled output). Sorted by path.
        """
        found = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")) and d not in SKIP_DIRS)
            depth = len(Path(dirpath).relative_to(self.root).parts)
            if depth >= 4:
                dirnames[:] = []
            stems = {Path(f).stem for f in filenames if f.endswith(".psyexp")}
            for name in sorted(filenames):
                p = Path(dirpath) / name
                if name.startswith((".", "_")):
                    continue
                if p.suffix == ".psyexp" or (p.suffix == ".py" and p.stem not in stems):
                    found.append(p)
        return found

    def scanRoot(self) -> dict[str, ExperimentFile]:
        """Register every experiment under :attr:`root` and reload changed ones; drop vanished ones.

        Returns:
            :attr:`experiment_files`.
        """
        seen = set()
        changed = False
        for path in self.discover():
            key = self.key_for(path)
            seen.add(key)
            old = self.experiment_files.get(key)
            if old is None or old.is_stale():
                self.experiment_files[key] = self._load(path, key)
                changed = True
        for key in [k for k, e in self.experiment_files.items() if k not in seen and not e.path.exists()]:
            del self.experiment_files[key]
            changed = True
        if changed:
            self.events.experiments_changed.emit()
        return self.experiment_files

    def _entry(self, key: str) -> ExperimentFile:
        """The loaded experiment for ``key``, reloaded first if its file changed.

        Raises:
            UnknownExperimentError: no such key.
            ExperimentLoadError: the experiment is broken (message: the reason).
        """
        entry = self.experiment_files.get(key)
        if entry is None:
            known = ", ".join(sorted(self.experiment_files)) or "none"
            raise UnknownExperimentError(f"no experiment named {key!r} (registered: {known})")
        if entry.is_stale() and entry.path.exists() and (self._run is None or self._run.key != key):
            log.info("experiment %s changed on disk; loading it again", key)
            entry = self._load(entry.path, key)
            self.experiment_files[key] = entry
            self.events.experiments_changed.emit()
        if entry.broken:
            raise ExperimentLoadError(f"experiment {key!r} is broken: {entry.error}")
        return entry

    # ---------------------------------------------------------------- expInfo
    def getExpInfoFromExperiment(self, key, sessionParams=True):
        """The experiment's own expInfo dict (raw keys), with Session params applied (PsychoPy API)."""
        expInfo = self._entry(key).module.expInfo
        if sessionParams:
            for k in self.params.aliases:
                if k in expInfo:
                    del expInfo[k]
            for k in self.params:
                expInfo[k] = self.params[k]
        return expInfo

    def expInfoFields(self, key: str) -> list[_expinfo.ExpInfoField]:
        """The expInfo form fields of an experiment (see :func:`.expinfo.parse_exp_info`)."""
        entry = self._entry(key)
        entry.fields = _expinfo.parse_exp_info(self.getExpInfoFromExperiment(key))
        return entry.fields

    def resolveExpInfo(self, key: str, expInfo: dict | None = None) -> dict[str, Any]:
        """Complete a (partial) expInfo for a run: defaults, choices, ``date``, ``expName``.

        Raises:
            ExpInfoError: a value does not fit (one line saying which and why).
        """
        entry = self._entry(key)
        return _expinfo.resolve_exp_info(self.expInfoFields(key), expInfo, exp_name=entry.exp_name)

    def showExpInfoDlgFromExperiment(self, key, expInfo=None):
        """Run the experiment's ``showExpInfoDlg`` (PsychoPy API). The console uses its own form instead."""
        if expInfo is None:
            expInfo = self.getExpInfoFromExperiment(key)
        module = self._entry(key).module
        if hasattr(module, "showExpInfoDlg"):
            return module.showExpInfoDlg(expInfo=expInfo)
        return expInfo

    def getCurrentExpInfo(self):
        """The running experiment's expInfo, or ``False`` when none runs (PsychoPy API)."""
        if self.currentExperiment is None:
            return False
        return self.currentExperiment.extraInfo

    def setCurrentExpInfoItem(self, key, value):
        expInfo = self.getCurrentExpInfo()
        if expInfo is False:
            return expInfo
        keys = key if isinstance(key, (list, tuple)) else [key]
        values = value if isinstance(value, (list, tuple)) else [value] * len(keys)
        for k, v in zip(keys, values):
            expInfo[k] = v
        return True

    def getCurrentExpInfoItem(self, key):
        expInfo = self.getCurrentExpInfo()
        if expInfo is False:
            return expInfo
        if isinstance(key, (list, tuple)):
            return {k: expInfo[k] for k in key}
        if key in expInfo:
            return expInfo[key]
        return False

    def updateCurrentExpInfo(self, other):
        expInfo = self.getCurrentExpInfo()
        if expInfo is False:
            return expInfo
        expInfo.update(other)
        return True

    # ----------------------------------------------------------------- inputs
    def _force_keyboard_backend(self) -> None:
        from psychopy.hardware import DeviceManager
        from psychopy.hardware.keyboard import KeyboardDevice

        if self.keyboard_backend and KeyboardDevice._backend is None:
            KeyboardDevice._backend = self.keyboard_backend
        if KeyboardDevice._backend == "event":
            from .keyboard import install_event_backend_fix
            install_event_backend_fix()
        if DeviceManager.getDevice("defaultKeyboard") is None:
            DeviceManager.addDevice(
                deviceClass="psychopy.hardware.keyboard.KeyboardDevice",
                deviceName="defaultKeyboard", backend=self.keyboard_backend or None,
            )

    def setupDevicesFromExperiment(self, key, expInfo=None, thisExp=None, blocking=True):
        """Run the experiment's ``setupDevices`` keeping existing devices (PsychoPy API)."""
        if not is_main_thread():
            return self.commands.call(self.setupDevicesFromExperiment, key, expInfo, thisExp, blocking=blocking)
        from psychopy.hardware import DeviceManager

        module = self._entry(key).module
        if expInfo is None:
            expInfo = self.getExpInfoFromExperiment(key)
        og = DeviceManager.devices.copy()
        if hasattr(module, "setupDevices"):
            module.setupDevices(expInfo=expInfo, thisExp=thisExp, win=self._win)
        DeviceManager.devices.update(og)
        return True

    def setupInputsFromExperiment(self, key, expInfo=None, thisExp=None, blocking=True):
        """Legacy alias of :meth:`setupDevicesFromExperiment` (PsychoPy API)."""
        return self.setupDevicesFromExperiment(key, expInfo=expInfo, thisExp=thisExp, blocking=blocking)

    def addKeyboardFromParams(self, name, params, blocking=True):
        """Add a keyboard device (PsychoPy API)."""
        if not is_main_thread():
            return self.commands.call(self.addKeyboardFromParams, name, params, blocking=blocking)
        from psychopy.hardware import DeviceManager
        DeviceManager.addKeyboard(deviceName=name, **dict(params))
        return True

    def getRequiredDeviceNamesFromExperiment(self, key):
        """Device names a Builder experiment needs (PsychoPy API); ``ValueError`` for ``.py`` experiments."""
        entry = self._entry(key)
        if entry.kind != "builder":
            raise ValueError("Device names are not available for experiments added to Session directly as a .py file.")
        exp = self.experimentObjects.get(key)
        if exp is None:
            from psychopy import experiment
            exp = experiment.Experiment()
            exp.loadFromXML(str(entry.path))
            self.experimentObjects[key] = exp
        return exp.getRequiredDeviceNames()

    # ------------------------------------------------------------------- runs
    @property
    def current_run(self) -> RunRecord | None:
        """The run in progress, if any."""
        return self._run

    def runExperiment(self, key, expInfo=None, blocking=True):
        """Run one experiment to its end in the session window (PsychoPy API).

        Calls the experiment's ``setupData``, ``setupWindow``, ``setupInputs``
        (plain scripts), ``run`` and ``saveData``, from its own folder. From a
        thread other than the main one, ``blocking=False`` queues the run and
        returns ``True``; ``blocking=True`` waits for the main thread to run it.

        Args:
            key: the experiment's key.
            expInfo: a full or partial expInfo; missing values take the
                experiment's defaults, ``date`` and ``expName`` are filled in.

        Returns:
            ``True`` when the run finished or was stopped; ``False`` when it
            failed by calling ``core.quit()``/``sys.exit()``.

        Raises:
            RunInProgressError: another run is in progress.
            UnknownExperimentError, ExperimentLoadError, ExpInfoError: bad input; nothing ran.
            Exception: whatever the experiment raised (as PsychoPy's Session
                does), after the run was recorded as failed, its partial data
                saved and the window restored.
        """
        if not is_main_thread():
            return self.commands.call(self.runExperiment, key, expInfo, blocking=blocking)
        if self._run is not None:
            raise RunInProgressError(f"cannot start {key!r}: {self._run.key!r} is still running")
        entry = self._entry(key)
        exp_info = self.resolveExpInfo(key, expInfo)
        record = RunRecord(index=len(self.run_records) + 1, key=key, exp_info=exp_info)
        self._run = record
        try:
            return self._run_entry(entry, record)
        finally:
            self._run = None

    def _run_entry(self, entry: ExperimentFile, record: RunRecord) -> bool:
        from psychopy import logging as pslogging
        from psychopy.hardware.listener import loop as listenerLoop

        module = entry.module
        exp_info = record.exp_info
        self.run_records.append(record)
        self._stop_at = None
        self._last_status = None
        self._intervals_sent = 0
        before = self._snapshot_data()
        err: BaseException | None = None
        exited: SystemExit | None = None
        this_exp = None
        pause_fn = module.__dict__.get("pauseExperiment")
        self._module_has_pause = callable(pause_fn)
        old_cwd = os.getcwd()
        guard = self.frame_hook.guard
        log.info("run %d: starting %s with expInfo %s", record.index, record.key, exp_info)
        self.events.run_started.emit(record)
        if self.frame_hook.pump is not None:
            guard.boundary_codes = {Session._run_entry.__code__, Session._finish_run.__code__,
                                   Session.saveExperimentData.__code__}
            guard.enable()
        try:
            os.chdir(entry.folder)
            self._ensure_window()
            this_exp = module.setupData(expInfo=exp_info, dataDir=str(self.dataDir))
            if this_exp is None:
                raise RuntimeError("setupData() returned None: it must return a psychopy.data.ExperimentHandler")
            this_exp.name = record.key
            record.this_exp = this_exp
            self.currentExperiment = this_exp
            self._capture_trials(this_exp, record)
            self._force_keyboard_backend()
            self._win.hideMessage()
            self._setup_window_with(module, exp_info)
            self._win.flip()
            self._win.flip()
            self._win.stashAutoDraw()
            inputs = None
            if hasattr(module, "setupInputs"):
                inputs = module.setupInputs(expInfo=exp_info, thisExp=this_exp, win=self._win)
            try:
                listenerLoop.pause()
            except Exception:
                pass
            module.run.__globals__["logFile"] = self.logFile
            if self._module_has_pause:
                module.pauseExperiment = self._make_pause_loop(pause_fn, module)
            pslogging.info(f"Running experiment via Session: name={record.key}, expInfo={exp_info}")
            self.experimentClock.reset()
            record.t0_epoch = time.time()  # the experiment clock's zero, epoch s
            self._set_state(record, RunState.RUNNING)
            self.frame_hook.start_recording()
            kwargs = {"expInfo": exp_info, "thisExp": this_exp, "win": self._win}
            for name, value in (("inputs", inputs), ("globalClock", self.experimentClock), ("thisSession", self)):
                if _accepts(module.run, name):
                    kwargs[name] = value
            # serve the console (the run's RUNNING state, input) before the experiment's first
            # frame: that frame makes its stimuli's textures at their first draw (30 ms under
            # software GL) and often misses two blanks, and the console cannot be served
            # inside it; served only by the flips before, it waited up to half a period more
            self.frame_hook.pump_now()
            module.run(**kwargs)
        except RunStopped:
            log.warning("run %d: %s ignored the stop request; stopped it at a flip", record.index, record.key)
        except SystemExit as exc:
            exited = exc
            record.error = f"the experiment called core.quit()/sys.exit({exc.code})"
            record.traceback = traceback.format_exc()
        except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt stays a failure too
            err = exc
            text = str(exc).strip().splitlines()
            record.error = f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
            record.traceback = traceback.format_exc()
        finally:
            intervals = self.frame_hook.stop_recording()
            if len(intervals) > self._intervals_sent:
                self.events.frame_intervals.emit(record, intervals[self._intervals_sent:])
            record.frame_stats = dict(frame_stats(intervals, self.frame_hook.refresh_hz),
                                      console_overruns=self.frame_hook.overruns)
            if self._module_has_pause:
                module.pauseExperiment = pause_fn
            try:
                self._finish_run(record, entry, this_exp, before, old_cwd, listenerLoop)
            finally:
                guard.disable()
        if err is not None:
            raise err  # as PsychoPy's Session does, after the run was recorded and cleaned up
        return exited is None

    def _finish_run(self, record, entry, this_exp, before, old_cwd, listenerLoop) -> None:
        from psychopy import logging as pslogging

        try:
            if self._window_usable():
                try:
                    self._win.retrieveAutoDraw()
                except Exception:
                    log.debug("retrieveAutoDraw failed", exc_info=True)
            # the wrap-up has no flips: serve the console between its steps
            self.frame_hook.serve_if_due()
            try:
                listenerLoop.resume()
            except Exception:
                pass
            if this_exp is not None:
                this_exp.__dict__.pop("nextEntry", None)
                self.runs.append(this_exp)
                try:
                    self.saveExperimentData(record.key, thisExp=this_exp)
                except Exception:
                    log.exception("run %d: saving %s's data failed", record.index, record.key)
                    if record.error is None:
                        record.error = "saving data failed"
                        record.traceback = traceback.format_exc()
                self.frame_hook.serve_if_due()
        finally:
            try:
                os.chdir(old_cwd)
            except OSError:
                os.chdir(self.root)
            self.currentExperiment = None
            record.data_files = self._new_data_files(before, this_exp)
            self.frame_hook.serve_if_due()
            record.ended = time.time()
            if record.error is not None:
                state = RunState.FAILED
                log.error("run %d: %s failed: %s\n%s", record.index, record.key, record.error, record.traceback)
            elif record.stop_requested:
                state = RunState.STOPPED
                log.info("run %d: %s stopped after %d trials", record.index, record.key, record.n_trials)
            else:
                state = RunState.FINISHED
                log.info("run %d: %s finished, %d trials", record.index, record.key, record.n_trials)
            pslogging.info(f"Finished running experiment via Session: name={record.key}, expInfo={record.exp_info}")
            pslogging.flush()
            self.frame_hook.serve_if_due()
            try:
                self._ensure_window()
                self._win.showMessage(self.restMsg)
                self._win.color = "grey"
                self._win.flip()
            except Exception:
                log.exception("could not restore the stimulus window after the run")
            self._set_state(record, state)
            self.events.run_ended.emit(record)
            self.tidy_heap()

    def _snapshot_data(self) -> dict[str, int]:
        snap = {}
        for dirpath, _, filenames in os.walk(self.dataDir):
            for f in filenames:
                p = os.path.join(dirpath, f)
                try:
                    snap[p] = os.stat(p).st_mtime_ns
                except OSError:
                    pass
        return snap

    def _new_data_files(self, before: dict[str, int], this_exp) -> list[str]:
        after = self._snapshot_data()
        files = {p for p, m in after.items() if before.get(p) != m and not os.path.basename(p).startswith("session_")}
        stem = getattr(this_exp, "dataFileName", None)
        if stem:
            for ext in (".csv", ".psydat", ".log", ".tsv", ".hdf5"):
                if os.path.isfile(stem + ext):
                    files.add(os.path.abspath(stem + ext))
        return sorted(files)

    def _capture_trials(self, this_exp, record: RunRecord) -> None:
        """Announce every ``thisExp.nextEntry()`` row (wraps it on the instance for the run)."""
        original = this_exp.nextEntry

        def nextEntry():
            original()
            entry = this_exp.entries[-1] if this_exp.entries else {}
            # every column PsychoPy's CSV will have (dataNames, e.g. 'thisRow.t', 'notes'),
            # missing ones as None, then the entry's own keys (expInfo among them)
            row = {name: entry.get(name) for name in getattr(this_exp, "dataNames", [])}
            row.update(entry)
            record.n_trials += 1
            total = self._total_trials(this_exp, record)
            if total is not None:  # keep the last known total once the loop has ended
                record.total_trials = total
            try:
                self.events.trial_added.emit(record, row)
            except Exception:
                log.exception("a trial_added subscriber failed")

        this_exp.nextEntry = nextEntry

    @staticmethod
    def _total_trials(this_exp, record: RunRecord) -> int | None:
        for loop in getattr(this_exp, "loopsUnfinished", []) or []:
            n = getattr(loop, "nTotal", None)
            if isinstance(n, (int, float)) and n > 0:
                return int(n)
        n = record.exp_info.get("nTrials")
        try:
            return int(n) if n is not None else None
        except (TypeError, ValueError):
            return None

    def _set_state(self, record: RunRecord, state: str) -> None:
        if record.state != state:
            record.state = state
            self.events.run_state_changed.emit(record)

    def _make_pause_loop(self, original: Callable, module) -> Callable:
        """The console's pause loop, replacing the experiment's ``pauseExperiment`` during a run.

        Builder's loop spins on ``sleep`` without flipping, so the console and
        the window would freeze; this one flips the window (the frame hook
        serves the console on each flip) until the status leaves PAUSED, then
        does what Builder's does on resume: plays paused components again and
        shifts the given timers by the paused time.
        """
        try:
            sig = inspect.signature(original)
        except (TypeError, ValueError):
            sig = None

        def pauseExperiment(*args, **kwargs):
            bound = {}
            if sig is not None:
                try:
                    b = sig.bind_partial(*args, **kwargs)
                    bound = dict(b.arguments)
                except TypeError:
                    bound = dict(kwargs)
            this_exp = bound.get("thisExp", args[0] if args else None) or self.currentExperiment
            if this_exp is None or this_exp.status != PAUSED:
                return
            win = bound.get("win") or self._win
            timers = bound.get("timers") or []
            routine = bound.get("currentRoutine")
            playback = list(bound.get("playbackComponents") or bound.get("playbackComponets") or [])
            if routine is not None and hasattr(routine, "getPlaybackComponents"):
                playback += list(routine.getPlaybackComponents())
            self._pause_loop(this_exp, win, timers, playback)

        pauseExperiment.__wrapped__ = original
        return pauseExperiment

    def _pause_loop(self, this_exp, win, timers=(), playback=()) -> None:
        t0 = time.perf_counter()
        for comp in playback:
            try:
                comp.pause()
            except Exception:
                pass
        period = 1.0 / 60.0
        while this_exp.status == PAUSED:
            t = time.perf_counter()
            if win is not None and not getattr(win, "_closed", False):
                win.flip()  # keeps the stimulus window refreshed; drains the command queue
            else:
                self._on_frame(time.perf_counter())
            # paused, frame timing does not matter: serve the console every frame
            self.frame_hook.pump_now(0.008)
            spent = time.perf_counter() - t
            if spent < period:  # no vsync (or no window): do not spin
                time.sleep(period - spent)
        paused = time.perf_counter() - t0
        for comp in playback:
            try:
                comp.play()
            except Exception:
                pass
        for timer in timers:
            try:
                timer.addTime(-paused)
            except Exception:
                pass

    def _on_frame(self, now: float) -> None:
        """Per-flip work on the main thread: command queue, status, frame batches, stop grace."""
        if len(self.commands):
            self.commands.drain()
        record = self._run
        if record is None:
            return
        this_exp = self.currentExperiment
        status = getattr(this_exp, "status", None)
        if status != self._last_status:
            self._last_status = status
            if status == PAUSED:
                self._set_state(record, RunState.PAUSED)
            elif status == STARTED and record.state == RunState.PAUSED:
                self._set_state(record, RunState.RUNNING)
        hook = self.frame_hook
        n = len(hook.intervals)
        if hook.recording and n > self._intervals_sent and now - self._last_interval_emit > 0.5:
            self._last_interval_emit = now
            batch = hook.intervals[self._intervals_sent:n]
            self._intervals_sent = n
            self.events.frame_intervals.emit(record, batch)
        if status == PAUSED and not self._module_has_pause and this_exp is not None:
            # a script with no pauseExperiment: pause here, at its flip
            self._module_has_pause = True  # no recursion from the flips below
            try:
                self._pause_loop(this_exp, None)
            finally:
                self._module_has_pause = False
        if self._stop_at is not None and now - self._stop_at > self.stop_grace_s:
            self._stop_at = None
            raise RunStopped()

    def pauseExperiment(self):
        """Pause the running experiment (PsychoPy API); any thread. ``False`` if none runs."""
        if self.currentExperiment is None:
            log.warning("Could not pause experiment as there is none running.")
            return False
        self.currentExperiment.pause()
        log.info("pause requested")
        if is_main_thread() and self._run is not None:
            self._set_state(self._run, RunState.PAUSED)
        return True

    def resumeExperiment(self):
        """Resume the paused experiment (PsychoPy API); any thread. ``False`` if none runs."""
        if self.currentExperiment is None:
            log.warning("Could not resume experiment as there is none running or paused.")
            return False
        self.currentExperiment.resume()
        log.info("resume requested")
        if is_main_thread() and self._run is not None:
            self._set_state(self._run, RunState.RUNNING)
        return True

    def stopExperiment(self):
        """Stop the running experiment (PsychoPy API); any thread. ``False`` if none runs.

        Sets the ExperimentHandler's status to FINISHED, which Builder loops
        and well-behaved scripts check each frame. A script that ignores it is
        stopped at a flip after ``stop_grace_s``.
        """
        if self.currentExperiment is None or self._run is None:
            log.warning("Could not stop experiment as there is none running.")
            return False
        self._run.stop_requested = True
        self._stop_at = time.perf_counter()
        self.currentExperiment.stop()
        log.info("stop requested")
        return True

    def getStatus(self):
        """``psychopy.constants`` status of the current experiment; NOT_STARTED when none (PsychoPy API)."""
        if self.currentExperiment is None:
            return NOT_STARTED
        return self.currentExperiment.status

    def pauseLoop(self):
        if self.currentExperiment is None:
            log.warning("Could not pause loop as there is no experiment running.")
            return False
        if self.currentExperiment.currentLoop is self.currentExperiment:
            log.warning("Could not pause loop as the current experiment is not in a loop.")
            return False
        self.currentExperiment.currentLoop.status = PAUSED
        return True

    def getAllTrials(self):
        if self.currentExperiment is None:
            return None
        return self.currentExperiment.getAllTrials()

    def getCurrentTrial(self, asDict=False):
        if self.currentExperiment is None:
            return None
        trial = self.currentExperiment.getCurrentTrial()
        if asDict and trial is not None:
            trial = trial.getDict()
        return trial

    def getFutureTrial(self, n=1, asDict=False):
        if self.currentExperiment is None:
            return None
        trial = self.currentExperiment.getFutureTrial(n)
        if asDict and trial is not None:
            trial = trial.getDict()
        return trial

    def getFutureTrials(self, n=1, start=0, asDict=False):
        return [self.getFutureTrial(start + i, asDict=asDict) for i in range(n)]

    def next(self):
        if self.currentExperiment is None:
            return None
        return self.currentExperiment.next()

    def skipTrials(self, n=1):
        if self.currentExperiment is None:
            return None
        return self.currentExperiment.skipTrials(n)

    def rewindTrials(self, n=1):
        if self.currentExperiment is None:
            return None
        return self.currentExperiment.rewindTrials(n)

    def cueTrial(self, trial, isTrials=True):
        if self.currentExperiment is None:
            return None
        return self.currentExperiment.cueTrial(trial)

    # ------------------------------------------------------------------- data
    def saveExperimentData(self, key, thisExp=None, blocking=True):
        """Run the experiment's ``saveData`` on a run's ExperimentHandler (PsychoPy API)."""
        if not is_main_thread():
            return self.commands.call(self.saveExperimentData, key, thisExp, blocking=blocking)
        if thisExp is None:
            for run in reversed(self.runs):
                if run.name == key:
                    thisExp = run
                    break
        module = self._entry(key).module
        if hasattr(module, "saveData"):
            module.saveData(thisExp)
        else:
            thisExp.saveAsWideText(thisExp.dataFileName + ".csv", delim="auto")
        return True

    def saveCurrentExperimentData(self, blocking=True):
        if self.currentExperiment is None:
            return False
        return self.saveExperimentData(self.currentExperiment.name, thisExp=self.currentExperiment, blocking=blocking)

    def addAnnotation(self, value):
        """Annotate the data file and the log at this point (PsychoPy API)."""
        from psychopy import logging as pslogging
        if hasattr(self.currentExperiment, "addAnnotation"):
            self.currentExperiment.addAnnotation(value)
        pslogging.info(value)
        return True

    def addData(self, name, value, row=None, priority=None):
        """Add a value to the current trial row and the log (PsychoPy API)."""
        from psychopy import logging as pslogging
        if hasattr(self.currentExperiment, "addData"):
            self.currentExperiment.addData(name, value, row=row, priority=priority)
        pslogging.data(f"NAME={name}, PRIORITY={priority}, VALUE={value}")
        return True

    def sendExperimentData(self, key=None):
        """Send a run's data to the liaison, if any (PsychoPy API)."""
        if self.liaison is None:
            return None
        runs = list(self.runs) + ([self.currentExperiment] if self.currentExperiment is not None else [])
        if key is None:
            if not runs:
                return False
            key = runs[-1].name
        for run in reversed(runs):
            if run.name == key:
                self.sendToLiaison(run)
                return True
        return False

    def sendToLiaison(self, value):
        if self.liaison is None:
            log.warning("Could not send data to liaison server as none is initialised for this Session.")
            return None
        from psychopy import data
        if isinstance(value, data.ExperimentHandler):
            value = value.getJSON(priorityThreshold=self.priorityThreshold)
        self.liaison.broadcastSync(message=value)
        return True

    # -------------------------------------------------------------- lifecycle
    def getTime(self, format=str):
        return self.sessionClock.getTime(format=format)

    def getPsychoPyVersion(self):
        from psychopy import __version__
        return __version__

    def onIdle(self):
        """Keep the window showing the rest message and flush logs (PsychoPy API)."""
        if self._window_usable() and self._run is None:
            self._win.showMessage(self.restMsg)
            self._win.color = "grey"
            self._win.flip()
        self.logFile.logger.flush()

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
        if self._win is not None:
            try:
                if not getattr(self._win, "_closed", False):
                    self._win.close()
            finally:
                self.win = None
        try:
            self.logFile.logger.flush()
            self.logFile.logger.removeTarget(self.logFile)
        except Exception:
            pass
        return True

    def __repr__(self) -> str:
        return f"<rigconsole.Session root={str(self.root)!r} experiments={len(self.experiment_files)}>"
