"""Finding rigs on the lab network: DNS-SD over mDNS (python-zeroconf). Qt-free.

A rig whose remote attach is on announces the service type
:data:`SERVICE_TYPE` (``_rigconsole._tcp.local.``) with a TXT record:

========== ==========================================================
``rig``    the rig's name (Settings → Remote attach → rig name)
``port``   the server's TCP port (also in the SRV record)
``fp``     the TLS certificate's SHA-256 fingerprint (``AB:CD:...``), or empty without TLS
``tls``    ``"1"`` for HTTPS/WSS, ``"0"`` for plain HTTP
``api``    the remote API version (:data:`API_VERSION`, ``/api/v1``)
``replay`` ``"1"`` for ``rigconsole replay``, ``"0"`` for a live rig
========== ==========================================================

Finding a rig gives no access: attaching still needs a token, and the
fingerprint in the TXT record is only shown: the certificate is still
pinned on first use by the person attaching (anyone on the network can
announce anything).

Announcing is off when the server binds a loopback address (127.0.0.1: this
computer only) and when ``RIGCONSOLE_MDNS=off``. A rig bound to one address
announces on that address's interface only; one bound to every address
(``0.0.0.0``) on every interface, or on the addresses listed in
``RIGCONSOLE_MDNS_INTERFACES`` (comma-separated), which also limits where
:class:`RigBrowser` looks.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import threading
from typing import Any

from psygnal import Signal, SignalGroup

__all__ = [
    "SERVICE_TYPE",
    "API_VERSION",
    "announce_rig",
    "Announcer",
    "RigBrowser",
    "DiscoveryEvents",
    "mdns_enabled",
    "browse_interfaces",
]

log = logging.getLogger("rigconsole.remote.discovery")

SERVICE_TYPE = "_rigconsole._tcp.local."
API_VERSION = "1"


def mdns_enabled() -> bool:
    """``False`` when ``RIGCONSOLE_MDNS`` is ``off`` (or ``0``/``no``): nothing announced or browsed."""
    return os.environ.get("RIGCONSOLE_MDNS", "on").strip().lower() not in ("off", "0", "no", "false")


def browse_interfaces() -> Any:
    """The interfaces to use: the addresses in ``RIGCONSOLE_MDNS_INTERFACES``, else every interface."""
    from zeroconf import InterfaceChoice

    listed = [a.strip() for a in os.environ.get("RIGCONSOLE_MDNS_INTERFACES", "").split(",") if a.strip()]
    return listed or InterfaceChoice.All


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _own_addresses() -> list[str]:
    import ifaddr

    out = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str):
                a = ipaddress.ip_address(ip.ip)
                if not a.is_loopback and not a.is_link_local:
                    out.append(ip.ip)
    return out


class Announcer:
    """One rig's DNS-SD announcement; :meth:`close` withdraws it (a goodbye packet)."""

    def __init__(self, zc: Any, info: Any) -> None:
        self._zc = zc
        self.info = info
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The DNS-SD service instance name, e.g. ``rig-2 (6913)._rigconsole._tcp.local.``."""
        return self.info.name

    def close(self) -> None:
        with self._lock:
            zc, self._zc = self._zc, None
        if zc is None:
            return
        try:
            zc.unregister_service(self.info)
        except Exception as err:  # noqa: BLE001 - the network went away: nothing to withdraw
            log.info("mDNS: cannot withdraw %s: %s", self.info.name, err)
        zc.close()


def announce_rig(
    rig_name: str, host: str, port: int, *, fingerprint: str | None = None, replay: bool = False
) -> Announcer | None:
    """Announce the rig served at ``host:port``; ``None`` when not announced (loopback, mDNS off,
    or the network refuses: logged, the rig serves on regardless).

    ``host`` ``0.0.0.0``/``""``/``::`` announces every non-loopback address of this computer."""
    if not mdns_enabled() or _is_loopback(host):
        return None
    from zeroconf import IPVersion, ServiceInfo, Zeroconf

    everywhere = host in ("0.0.0.0", "", "::")
    if everywhere:
        interfaces = browse_interfaces()
        addresses = interfaces if isinstance(interfaces, list) else _own_addresses()
    else:
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            addresses = [socket.gethostbyname(host)]
        interfaces = addresses
    if not addresses:
        return None
    label = f"{rig_name} ({port})".replace(".", "-")[:63]
    props = {
        "rig": rig_name,
        "port": str(port),
        "fp": fingerprint or "",
        "tls": "1" if fingerprint else "0",
        "api": API_VERSION,
        "replay": "1" if replay else "0",
    }
    info = ServiceInfo(
        SERVICE_TYPE,
        f"{label}.{SERVICE_TYPE}",
        port=int(port),
        properties=props,
        addresses=[socket.inet_aton(a) for a in addresses if ":" not in a],
        server=f"{socket.gethostname().split('.')[0]}-{port}.local.",
    )
    try:
        zc = Zeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
        zc.register_service(info, allow_name_change=True)
    except Exception as err:  # noqa: BLE001 - no multicast here: the rig is still reachable by address
        log.warning("mDNS: cannot announce %s on %s: %s", rig_name, addresses, err)
        return None
    log.info("mDNS: announced %s as %s on %s", rig_name, info.name, addresses)
    return Announcer(zc, info)


class DiscoveryEvents(SignalGroup):
    """Emitted on zeroconf's thread (marshal to a GUI yourself)."""

    #: ({"name", "rig", "host", "port", "fingerprint", "tls", "api", "replay"})
    found = Signal(dict)
    #: (service instance name)
    gone = Signal(str)


class RigBrowser:
    """The rigs announced on the network, kept up to date (a zeroconf ``ServiceBrowser``).

    Args:
        interfaces: addresses of the interfaces to look on (default :func:`browse_interfaces`).

    Nothing is browsed when mDNS is off (:func:`mdns_enabled`) or the network
    refuses (:attr:`error` says why). :meth:`rigs` is a snapshot; ``events``
    announce changes. :meth:`close` when done.
    """

    def __init__(self, interfaces: Any = None) -> None:
        self.events = DiscoveryEvents()
        self.error = ""
        self._rigs: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._zc: Any = None
        self._browser: Any = None
        if not mdns_enabled():
            self.error = "finding rigs is off on this computer (RIGCONSOLE_MDNS=off)"
            return
        from zeroconf import IPVersion, ServiceBrowser, Zeroconf

        try:
            self._zc = Zeroconf(
                interfaces=interfaces if interfaces is not None else browse_interfaces(), ip_version=IPVersion.V4Only
            )
            self._browser = ServiceBrowser(self._zc, SERVICE_TYPE, handlers=[self._changed])
        except Exception as err:  # noqa: BLE001 - no multicast: the dialog still takes addresses
            self.error = f"cannot look for rigs on the network: {err}"
            log.warning("mDNS: %s", self.error)
            if self._zc is not None:
                self._zc.close()
            self._zc = None

    def rigs(self) -> list[dict]:
        """The rigs found so far, by rig name (see :class:`DiscoveryEvents` for the keys)."""
        with self._lock:
            return sorted(self._rigs.values(), key=lambda r: (r["rig"], r["host"], r["port"]))

    def _changed(self, zeroconf: Any, service_type: str, name: str, state_change: Any) -> None:
        from zeroconf import ServiceStateChange

        if state_change is ServiceStateChange.Removed:
            with self._lock:
                gone = self._rigs.pop(name, None)
            if gone is not None:
                self.events.gone.emit(name)
            return
        info = zeroconf.get_service_info(service_type, name, timeout=3000)
        if info is None:
            return
        rig = self.parse(name, info)
        if rig is None:
            return
        with self._lock:
            self._rigs[name] = rig
        self.events.found.emit(rig)

    @staticmethod
    def parse(name: str, info: Any) -> dict | None:
        """A found rig from a zeroconf ``ServiceInfo``, or ``None`` when it lacks an address or port."""
        props = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else (v or ""))
            for k, v in (info.properties or {}).items()
        }
        addrs = info.parsed_addresses()
        if not addrs or not info.port:
            return None
        return {
            "name": name,
            "rig": props.get("rig") or name.split(".")[0],
            "host": addrs[0],
            "port": int(info.port),
            "fingerprint": props.get("fp", ""),
            "tls": props.get("tls") == "1",
            "api": props.get("api", ""),
            "replay": props.get("replay") == "1",
        }

    def close(self) -> None:
        browser, zc = self._browser, self._zc
        self._browser = self._zc = None
        if browser is not None:
            browser.cancel()
        if zc is not None:
            zc.close()
