"""The rigs this computer attached to, and the TLS pinning policy for them. Qt-free.

The store is ``remote-recent.json`` next to the settings file: one entry per
rig, newest first, at most :data:`MAX_RECENT`: ``{"host", "port", "tls",
"fingerprint", "token_saved"}``. Tokens never go to the file: they go to the
OS keyring (:mod:`rigconsole.remote.secrets`).

Pinning (trust on first use, as ssh does): the first HTTPS attach to a rig
shows its certificate's SHA-256 fingerprint and asks; the answer is pinned
with the recent rig; a rig that later presents another certificate is refused
until it is forgotten (:func:`forget_rig`). :func:`pin_verdict` is that rule.
The dashboard's saved rig list (:func:`dashboard_rigs_path`) is a list of
``{"host", "port", "tls"}`` beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..atomic import write_json_atomically
from . import secrets

__all__ = [
    "MAX_RECENT",
    "recent_rigs_path",
    "load_recent",
    "remember_rig",
    "forget_rig",
    "saved_token",
    "norm_fingerprint",
    "fingerprint_lines",
    "PinVerdict",
    "pin_verdict",
    "pinned_fingerprint",
    "dashboard_rigs_path",
    "load_dashboard_rigs",
    "save_dashboard_rigs",
]

MAX_RECENT = 10


def _config_dir() -> Path:
    from ..settings import settings_path  # the settings module imports remote.settings: import late

    return settings_path().parent


def recent_rigs_path() -> Path:
    """``remote-recent.json`` next to the settings: host, port, TLS, pinned fingerprint (never the token)."""
    return _config_dir() / "remote-recent.json"


def _read_rows(path: Path) -> list[dict]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(rows, list):
        return []
    out = []
    for r in rows:
        if isinstance(r, dict) and isinstance(r.get("host"), str) and r["host"]:
            try:
                out.append({**r, "port": int(r["port"])})
            except (KeyError, TypeError, ValueError):
                continue
    return out


def _write_rows(path: Path, rows: list[dict]) -> None:
    write_json_atomically(path, rows, indent=2)


def load_recent() -> list[dict]:
    """The recently attached rigs, newest first: ``{"host", "port", "tls", "fingerprint", "token_saved"}``."""
    return _read_rows(recent_rigs_path())[:MAX_RECENT]


def remember_rig(entry: dict, token: str | None = None) -> dict:
    """Put ``entry`` first in the recent rigs; its token goes to the OS keyring (never to the file).

    Returns the entry as saved (``token_saved`` says whether the keyring kept the token)."""
    entry = {k: entry[k] for k in ("host", "port", "tls", "fingerprint") if k in entry}
    entry["port"] = int(entry["port"])
    entry["token_saved"] = bool(token and secrets.store(secrets.rig_token_key(entry["host"], entry["port"]), token))
    rows = [r for r in load_recent() if (r["host"], r["port"]) != (entry["host"], entry["port"])]
    _write_rows(recent_rigs_path(), [entry] + rows[: MAX_RECENT - 1])
    return entry


def forget_rig(host: str, port: int) -> None:
    """Drop the rig at ``host:port`` from the recent rigs, with its pinned fingerprint and kept token."""
    rows = [r for r in load_recent() if (r["host"], r["port"]) != (host, int(port))]
    secrets.delete(secrets.rig_token_key(host, int(port)))
    _write_rows(recent_rigs_path(), rows)


def saved_token(host: str, port: int) -> str | None:
    """The token kept in the OS keyring for the rig at ``host:port``, or ``None``."""
    return secrets.get(secrets.rig_token_key(host, int(port)))


def pinned_fingerprint(host: str, port: int) -> str:
    """The fingerprint pinned for ``host:port`` (``AB:CD:...``), or ``""`` when none is."""
    return next((r.get("fingerprint") or "" for r in load_recent() if (r["host"], r["port"]) == (host, int(port))), "")


# ---------------------------------------------------------------------------- pinning
def norm_fingerprint(fp: str) -> str:
    """``"ab:cd ..."`` → ``"ABCD..."`` (the form fingerprints are compared in)."""
    return fp.replace(":", "").replace(" ", "").strip().upper()


def fingerprint_lines(fp: str) -> str:
    """A SHA-256 fingerprint (``AB:CD:...``, 32 bytes) as two lines of 16 bytes, easier to compare."""
    parts = fp.split(":")
    return ":".join(parts[:16]) + ("\n" + ":".join(parts[16:]) if len(parts) > 16 else "")


@dataclass(frozen=True)
class PinVerdict:
    """What to do with a certificate a rig presents.

    ``action`` is ``"attach"`` (it matches the pin), ``"ask"`` (never seen: ask
    the person, then pin it) or ``"refuse"`` (another certificate than the
    pinned one); ``message`` is the one-line reason for a refusal."""

    action: str
    message: str = ""


def pin_verdict(host: str, port: int, seen: str, pinned: str | None) -> PinVerdict:
    """Trust on first use: compare the fingerprint ``seen`` with the one ``pinned`` (or none)."""
    if not pinned:
        return PinVerdict("ask")
    if norm_fingerprint(seen) == norm_fingerprint(pinned):
        return PinVerdict("attach")
    return PinVerdict(
        "refuse",
        (
            f"Refused: {host}:{port} presents another certificate than the one pinned "
            f"({seen[:23]}… instead of {pinned[:23]}…). Someone may be in between, or the rig made "
            "a new certificate: check the fingerprint its Settings show, then forget this rig "
            "(pick it, then Forget) and attach again."
        ),
    )


# ---------------------------------------------------------------------------- the dashboard's rigs
def dashboard_rigs_path() -> Path:
    """``remote-dashboard.json`` next to the settings: the rigs the dashboard showed last."""
    return _config_dir() / "remote-dashboard.json"


def load_dashboard_rigs() -> list[dict]:
    """The dashboard's saved rigs, in order: ``{"host", "port", "tls"}`` (tokens come from the keyring)."""
    return [
        {"host": r["host"], "port": r["port"], "tls": bool(r.get("tls"))} for r in _read_rows(dashboard_rigs_path())
    ]


def save_dashboard_rigs(rigs: list[dict]) -> None:
    """Keep the dashboard's rigs (``host``, ``port``, ``tls`` of each; never a token) for the next start."""
    _write_rows(
        dashboard_rigs_path(), [{"host": r["host"], "port": int(r["port"]), "tls": bool(r.get("tls"))} for r in rigs]
    )
