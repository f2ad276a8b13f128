"""TLS for the remote server: a certificate and key, or a self-signed pair the rig makes.

The fingerprint (SHA-256 of the certificate's DER bytes, ``AB:CD:...``) is
what the console shows and the attach dialog pins on first use.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TlsConfig", "make_self_signed", "cert_fingerprint", "peer_fingerprint"]


def cert_fingerprint(cert_pem: bytes) -> str:
    """``"AB:CD:..."``: SHA-256 of a PEM certificate's DER form (as browsers show it)."""
    der = ssl.PEM_cert_to_DER_cert(cert_pem.decode("ascii"))
    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i : i + 2] for i in range(0, len(h), 2))


def make_self_signed(cert_path: Path, key_path: Path, *, hostname: str = "localhost", days: int = 3650) -> str:
    """Write a self-signed certificate (EC P-256) and its key; returns the fingerprint.

    The certificate names ``hostname``, ``localhost`` and 127.0.0.1. The key
    file is made readable by its owner only.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, hostname),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Rig Console"),
        ]
    )
    now = _dt.datetime.now(_dt.timezone.utc)
    alt = [x509.DNSName(hostname), x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path = Path(cert_path)
    key_path = Path(key_path)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.touch(mode=0o600, exist_ok=True)
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_path.write_bytes(pem)
    return cert_fingerprint(pem)


@dataclass
class TlsConfig:
    """A certificate and its key (PEM files)."""

    cert: Path
    key: Path

    @classmethod
    def self_signed(cls, folder: Path, *, hostname: str = "localhost") -> TlsConfig:
        """The rig's self-signed pair in ``folder`` (``remote-cert.pem``, ``remote-key.pem``), made once."""
        folder = Path(folder)
        cert, key = folder / "remote-cert.pem", folder / "remote-key.pem"
        if not (cert.exists() and key.exists()):
            make_self_signed(cert, key, hostname=hostname)
        return cls(cert, key)

    @property
    def fingerprint(self) -> str:
        return cert_fingerprint(Path(self.cert).read_bytes())

    def ssl_context(self) -> ssl.SSLContext:
        """A server context (TLS 1.2+). Raises OSError/ssl.SSLError naming the bad file."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(str(self.cert), str(self.key))
        except (OSError, ssl.SSLError) as err:
            raise OSError(f"cannot load TLS certificate {self.cert} / key {self.key}: {err}") from None
        return ctx


def peer_fingerprint(host: str, port: int, *, timeout: float = 5.0) -> str:
    """The fingerprint (``AB:CD:...``) of the certificate a TLS server at ``host:port`` presents,
    without verifying it (what the attach dialog shows to pin on first use).

    Raises OSError (unreachable, not TLS) with a one-line message.
    """
    try:
        pem = ssl.get_server_certificate((host, int(port)), timeout=timeout)
    except (OSError, ssl.SSLError) as err:
        raise OSError(f"no TLS certificate from {host}:{port} ({err}); is the rig's server on, with TLS?") from None
    return cert_fingerprint(pem.encode("ascii"))
