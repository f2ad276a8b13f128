"""Transports: a raw SCPI session through pyvisa, or a PyMeasure driver on top of one.

A link is made, used and closed on one instrument's worker thread only (pyvisa
sessions are not shared across threads). The ``ResourceManager`` of a VISA
library is one object per library in pyvisa, shared by every instrument that
uses that library: a link closes its own resource, never the manager (closing
it would close the other instruments' sessions).
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
from typing import Any

from .config import ChannelConfig, InstrumentConfig, RigConfig

__all__ = [
    "BadReplyError",
    "parse_reading",
    "visa_library",
    "driver_class",
    "driver_channels",
    "open_link",
    "prepare_backend",
]


class BadReplyError(ValueError):
    """A reply that is not a reading (garbage, out of its limits). The message quotes it."""


def visa_library(cfg: InstrumentConfig, rig: RigConfig) -> str:
    """The pyvisa ``ResourceManager`` argument for an instrument's backend."""
    if cfg.backend == "@sim":
        assert cfg.profile is not None, "the rig file's validation gives every @sim instrument a profile"
        return f"{rig.resolve(cfg.profile)}@sim"
    return cfg.backend


def driver_class(dotted: str) -> type:
    """Import a PyMeasure instrument class by dotted name. Raises ImportError with one line."""
    mod_name, _, cls_name = dotted.rpartition(".")
    try:
        mod = importlib.import_module(mod_name)
    except Exception as err:  # noqa: BLE001 - any import failure is the same problem for the user
        raise ImportError(f"driver {dotted!r}: cannot import {mod_name!r}: {err}") from None
    cls = getattr(mod, cls_name, None)
    if not isinstance(cls, type):
        raise ImportError(f"driver {dotted!r}: {mod_name!r} has no class {cls_name!r}")
    return cls


def _defaults(fn: Any) -> dict[str, Any]:
    try:
        return {k: p.default for k, p in inspect.signature(fn).parameters.items()}
    except (TypeError, ValueError):
        return {}


_PYMEASURE_BASES = (
    "pymeasure.instruments.instrument",
    "pymeasure.instruments.common_base",
    "pymeasure.instruments.generic_types",
    "pymeasure.instruments.channel",
    "builtins",
)


def driver_channels(cls: type, period_s: float = 1.0) -> dict[str, ChannelConfig]:
    """A PyMeasure driver's measurement properties as channels (``Instrument.measurement``).

    A measurement is a property made by PyMeasure's ``control`` with a get
    command and no set command (its setter raises "Property can not be set").
    Units are not known from the class; name them in the rig file's
    ``channels`` to have them.
    """
    out: dict[str, ChannelConfig] = {}
    seen: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__.startswith(_PYMEASURE_BASES):  # *IDN?, *STB?... of every SCPI instrument
            continue
        for name, attr in vars(klass).items():
            if name in seen or name.startswith("_"):
                continue
            seen.add(name)
            if not isinstance(attr, property) or attr.fget is None or attr.fset is None:
                continue
            g, s = _defaults(attr.fget), _defaults(attr.fset)
            if g.get("get_command") and "set_command" in s and s["set_command"] is None:
                doc = (attr.fget.__doc__ or "").strip().splitlines()
                out[name] = ChannelConfig(property=name, period_s=period_s, description=doc[0] if doc else "")
    return dict(sorted(out.items()))


_TRUE = {"1", "ON", "TRUE", "YES"}
_FALSE = {"0", "OFF", "FALSE", "NO"}


def parse_reading(ch: ChannelConfig, reply: Any) -> float:
    """A reply (SCPI text, or a PyMeasure property's value) as one finite float.

    Applies the channel's ``index`` (comma-separated field), ``regex`` and
    ``parse``, then its ``limits``. Raises :class:`BadReplyError`.
    """
    if isinstance(reply, (list, tuple)):
        if not reply:
            raise BadReplyError("empty reply")
        reply = reply[ch.index or 0]
    if isinstance(reply, bool):
        value = float(reply)
    elif isinstance(reply, (int, float)):
        value = float(reply)
    else:
        text = str(reply).strip()
        shown = text if len(text) <= 40 else text[:37] + "..."
        if ch.index is not None:
            parts = text.split(",")
            if ch.index >= len(parts):
                raise BadReplyError(f"reply {shown!r} has no field {ch.index}")
            text = parts[ch.index].strip()
        if ch.regex is not None:
            m = re.search(ch.regex, text)
            if m is None:
                raise BadReplyError(f"reply {shown!r} does not match {ch.regex!r}")
            text = (m.group(1) if m.groups() else m.group(0)).strip()
        try:
            if ch.parse == "bool":
                up = text.upper()
                if up not in _TRUE | _FALSE:
                    raise ValueError
                value = 1.0 if up in _TRUE else 0.0
            elif ch.parse == "int":
                value = float(int(text))
            else:
                value = float(text)
        except ValueError:
            raise BadReplyError(
                f"reply {shown!r} is not {'a number' if ch.parse == 'float' else 'an ' + ch.parse if ch.parse == 'int' else 'a bool'}"
            ) from None
    if not math.isfinite(value):
        raise BadReplyError(f"reading {value} is not finite")
    if ch.limits is not None and not (ch.limits[0] <= value <= ch.limits[1]):
        raise BadReplyError(f"reading {value:g} is outside its limits [{ch.limits[0]:g}, {ch.limits[1]:g}]")
    return value


class ScpiLink:
    """A raw SCPI session: ``query(text) -> str``, ``write(text)``, channels by their query."""

    def __init__(self, cfg: InstrumentConfig, rig: RigConfig):
        self.cfg = cfg
        self.rig = rig
        self.resource: Any = None

    def _open_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "open_timeout": int(self.cfg.open_timeout_s * 1000),
            "timeout": int(self.cfg.timeout_s * 1000),
        }
        if self.cfg.read_termination is not None:
            kw["read_termination"] = self.cfg.read_termination
        if self.cfg.write_termination is not None:
            kw["write_termination"] = self.cfg.write_termination
        return kw

    def open(self) -> None:
        import pyvisa

        rm = pyvisa.ResourceManager(visa_library(self.cfg, self.rig))
        self.resource = rm.open_resource(self.cfg.resource, **self._open_kwargs())

    def query(self, text: str) -> str:
        return self.resource.query(text)

    def write(self, text: str) -> None:
        self.resource.write(text)

    def read_channel(self, ch: ChannelConfig) -> Any:
        assert ch.query is not None, "the rig file's validation gives a channel without a driver a query"
        return self.query(ch.query)

    def close(self) -> None:
        res, self.resource = self.resource, None
        if res is not None:
            try:
                res.close()
            except Exception:  # noqa: BLE001 - a dead link may fail to close; it is dropped either way
                pass


class DriverLink(ScpiLink):
    """A PyMeasure instrument (class by dotted name) on the instrument's VISA resource."""

    def __init__(self, cfg: InstrumentConfig, rig: RigConfig):
        super().__init__(cfg, rig)
        self.driver: Any = None

    def open(self) -> None:
        assert self.cfg.driver is not None, "a DriverLink is made for instruments with a driver"
        cls = driver_class(self.cfg.driver)
        self.driver = cls(self.cfg.resource, visa_library=visa_library(self.cfg, self.rig), **self._open_kwargs())
        self.resource = self.driver.adapter.connection

    def query(self, text: str) -> str:
        return self.driver.ask(text).strip()

    def write(self, text: str) -> None:
        self.driver.write(text)

    def read_channel(self, ch: ChannelConfig) -> Any:
        if ch.property is not None:
            return getattr(self.driver, ch.property)
        assert ch.query is not None, "the rig file's validation gives a channel a query or a property"
        return self.query(ch.query)

    def close(self) -> None:
        self.driver = None
        super().close()  # the resource only: PyMeasure's adapter.close() would close a shared @sim manager


def prepare_backend(cfg: InstrumentConfig, rig: RigConfig) -> None:
    """Load the VISA library (imports pyvisa-py or pyvisa-sim, parses a sim profile): the
    one-time cost before the first open, so that "connecting" measures the instrument.
    Errors are left for :func:`open_link` to raise."""
    try:
        import pyvisa

        pyvisa.ResourceManager(visa_library(cfg, rig))
        if cfg.driver:
            driver_class(cfg.driver)
    except Exception:  # noqa: BLE001 - reported by open_link with the instrument's context
        pass


def open_link(cfg: InstrumentConfig, rig: RigConfig) -> ScpiLink:
    """Open the instrument's transport (call on its worker thread). Raises what pyvisa raises."""
    link = DriverLink(cfg, rig) if cfg.driver else ScpiLink(cfg, rig)
    try:
        link.open()
    except BaseException:
        link.close()
        raise
    return link
