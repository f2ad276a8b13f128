"""The recent rigs' store, the dashboard's saved rigs and the TLS pin rule (Qt-free)."""

from __future__ import annotations

from remote.keyring_backends import MemoryKeyring, using


def test_recent_rigs_keep_the_pin_never_the_token_and_forget_both():
    from rigconsole.remote.recent import (
        forget_rig,
        load_recent,
        pinned_fingerprint,
        recent_rigs_path,
        remember_rig,
        saved_token,
    )

    with using(MemoryKeyring()):
        remember_rig({"host": "rig-2.lab", "port": 6913, "tls": True, "fingerprint": "AB:CD"}, "s3cret-token")
        remember_rig({"host": "rig-3.lab", "port": "6914", "tls": False, "fingerprint": ""}, None)
        assert [(r["host"], r["port"]) for r in load_recent()] == [("rig-3.lab", 6914), ("rig-2.lab", 6913)]
        assert "s3cret-token" not in recent_rigs_path().read_text(encoding="utf-8")
        assert saved_token("rig-2.lab", 6913) == "s3cret-token" and pinned_fingerprint("rig-2.lab", 6913) == "AB:CD"
        forget_rig("rig-2.lab", 6913)
        assert saved_token("rig-2.lab", 6913) is None and pinned_fingerprint("rig-2.lab", 6913) == ""
    recent_rigs_path().write_text("{broken", encoding="utf-8")
    assert load_recent() == []  # a damaged file is no rigs, not a crash


def test_pin_rule_trust_on_first_use():
    from rigconsole.remote.recent import pin_verdict

    assert pin_verdict("h", 1, "AB:CD", None).action == "ask"
    assert pin_verdict("h", 1, "ab:cd", "AB:CD").action == "attach"
    refused = pin_verdict("h", 1, "AB:CE", "AB:CD")
    assert refused.action == "refuse" and "another certificate than the one pinned" in refused.message


def test_dashboard_rigs_are_saved_without_tokens():
    from rigconsole.remote.recent import load_dashboard_rigs, save_dashboard_rigs

    assert load_dashboard_rigs() == []
    save_dashboard_rigs([{"host": "127.0.0.1", "port": 7001, "tls": False, "token": "nope"}])
    assert load_dashboard_rigs() == [{"host": "127.0.0.1", "port": 7001, "tls": False}]
