"""Trial control over the remote API (real server on 127.0.0.1, real Session, DataLog and window):
anyone may read the state, only an operator acts (observer 403, locked 423), an action the run
cannot do is a 409 with the reason, and an operator's skip and expInfo edit reach the running
go/no-go and are recorded under the token's name. Responses match docs/remote-api.yaml."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from remote.conftest import serve_main_while

REPO = Path(__file__).resolve().parents[2]
ACTIONS = [
    ("/api/v1/trial-control/repeat", None),
    ("/api/v1/trial-control/next", None),
    ("/api/v1/trial-control/skip", {"n": 1}),
    ("/api/v1/trial-control/pause-loop", None),
    ("/api/v1/trial-control/pause-trial", None),
    ("/api/v1/trial-control/exp-info", {"key": "session", "value": "002"}),
]


@pytest.fixture
def exp_root(exp_root):
    shutil.copytree(REPO / "resources" / "experiments" / "gonogo", exp_root / "gonogo")
    return exp_root


def test_roles_lock_and_no_run(rig):
    def client():
        st, state = rig.request("GET", "/api/v1/trial-control")
        assert st == 200 and state["running"] is False and state["upcoming"] == []
        assert state["actions"]["repeat"] == {"enabled": False, "reason": "no run in progress"}
        for path, body in ACTIONS:
            st, reply = rig.request("POST", path, token="observer", body=body)
            assert st == 403 and "observer" in reply["error"], (path, reply)
            st, reply = rig.request("POST", path, token="operator", body=body)
            assert st == 409 and "no run in progress" in reply["error"], (path, reply)
        rig.server.set_locked(True)
        try:
            for path, body in ACTIONS:
                assert rig.request("POST", path, token="operator", body=body)[0] == 423
        finally:
            rig.server.set_locked(False)
        for bad in ({"n": 0}, {"n": "2"}, {"n": True}, {}):
            st, reply = rig.request("POST", "/api/v1/trial-control/skip", token="operator", body=bad)
            assert st == 400 and "'n'" in reply["error"], (bad, reply)
        st, reply = rig.request("POST", "/api/v1/trial-control/exp-info", token="operator", body={"key": "x"})
        assert st == 400 and "'value'" in reply["error"]
        assert state["pending_pause"] is None
        assert rig.request("DELETE", "/api/v1/trial-control/pause-loop", token="observer")[0] == 403
        st, reply = rig.request("DELETE", "/api/v1/trial-control/pause-loop", token="operator")
        assert st == 409 and "none is asked for" in reply["error"], reply

    serve_main_while(rig.session, client)


def test_an_operator_skips_and_edits_expinfo_on_a_running_go_nogo(rig):
    rig.session.use_data_log(rig.data_log)  # as the rig core does: annotations go to the session file
    seen: dict = {}

    def client():
        op = dict(token="operator")
        st, _ = rig.request(
            "POST",
            "/api/v1/runs",
            body={
                "experiment": "gonogo/gonogo.py",
                "expInfo": {"participant": "api", "nTrials": 6, "responseWindow": 0.25, "feedback": False},
            },
            **op,
        )
        assert st == 202
        deadline = time.monotonic() + 60
        while True:
            st, state = rig.request("GET", "/api/v1/trial-control?upcoming=2")
            if state["running"] and state["trial"] is not None and state["trial"] >= 1:
                break
            assert time.monotonic() < deadline, state
            time.sleep(0.02)
        assert state["loop"] == "trials" and state["loop_type"] == "TrialHandler2"
        assert len(state["upcoming"]) <= 2 and all("condition" in u["conditions"] for u in state["upcoming"])
        st, reply = rig.request("POST", "/api/v1/trial-control/exp-info", body={"key": "nope", "value": 1}, **op)
        assert st == 409 and "no expInfo field 'nope'" in reply["error"]
        st, reply = rig.request("POST", "/api/v1/trial-control/exp-info", body={"key": "session", "value": 7}, **op)
        assert st == 200 and reply["annotation"]["fields"]["value"] == "7"
        st, reply = rig.request("POST", "/api/v1/trial-control/skip", body={"n": 1}, **op)
        assert st == 200, reply
        seen["skip"] = reply["annotation"]
        # a pause at the end of the loop: armed, shown as pending, refused twice, then cancelled
        st, reply = rig.request("POST", "/api/v1/trial-control/pause-loop", **op)
        assert st == 200 and reply["annotation"]["fields"]["action"] == "pause_loop", reply
        st, state = rig.request("GET", "/api/v1/trial-control")
        assert state["pending_pause"] == {"loop": "trials", "source": "remote:second tech"}, state
        assert not state["actions"]["pause_loop"]["enabled"]
        st, reply = rig.request("POST", "/api/v1/trial-control/pause-loop", **op)
        assert st == 409 and "already asked for" in reply["error"], reply
        st, reply = rig.request("DELETE", "/api/v1/trial-control/pause-loop", **op)
        assert st == 200 and reply["annotation"]["fields"]["action"] == "pause_loop_cancel", reply
        assert rig.request("GET", "/api/v1/trial-control")[1]["pending_pause"] is None
        while rig.session.current_run is not None or not rig.session.run_records:
            assert time.monotonic() < deadline + 60
            time.sleep(0.05)

    serve_main_while(rig.session, client)
    skip = seen["skip"]
    assert skip["source"] == "remote:second tech" and skip["fields"]["action"] == "skip"
    assert rig.session.run_records[-1].n_trials == 5  # 6 trials, 1 skipped
    notes = [a for a in rig.data_log.annotations() if a["kind"] == "trial-control"]
    assert [a["fields"]["action"] for a in notes] == ["exp_info", "skip", "pause_loop", "pause_loop_cancel"]
    assert all(a["source"] == "remote:second tech" for a in notes)
