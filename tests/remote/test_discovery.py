"""Discovery (DNS-SD over mDNS, python-zeroconf) of a rig on a non-loopback address.

Where the multicast goes: on this machine the loopback interface has no MULTICAST flag, so the
test builds its own little lab network instead: a network namespace (``ip netns``) joined to
this one by a veth pair, with addresses 10.213.N.1 (here) and 10.213.N.2 (the "rig" side),
N from the test's process id. The rig (``rigconsole replay``, which serves through the same
RemoteServer and announces through the same hook as a console's rig) runs inside the
namespace with remote attach on 10.213.N.2; the Attach dialog here looks only on 10.213.N.1
(``RIGCONSOLE_MDNS_INTERFACES``). No packet leaves these two interfaces: the namespace has no
other route, and both sides bind the veth addresses. Needs root (``ip netns add``); the
namespace and the veth are deleted at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("PySide6", reason="the Qt suite (the core suite blocks Qt)")

from support.lab import write_session  # noqa: E402


def _ip(*args: str, ns: str | None = None) -> None:
    cmd = (["ip", "netns", "exec", ns, "ip"] if ns else ["ip"]) + list(args)
    subprocess.run(cmd, check=True, capture_output=True, timeout=10)


@pytest.fixture
def lab_net():
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 to make a network namespace for the multicast")
    n = 10 + os.getpid() % 200
    ns, here, there = f"rclab{n}", f"rcl{n}a", f"rcl{n}b"
    try:
        _ip("netns", "add", ns)
    except subprocess.CalledProcessError as err:
        pytest.skip(f"cannot make a network namespace here: {err.stderr.decode().strip()}")
    try:
        _ip("link", "add", here, "type", "veth", "peer", "name", there)
        _ip("link", "set", there, "netns", ns)
        _ip("addr", "add", f"10.213.{n}.1/24", "dev", here)
        _ip("link", "set", here, "up")
        _ip("addr", "add", f"10.213.{n}.2/24", "dev", there, ns=ns)
        _ip("link", "set", there, "up", ns=ns)
        _ip("link", "set", "lo", "up", ns=ns)
        yield ns, f"10.213.{n}.1", f"10.213.{n}.2"
    finally:
        subprocess.run(["ip", "link", "del", here], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


def test_a_rig_on_a_lab_address_appears_in_the_attach_dialog_and_still_needs_a_token(
    qtbot, lab_net, tmp_path, monkeypatch
):
    from rigconsole.remote import RemoteError, RemoteObserver, TokenStore
    from rigconsole.remote.discovery import RigBrowser
    from rigconsole.ui.remote_observer import AttachDialog

    ns, here, there = lab_net
    token = TokenStore.default().add("lab manager", "observer")  # the rig's token file (same settings folder)
    path = write_session(tmp_path / "session.h5", seconds=30.0, runs=1, trials=20)
    env = dict(os.environ, RIGCONSOLE_MDNS="on")
    rig = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            ns,
            sys.executable,
            "-c",
            "import sys; from rigconsole.cli import main; sys.exit(main())",
            "replay",
            str(path),
            "--loop",
            "--remote",
            f"{there}:6913",
            "--name",
            "lab-rig-7",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    monkeypatch.setenv("RIGCONSOLE_MDNS", "on")
    monkeypatch.setenv("RIGCONSOLE_MDNS_INTERFACES", here)
    dlg = watcher = None
    try:
        line = rig.stdout.readline()
        assert f"on http://{there}:6913/" in line, (line, rig.stderr.read() if rig.poll() is not None else "")
        watcher = RigBrowser(interfaces=[here])
        dlg = AttachDialog()
        qtbot.addWidget(dlg)
        assert dlg.browser is not None and not dlg.browser.error, dlg.browser and dlg.browser.error

        def listed():
            return [dlg.found.itemData(i) for i in range(1, dlg.found.count())]

        qtbot.waitUntil(lambda: any(r["rig"] == "lab-rig-7" for r in listed()), timeout=15000)
        found = next(r for r in listed() if r["rig"] == "lab-rig-7")
        assert (found["host"], found["port"], found["replay"], found["api"]) == (there, 6913, True, "1")
        dlg._pick_found(1 + listed().index(found))
        assert dlg.host.text() == there and dlg.port.value() == 6913 and dlg.token.text() == ""
        dlg._accept()  # no token: not attached
        assert dlg.result() != dlg.DialogCode.Accepted and "token" in dlg.error.text()
        with pytest.raises(RemoteError) as refused:  # the rig itself refuses without one
            RemoteObserver(there, 6913, token=None, timeout=5).status()
        assert refused.value.status == 401
        dlg.token.setText(token)
        dlg._accept()
        assert dlg.result() == dlg.DialogCode.Accepted
        assert dlg.observer().status()["rig"] == "lab-rig-7"
        qtbot.waitUntil(lambda: any(r["rig"] == "lab-rig-7" for r in watcher.rigs()), timeout=15000)
        rig.terminate()  # the rig withdraws its announcement as it stops
        rig.wait(15)
        assert dlg.browser is None  # the dialog stopped looking when it closed
        qtbot.waitUntil(lambda: not any(r["rig"] == "lab-rig-7" for r in watcher.rigs()), timeout=15000)
    finally:
        if watcher is not None:
            watcher.close()
        if dlg is not None:
            dlg.close()
            dlg._stop_browsing()
        if rig.poll() is None:
            rig.kill()
            rig.wait(5)
