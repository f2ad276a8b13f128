"""The rig core: the one object that owns what a rig is made of. Qt-free.

A :class:`Rig` owns the :class:`~rigconsole.session.Session` (experiments,
stimulus window, runs), the session's HDF5 :class:`~rigconsole.datalog.DataLog`
(one file per console session, ``<data folder>/session_*.h5``) and the
:class:`~rigconsole.session.recorder.SessionRecorder` that writes each run
into it, and the components plugged into it (instruments, the remote server).
It applies settings: a new data folder closes the data log and opens a new
one there; a new experiment root rescans. The console's composition root
(``ui/app.py``) builds a Rig and adds views; ``rigconsole run`` builds the
same Rig with no views, so a headless run writes the same session file.
Nothing else constructs the Session, the DataLog or the recorder.

A component is any object with ``start(rig)`` and ``close()``; the Rig starts
it when it is added and closes components in reverse order of adding, before
the data log and the session.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from psygnal import Signal, SignalGroup

from .frame_budget import FrameBudget
from .notifications import notifications, one_line
from .settings import Settings

if TYPE_CHECKING:
    from .datalog import DataLog
    from .session.recorder import SessionRecorder

__all__ = ["Rig", "RigEvents", "Component", "DRY_RUNS_FOLDER", "PILOT_FOLDER"]

#: the sub-folder of the data folder that a dry run's data go to (never mixed with a participant's)
DRY_RUNS_FOLDER = "dry-runs"
#: the sub-folder of the data folder that a pilot run's data go to (PsychoPy's pilot mode: a person trying the task)
PILOT_FOLDER = "pilot"

log = logging.getLogger("rigconsole.rig")


class Component(Protocol):
    """What plugs into a :class:`Rig` (instruments, the remote server)."""

    def start(self, rig: Rig) -> None: ...

    def close(self) -> None: ...


class RigEvents(SignalGroup):
    """What a :class:`Rig` announces (psygnal, no Qt).

    - ``data_log_changed(data_log)``: the session data log was replaced (a new
      data folder); emitted on the thread that applied the settings.
    - ``settings_applied(settings)``: :meth:`Rig.apply_settings` finished.
    """

    data_log_changed = Signal(object)
    settings_applied = Signal(object)


class Rig:
    """The rig core (see the module docstring).

    Args:
        settings: the console settings (root, data folder, window, extra experiments).
        root: experiment root folder; overrides ``settings.root``.
        data_dir: data folder; overrides ``settings.data_dir`` (created if needed).
        simulated_vsync_hz: simulate a vertical blank at this rate (Xvfb), Hz.
        window_params: ``psychopy.visual.Window`` arguments; default
            ``settings.window.window_params()``.
        scan: register every experiment under the root and the settings' extra
            experiments (``rigconsole run`` registers its one file instead).
        instruments: connect the instruments of the settings' rig file
            (``settings.rig_file``, default the bundled simulated rig) as the
            ``"instruments"`` component (:class:`rigconsole.instruments.InstrumentManager`);
            a bad rig file is logged and kept in :attr:`rig_file_error`, the rest
            of the rig works without instruments.
        remote: serve remote attach as the ``"remote"`` component
            (:class:`rigconsole.remote.RemoteServer`) when ``settings.remote.enabled``,
            and mail notifications as ``"notify"`` when ``settings.remote.email.enabled``.
        stimulus_area: where a stimulus window that is not full screen goes
            (``Session(stimulus_area=...)``): the console passes the room beside its
            window on a one-screen computer (``rigconsole.ui.placement``).

    Raises:
        NotADirectoryError: the root folder does not exist.
        OSError: the data folder or the session file cannot be created.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        root=None,
        data_dir=None,
        simulated_vsync_hz: float | None = None,
        window_params: Mapping[str, Any] | None = None,
        scan: bool = True,
        instruments: bool = False,
        remote: bool = False,
        stimulus_area: tuple[int, int, int, int] | None = None,
    ):
        from .session import Session

        update: dict[str, Any] = {}
        if root is not None:
            update["root"] = Path(root).absolute()
        if data_dir is not None:
            update["data_dir"] = Path(data_dir).absolute()
        self._settings = settings.model_copy(update=update) if update else settings
        self.events = RigEvents()
        self._components: dict[str, Any] = {}
        self._closed = False
        data = Path(self._settings.data_dir).absolute()
        data.mkdir(parents=True, exist_ok=True)
        params = dict(window_params) if window_params is not None else self._settings.window.window_params()
        self._window_params = dict(params)  # without the monitor: apply_settings adds the rig's
        if self._settings.monitor is not None:  # the rig's calibration: every PsychoPy unit works
            from .session.monitor import window_params_with_monitor

            params = window_params_with_monitor(params, self._settings.monitor)
        # experiments from outside the root (the settings' extra ones, "Add…", `rigconsole run
        # file`) are registered where they are, never copied into the root as PsychoPy does
        self._session = Session(
            self._settings.root,
            dataDir=data,
            win=params,
            simulated_vsync_hz=simulated_vsync_hz,
            copy_outside_root=False,
            stimulus_area=stimulus_area,
        )
        self._data_log: DataLog | None = None
        self._recorder: SessionRecorder | None = None
        self._reported: set[str] = set()
        self._instruments_enabled = instruments
        self._remote_enabled = remote
        self._notifier_password: str | None = None
        self._rig_file_error: Exception | None = None
        self._before_dry_run: Path | None = None  # the session file to go back to after a dry run
        self._before_pilot: Path | None = None  # the session file to go back to after a pilot run
        self._pilot_file: Path | None = None  # this rig's pilot session file (pilot runs append to it)
        self._queue = self._make_queue()
        try:
            self._open_data_log(data)
            if scan:
                self._session.scanRoot()
                self._add_extra_experiments()
            if instruments:
                self._load_instruments()
            self._add_preview()
            if remote:
                self._start_remote()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ parts
    @property
    def session(self):
        """The :class:`~rigconsole.session.Session`."""
        return self._session

    @property
    def queue(self):
        """The :class:`~rigconsole.plans.RunQueue`: the one owner of runs (the console's Run, ``rigconsole
        run`` and the remote API hand it work; nothing else starts a run)."""
        return self._queue

    def plan_run(self, plan, values, *, dry_run: bool = False, seed: int | None = 0, speed: float | str = 1.0):
        """A :class:`~rigconsole.plans.PlanRun` of ``plan`` for the participant ``values`` on this rig's
        queue, recording into this rig's data log and data folder (call its ``start()``).

        Raises:
            ValueError: no participant, or no number for a counterbalanced order.
        """
        from .plans import PlanRun

        data_dir = Path(self._settings.data_dir).absolute()  # a dry run's progress stays apart too
        return PlanRun(
            plan,
            values,
            self._queue,
            data_dir / DRY_RUNS_FOLDER if dry_run else data_dir,
            data_log=lambda: self._data_log,
            run_group=lambda rec: self._recorder.group_for(rec) if self._recorder is not None else None,
            dry_run=dry_run,
            seed=seed,
            speed=speed,
        )

    def _make_queue(self):
        from .plans import RunQueue
        from .settings import settings_path

        return RunQueue(
            self._session,
            prepare_dry_run=self.prepare_dry_run,
            end_dry_run=self.end_dry_run,
            prepare_pilot=self.prepare_pilot,
            end_pilot=self.end_pilot,
            durations_file=settings_path().parent / "run-durations.json",
        )

    @property
    def data_log(self):
        """The open session :class:`~rigconsole.datalog.DataLog` (replaced when the data folder changes)."""
        return self._data_log

    @property
    def recorder(self):
        """The :class:`~rigconsole.session.recorder.SessionRecorder` writing runs into :attr:`data_log`."""
        return self._recorder

    @property
    def frame_budget(self) -> FrameBudget:
        """The session's frame budget (``rig.session.frame_budget``)."""
        return self._session.frame_budget

    @property
    def settings(self) -> Settings:
        """The settings in force."""
        return self._settings

    # ------------------------------------------------------------- components
    def add_component(self, name: str, component: Component) -> None:
        """Plug ``component`` in under ``name`` and start it (``component.start(self)``).

        Raises:
            ValueError: ``name`` is taken.
            RuntimeError: the rig is closed.
            Exception: whatever ``start`` raised (the component is then not added).
        """
        if self._closed:
            raise RuntimeError("the rig is closed")
        if name in self._components:
            raise ValueError(f"a component named {name!r} is already plugged in")
        component.start(self)
        self._components[name] = component

    def component(self, name: str) -> Any | None:
        """The component plugged in under ``name``, or ``None``."""
        return self._components.get(name)

    def remove_component(self, name: str) -> bool:
        """Close the component plugged in under ``name`` and unplug it; ``False`` if there is none."""
        component = self._components.pop(name, None)
        if component is None:
            return False
        try:
            component.close()
        except Exception:
            log.exception("closing the rig component %r failed", name)
        return True

    @property
    def instruments(self):
        """The :class:`~rigconsole.instruments.InstrumentManager` (the ``"instruments"``
        component), or ``None`` when the rig has none or its rig file is bad."""
        return self._components.get("instruments")

    @property
    def rig_file_error(self) -> Exception | None:
        """Why the rig file did not load (a :class:`~rigconsole.instruments.RigFileError`,
        one line per problem, or an ``OSError``), or ``None``."""
        return self._rig_file_error

    # --------------------------------------------------------------- settings
    def apply_settings(self, settings: Settings) -> None:
        """Apply new settings: a new data folder opens a new data log there (the old
        one is closed, ``data_log_changed`` is emitted); a new root rescans; new
        window parameters or a new monitor (``settings.monitor``) update the stimulus
        window, which is made anew when the monitor changed (PsychoPy converts units
        through the window's monitor; the new one is recorded in the data log). Emits
        ``settings_applied``.

        Raises:
            RunInProgressError: a run is in progress (nothing is changed; apply them
                again once it ended: the next run uses them).
            NotADirectoryError: the new root does not exist (nothing is changed).
            MonitorProfileError: the new monitor cannot be made (nothing is changed).
            OSError: the new data folder cannot be created.
        """
        from .session import RunInProgressError

        if self._session.current_run is not None:
            raise RunInProgressError(
                "cannot apply the settings while an experiment runs: apply them again when the run has ended"
            )
        old = self._settings
        new_root = Path(settings.root).absolute()
        if not new_root.is_dir():
            raise NotADirectoryError(f"experiment root folder does not exist: {new_root}")
        window_params = None
        if settings.window != old.window or settings.monitor != old.monitor:
            base = settings.window.window_params() if settings.window != old.window else self._window_params
            window_params = dict(base)
            if settings.monitor is not None:  # made (and checked) before anything changes
                from .session.monitor import window_params_with_monitor

                window_params = window_params_with_monitor(window_params, settings.monitor)
            elif old.monitor is not None:  # the monitor was removed: back to PsychoPy's blank one
                window_params["monitor"] = None
        new_data = Path(settings.data_dir).absolute()
        if new_data != Path(old.data_dir).absolute():
            self._session.set_data_dir(new_data)
            self._close_data_log()
            self._open_data_log(new_data, settings=settings)
            self.events.data_log_changed.emit(self._data_log)
        if new_root != Path(self._session.root).absolute():
            self._session.set_root(new_root)
            self._add_extra_experiments(settings)
        if window_params is not None:
            self._window_params = dict(base)
            self._session.setupWindowFromParams(window_params)
            if settings.monitor != old.monitor:
                self._record_monitor(self._data_log, settings)
                log.info(
                    "stimulus window made with the monitor %s",
                    settings.monitor.name
                    if settings.monitor
                    else "each experiment names (no rig profile; PsychoPy's testMonitor when it names none)",
                )
        reload_instruments = self._instruments_enabled and settings.rig_file != old.rig_file
        self._settings = settings
        if reload_instruments:
            self.remove_component("instruments")
            self._load_instruments()
        self._apply_remote(old.remote, settings.remote)
        log.info("settings applied: root %s, data folder %s", new_root, new_data)
        self.events.settings_applied.emit(settings)

    # --------------------------------------------------------------- dry runs
    @property
    def dry_run_folder(self) -> Path | None:
        """The folder a dry run's data go to while one is prepared (see :meth:`prepare_dry_run`), else ``None``."""
        return Path(self._session.dataDir) if self._before_dry_run is not None else None

    def prepare_dry_run(self, seed: int | None = 0, *, speed: float | str = 1.0) -> Path:
        """Send the next run's data to ``<data folder>/dry-runs`` and mark them as simulated.

        A dry run (a :class:`~rigconsole.session.simulate.SimulatedParticipant`
        answering) writes PsychoPy's files and its own session data log under
        ``<data folder>/dry-runs`` (the settings' data folder, :data:`DRY_RUNS_FOLDER`),
        never beside a participant's data. That data log (a new ``session_*.h5``)
        is marked: metadata section ``"dry_run"`` (``{"simulated_participant":
        true, "seed": seed, "time_warp": speed}``) and an annotation of kind ``"dry-run"``. Emits
        ``data_log_changed``. ``rigconsole run --simulate-participant`` and the
        console's Dry run both call this; :meth:`end_dry_run` goes back to the
        data folder and the session data log that was open before. That log
        gets an annotation (kind ``"dry-run"``) at both ends, so the gap in its
        instrument traces is explained.

        Args:
            seed: the simulated participant's seed (recorded).
            speed: the dry run's time warp (recorded as ``time_warp``: 1 is real
                time, ``"max"`` as fast as frames can be drawn; :mod:`rigconsole.session.warp`).

        Returns:
            the dry-runs folder (absolute).

        Raises:
            RunInProgressError: a run is in progress (nothing is changed).
            OSError: the folder or its session file cannot be created (the data
                log in use before stays in use).
        """
        from .session import RunInProgressError

        if self._session.current_run is not None:
            raise RunInProgressError("cannot prepare a dry run during a run")
        folder = Path(self._settings.data_dir).absolute() / DRY_RUNS_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        previous = self._data_log.path if self._data_log is not None else None
        if previous is not None and self._before_dry_run is None:
            self._note(f"dry run: the data go to {folder} until it ends", folder=str(folder))
        self._switch_data_log(folder)
        if self._before_dry_run is None:
            self._before_dry_run = previous
        info: dict[str, Any] = {"simulated_participant": True, "seed": seed, "time_warp": speed}
        dry_log = self._data_log
        if dry_log is None:  # _switch_data_log raises when no data log opens
            raise OSError(f"no session data log could be opened in {folder}")
        dry_log.save_metadata("dry_run", info)
        dry_log.add_annotation(f"dry run: a simulated participant (seed {seed})", kind="dry-run", **info)
        log.info("dry run: data go to %s (seed %s)", folder, seed)
        return folder

    def end_dry_run(self) -> None:
        """After a dry run: back to the settings' data folder and the session data log open
        before :meth:`prepare_dry_run` (appended to; a new one if it cannot be reopened).
        Emits ``data_log_changed``. Does nothing when no dry run is prepared.

        Raises:
            RunInProgressError: a run is in progress (nothing is changed).
        """
        from .session import RunInProgressError

        if self._before_dry_run is None:
            return
        if self._session.current_run is not None:
            raise RunInProgressError("cannot end a dry run during its run")
        previous, self._before_dry_run = self._before_dry_run, None
        dry_log = self._data_log.path if self._data_log is not None else None
        self._switch_data_log(Path(self._settings.data_dir).absolute(), previous)
        self._note(f"dry run ended: its data are in {dry_log}", dry_run_file=str(dry_log))

    # ------------------------------------------------------------ pilot runs
    def prepare_pilot(self) -> Path:
        """Send the next run's data to ``<data folder>/pilot`` (:data:`PILOT_FOLDER`), as dry runs
        go to ``dry-runs``: PsychoPy's files and a session data log there, marked pilot (metadata
        section ``"pilot"``: ``{"pilot": true, "psychopy_piloting": true}``; each pilot run's group
        also has ``pilot = True``). The pilot runs of one console session append to one
        ``pilot/session_*.h5``. The participant's session file open before gets an annotation
        (kind ``"pilot"``) at both ends. The run owner calls this before a pilot item and
        :meth:`end_pilot` after it. Emits ``data_log_changed``.

        Returns:
            the pilot folder (absolute).

        Raises:
            RunInProgressError: a run is in progress (nothing is changed).
            OSError: the folder or its session file cannot be created (the data log in use
                before stays in use).
        """
        from .session import RunInProgressError

        if self._session.current_run is not None:
            raise RunInProgressError("cannot prepare a pilot run during a run")
        folder = Path(self._settings.data_dir).absolute() / PILOT_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        previous = self._data_log.path if self._data_log is not None else None
        if previous is not None and self._before_pilot is None:
            self._note(f"pilot run: the data go to {folder} until it ends", kind="pilot", folder=str(folder))
        reuse = self._pilot_file if self._pilot_file is not None and self._pilot_file.parent == folder else None
        self._switch_data_log(folder, reuse if reuse is not None and reuse.is_file() else None)
        if self._before_pilot is None:
            self._before_pilot = previous
        pilot_log = self._data_log
        if pilot_log is None:  # _switch_data_log raises when no data log opens
            raise OSError(f"no session data log could be opened in {folder}")
        self._pilot_file = pilot_log.path
        pilot_log.save_metadata("pilot", {"pilot": True, "psychopy_piloting": True})
        log.info("pilot run: data go to %s", folder)
        return folder

    def end_pilot(self) -> None:
        """After a pilot run: back to the settings' data folder and the session data log open
        before :meth:`prepare_pilot`. Emits ``data_log_changed``. Does nothing when no pilot run
        is prepared.

        Raises:
            RunInProgressError: a run is in progress (nothing is changed).
        """
        from .session import RunInProgressError

        if self._before_pilot is None:
            return
        if self._session.current_run is not None:
            raise RunInProgressError("cannot end a pilot run during its run")
        previous, self._before_pilot = self._before_pilot, None
        pilot_file = self._data_log.path if self._data_log is not None else None
        self._switch_data_log(Path(self._settings.data_dir).absolute(), previous)
        self._note(f"pilot run ended: its data are in {pilot_file}", kind="pilot", pilot_file=str(pilot_file))

    def _note(self, text: str, kind: str = "dry-run", **fields: Any) -> None:
        if self._data_log is None:
            log.error("data log: none open, cannot note %r", text)
            return
        try:
            self._data_log.add_annotation(text, kind=kind, **fields)
        except Exception as err:  # a note must not stop the dry run
            log.error("data log: cannot note %r: %s", text, err)

    def _switch_data_log(self, folder: Path, path: Path | None = None) -> None:
        """Point the session's data at ``folder`` and the recorder at a data log there: ``path``
        reopened when given, else a new session file. When that cannot be opened, the next
        choice is a new session file in ``folder`` (for ``path``), else the data log in use
        before (and the error is raised). Emits ``data_log_changed``."""
        before = (Path(self._session.dataDir), self._data_log.path if self._data_log is not None else None)
        self._session.set_data_dir(folder)
        self._close_data_log()
        choices = [(folder, path)] + ([(folder, None)] if path is not None else []) + [before]
        error: Exception | None = None
        for i, (where, file) in enumerate(choices):
            try:
                self._session.set_data_dir(where)
                self._open_data_log(where, file)
            except Exception as err:
                log.error("cannot open the session data log in %s: %s", where, err)
                error = error or err
                continue
            if i == len(choices) - 1 and error is not None:  # back where it was: the switch failed
                self.events.data_log_changed.emit(self._data_log)
                raise error
            break
        else:  # nothing opens: runs go on without a session data log (the error says why)
            self.events.data_log_changed.emit(self._data_log)
            raise error or OSError(f"no session data log could be opened in {folder}")
        self.events.data_log_changed.emit(self._data_log)

    def set_remote_locked(self, locked: bool) -> bool:
        """Lock (or unlock) remote control at once, during a run too: remote pause, resume,
        stop and runs answer 423 while locked. Kept in :attr:`settings` (``remote.locked``)
        for the next server start. Returns ``True`` when a running server was told."""
        self._settings = self._settings.model_copy(
            update={"remote": self._settings.remote.model_copy(update={"locked": bool(locked)})}
        )
        server = self._components.get("remote")
        if server is None:
            return False
        server.set_locked(bool(locked))
        return True

    # ---------------------------------------------------------------- closing
    def close(self) -> None:
        """Close the components (reverse order of adding), the recorder, the data log and
        the session. Idempotent; a part that fails to close is logged and the rest still close."""
        if self._closed:
            return
        self._closed = True
        for name, component in reversed(list(self._components.items())):
            try:
                component.close()
            except Exception:
                log.exception("closing the rig component %r failed", name)
        self._components.clear()
        try:
            self._close_data_log()
        finally:
            self._session.close()

    def __enter__(self) -> Rig:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --------------------------------------------------------------- internal
    def _record_monitor(self, data_log, settings: Settings) -> None:
        """Save the stimulus window's monitor in ``data_log`` as provenance (when the rig has one)."""
        win = self._session.win
        if (
            data_log is not None
            and win is not None
            and getattr(win, "monitor", None) is not None
            and settings.monitor is not None
        ):
            from .session.monitor import monitor_metadata

            data_log.save_metadata("monitor", monitor_metadata(win.monitor))

    def _open_data_log(self, data_dir: Path, path: Path | None = None, settings: Settings | None = None) -> None:
        from .datalog import DataLog, new_session_path
        from .session.recorder import SessionRecorder

        data_log = DataLog(path if path is not None else new_session_path(data_dir))
        self._record_monitor(data_log, settings or self._settings)
        data_log.events.write_error.connect(self._on_write_error)
        self._data_log = data_log
        self._recorder = SessionRecorder(self._session, data_log)
        log.info("session data log: %s", data_log.path)

    def _close_data_log(self) -> None:
        recorder, data_log = self._recorder, self._data_log
        self._recorder = self._data_log = None
        if recorder is not None:
            recorder.close()
        if data_log is not None:
            data_log.events.write_error.disconnect(self._on_write_error)
            try:
                data_log.close()
            except Exception as err:  # the write error was announced already
                log.error("closing the data log %s: %s", data_log.path, err)

    def _on_write_error(self, message: str) -> None:
        if message in self._reported:
            return
        self._reported.add(message)
        # one line saying what was kept and what to do; from the data log's writer thread
        notifications.notify(message, source="data log")

    def _add_preview(self) -> None:
        """The subject-screen preview (``"preview"``, off until ``settings.preview.enabled``), before
        the remote server, which serves its thumbnails."""
        from .session.preview import SubjectPreview

        self.add_component("preview", SubjectPreview())

    def _start_remote(self) -> None:
        from .remote import RemoteServer
        from .settings import settings_path

        s = self._settings.remote
        if s.enabled:
            try:
                self.add_component("remote", RemoteServer.from_settings(s, config_dir=settings_path().parent))
                log.info("remote attach on %s:%d", s.host, self._components["remote"].port or s.port)
            except (OSError, ValueError) as err:  # a taken port must not stop the rig: it runs without
                log.error("remote attach is off: %s", err)
        if s.email.enabled:
            self._start_notifier(s.email)

    def _apply_remote(self, old, new) -> None:
        """Follow changed remote settings (a Rig built with ``remote=True``): a changed server
        (enabled, host, port, TLS) restarts it, or stops it; a changed lock reaches the running
        server (:meth:`RemoteServer.set_locked`); changed email settings replace the notifier.

        Raises OSError: the server cannot listen on the new host and port (it stays off).
        """
        if not self._remote_enabled:
            return
        server = self._components.get("remote")
        serving = ("enabled", "host", "port", "tls", "tls_cert", "tls_key", "rig_name")
        if any(getattr(old, f) != getattr(new, f) for f in serving) or (new.enabled and server is None):
            self.remove_component("remote")
            if new.enabled:
                from .remote import RemoteServer
                from .settings import settings_path

                self.add_component("remote", RemoteServer.from_settings(new, config_dir=settings_path().parent))
                log.info("remote attach on %s:%d", new.host, self._components["remote"].port or new.port)
        elif server is not None and new.locked != server.locked:
            server.set_locked(new.locked)
        if (
            old.email != new.email
            or (new.email.enabled and "notify" not in self._components)
            or (new.email.enabled and self._smtp_password() != self._notifier_password)
        ):
            self.remove_component("notify")
            if new.email.enabled:
                self._start_notifier(new.email)

    def _smtp_password(self, email=None) -> str | None:
        """The SMTP password kept in the OS keyring for the email settings' user and host."""
        from .remote import secrets

        email = email or self._settings.remote.email
        return secrets.get(secrets.smtp_password_key(email.user, email.host)) if email.user else None

    def _start_notifier(self, email) -> None:
        from .remote.notify import Notifier

        self._notifier_password = self._smtp_password(email)
        self.add_component("notify", Notifier(email, password=self._notifier_password))

    def _load_instruments(self) -> None:
        from .instruments import InstrumentManager, RigFileError, default_rig_file, load_rig_file

        path = Path(self._settings.rig_file) if self._settings.rig_file else default_rig_file()
        self._rig_file_error = None
        try:
            config = load_rig_file(path)
        except (RigFileError, OSError) as err:
            self._rig_file_error = err
            log.error("rig file %s: %s", path, one_line(err, with_type=False))
            return
        self.add_component("instruments", InstrumentManager(config))
        log.info("instruments from %s: %s", path, ", ".join(config.instruments) or "none")

    def _add_extra_experiments(self, settings: Settings | None = None) -> None:
        for extra in (settings or self._settings).extra_experiments:
            if Path(extra).exists():  # registered where it is (the session's copy_outside_root)
                self._session.addExperiment(extra)

    def __repr__(self) -> str:
        return f"<rigconsole.Rig root={str(self._session.root)!r} data_log={getattr(self._data_log, 'path', None)}>"
