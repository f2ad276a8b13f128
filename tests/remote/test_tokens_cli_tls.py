"""Tokens (hashed, shown once, revocable), the remote/observe command line, and TLS with a
self-signed certificate pinned by its fingerprint."""

from __future__ import annotations

import json

import pytest

from rigconsole.remote import RemoteError, RemoteObserver, RemoteServer, RigView, TlsConfig, TokenError, TokenStore
from rigconsole.remote.cli import main


def test_tokens_are_stored_hashed_and_revocable(tmp_path):
    store = TokenStore(tmp_path / "t.json")
    tok = store.add("PI office", "observer")
    assert store.check(tok).name == "PI office" and store.check(tok).role == "observer"
    assert tok not in (tmp_path / "t.json").read_text()  # only its hash is kept
    assert store.check(tok[:-1]) is None and store.check("") is None and store.check(None) is None
    with pytest.raises(TokenError, match="exists"):
        store.add("PI office", "operator")
    with pytest.raises(TokenError, match="role"):
        store.add("x", "admin")
    other = TokenStore(tmp_path / "t.json")  # another process (the command line) revokes it
    assert other.revoke("PI office") and not other.revoke("PI office")
    assert store.check(tok) is None


def test_cli_token_add_list_revoke(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RIGCONSOLE_REMOTE_TOKENS", str(tmp_path / "tokens.json"))
    assert main(["remote", "token", "add", "PI office", "--role", "operator"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1].split()[-1]
    info = TokenStore(tmp_path / "tokens.json").check(token)
    assert info.name == "PI office" and info.role == "operator"
    assert main(["remote", "token", "list"]) == 0
    listed = capsys.readouterr().out
    assert "PI office\toperator" in listed and token not in listed
    assert main(["remote", "token", "revoke", "PI office"]) == 0
    assert main(["remote", "token", "revoke", "PI office"]) == 1
    assert "no token named" in capsys.readouterr().err
    assert main(["remote", "token", "add", "x", "--role", "admin"]) == 2
    assert main(["observe", "127.0.0.1:notaport", "--token", "t"]) == 2


def test_cli_observe_prints_status_and_events(rig, capsys):
    rig.data_log.add_entry(x=1.0)
    import threading

    threading.Timer(1.0, lambda: rig.data_log.add_entry(x=2.0)).start()
    assert main(["observe", f"127.0.0.1:{rig.port}", "--token", rig.observer_token, "--seconds", "3", "--json"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "rig rig-test: idle"
    events = [json.loads(line) for line in out[1:]]
    assert any(e["type"] == "values" and e["values"] == {"x": 2.0} for e in events)
    assert main(["observe", f"127.0.0.1:{rig.port}", "--token", "wrong"]) == 1


def test_tls_self_signed_pinned(exp_root, make_session, data_log, tmp_path):
    tls = TlsConfig.self_signed(tmp_path / "tls")
    assert TlsConfig.self_signed(tmp_path / "tls").fingerprint == tls.fingerprint  # made once
    tokens = TokenStore(None)
    tok = tokens.add("office", "observer")
    server = RemoteServer(RigView(make_session(exp_root), data_log), port=0, tokens=tokens, tls=tls)
    server.start()
    try:
        assert server.url.startswith("https://") and server.fingerprint == tls.fingerprint
        data_log.add_entry(x=5.0)
        obs = RemoteObserver("127.0.0.1", server.port, token=tok, fingerprint=tls.fingerprint)
        assert obs.get_last_values() == {"x": 5.0}
        wrong = "00:" * 31 + "00"
        with pytest.raises(RemoteError, match="does not match the pinned fingerprint"):
            RemoteObserver("127.0.0.1", server.port, token=tok, fingerprint=wrong).get_last_values()
        with pytest.raises(RemoteError, match="cannot reach"):  # unpinned: the system does not trust it
            RemoteObserver("127.0.0.1", server.port, token=tok, tls=True).get_last_values()
    finally:
        server.close()


def test_a_taken_port_is_one_clear_error(rig, tmp_path):
    other = RemoteServer(RigView(rig.session, rig.data_log), port=rig.port, tokens=TokenStore(None))
    with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{rig.port}"):
        other.start()
    assert rig.request("GET", "/api/v1/status")[0] == 200


def test_server_from_settings(tmp_path):
    from rigconsole.remote import RemoteSettings

    s = RemoteSettings(enabled=True, port=0, locked=True)
    server = RemoteServer.from_settings(s, config_dir=tmp_path, tokens=TokenStore(None))
    assert server.locked and server.host == "127.0.0.1" and server.tls is not None
    assert (tmp_path / "remote-cert.pem").exists() and len(server.fingerprint) == 95
    with pytest.raises(ValueError, match="tls_cert"):
        RemoteServer.from_settings(RemoteSettings(tls="files"), config_dir=tmp_path)
    assert (
        RemoteServer.from_settings(RemoteSettings(tls="off"), config_dir=tmp_path, tokens=TokenStore(None)).tls is None
    )
