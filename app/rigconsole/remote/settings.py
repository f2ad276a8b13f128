"""The remote settings the console keeps (a pydantic model, ``Settings.remote``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

__all__ = ["RemoteSettings", "EmailSettings", "MAX_REPORT_VARIABLES"]

#: the report plots at most this many variables (one PNG each)
MAX_REPORT_VARIABLES = 8


class EmailSettings(BaseModel):
    """Notifications by email (pymanip's ``send_email``, for a rig)."""

    enabled: bool = False
    host: str = Field("", description="SMTP server host name")
    port: int = Field(0, ge=0, le=65535, description="SMTP port; 0 = 465 with SSL, 587 with STARTTLS, else 25")
    security: str = Field("starttls", description="'starttls', 'ssl' or 'none'")
    user: str = ""
    from_addr: str = ""
    to_addrs: list[str] = Field(default_factory=list)
    on_run_finished: bool = True
    on_run_failed: bool = True
    on_instrument_down: bool = True
    disk_low_gb: float = Field(5.0, ge=0, description="mail when the data disk has less free space (GB); 0 = never")
    report_minutes: float = Field(
        0.0, ge=0, le=7 * 24 * 60, description="mail a report every N minutes (summary and plots); 0 = no report"
    )
    report_variables: list[str] = Field(
        default_factory=list,
        max_length=MAX_REPORT_VARIABLES,
        description=f"logged variables the report plots, by name; empty = all (up to {MAX_REPORT_VARIABLES})",
    )
    report_window_minutes: float = Field(
        60.0, gt=0, le=7 * 24 * 60, description="the report's plots show the last N minutes"
    )
    report_plots_during_runs: bool = Field(
        False,
        description="draw the report's plots during a run too (between frames, but a plot's drawing "
        "takes longer than a frame: it may cost frames); off = a report due during a run "
        "waits for the run's end, at most one report period, then goes without plots",
    )

    @model_validator(mode="before")
    @classmethod
    def _report_hours(cls, data: Any) -> Any:
        # settings saved before the report period was in minutes
        if isinstance(data, dict) and "report_hours" in data:
            data = dict(data)
            hours = data.pop("report_hours")
            if "report_minutes" not in data and isinstance(hours, (int, float)):
                data["report_minutes"] = float(hours) * 60.0
        return data

    @field_validator("report_variables")
    @classmethod
    def _report_variables(cls, names: list[str]) -> list[str]:
        out: list[str] = []
        for raw in names:
            name = raw.strip()
            if not name:
                raise ValueError("report_variables: an empty name; give logged-variable names, e.g. 'pupil'")
            if name in out:
                raise ValueError(f"report_variables: {name!r} is listed twice")
            out.append(name)
        return out

    @field_validator("security")
    @classmethod
    def _security(cls, v: str) -> str:
        if v not in ("starttls", "ssl", "none"):
            raise ValueError("security must be 'starttls', 'ssl' or 'none'")
        return v


class RemoteSettings(BaseModel):
    """Remote attach: off until enabled; this computer only unless a host is given."""

    enabled: bool = False
    host: str = Field("127.0.0.1", description="address to bind; 0.0.0.0 = every interface")
    port: int = Field(6913, ge=0, le=65535, description="TCP port (pymanip's 6913)")
    rig_name: str = Field("", description="shown to observers; empty = the host name")
    tls: str = Field("self-signed", description="'self-signed', 'files' (tls_cert + tls_key) or 'off'")
    tls_cert: Path | None = None
    tls_key: Path | None = None
    locked: bool = Field(False, description="remote control refused (423) until unlocked at the rig")
    email: EmailSettings = Field(default_factory=EmailSettings)

    @field_validator("tls")
    @classmethod
    def _tls(cls, v: str) -> str:
        if v not in ("self-signed", "files", "off"):
            raise ValueError("tls must be 'self-signed', 'files' or 'off'")
        return v
