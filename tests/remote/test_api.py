"""The REST API against a real server on 127.0.0.1, a real Session and a real DataLog;
every response checked against docs/remote-api.yaml (openapi-core)."""

from __future__ import annotations

import time

import pytest

from remote.conftest import serve_main_while

READS = [
    "/api/v1/status",
    "/api/v1/experiments",
    "/api/v1/runs",
    "/api/v1/variables",
    "/api/v1/last_values",
    "/api/v1/parameters",
    "/api/v1/instruments",
    "/api/v1/annotations",
    "/api/v1/variables/x",
    "/api/v1/runs/0001_simple/trials",
    "/api/v1/openapi.yaml",
]
CONTROL = [
    "/api/v1/runs",
    "/api/v1/session/pause",
    "/api/v1/session/resume",
    "/api/v1/session/stop",
    "/api/v1/session/annotate",
]


def test_no_token_or_a_wrong_one_gets_401_before_anything_else(rig):
    for path in READS + ["/api/v1/no-such-thing", "/api/v2/status"]:
        for token in (None, "not-a-token", rig.observer_token + "x"):
            st, body = rig.request("GET", path, token=token, check=path in READS)
            assert st == 401, (path, token, st, body)
            assert "token" in body["error"]
    for path in CONTROL:
        st, body = rig.request("POST", path, token=None, raw=b"{not json")
        assert st == 401, (path, st)
    # a revoked token stops working at once
    rig.tokens.revoke("PI office")
    assert rig.request("GET", "/api/v1/status")[0] == 401


def test_observer_reads_everything_and_cannot_control(rig):
    dl = rig.data_log
    dl.add_entry(x=1.0, y=2.0)
    dl.add_entry(x=3.0)
    dl.save_parameter(gain=1.5)
    st, body = rig.request("GET", "/api/v1/status")
    assert st == 200 and body["rig"] == "rig-test" and body["state"] == "idle" and body["run"] is None
    assert body["you"] == {"name": "PI office", "role": "observer"}
    st, body = rig.request("GET", "/api/v1/experiments")
    keys = {e["key"]: e for e in body["experiments"]}
    assert not keys["simple/simple.py"]["broken"]
    assert {f["name"] for f in keys["simple/simple.py"]["expInfo"]} >= {"participant", "nTrials"}
    st, body = rig.request("GET", "/api/v1/variables")
    assert [v["name"] for v in body["variables"]] == ["x", "y"]
    assert body["variables"][0]["last"]["value"] == 3.0
    t_first = float(dl.logged_variable("x")[0][0])
    st, body = rig.request("GET", f"/api/v1/variables/x?after={t_first!r}")
    assert st == 200 and body["values"] == [3.0] and not body["more"]  # strictly after
    st, body = rig.request("GET", "/api/v1/variables/x?limit=1")
    assert body["values"] == [1.0] and body["more"]
    assert rig.request("GET", "/api/v1/parameters")[1]["parameters"] == {"gain": 1.5}
    for path in CONTROL:
        st, body = rig.request("POST", path, body={"experiment": "simple/simple.py", "text": "hi"})
        assert st == 403, (path, st, body)
        assert "observer" in body["error"]


@pytest.mark.parametrize(
    "path,raw,needle",
    [
        ("/api/v1/runs", b"{", "malformed JSON"),
        ("/api/v1/runs", b"[1, 2]", "JSON object"),
        ("/api/v1/runs", b"", "JSON object"),
        ("/api/v1/runs", b'{"experiment": 3}', "'experiment'"),
        ("/api/v1/runs", b'{"experiment": "simple/simple.py", "expInfo": [1]}', "'expInfo'"),
        (
            "/api/v1/runs",
            b'{"experiment": "simple/simple.py", "expInfo": {"participant": "p", "nTrials": "many"}}',
            "nTrials",
        ),
        ("/api/v1/session/pause", b"{oops", "malformed JSON"),
        ("/api/v1/session/annotate", b'{"text": ""}', "'text'"),
        ("/api/v1/session/annotate", b"\xff\xfe", "malformed JSON"),
    ],
)
def test_malformed_json_and_bad_parameters_get_400_with_a_message(rig, path, raw, needle):
    st, body = serve_main_while(
        rig.session,
        lambda: rig.request("POST", path, token="operator", raw=raw, headers={"Content-Type": "application/json"}),
    )
    assert st == 400, (st, body)
    assert needle in body["error"]


@pytest.mark.parametrize("query", ["after=abc", "after=nan", "limit=0", "limit=x", "limit=100001"])
def test_bad_query_parameters_get_400(rig, query):
    rig.data_log.add_entry(x=1.0)
    st, body = rig.request("GET", f"/api/v1/variables/x?{query}")
    assert st == 400 and body["error"]


def test_unknown_things_get_404_and_no_run_409(rig):
    assert rig.request("GET", "/api/v1/variables/nope")[0] == 404
    assert rig.request("GET", "/api/v1/runs/0009_nope/trials")[0] == 404
    st, body = serve_main_while(
        rig.session, lambda: rig.request("POST", "/api/v1/runs", token="operator", body={"experiment": "nope.py"})
    )
    assert st == 404 and "nope.py" in body["error"]
    st, body = serve_main_while(rig.session, lambda: rig.request("POST", "/api/v1/session/pause", token="operator"))
    assert st == 409 and "no run" in body["error"]


def test_lock_answers_423_until_unlocked(rig):
    rig.server.set_locked(True)
    for path in CONTROL:
        st, body = rig.request("POST", path, token="operator", body={"experiment": "simple/simple.py", "text": "x"})
        assert st == 423, (path, st)
        assert "locked" in body["error"]
    assert rig.request("GET", "/api/v1/status")[1]["locked"] is True
    rig.server.set_locked(False)
    st, body = rig.request("POST", "/api/v1/session/annotate", token="operator", body={"text": "hello"})
    assert st == 201


def test_operator_runs_pauses_resumes_and_stops_and_every_action_is_recorded(rig):
    s = rig.session
    seen = {}

    def client():
        st, body = rig.request(
            "POST",
            "/api/v1/runs",
            token="operator",
            body={"experiment": "endless/endless.py", "expInfo": {"participant": "remote-p1"}},
        )
        assert st == 202, body
        assert body["index"] == 1 and body["expInfo"]["participant"] == "remote-p1"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            st, status = rig.request("GET", "/api/v1/status")
            if status["state"] == "running" and (status["trial"] or 0) >= 2:
                break
            time.sleep(0.05)
        seen["running"] = status
        st, again = rig.request("POST", "/api/v1/runs", token="operator", body={"experiment": "simple/simple.py"})
        seen["second"] = (st, again)
        assert rig.request("POST", "/api/v1/session/pause", token="operator")[0] == 200
        deadline = time.monotonic() + 30
        while rig.request("GET", "/api/v1/status")[1]["state"] != "paused" and time.monotonic() < deadline:
            time.sleep(0.05)
        seen["paused"] = rig.request("GET", "/api/v1/status")[1]["state"]
        assert rig.request("POST", "/api/v1/session/resume", token="operator")[0] == 200
        assert rig.request("POST", "/api/v1/session/annotate", token="operator", body={"text": "looks fine"})[0] == 201
        assert rig.request("POST", "/api/v1/session/stop", token="operator")[0] == 200
        deadline = time.monotonic() + 30
        while rig.request("GET", "/api/v1/status")[1]["state"] != "idle" and time.monotonic() < deadline:
            time.sleep(0.05)

    serve_main_while(s, client)
    assert seen["running"]["expInfo"]["participant"] == "remote-p1"
    assert seen["running"]["run"]["key"] == "endless/endless.py"
    assert seen["second"][0] == 409 and "still running" in seen["second"][1]["error"]
    assert seen["paused"] == "paused"
    rec = s.run_records[-1]
    assert rec.state == "stopped" and rec.exp_info["participant"] == "remote-p1"
    st, runs = rig.request("GET", "/api/v1/runs")
    assert runs["runs"][0]["state"] == "stopped"
    run_id = runs["logged"][0]["id"]
    st, table = rig.request("GET", f"/api/v1/runs/{run_id}/trials")
    assert st == 200 and table["n_trials"] == rec.n_trials >= 2
    assert {c["name"] for c in table["columns"]} >= {"trial", "frame"}
    assert table["trials"]["trial"][:2] == [0.0, 1.0]
    # every control action, with the token's name and the time
    st, notes = rig.request("GET", "/api/v1/annotations")
    actions = [(a["source"], a["text"]) for a in notes["annotations"]]
    assert actions == [("remote:second tech", f"{a} by second tech") for a in ("run", "pause", "resume")] + [
        ("remote:second tech", "looks fine"),
        ("remote:second tech", "stop by second tech"),
    ]
    note = notes["annotations"][3]
    assert note["kind"] == "note" and note["fields"]["run"].startswith("runs/") and note["fields"]["trial"] >= 2
    assert all(a["t"] > rec.started - 1 for a in notes["annotations"])


def test_a_trial_column_unit_follows_psychopy_naming():
    from rigconsole.remote.api import column_unit

    assert column_unit("key_resp.rt") == "s" and column_unit("stim.started") == "s"
    assert column_unit("rt") == "" and column_unit("participant") == ""


def test_spec_is_served(rig):
    st, body = rig.request("GET", "/api/v1/openapi.yaml")
    assert st == 200 and body.startswith("openapi: 3")
