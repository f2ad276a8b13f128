"""Lab instruments through pyvisa (Qt-free): a rig file, one worker thread per instrument,
polled channels into logged variables, connection states, monitoring tasks.

- :func:`load_rig_file` -> :class:`RigConfig` (raises :class:`RigFileError`)
- :class:`InstrumentManager` (a Rig component), ``manager.instruments[name]`` ->
  :class:`Instrument` (last values without I/O, queries in its worker)
- :mod:`.simulator`: a misbehaving SCPI instrument on a TCP socket on 127.0.0.1
- :mod:`.cli`: ``rigconsole rig check [RIGFILE]``

See docs/instruments.md.
"""

from .config import (
    ChannelConfig,
    InstrumentConfig,
    MonitoringConfig,
    RigConfig,
    RigFileError,
    SetpointConfig,
    default_rig_file,
    load_rig_file,
    parse_rig_text,
    rig_file_schema,
)
from .instrument import (
    BadReplyError,
    ConnectionState,
    Instrument,
    InstrumentDownError,
    InstrumentError,
    InstrumentTimeoutError,
    Reading,
    SetpointError,
)
from .manager import InstrumentEvents, InstrumentManager

__all__ = [
    "RigConfig",
    "InstrumentConfig",
    "ChannelConfig",
    "SetpointConfig",
    "MonitoringConfig",
    "RigFileError",
    "load_rig_file",
    "parse_rig_text",
    "rig_file_schema",
    "default_rig_file",
    "InstrumentManager",
    "InstrumentEvents",
    "Instrument",
    "ConnectionState",
    "Reading",
    "InstrumentError",
    "InstrumentDownError",
    "InstrumentTimeoutError",
    "SetpointError",
    "BadReplyError",
]
