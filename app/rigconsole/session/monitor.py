"""The rig's monitor: the subject screen's size, viewing distance and resolution.

PsychoPy converts ``deg`` and ``cm`` units through the window's monitor
profile (PsychoPy's Monitor Center, ``psychopy.monitors``): the screen's
width (cm), the viewing distance (cm) and its size in pixels. A window made
without one has monitor ``__blank__``, and every ``deg``/``cm`` experiment
stops with "Monitor __blank__ has no known size in pixels".

The rig holds one monitor (:class:`MonitorSettings`): either a Monitor Center
profile by name, or the three measurements, saved as a profile of that name
(so PsychoPy's Monitor Center shows it too). The persistent stimulus window is
made with it (:func:`window_params_with_monitor`), and the rig's calibration
wins over the monitor an experiment names (:func:`reconcile_monitor`), with one
log line when they differ: a rig's screen is what it is, whatever the
experiment was written on.

A rig with no monitor profile (the default settings, a new user's) does as
plain PsychoPy does: each run uses the monitor its experiment names (a Builder
experiment's "Monitor" setting, ``testMonitor`` by default; a script's own
``monitor='...'``), and PsychoPy's default profile ``testMonitor`` when the
experiment names none or names one this computer has no measurements for
(:func:`monitor_for_experiment`). ``deg`` and ``cm`` then work, approximately.

Qt-free; needs no display.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "MonitorSettings",
    "MonitorProfileError",
    "make_monitor",
    "window_params_with_monitor",
    "reconcile_monitor",
    "experiment_monitor_name",
    "describe_monitor",
    "monitor_metadata",
    "same_monitor",
    "DEFAULT_MONITOR",
    "psychopy_default_monitor",
    "monitor_for_experiment",
    "script_monitor_name",
]

log = logging.getLogger("rigconsole.monitor")


class MonitorProfileError(ValueError):
    """The rig's monitor cannot be made; ``str(err)`` says what to fix in one line."""


class MonitorSettings(BaseModel):
    """The subject screen, as PsychoPy's Monitor Center keeps it.

    Either ``name`` alone (an existing Monitor Center profile), or ``name``
    with ``width_cm``, ``distance_cm`` and ``resolution_px`` (saved as that
    profile; the measurements win over what the profile held).

    Attributes:
        name: the Monitor Center profile name (PsychoPy's ``Monitor.name``).
        width_cm: visible width of the screen's image, cm (``Monitor.setWidth``).
        distance_cm: eye-to-screen viewing distance, cm (``Monitor.setDistance``).
        resolution_px: ``(width, height)`` in pixels (``Monitor.setSizePix``).
        gamma: optional gamma (one value or R, G, B), as ``Monitor.setGamma``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="rig", min_length=1, pattern=r"^[^/\\:*?\"<>|]+$")
    width_cm: float | None = Field(default=None, gt=0, le=1000)
    distance_cm: float | None = Field(default=None, gt=0, le=10000)
    resolution_px: tuple[int, int] | None = None
    gamma: float | tuple[float, float, float] | None = None

    @model_validator(mode="after")
    def _all_or_none(self) -> MonitorSettings:
        given = [self.width_cm is not None, self.distance_cm is not None, self.resolution_px is not None]
        if any(given) and not all(given):
            missing = [n for n, g in zip(("width_cm", "distance_cm", "resolution_px"), given) if not g]
            raise ValueError(
                f"monitor {self.name!r}: give width_cm, distance_cm and resolution_px together "
                f"(missing {', '.join(missing)}), or only the name of a Monitor Center profile"
            )
        if self.resolution_px is not None and min(self.resolution_px) <= 0:
            raise ValueError(f"monitor {self.name!r}: resolution_px must be two positive pixel counts")
        return self

    @property
    def measured(self) -> bool:
        """True when the settings carry the measurements (else they name a profile)."""
        return self.width_cm is not None


#: PsychoPy's default monitor profile (Builder's default "Monitor" setting)
DEFAULT_MONITOR = "testMonitor"
#: what ``psychopy.monitors`` saves as ``testMonitor`` at its first import when there is none
#: (``psychopy/monitors/__init__.py``): width and distance in cm, size in pixels
_PSYCHOPY_TEST_MONITOR = {"width": 30, "distance": 57, "gamma": 1.0, "sizePix": (1024, 768)}


def _profile_exists(name: str) -> bool:
    from psychopy import monitors

    return name in monitors.getAllMonitors()


def make_monitor(settings: MonitorSettings, *, save: bool = True):
    """The rig's ``psychopy.monitors.Monitor``.

    With measurements, the profile ``settings.name`` gets them as its current
    calibration (created when new) and is saved to PsychoPy's Monitor Center
    folder when ``save``. With a name only, the profile must exist and hold a
    width, a distance and a size in pixels.

    Raises:
        MonitorProfileError: no such profile, or the profile lacks a measurement.
    """
    from psychopy import monitors

    if not settings.measured and not _profile_exists(settings.name):
        known = ", ".join(sorted(monitors.getAllMonitors())) or "none"
        raise MonitorProfileError(
            f"no Monitor Center profile named {settings.name!r} (profiles: {known}); "
            "give the screen's width_cm, distance_cm and resolution_px instead"
        )
    mon = monitors.Monitor(settings.name, verbose=False, autoLog=False)
    if settings.measured:  # width, distance and resolution all given
        assert settings.width_cm is not None and settings.distance_cm is not None
        assert settings.resolution_px is not None
        mon.setWidth(float(settings.width_cm))
        mon.setDistance(float(settings.distance_cm))
        mon.setSizePix(list(settings.resolution_px))
        if settings.gamma is not None:
            mon.setGamma(settings.gamma)
        if save:
            mon.save()
    missing = [
        what
        for what, value in (
            ("width", mon.getWidth()),
            ("viewing distance", mon.getDistance()),
            ("size in pixels", mon.getSizePix()),
        )
        if not value
    ]
    if missing:
        raise MonitorProfileError(
            f"Monitor Center profile {settings.name!r} has no {' and no '.join(missing)}; "
            "measure the screen and give width_cm, distance_cm and resolution_px"
        )
    return mon


def _complete(mon) -> bool:
    """True when ``mon`` has what ``deg`` and ``cm`` need: a width, a distance and a size in pixels."""
    return bool(mon.getWidth()) and bool(mon.getDistance()) and bool(mon.getSizePix())


def psychopy_default_monitor():
    """PsychoPy's default monitor profile, ``testMonitor``, as a ``psychopy.monitors.Monitor``.

    The saved profile when it holds a width, a distance and a size in pixels
    (``psychopy.monitors`` saves one at its first import); else one made in
    memory as PsychoPy makes it (30 cm wide at 57 cm, 1024x768 px, gamma 1),
    not saved.
    """
    from psychopy import monitors

    mon = monitors.Monitor(DEFAULT_MONITOR, verbose=False, autoLog=False)
    if not _complete(mon):
        mon.setWidth(_PSYCHOPY_TEST_MONITOR["width"])
        mon.setDistance(_PSYCHOPY_TEST_MONITOR["distance"])
        mon.setGamma(_PSYCHOPY_TEST_MONITOR["gamma"])
        mon.setSizePix(list(_PSYCHOPY_TEST_MONITOR["sizePix"]))
    return mon


def monitor_for_experiment(name: str | None) -> tuple[Any, str]:
    """The monitor a run uses when the rig has no monitor profile, as plain PsychoPy chooses it.

    Args:
        name: the monitor the experiment names (:func:`script_monitor_name`), or ``None``.

    Returns:
        ``(monitor, why)``: the ``psychopy.monitors.Monitor`` of the profile ``name`` when this
        computer's Monitor Center has it with a width, a distance and a size in pixels,
        else :func:`psychopy_default_monitor`; ``why`` says which, for the log
        ("named by the experiment", "PsychoPy's default: the experiment names no monitor", ...).
    """
    from psychopy import monitors

    name = (name or "").strip()
    if not name or name in ("None", "__blank__"):
        return psychopy_default_monitor(), "PsychoPy's default: the experiment names no monitor"
    if name == DEFAULT_MONITOR:
        mon = psychopy_default_monitor()
        return mon, "named by the experiment" + (
            "" if _profile_exists(name) else ", with PsychoPy's default measurements"
        )
    if not _profile_exists(name):
        return psychopy_default_monitor(), f"PsychoPy's default: this computer has no monitor profile {name!r}"
    mon = monitors.Monitor(name, verbose=False, autoLog=False)
    if not _complete(mon):
        return psychopy_default_monitor(), f"PsychoPy's default: the monitor profile {name!r} lacks measurements"
    return mon, "named by the experiment"


def window_params_with_monitor(
    params: dict[str, Any] | None, settings: MonitorSettings | None, monitor=None
) -> dict[str, Any]:
    """``psychopy.visual.Window`` arguments using the rig's monitor.

    Args:
        params: Window arguments (not changed); ``monitor`` in them is replaced.
        settings: the rig's monitor; ``None`` leaves ``params`` as they are.
        monitor: an already made ``Monitor`` for ``settings`` (else one is made).

    Returns:
        A new dict with ``monitor`` set to the rig's ``Monitor``; ``size``
        defaults to the monitor's resolution when the window is full screen.

    Raises:
        MonitorProfileError: see :func:`make_monitor`.
    """
    out = dict(params or {})
    if settings is None:
        return out
    mon = monitor if monitor is not None else make_monitor(settings)
    out["monitor"] = mon
    if out.get("fullscr") and "size" not in out:
        out["size"] = list(mon.getSizePix())
    return out


def describe_monitor(mon) -> str:
    """One line: ``'rig' (53.0 cm wide at 57.0 cm, 1920x1080 px)``."""
    size = mon.getSizePix() or ("?", "?")
    return f"{mon.name!r} ({mon.getWidth()} cm wide at {mon.getDistance()} cm, {size[0]}x{size[1]} px)"


def monitor_metadata(mon) -> dict[str, Any]:
    """The monitor as provenance for the data log (``DataLog.save_metadata("monitor", ...)``)."""
    return {
        "name": mon.name,
        "width_cm": mon.getWidth(),
        "distance_cm": mon.getDistance(),
        "resolution_px": list(mon.getSizePix() or []),
        "gamma": mon.getGamma(),
    }


def _calibration(mon) -> tuple:
    """What unit conversions depend on: name, width (cm), distance (cm), size (px), gamma."""
    if not mon:  # None or '': PsychoPy's Window makes the blank monitor
        return ("__blank__", None, None, None, None)
    if isinstance(mon, str):
        from psychopy import monitors

        mon = monitors.Monitor(mon, verbose=False, autoLog=False)
    elif hasattr(mon, "keys") and not hasattr(mon, "getWidth"):  # a calibration dict
        return ("temp", mon.get("width"), mon.get("distance"), _as_list(mon.get("sizePix")), _as_list(mon.get("gamma")))
    return (mon.name, mon.getWidth(), mon.getDistance(), _as_list(mon.getSizePix()), _as_list(mon.getGamma()))


def _as_list(value):
    if value is None:
        return None
    try:
        return [float(v) for v in value]
    except TypeError:
        return [float(value)]


def same_monitor(a, b) -> bool:
    """True when two monitors (``Monitor``, profile name, calibration dict or ``None``, as
    ``psychopy.visual.Window(monitor=...)`` takes them) convert units alike: same name, width,
    viewing distance, size in pixels and gamma."""
    return _calibration(a) == _calibration(b)


def reconcile_monitor(experiment_monitor_name: str | None, rig_monitor):
    """The monitor a run uses: always the rig's.

    Logs one line (``rigconsole.monitor``, INFO) when the experiment names a
    different monitor, e.g. Builder's default ``testMonitor``.

    Args:
        experiment_monitor_name: the monitor the experiment asks for (see
            :func:`experiment_monitor_name`), or ``None``.
        rig_monitor: the rig's ``psychopy.monitors.Monitor``.

    Returns:
        ``rig_monitor``.
    """
    name = (experiment_monitor_name or "").strip()
    if name and name not in ("None", "__blank__") and name != rig_monitor.name:
        log.info("the experiment names monitor %r; using the rig's calibration %s", name, describe_monitor(rig_monitor))
    return rig_monitor


def script_monitor_name(module) -> str | None:
    """The monitor a loaded experiment module names: the first ``monitor='...'`` literal of the
    script it runs (a compiled Builder script's ``setupWindow`` names the "Monitor" setting);
    ``None`` when it names none or its source cannot be read."""
    fn = getattr(module, "run", None) or getattr(module, "setupWindow", None)
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    path = Path(code.co_filename)
    return experiment_monitor_name(path) if path.suffix == ".py" else None


_MONITOR_ARG = re.compile(r"""\bmonitor\s*=\s*(['"])([^'"\n]+)\1""")


def experiment_monitor_name(path: str | Path) -> str | None:
    """The monitor an experiment file names: a Builder file's "Monitor" setting, or the
    first ``monitor='...'`` literal of a ``.py`` script; ``None`` when it names none or cannot be read."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if path.suffix == ".psyexp":
        m = re.search(r"""<Param[^>]*name="Monitor"[^>]*/?>""", text)
        if m:
            v = re.search(r'val="([^"]*)"', m.group(0))
            return (v.group(1) or None) if v else None
        return None
    m = _MONITOR_ARG.search(text)
    return m.group(2) if m else None
