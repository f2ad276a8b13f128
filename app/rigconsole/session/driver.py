"""The run driver: one experiment run from set-up to wrap-up, in the session window.

A run calls the experiment's ``setupData``, ``setupWindow``, ``setupInputs``
(plain scripts), ``run`` and ``saveData`` (the experiment script interface,
as PsychoPy's ``Session.runExperiment`` does), from the experiment's own
folder, and moves its :class:`.runs.RunRecord` through
``starting → running ⇄ paused → finished | finished with errors | stopped | failed``.
On top of PsychoPy's Session it

- captures every ``thisExp.nextEntry()`` row as it is stored (``trial_added``);
- replaces the experiment's ``pauseExperiment`` during the run with a pause
  loop that keeps flipping the window and serving the console (Builder's
  spins on ``sleep``), and pauses scripts that have none at their next flip;
- stops a script that ignores ``thisExp.status == FINISHED`` at a flip after
  ``stop_grace_s`` (:class:`.runs.RunStopped`);
- ends a run that raises or calls ``core.quit()`` as failed, its partial data
  saved and the window restored, with where it raised (the experiment's file
  and line, routine, loop and trial);
- ends a run whose trials all ran but which raised in PsychoPy's end-of-run
  export or the experiment's ``saveData`` as *finished with errors*, every
  trial kept (the rule: :mod:`.outcomes`).

The per-flip work (:meth:`RunDriver.on_frame`) runs from the frame hook.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import os
import time
import traceback
from collections.abc import Callable
from typing import Any

from ..notifications import one_line
from .commands import CommandQueue, is_main_thread
from .frames import FrameHook, frame_stats
from .loader import ExperimentFile
from .outcomes import SAVE_DATA, RunOutcome, error_location, export_step, trials_complete, where_in_run
from .runs import RunRecord, RunState, RunStopped, SessionEvents
from .window import StimulusWindow, tidy_heap

__all__ = ["RunDriver", "NOT_STARTED", "STARTED", "PAUSED", "FINISHED"]

log = logging.getLogger("rigconsole.session")

# psychopy.constants values (kept literal so this module imports without psychopy)
NOT_STARTED, STARTED, PAUSED, FINISHED = 0, 1, 2, -1


def _accepts(fn: Callable, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class RunDriver:
    """Runs experiments one at a time; owns the run in progress and the run history.

    Args:
        window: the session's stimulus window.
        frame_hook: the session's frame pump (installed on the window).
        commands: the main-thread command queue, drained at every flip.
        events: where runs are announced.
        stop_grace_s: seconds a script may keep flipping after a stop request.
        prepare_inputs: called before each run's ``setupInputs`` (forces the
            keyboard backend).
    """

    def __init__(
        self,
        window: StimulusWindow,
        frame_hook: FrameHook,
        commands: CommandQueue,
        events: SessionEvents,
        *,
        stop_grace_s: float = 1.0,
        prepare_inputs: Callable[[], None] = lambda: None,
    ):
        self._window = window
        self._hook = frame_hook
        self._commands = commands
        self._events = events
        self.stop_grace_s = stop_grace_s
        self._prepare_inputs = prepare_inputs
        #: every run of this session, oldest first
        self.records: list[RunRecord] = []
        #: the ExperimentHandler of every finished run (PsychoPy's ``Session.runs``)
        self.handlers: list[Any] = []
        #: the running run's ExperimentHandler (PsychoPy's ``Session.currentExperiment``)
        self.current_experiment = None
        self._run: RunRecord | None = None
        self._last_status: int | None = None
        self._stop_at: float | None = None
        self._intervals_sent = 0
        self._last_interval_emit = 0.0
        self._module_has_pause = True

    @property
    def current(self) -> RunRecord | None:
        """The run in progress, if any."""
        return self._run

    # ------------------------------------------------------------- a whole run
    def run(
        self,
        entry: ExperimentFile,
        exp_info: dict[str, Any],
        *,
        data_dir: str,
        log_file: Any,
        clock: Any,
        this_session: Any,
        save_data: Callable[[str, Any], Any],
        guard_codes: tuple = (),
    ) -> bool:
        """Run ``entry`` with ``exp_info`` (resolved) to its end (main thread); see the module docstring.

        Args:
            data_dir: the data folder given to ``setupData``.
            log_file: the session's ``psychopy.logging.LogFile`` (the script's ``logFile``).
            clock: the experiment clock, reset right before ``run()`` (its ``globalClock``).
            this_session: what the experiment's ``run()`` gets as ``thisSession``.
            save_data: ``save_data(key, thisExp)`` saves a run's data (the session's
                ``saveExperimentData``).
            guard_codes: further code objects of the session's own steps of a run, where
                the stall guard's walk up the stack stops (see :mod:`.stall`).

        Returns:
            ``True`` when the run finished or was stopped (or finished with errors in
            its ``saveData``); ``False`` when it called ``core.quit()``/``sys.exit()``.

        Raises:
            Exception: whatever the experiment raised inside ``run()``, after the run
                was recorded (as failed, or finished with errors: see :mod:`.outcomes`).
        """
        from psychopy import logging as pslogging
        from psychopy import piloting
        from psychopy.hardware.listener import loop as listenerLoop

        record = RunRecord(
            index=len(self.records) + 1, key=entry.key, exp_info=exp_info, pilot=bool(piloting.getPilotMode())
        )
        self._run = record
        try:
            module: Any = entry.module  # a module: broken entries are refused before this
            self.records.append(record)
            self._stop_at = None
            self._last_status = None
            self._intervals_sent = 0
            before = self._snapshot_data(data_dir)
            err: BaseException | None = None
            exited: SystemExit | None = None
            this_exp = None
            pause_fn = module.__dict__.get("pauseExperiment")
            self._module_has_pause = callable(pause_fn)
            old_cwd = os.getcwd()
            hook = self._hook
            win = self._window
            files = [f for f in (entry.script_path, entry.path) if f]
            log.info("run %d: starting %s with expInfo %s", record.index, record.key, exp_info)
            self._events.run_started.emit(record)
            if hook.pump is not None:
                hook.guard.enable(
                    {RunDriver.run.__code__, RunDriver._finish.__code__, *guard_codes},
                    experiment_files=[entry.script_path or entry.path],
                    experiment_folders=[entry.folder],
                )
            try:
                # the set-up has no flips of its own: serve the console between its steps
                # (the stall guard serves inside the experiment's own code, see .stall)
                os.chdir(entry.folder)
                win.ensure()
                hook.serve_if_due()
                this_exp = module.setupData(expInfo=exp_info, dataDir=str(data_dir))
                if this_exp is None:
                    raise RuntimeError("setupData() returned None: it must return a psychopy.data.ExperimentHandler")
                hook.serve_if_due()
                this_exp.name = record.key
                if record.pilot:  # as a Builder script's setupData does: thisExp.addData('piloting', PILOTING)
                    this_exp.addData("piloting", True)
                record.this_exp = this_exp
                self.current_experiment = this_exp
                self._capture_trials(this_exp, record)
                self._prepare_inputs()
                hook.serve_if_due()
                win.win.hideMessage()
                win.setup_with(module, exp_info)
                hook.serve_if_due()
                win.win.flip()
                win.win.flip()
                win.win.stashAutoDraw()
                inputs = None
                if hasattr(module, "setupInputs"):
                    inputs = module.setupInputs(expInfo=exp_info, thisExp=this_exp, win=win.win)
                    hook.serve_if_due()
                try:
                    listenerLoop.pause()
                except Exception:
                    pass
                module.run.__globals__["logFile"] = log_file
                if self._module_has_pause:
                    module.pauseExperiment = self._make_pause_loop(pause_fn)
                pslogging.info(f"Running experiment via Session: name={record.key}, expInfo={exp_info}")
                clock.reset()
                record.t0_epoch = time.time()  # the experiment clock's zero, epoch s
                self._set_state(record, RunState.RUNNING)
                hook.start_recording()
                kwargs = {"expInfo": exp_info, "thisExp": this_exp, "win": win.win}
                for name, value in (("inputs", inputs), ("globalClock", clock), ("thisSession", this_session)):
                    if _accepts(module.run, name):
                        kwargs[name] = value
                # serve the console (the run's RUNNING state, input) before the experiment's first
                # frame: that frame makes its stimuli's textures at their first draw (30 ms under
                # software GL) and often misses two blanks, and the console cannot be served
                # inside it; served only by the flips before, it waited up to half a period more
                hook.pump_now()
                module.run(**kwargs)
            except RunStopped:
                log.warning("run %d: %s ignored the stop request; stopped it at a flip", record.index, record.key)
            except SystemExit as exc:
                exited = exc
                record.error = f"the experiment called core.quit()/sys.exit({exc.code})"
                record.traceback = traceback.format_exc()
            except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt stays a failure too
                err = exc
                record.error = one_line(exc)
                record.traceback = traceback.format_exc()
                self._locate(record, exc, files, this_exp)
                step = export_step(exc.__traceback__)
                if (
                    isinstance(exc, Exception)
                    and step
                    and not record.stop_requested
                    and trials_complete(this_exp, record)
                ):
                    record.raised_in = step  # every trial ran: finished with errors
            finally:
                intervals = hook.stop_recording()
                if len(intervals) > self._intervals_sent:
                    self._events.frame_intervals.emit(record, intervals[self._intervals_sent :])
                record.frame_stats = dict(frame_stats(intervals, hook.refresh_hz), console_overruns=hook.overruns)
                if self._module_has_pause:
                    module.pauseExperiment = pause_fn
                try:
                    self._finish(record, this_exp, before, old_cwd, listenerLoop, data_dir, save_data, files)
                finally:
                    hook.guard.disable()
            if err is not None:
                raise err  # as PsychoPy's Session does, after the run was recorded and cleaned up
            return exited is None
        finally:
            self._run = None

    @staticmethod
    def _locate(record: RunRecord, exc: BaseException, files: list, this_exp) -> None:
        """Record where ``exc`` was raised: the experiment's file and line, routine, loop, trial."""
        record.error_file, record.error_line = error_location(exc.__traceback__, files)
        try:
            record.where = where_in_run(this_exp) if this_exp is not None else ""
        except Exception:
            record.where = ""

    def _finish(self, record, this_exp, before, old_cwd, listenerLoop, data_dir, save_data, files=()) -> None:
        from psychopy import logging as pslogging

        hook = self._hook
        win = self._window
        try:
            if win.usable():
                try:
                    win.win.retrieveAutoDraw()
                except Exception:
                    log.debug("retrieveAutoDraw failed", exc_info=True)
            # the wrap-up has no flips: serve the console between its steps
            hook.serve_if_due()
            try:
                listenerLoop.resume()
            except Exception:
                pass
            if this_exp is not None:
                this_exp.__dict__.pop("nextEntry", None)
                self.handlers.append(this_exp)
                try:
                    save_data(record.key, this_exp)
                except Exception as exc:
                    log.exception("run %d: saving %s's data failed", record.index, record.key)
                    if record.error is None:
                        record.error = one_line(exc)
                        record.traceback = traceback.format_exc()
                        self._locate(record, exc, list(files), this_exp)
                        if not record.stop_requested:  # run() returned: every trial ran
                            record.raised_in = SAVE_DATA
                    if record.raised_in:  # finished with errors: every trial is kept in a CSV too
                        self._keep_csv(record, this_exp)
                hook.serve_if_due()
        finally:
            try:
                os.chdir(old_cwd)
            except OSError:
                os.chdir(data_dir)
            self.current_experiment = None
            record.data_files = self._new_data_files(before, this_exp, data_dir)
            hook.serve_if_due()
            record.ended = time.time()
            if record.error is not None and record.raised_in:
                state = RunState.FINISHED_WITH_ERRORS
                said = dataclasses.replace(RunOutcome.from_record(record), state=state)  # the one sentence
                log.warning(
                    "run %d: %s: %s\n%s",
                    record.index,
                    record.key,
                    said.sentence(traceback_hint=False),
                    record.traceback,
                )
            elif record.error is not None:
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
            hook.serve_if_due()
            try:
                win.show_rest()
            except Exception:
                log.exception("could not restore the stimulus window after the run")
            self._set_state(record, state)
            self._events.run_ended.emit(record)
            tidy_heap()

    # ------------------------------------------------------------- data files
    @staticmethod
    def _keep_csv(record: RunRecord, this_exp) -> None:
        """The experiment's ``saveData`` raised after every trial ran: if it wrote no CSV, write
        PsychoPy's wide CSV of the run (``<dataFileName>.csv``) so that every trial is kept."""
        stem = getattr(this_exp, "dataFileName", None)
        if not stem or os.path.isfile(stem + ".csv"):
            return
        try:
            this_exp.saveAsWideText(stem + ".csv", delim="auto")
            log.warning(
                "run %d: %s's saveData raised before writing its CSV; wrote PsychoPy's CSV of its %d trials: %s.csv",
                record.index,
                record.key,
                record.n_trials,
                stem,
            )
        except Exception:
            log.exception("run %d: could not write %s.csv either", record.index, stem)

    @staticmethod
    def _snapshot_data(data_dir) -> dict[str, int]:
        snap = {}
        for dirpath, _, filenames in os.walk(data_dir):
            for f in filenames:
                p = os.path.join(dirpath, f)
                try:
                    snap[p] = os.stat(p).st_mtime_ns
                except OSError:
                    pass
        return snap

    def _new_data_files(self, before: dict[str, int], this_exp, data_dir) -> list[str]:
        after = self._snapshot_data(data_dir)
        files = {p for p, m in after.items() if before.get(p) != m and not os.path.basename(p).startswith("session_")}
        stem = getattr(this_exp, "dataFileName", None)
        if stem:
            for ext in (".csv", ".psydat", ".log", ".tsv", ".hdf5"):
                if os.path.isfile(stem + ext):
                    files.add(os.path.abspath(stem + ext))
        return sorted(files)

    # ---------------------------------------------------------- trial capture
    def _capture_trials(self, this_exp, record: RunRecord) -> None:
        """Announce every ``thisExp.nextEntry()`` row (wraps it on the instance for the run)."""
        original = this_exp.nextEntry
        events = self._events

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
                events.trial_added.emit(record, row)
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
            self._events.run_state_changed.emit(record)

    # ------------------------------------------------------------ pause loop
    def _make_pause_loop(self, original: Callable) -> Callable:
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
            this_exp = bound.get("thisExp", args[0] if args else None) or self.current_experiment
            if this_exp is None or this_exp.status != PAUSED:
                return
            win = bound.get("win") or self._window.win
            timers = bound.get("timers") or []
            routine = bound.get("currentRoutine")
            playback = list(bound.get("playbackComponents") or bound.get("playbackComponets") or [])
            if routine is not None and hasattr(routine, "getPlaybackComponents"):
                playback += list(routine.getPlaybackComponents())
            self._pause_loop(this_exp, win, timers, playback)

        functools.update_wrapper(pauseExperiment, original, assigned=(), updated=())  # __wrapped__ only
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
                self.on_frame(time.perf_counter())
            # paused, frame timing does not matter: serve the console every frame
            self._hook.pump_now(0.008)
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

    # ------------------------------------------------------------- per flip
    def on_frame(self, now: float) -> None:
        """Per-flip work on the main thread: command queue, status, frame batches, stop grace.

        Raises:
            RunStopped: the stop grace ran out (from the experiment's flip).
        """
        if len(self._commands):
            self._commands.drain()
        record = self._run
        if record is None:
            return
        this_exp = self.current_experiment
        status = getattr(this_exp, "status", None)
        if status != self._last_status:
            self._last_status = status
            if status == PAUSED:
                self._set_state(record, RunState.PAUSED)
            elif status == STARTED and record.state == RunState.PAUSED:
                self._set_state(record, RunState.RUNNING)
        hook = self._hook
        n = len(hook.intervals)
        if hook.recording and n > self._intervals_sent and now - self._last_interval_emit > 0.5:
            self._last_interval_emit = now
            batch = hook.intervals[self._intervals_sent : n]
            self._intervals_sent = n
            self._events.frame_intervals.emit(record, batch)
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

    # ------------------------------------------------- control (any thread)
    def pause(self) -> bool:
        """Pause the running experiment; ``False`` if none runs."""
        if self.current_experiment is None:
            log.warning("Could not pause experiment as there is none running.")
            return False
        self.current_experiment.pause()
        log.info("pause requested")
        if is_main_thread() and self._run is not None:
            self._set_state(self._run, RunState.PAUSED)
        return True

    def resume(self) -> bool:
        """Resume the paused experiment; ``False`` if none runs."""
        if self.current_experiment is None:
            log.warning("Could not resume experiment as there is none running or paused.")
            return False
        self.current_experiment.resume()
        log.info("resume requested")
        if is_main_thread() and self._run is not None:
            self._set_state(self._run, RunState.RUNNING)
        return True

    def stop(self) -> bool:
        """Ask the running experiment to stop (``thisExp.status = FINISHED``); a script that
        ignores it is stopped at a flip after :attr:`stop_grace_s`. ``False`` if none runs."""
        if self.current_experiment is None or self._run is None:
            log.warning("Could not stop experiment as there is none running.")
            return False
        self._run.stop_requested = True
        self._stop_at = time.perf_counter()
        self.current_experiment.stop()
        log.info("stop requested")
        return True
