"""PyMeasure drivers for the simulated rig's instruments (pyvisa-sim, resources/rigs/sim-instruments.yaml).

They show the rig file's ``driver:`` key: any PyMeasure instrument class by
dotted name, whose ``measurement`` properties become channels.
"""

from __future__ import annotations

from pymeasure.instruments import Instrument
from pymeasure.instruments.generic_types import SCPIMixin
from pymeasure.instruments.validators import strict_range

__all__ = ["SimulatedPowerSupply"]


class SimulatedPowerSupply(SCPIMixin, Instrument):
    """A one-channel DC supply: voltage setpoint (V), output on/off, measured current (A)."""

    def __init__(self, adapter, name: str = "Simulated power supply", **kwargs):
        super().__init__(adapter, name, **kwargs)

    voltage = Instrument.control(
        "VOLT?", "VOLT %.3f", """Output voltage setpoint, V (0-30).""", validator=strict_range, values=[0, 30]
    )
    output = Instrument.control(
        "OUTP?", "OUTP %d", """Output enabled (bool).""", cast=int, map_values=True, values={False: 0, True: 1}
    )
    current = Instrument.measurement("MEAS:CURR?", """Measured output current, A.""")
