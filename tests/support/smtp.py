"""A real SMTP server's inbox for the notification tests (aiosmtpd on 127.0.0.1), and the
email settings that point at it."""

from __future__ import annotations

import email
import socket
import time
from email import policy

from rigconsole.remote.settings import EmailSettings


class Inbox:
    """aiosmtpd handler keeping every mail: ``messages`` (envelopes), ``times`` (monotonic s)."""

    def __init__(self, timeout: float = 20.0):
        self.messages = []
        self.times: list[float] = []
        self.timeout = timeout

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.times.append(time.monotonic())
        self.messages.append(envelope)
        return "250 OK"

    def wait(self, n, timeout=None):
        """True once ``n`` mails arrived, False after ``timeout`` s (default: the inbox's)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while len(self.messages) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(self.messages) >= n

    def parsed(self, i):
        """Mail ``i`` as an ``email.message.EmailMessage``."""
        return email.message_from_bytes(self.messages[i].content, policy=policy.default)


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def email_settings(port, **kw) -> EmailSettings:
    """Mail to pi@lab.example through 127.0.0.1:``port``, no TLS, no disk warning; ``kw`` override."""
    base = dict(
        enabled=True,
        host="127.0.0.1",
        port=port,
        security="none",
        from_addr="rig@lab.example",
        to_addrs=["pi@lab.example"],
        disk_low_gb=0,
    )
    base.update(kw)
    return EmailSettings(**base)
