"""Remote attach, Qt-free: the rig's aiohttp server, tokens and roles, RemoteObserver, notifications.

``RemoteServer`` is a Rig component (``start(rig)``, ``close()``);
``RemoteObserver`` is pymanip's observer for a Rig Console rig. See docs/remote.md.
"""

from .observer import RemoteError, RemoteObserver
from .server import DEFAULT_PORT, RemoteServer
from .settings import RemoteSettings
from .stream import Stream
from .tls import TlsConfig, cert_fingerprint, make_self_signed
from .tokens import OBSERVER, OPERATOR, ROLES, TokenError, TokenInfo, TokenStore
from .view import RigView

__all__ = [
    "RemoteServer",
    "RemoteObserver",
    "RemoteError",
    "RemoteSettings",
    "RigView",
    "Stream",
    "TlsConfig",
    "TokenStore",
    "TokenInfo",
    "TokenError",
    "ROLES",
    "OBSERVER",
    "OPERATOR",
    "DEFAULT_PORT",
    "cert_fingerprint",
    "make_self_signed",
]
