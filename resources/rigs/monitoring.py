"""Monitoring tasks of the bundled simulated rig (pymanip style; see docs/instruments.md).

Each ``async def task(rig)`` is one iteration: the console runs it again and
again while monitoring, on its asyncio loop. Never block here: await
instrument queries (``aread``, ``aquery``) and ``rig.sleep``.
"""


async def psu_power(rig):
    """The LED supply's power, W, from its last polled voltage and current (no I/O)."""
    rig.describe_variable("psu.power", unit="W", description="LED supply power (voltage x current)")
    psu = rig["psu"]
    v, i = psu.value("voltage"), psu.value("current")
    if v is not None and i is not None:
        rig.add_entry({"psu.power": v * i})
    await rig.sleep(2.0)
