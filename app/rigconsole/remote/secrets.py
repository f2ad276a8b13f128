"""Secrets in the OS keyring (the ``keyring`` package), never in plain-text settings. Qt-free.

What is kept: the tokens of recently attached rigs (:func:`rig_token_key`)
and the SMTP password (:func:`smtp_password_key`), under the service name
``"rigconsole"``. The OS keyring is the Windows Credential Locker, the macOS
Keychain, or the Secret Service (GNOME Keyring, KWallet) on Linux.

Where there is no usable keyring (a Linux machine without a Secret Service:
keyring's ``fail`` backend; or a backend that itself writes plain text, such
as ``keyrings.alt``'s ``PlaintextKeyring``), nothing is stored: :func:`store`
returns ``False``, :func:`get` returns ``None``, the reason is logged once and
available from :func:`unavailable_reason`, and the caller asks for the secret
again (the attach dialog says why). A keyring that fails while in use
(locked, D-Bus gone) is treated the same way for that call.
"""

from __future__ import annotations

import logging
import threading

from ..notifications import one_line

__all__ = ["SERVICE", "available", "unavailable_reason", "store", "get", "delete", "rig_token_key", "smtp_password_key"]

log = logging.getLogger("rigconsole.remote.secrets")

SERVICE = "rigconsole"
#: backends that would keep the secret in a plain file: refused (the point is to keep it out of one)
_PLAIN_TEXT = {"PlaintextKeyring", "keyrings.alt.file.PlaintextKeyring"}

_said: set[str] = set()
_lock = threading.Lock()


def _say_once(reason: str) -> None:
    with _lock:
        if reason in _said:
            return
        _said.add(reason)
    log.warning("%s; secrets are not remembered (you are asked for them again)", reason)


def _backend():
    """The keyring backend in use, or ``(None, reason)``."""
    try:
        import keyring
        from keyring.backends import fail
    except Exception as err:  # noqa: BLE001 - a broken install is "no keyring", not a crash
        return None, f"the keyring package cannot be loaded ({one_line(err)})"
    try:
        kr = keyring.get_keyring()
    except Exception as err:  # noqa: BLE001
        return None, f"no OS keyring ({one_line(err)})"
    name = type(kr).__name__
    if isinstance(kr, fail.Keyring) or getattr(kr, "priority", 0) <= 0:
        return None, "no OS keyring on this computer (no Secret Service, Keychain or Credential Locker found)"
    if name in _PLAIN_TEXT or f"{type(kr).__module__}.{name}" in _PLAIN_TEXT:
        return None, f"the keyring backend {type(kr).__module__}.{name} keeps secrets in plain text"
    return kr, None


def unavailable_reason() -> str | None:
    """Why secrets cannot be kept here (one line), or ``None`` when the OS keyring is usable."""
    return _backend()[1]


def available() -> bool:
    """``True`` when an OS keyring can keep secrets."""
    return _backend()[0] is not None


def store(key: str, secret: str) -> bool:
    """Keep ``secret`` under ``key``; ``False`` (logged once) when there is no usable keyring."""
    kr, reason = _backend()
    if kr is None:
        _say_once(reason)
        return False
    try:
        kr.set_password(SERVICE, key, secret)
        return True
    except Exception as err:  # noqa: BLE001 - keyring.errors.PasswordSetError, a locked keyring, D-Bus gone
        _say_once(f"the OS keyring refused to store a secret ({one_line(err)})")
        return False


def get(key: str) -> str | None:
    """The secret kept under ``key``, or ``None`` (none kept, or no usable keyring)."""
    kr, reason = _backend()
    if kr is None:
        _say_once(reason)
        return None
    try:
        return kr.get_password(SERVICE, key)
    except Exception as err:  # noqa: BLE001
        _say_once(f"the OS keyring could not be read ({one_line(err)})")
        return None


def delete(key: str) -> bool:
    """Forget the secret under ``key``; ``False`` when there was none (or no usable keyring)."""
    kr, _ = _backend()
    if kr is None:
        return False
    try:
        kr.delete_password(SERVICE, key)
        return True
    except Exception:  # noqa: BLE001 - keyring.errors.PasswordDeleteError: nothing kept
        return False


def rig_token_key(host: str, port: int) -> str:
    """The keyring user name of an attached rig's token: ``"rig-token:HOST:PORT"``."""
    return f"rig-token:{host.strip().lower()}:{int(port)}"


def smtp_password_key(user: str, host: str) -> str:
    """The keyring user name of the SMTP password: ``"smtp:USER@HOST"``."""
    return f"smtp:{user.strip()}@{host.strip().lower()}"
