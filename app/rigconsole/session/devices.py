"""The PsychoPy ``Session`` methods that set up input devices (keyboards, ioHub, button boxes).

PsychoPy keeps devices in one process-wide registry, ``psychopy.hardware.DeviceManager``;
a Builder script's ``setupDevices(expInfo, thisExp, win)`` adds the ones it needs
there. :class:`DevicesAPI` keeps PsychoPy 2026.2's names, arguments and return
values, and is mixed into :class:`rigconsole.session.Session`, which supplies
``_entry``, ``getExpInfoFromExperiment``, ``win``, ``dataDir``, ``currentExperiment``,
``experimentObjects``, ``commands`` and ``keyboard_backend``. Where PsychoPy's own
methods crash (device set-up before any run; ``addKeyboardFromParams``), these work;
see the table in docs/experiment-interface.md.
"""

from __future__ import annotations

import logging
from typing import Any

from .commands import is_main_thread

__all__ = ["DevicesAPI", "KEYBOARD_CLASS"]

log = logging.getLogger("rigconsole.session")

#: the ``DeviceManager`` class path of PsychoPy's keyboard
KEYBOARD_CLASS = "psychopy.hardware.keyboard.KeyboardDevice"


class DevicesAPI:
    """PsychoPy API methods for devices (see the module docstring)."""

    keyboard_backend: str | None
    currentExperiment: Any

    @property
    def experimentObjects(self) -> dict:  # the Session's (its registry's parsed experiments)
        raise NotImplementedError

    def _force_keyboard_backend(self) -> None:
        """Make every PsychoPy keyboard use :attr:`keyboard_backend` and keep a ``defaultKeyboard``."""
        from psychopy.hardware import DeviceManager
        from psychopy.hardware.keyboard import KeyboardDevice

        if self.keyboard_backend and KeyboardDevice._backend is None:
            KeyboardDevice._backend = self.keyboard_backend
        if KeyboardDevice._backend == "event":
            from .keyboard import install_event_backend_fix

            install_event_backend_fix()
        if DeviceManager.getDevice("defaultKeyboard") is None:
            DeviceManager.addDevice(
                deviceClass=KEYBOARD_CLASS, deviceName="defaultKeyboard", backend=self.keyboard_backend or None
            )

    def _placeholder_experiment(self, key: str, expInfo: dict):
        """An ExperimentHandler for device set-up outside a run: it never saves a file.

        Builder's ``setupDevices`` reads ``thisExp.dataFileName`` (ioHub names its
        data store after it); PsychoPy's Session passes ``None`` there before any
        run, and the script crashes with ``AttributeError``.
        """
        from psychopy import data

        stem = str(self.dataDir / f"{self._entry(key).exp_name}_devices")  # type: ignore[attr-defined]
        return data.ExperimentHandler(
            name=key, extraInfo=expInfo, dataFileName=stem, savePickle=False, saveWideText=False, autoLog=False
        )

    def setupDevicesFromExperiment(self, key, expInfo=None, thisExp=None, blocking=True):
        """Set devices up with the experiment's ``setupDevices``, keeping the devices already there (PsychoPy API).

        Works before any run: with no ``thisExp`` the running experiment's
        ExperimentHandler is used, or between runs one that never saves (PsychoPy
        passes ``None`` and Builder scripts crash reading ``thisExp.dataFileName``).
        The stimulus window is opened first if there is none. Devices that existed
        before are put back if the experiment replaced them, as PsychoPy does.

        Args:
            key: the experiment's key.
            expInfo: default: the experiment's :meth:`getExpInfoFromExperiment`.
            thisExp: a ``psychopy.data.ExperimentHandler``, or ``None`` (see above).
            blocking: from another thread, ``False`` queues the call and returns ``True``.

        Returns:
            ``True`` (also when the experiment has no ``setupDevices``: a plain
            script sets its inputs up in ``setupInputs`` at each run).

        Raises:
            UnknownExperimentError, ExperimentLoadError: no such (loadable) experiment.
            Exception: whatever the experiment's ``setupDevices`` raised.
        """
        if not is_main_thread():
            return self.commands.call(
                self.setupDevicesFromExperiment,
                key,
                expInfo,
                thisExp,  # type: ignore[attr-defined]
                blocking=blocking,
            )
        from psychopy.hardware import DeviceManager

        module = self._entry(key).module  # type: ignore[attr-defined]
        setup = getattr(module, "setupDevices", None)
        if not callable(setup):
            log.info("experiment %s has no setupDevices(); nothing to set up", key)
            return True
        if expInfo is None:
            expInfo = self.getExpInfoFromExperiment(key)  # type: ignore[attr-defined]
        if thisExp is None:
            thisExp = self.currentExperiment or self._placeholder_experiment(key, expInfo)
        self._window.ensure()  # type: ignore[attr-defined]
        og = DeviceManager.devices.copy()
        setup(expInfo=expInfo, thisExp=thisExp, win=self.win)  # type: ignore[attr-defined]
        DeviceManager.devices.update(og)
        return True

    def setupInputsFromExperiment(self, key, expInfo=None, thisExp=None, blocking=True):
        """Legacy alias of :meth:`setupDevicesFromExperiment` (PsychoPy API); returns what it returns."""
        return self.setupDevicesFromExperiment(key, expInfo=expInfo, thisExp=thisExp, blocking=blocking)

    def addKeyboardFromParams(self, name, params, blocking=True):
        """Add a keyboard named ``name`` to PsychoPy's ``DeviceManager`` (PsychoPy API).

        Args:
            name: the device name experiments look it up by (``deviceManager.getDevice(name)``).
            params: ``KeyboardDevice`` arguments, e.g. ``{"backend": "event"}``;
                the session's :attr:`keyboard_backend` is used when none is given.

        Returns:
            ``True``. (PsychoPy 2026.2's own calls ``deviceManager.addKeyboard``,
            which no longer exists, and raises ``AttributeError``.)
        """
        if not is_main_thread():
            return self.commands.call(self.addKeyboardFromParams, name, params, blocking=blocking)  # type: ignore[attr-defined]
        from psychopy.hardware import DeviceManager

        params = dict(params or {})
        params.pop("deviceClass", None)
        params.pop("deviceName", None)
        if self.keyboard_backend and not params.get("backend"):
            params["backend"] = self.keyboard_backend
        DeviceManager.addDevice(deviceClass=KEYBOARD_CLASS, deviceName=name, **params)
        return True

    def getRequiredDeviceNamesFromExperiment(self, key):
        """Device names a Builder experiment refers to (PsychoPy API), e.g. ``["buttonBox"]``.

        Raises:
            ValueError: the experiment is a ``.py`` script (PsychoPy's message).
        """
        entry = self._entry(key)  # type: ignore[attr-defined]
        if entry.kind != "builder":
            raise ValueError("Device names are not available for experiments added to Session directly as a .py file.")
        exp = self.experimentObjects.get(key)
        if exp is None:
            from psychopy import experiment

            exp = experiment.Experiment()
            exp.loadFromXML(str(entry.path))
            self.experimentObjects[key] = exp
        return exp.getRequiredDeviceNames()
