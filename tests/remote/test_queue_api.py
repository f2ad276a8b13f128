"""The run queue over the remote API (real server on 127.0.0.1, real Session and DataLog): an
observer may read it but not change it (403), nobody changes it while the rig is locked (423),
an operator adds, moves, removes, starts, pauses, skips and retries; responses match the spec."""

from __future__ import annotations

import time

from remote.conftest import serve_main_while

QUEUE_CONTROL = [
    ("POST", "/api/v1/queue/items"),
    ("POST", "/api/v1/queue/items/1/move"),
    ("POST", "/api/v1/queue/items/1/skip"),
    ("POST", "/api/v1/queue/items/1/retry"),
    ("DELETE", "/api/v1/queue/items/1"),
    ("POST", "/api/v1/queue/start"),
    ("POST", "/api/v1/queue/pause"),
    ("POST", "/api/v1/queue/stop"),
]
BODY = {"experiment": "simple/simple.py", "position": 0}


def test_observers_get_403_and_everyone_423_while_locked(rig):
    def client():
        st, q = rig.request("GET", "/api/v1/queue")
        assert st == 200 and q["items"] == [] and q["plan"] is None
        for method, path in QUEUE_CONTROL:
            st, body = rig.request(method, path, token="observer", body=BODY)
            assert st == 403 and "observer" in body["error"], (path, st, body)
        rig.server.set_locked(True)
        try:
            for method, path in QUEUE_CONTROL:
                st, body = rig.request(method, path, token="operator", body=BODY)
                assert st == 423 and "locked" in body["error"], (path, st, body)
        finally:
            rig.server.set_locked(False)
        assert rig.request("GET", "/api/v1/queue")[1]["items"] == []  # nothing changed

    serve_main_while(rig.session, client)


def test_an_operator_steers_the_queue(rig):
    seen = {}

    def wait_for(pred, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            q = rig.request("GET", "/api/v1/queue")[1]
            if pred(q):
                return q
            time.sleep(0.05)
        raise AssertionError(f"the queue never got there: {q}")

    def client():
        op = dict(token="operator")
        assert rig.request("POST", "/api/v1/queue/pause", **op)[0] == 200  # hold while we arrange it
        ids = []
        for who, n in (("r1", 2), ("r2", 1), ("r3", 1)):
            st, body = rig.request(
                "POST",
                "/api/v1/queue/items",
                body={"experiment": "simple/simple.py", "expInfo": {"participant": who, "nTrials": n}},
                **op,
            )
            assert st == 201 and body["item"]["state"] == "pending", body
            ids.append(body["item"]["id"])
        st, body = rig.request(
            "POST",
            "/api/v1/queue/items",
            body={"experiment": "simple/simple.py", "expInfo": {"participant": "x", "nTrials": "many"}},
            **op,
        )
        assert st == 400 and "nTrials" in body["error"]
        assert rig.request("POST", "/api/v1/queue/items", body={"experiment": "no/such.py"}, **op)[0] == 404
        assert rig.request("POST", f"/api/v1/queue/items/{ids[2]}/move", body={"position": 0}, **op)[0] == 200
        assert rig.request("DELETE", f"/api/v1/queue/items/{ids[1]}", **op)[0] == 200
        assert rig.request("DELETE", f"/api/v1/queue/items/{ids[1]}", **op)[0] == 404
        q = rig.request("GET", "/api/v1/queue")[1]
        assert [it["id"] for it in q["items"]] == [ids[2], ids[0]] and q["holding"] is True
        assert rig.request("POST", "/api/v1/queue/start", **op)[0] == 200
        q = wait_for(lambda q: [it["state"] for it in q["items"]] == ["finished", "finished"])
        seen["done"] = q
        st, body = rig.request("POST", f"/api/v1/queue/items/{ids[0]}/retry", **op)
        assert st == 201 and body["item"]["retry_of"] == ids[0]
        seen["retried"] = wait_for(lambda q: len(q["items"]) == 3 and q["items"][-1]["state"] == "finished")
        assert rig.request("POST", "/api/v1/queue/items/999/skip", **op)[0] == 404
        assert rig.request("DELETE", "/api/v1/queue/items/%C2%B23", **op)[0] == 404  # "²3": a digit, not a number
        st, body = rig.request("POST", f"/api/v1/queue/items/{ids[0]}/move", body={"position": 0}, **op)
        assert st == 404  # ended: not pending

    serve_main_while(rig.session, client)
    items = seen["done"]["items"]
    assert [it["expInfo"]["participant"] for it in items] == ["r3", "r1"]
    assert items[1]["outcome"]["sentence"] == "run finished: 2 trials"
    assert [r.exp_info["participant"] for r in rig.session.run_records] == ["r3", "r1", "r1"]
    actions = [a["text"] for a in rig.data_log.annotations() if a["kind"] == "control"]
    assert any("queue add" in a for a in actions) and any("queue retry" in a for a in actions), actions
