"""Real keyring backends for tests (keyring ships none in memory): a KeyringBackend kept in a
dict, and one named like keyrings.alt's plain-text file backend (which secrets must refuse)."""

from __future__ import annotations

import contextlib

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """A keyring backend that keeps passwords in a dict (priority 1, like an OS backend)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")


class PlaintextKeyring(MemoryKeyring):
    """Named as keyrings.alt.file's backend that writes secrets to a plain file."""

    priority = 0.5


@contextlib.contextmanager
def using(backend):
    """Use ``backend`` as the keyring for the block (``keyring.set_keyring``), then the previous one."""
    before = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(before)


def no_keyring():
    """keyring's own 'no backend' (what a Linux machine without a Secret Service gets)."""
    return using(fail.Keyring())
