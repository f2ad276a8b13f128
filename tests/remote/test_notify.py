"""Notifications against a real SMTP server on 127.0.0.1 (aiosmtpd): STARTTLS with login, SSL,
a failing server retried, a hung server never blocking the caller, run/instrument/disk mails."""

from __future__ import annotations

import socket
import ssl
import time
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from psygnal import Signal, SignalGroup

from rigconsole.remote.notify import Notifier
from rigconsole.remote.tls import make_self_signed

from support.smtp import Inbox, email_settings, free_port


def _auth(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"rig" and auth_data.password == b"s3cret"
    return AuthResult(success=ok)


@pytest.fixture
def cert(tmp_path):
    c, k = tmp_path / "smtp-cert.pem", tmp_path / "smtp-key.pem"
    make_self_signed(c, k, hostname="127.0.0.1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(c, k)
    return c, ctx


def _record(state="finished", error=None):
    return SimpleNamespace(
        index=3,
        key="gonogo/gonogo.psyexp",
        state=state,
        n_trials=40,
        total_trials=40,
        started=time.time() - 60,
        ended=time.time(),
        error=error,
        traceback="Traceback ...\nValueError: x" if error else "",
        exp_info={"participant": "p7"},
    )


def test_starttls_with_login_mails_run_finished_and_failed(cert):
    cert_path, ctx = cert
    inbox = Inbox()
    port = free_port()
    ctl = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=ctx,
        require_starttls=True,
        auth_require_tls=True,
        authenticator=_auth,
    )
    ctl.start()
    n = Notifier(
        email_settings(port, security="starttls", user="rig"),
        password="s3cret",
        rig_name="rig-2",
        ca_file=cert_path,
        retry_delays_s=(0.1,),
    )
    n.start()
    try:
        n._on_run_ended(_record())
        n._on_run_ended(_record("failed", "ValueError: stimulus file missing"))
        assert inbox.wait(2)
    finally:
        n.close()
        ctl.stop()
    subjects = [m.content.decode().split("Subject: ")[1].splitlines()[0] for m in inbox.messages]
    assert subjects == ["[rig-2] run 3 gonogo/gonogo.psyexp: finished", "[rig-2] run 3 gonogo/gonogo.psyexp: FAILED"]
    body = inbox.messages[1].content.decode()
    assert "stimulus file missing" in body and "participant: p7" in body
    assert inbox.messages[0].rcpt_tos == ["pi@lab.example"]


def test_ssl_and_a_wrong_password_is_logged_and_retried(cert, caplog):
    cert_path, ctx = cert
    inbox = Inbox()
    port = free_port()
    ctl = Controller(
        inbox, hostname="127.0.0.1", port=port, ssl_context=ctx, authenticator=_auth, auth_require_tls=False
    )
    ctl.start()
    try:
        good = Notifier(
            email_settings(port, security="ssl", user="rig"),
            password="s3cret",
            ca_file=cert_path,
            retry_delays_s=(0.1,),
        )
        good.start()
        assert good.notify("hello over SSL", "body")
        assert inbox.wait(1)
        good.close()
        bad = Notifier(
            email_settings(port, security="ssl", user="rig"),
            password="wrong",
            ca_file=cert_path,
            retry_delays_s=(0.05, 0.05),
            timeout_s=3.0,
        )
        bad.start()
        bad.notify("never", "body")
        deadline = time.monotonic() + 30
        while bad.failures < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        bad.close()
    finally:
        ctl.stop()
    assert len(inbox.messages) == 1 and bad.failures == 3 and bad.sent == []
    assert "attempt 3 of 3" in caplog.text and "gave up" in caplog.text


def test_a_server_down_at_first_is_retried_until_it_answers(caplog):
    inbox = Inbox()
    port = free_port()
    n = Notifier(email_settings(port), retry_delays_s=(0.2, 0.2, 0.5, 1.0, 2.0))
    n.start()
    try:
        n.notify("instrument photometer is down", "x")
        deadline = time.monotonic() + 5
        while n.failures < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        ctl = Controller(inbox, hostname="127.0.0.1", port=port)
        ctl.start()
        try:
            assert inbox.wait(1)
        finally:
            ctl.stop()
    finally:
        n.close()
    assert n.failures >= 1 and n.sent == ["instrument photometer is down"]
    assert "failed (attempt 1" in caplog.text


def test_a_hung_mail_server_never_blocks_the_caller():
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(5)  # accepts connections, never says a word
    n = Notifier(email_settings(hung.getsockname()[1]), timeout_s=3.0, retry_delays_s=())
    n.start()
    try:
        t0 = time.perf_counter()
        for _ in range(20):
            n._on_run_ended(_record())
        took = time.perf_counter() - t0
        assert took < 0.5  # twenty mails queued while the worker waits on a server that never answers
        assert n.sent == []
    finally:
        n.close()
        hung.close()


class _InstrumentEvents(SignalGroup):
    state_changed = Signal(str, str, str)


def test_instrument_down_and_disk_low(tmp_path):
    inbox = Inbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    manager = SimpleNamespace(events=_InstrumentEvents())
    n = Notifier(email_settings(port, disk_low_gb=1e12), rig_name="rig-3", disk_check_s=0.1, retry_delays_s=(0.1,))
    n.attach(instruments=manager, data_dir=tmp_path)
    n.start()
    try:
        manager.events.state_changed.emit("photometer", "connected", "")
        manager.events.state_changed.emit("photometer", "down", "no reply to *IDN? in 2 s")
        assert inbox.wait(2)
        time.sleep(0.5)  # the disk stays low: warned once, not every check
    finally:
        n.close()
        ctl.stop()
    subjects = sorted(m.content.decode().split("Subject: ")[1].splitlines()[0] for m in inbox.messages)
    assert len(subjects) == 2
    assert subjects[0].startswith("[rig-3] data disk low:")
    assert subjects[1] == "[rig-3] instrument photometer is down"
    assert any("no reply to *IDN?" in m.content.decode() for m in inbox.messages)
