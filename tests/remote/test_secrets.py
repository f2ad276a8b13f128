"""Secrets in the OS keyring (rigconsole.remote.secrets) against real keyring backends; where
there is none (keyring's fail backend) or only a plain-text one, nothing is stored."""

from __future__ import annotations

import logging

from remote.keyring_backends import MemoryKeyring, PlaintextKeyring, no_keyring, using
from rigconsole.remote import secrets


def test_store_get_delete_in_a_keyring():
    with using(MemoryKeyring()) as kr:
        key = secrets.rig_token_key("Rig-2.lab ", 6913)
        assert key == "rig-token:rig-2.lab:6913"
        assert secrets.available() and secrets.unavailable_reason() is None
        assert secrets.get(key) is None
        assert secrets.store(key, "s3cret")
        assert kr.store[("rigconsole", key)] == "s3cret"
        assert secrets.get(key) == "s3cret"
        assert secrets.delete(key) and not secrets.delete(key)
        assert secrets.get(key) is None


def test_no_keyring_keeps_nothing_and_says_so_once(caplog):
    caplog.set_level(logging.WARNING, logger="rigconsole.remote.secrets")
    with no_keyring():
        reason = secrets.unavailable_reason()
        assert reason and "no OS keyring" in reason
        assert not secrets.available()
        assert secrets.store("smtp:me@host", "pw") is False
        assert secrets.store("smtp:me@host", "pw") is False
        assert secrets.get("smtp:me@host") is None
        assert not secrets.delete("smtp:me@host")
    said = [r for r in caplog.records if "not remembered" in r.getMessage()]
    assert len(said) <= 1  # once per process (an earlier test may have said it already)


def test_a_plain_text_backend_is_refused():
    with using(PlaintextKeyring()) as kr:
        assert "plain text" in secrets.unavailable_reason()
        assert secrets.store("rig-token:h:1", "tok") is False
        assert kr.store == {}


def test_a_failing_keyring_is_no_keyring():
    class Locked(MemoryKeyring):
        def set_password(self, service, username, password):
            raise RuntimeError("the keyring is locked")

        def get_password(self, service, username):
            raise RuntimeError("the keyring is locked")

    with using(Locked()):
        assert secrets.store("k", "v") is False
        assert secrets.get("k") is None
