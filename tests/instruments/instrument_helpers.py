"""Helpers shared by the instrument tests."""

from __future__ import annotations

from rigconsole.instruments import parse_rig_text


def socket_rig(
    resource: str,
    *,
    timeout_s: float = 0.3,
    period_s: float = 0.1,
    down_after: int = 2,
    backoff: float = 0.2,
    extra: str = "",
) -> object:
    """A rig file (parsed) with one instrument 'sensor' on the socket simulator."""
    return parse_rig_text(f"""
rig: socket test rig
instruments:
  sensor:
    resource: "{resource}"
    timeout_s: {timeout_s}
    open_timeout_s: 0.5
    retry: {{down_after_timeouts: {down_after}, backoff_first_s: {backoff}, backoff_max_s: {backoff * 4}}}
    channels:
      temperature: {{query: "MEAS:TEMP?", unit: degC, period_s: {period_s}, limits: [-40, 80]}}
    setpoints:
      voltage: {{command: "VOLT {{value:.3f}}", query: "VOLT?", unit: V, min: 0, max: 12}}
{extra}""")


def wait_for(cond, timeout: float = 5.0, interval: float = 0.01) -> bool:
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(interval)
    return bool(cond())
