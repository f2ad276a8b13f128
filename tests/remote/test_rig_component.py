"""The server as a Rig component: started by add_component, follows the Rig's data log when
the data folder changes, closed with the rig; control actions land in the data log's annotations."""

from __future__ import annotations

import time

from remote.conftest import serve_main_while
from rigconsole.remote import RemoteObserver, RemoteServer, TokenStore
from rigconsole.rig import Rig
from rigconsole.settings import Settings


def test_server_as_a_rig_component(exp_root, tmp_path):
    tokens = TokenStore(tmp_path / "tokens.json")
    op = tokens.add("office", "operator")
    rig = Rig(
        Settings(root=exp_root, data_dir=tmp_path / "data"), window_params={"size": [200, 150], "units": "height"}
    )
    try:
        server = RemoteServer(port=0, tokens=tokens)
        rig.add_component("remote", server)
        assert rig.component("remote") is server and server.port
        obs = RemoteObserver("127.0.0.1", server.port, token=op)
        rig.data_log.add_entry(x=1.0)
        assert obs.get_last_values() == {"x": 1.0}
        assert obs.status()["session"]["data_log"] == str(rig.data_log.path)

        def client():
            q = obs.run("simple/simple.py", {"participant": "remote", "nTrials": 2})
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (len(obs.runs()["runs"]) < 1 or obs.status()["state"] != "idle"):
                time.sleep(0.05)
            return q

        q = serve_main_while(rig.session, client)
        assert q["index"] == 1
        assert rig.session.run_records[-1].state == "finished"
        notes = rig.data_log.annotations()
        assert [(n["source"], n["kind"], n["fields"]["action"]) for n in notes] == [("remote:office", "control", "run")]
        assert notes[0]["fields"]["expInfo"]["participant"] == "remote"
        # a new data folder: a new data log, and the server follows it
        old = rig.data_log
        rig.apply_settings(rig.settings.model_copy(update={"data_dir": tmp_path / "data2"}))
        assert rig.data_log is not old
        rig.data_log.add_entry(y=2.0)
        assert obs.get_last_values() == {"y": 2.0}
    finally:
        rig.close()
    assert server.port is None


def test_rig_follows_remote_settings(exp_root, tmp_path):
    """Settings → Remote attach applied: the server starts, locks (423), moves, stops."""
    from rigconsole.remote import RemoteError
    from rigconsole.remote.settings import RemoteSettings

    tokens = TokenStore.default()  # next to RIGCONSOLE_SETTINGS (the tests' own)
    op = tokens.add("office", "operator")
    settings = Settings(root=exp_root, data_dir=tmp_path / "data")
    rig = Rig(settings, window_params={"size": [200, 150], "units": "height"}, remote=True)
    try:
        assert rig.component("remote") is None  # off until enabled
        on = RemoteSettings(enabled=True, port=0, tls="off")
        rig.apply_settings(settings.model_copy(update={"remote": on}))
        server = rig.component("remote")
        assert server is not None and server.port and not server.locked
        obs = RemoteObserver("127.0.0.1", server.port, token=op)
        assert obs.status()["locked"] is False
        rig.apply_settings(rig.settings.model_copy(update={"remote": on.model_copy(update={"locked": True})}))
        assert rig.component("remote") is server and server.locked  # same server, told at once
        try:
            obs.pause()
            raise AssertionError("pause while locked was accepted")
        except RemoteError as err:
            assert err.status == 423
        assert rig.set_remote_locked(False) and not server.locked and rig.settings.remote.locked is False

        def pause():
            try:
                obs.pause()
            except RemoteError as err:
                return err.status

        assert serve_main_while(rig.session, pause) == 409  # unlocked: taken, but there is nothing to pause
        rig.apply_settings(rig.settings.model_copy(update={"remote": on.model_copy(update={"enabled": False})}))
        assert rig.component("remote") is None and server.port is None
    finally:
        rig.close()
