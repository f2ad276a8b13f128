"""Access tokens for the remote API: named, with a role, stored hashed, shown once.

A token is 32 random bytes (``secrets.token_urlsafe(32)``, 43 URL-safe
characters). The store keeps only its SHA-256 (a token has 256 bits of
entropy, so a fast hash is enough: there is nothing to brute-force), with the
name a person gave it ("PI office"), the role and the creation time, in a
JSON file next to the settings (``remote-tokens.json``, or the path in
``RIGCONSOLE_REMOTE_TOKENS``). Thread-safe: the server thread checks tokens
while the console or the command line adds and revokes them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..atomic import write_json_atomically

__all__ = ["ROLES", "OBSERVER", "OPERATOR", "TokenInfo", "TokenStore", "TokenError", "default_tokens_path"]

OBSERVER = "observer"
OPERATOR = "operator"
#: observer: read everything; operator: read and control (run, pause, resume, stop, annotate)
ROLES = (OBSERVER, OPERATOR)


class TokenError(ValueError):
    """A bad token name or role (the message says what to fix)."""


@dataclass(frozen=True)
class TokenInfo:
    """One token as the store knows it (never the token itself)."""

    name: str
    role: str
    created: float  # epoch s

    @property
    def can_control(self) -> bool:
        return self.role == OPERATOR


def default_tokens_path() -> Path:
    env = os.environ.get("RIGCONSOLE_REMOTE_TOKENS")
    if env:
        return Path(env)
    settings = os.environ.get("RIGCONSOLE_SETTINGS")
    if settings:
        return Path(settings).with_name("remote-tokens.json")
    import platformdirs

    return Path(platformdirs.user_config_dir("rigconsole")) / "remote-tokens.json"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class TokenStore:
    """Named tokens with roles, hashed, in a JSON file (``path=None``: memory only).

    ``add(name, role) -> token`` returns the token once; ``check(token) ->
    TokenInfo | None``; ``revoke(name) -> bool``; ``list() -> list[TokenInfo]``.
    The file is re-read when it changed on disk (a token revoked from the
    command line takes effect in a running server within one request).
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._by_hash: dict[str, TokenInfo] = {}
        self._stamp: tuple[int, int] | None = None
        self._reload()

    @classmethod
    def default(cls) -> TokenStore:
        return cls(default_tokens_path())

    # ------------------------------------------------------------------ file
    def _file_stamp(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _reload(self) -> None:
        stamp = self._file_stamp()
        if self.path is None or stamp == self._stamp:
            return
        table: dict[str, TokenInfo] = {}
        if stamp is not None:
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                for row in raw.get("tokens", []):
                    table[str(row["sha256"])] = TokenInfo(str(row["name"]), str(row["role"]), float(row["created"]))
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
                raise TokenError(f"token file {self.path} is unreadable ({err}); fix or delete it") from None
        self._by_hash = table
        self._stamp = stamp

    def _save(self) -> None:
        if self.path is None:
            return
        rows = [dict(sha256=h, **asdict(info)) for h, info in self._by_hash.items()]
        # owner-only (0600): the atomic write's temporary file is made so, and renamed into place
        write_json_atomically(self.path, {"version": 1, "tokens": rows}, indent=2)
        self._stamp = self._file_stamp()

    # ------------------------------------------------------------------ API
    def add(self, name: str, role: str = OBSERVER) -> str:
        """Make a token called ``name`` with ``role``; returns the token (shown once, never stored).

        Raises TokenError: empty or over-long name, a name already in use, an unknown role.
        """
        name = (name or "").strip()
        if not name or len(name) > 80 or any(ord(c) < 32 for c in name):
            raise TokenError("a token name is 1-80 printable characters, e.g. 'PI office'")
        if role not in ROLES:
            raise TokenError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._reload()
            if any(i.name == name for i in self._by_hash.values()):
                raise TokenError(f"a token named {name!r} exists; revoke it first or pick another name")
            self._by_hash[_digest(token)] = TokenInfo(name, role, time.time())
            self._save()
        return token

    def revoke(self, name: str) -> bool:
        """Forget the token called ``name``; ``False`` when there is none."""
        with self._lock:
            self._reload()
            hit = [h for h, i in self._by_hash.items() if i.name == name]
            for h in hit:
                del self._by_hash[h]
            if hit:
                self._save()
            return bool(hit)

    def list(self) -> list[TokenInfo]:
        """Every token's name, role and creation time, oldest first."""
        with self._lock:
            self._reload()
            return sorted(self._by_hash.values(), key=lambda i: i.created)

    def check(self, token: str | None) -> TokenInfo | None:
        """The token's info when it is valid, else ``None`` (constant-time per stored token)."""
        if not token or len(token) > 200:
            return None
        d = _digest(token)
        with self._lock:
            try:
                self._reload()
            except TokenError:
                return None
            found = None
            for h, info in self._by_hash.items():
                if hmac.compare_digest(h, d):
                    found = info
            return found
