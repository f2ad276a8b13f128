"""The remote settings the console keeps (a pydantic model the lead adds to ``Settings`` as ``remote``)."""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, field_validator

__all__ = ["RemoteSettings", "EmailSettings"]


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
    report_hours: float = Field(0.0, ge=0, description="periodic report every N hours; 0 = none")
    report_variables: list[str] = Field(default_factory=list)

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
