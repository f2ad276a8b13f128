"""Every request body the remote API parses answers 400 with a message for JSON nested too deeply
(a 5,000-deep body used to answer 500 "internal error: RecursionError"), and the server keeps serving.

The POST endpoints come from docs/remote-api.yaml, so an endpoint added to the spec is covered too."""

from __future__ import annotations

import re

import pytest
import yaml

from remote.conftest import SPEC, serve_main_while

DEPTH = 5_000


def _post_paths() -> list[str]:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    # path parameters ({run}, {name}...) get a plausible value: the body is parsed before it is used
    return sorted(re.sub(r"\{[^}]+\}", "x", path) for path, ops in spec["paths"].items() if "post" in ops)


POST_PATHS = _post_paths()

BODIES = {
    "arrays": b"[" * DEPTH + b"]" * DEPTH,
    "objects": b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
    # deep inside a plausible body: the experiment key is fine, its expInfo is not
    "expInfo": b'{"experiment": "simple/simple.py", "text": "x", "expInfo": {"a": '
    + b"[" * DEPTH
    + b"]" * DEPTH
    + b"}}",
}


def test_the_spec_lists_the_post_endpoints():
    assert "/api/v1/runs" in POST_PATHS and "/api/v1/session/annotate" in POST_PATHS, POST_PATHS


@pytest.mark.parametrize("shape", sorted(BODIES))
@pytest.mark.parametrize("path", POST_PATHS)
def test_a_body_nested_5000_deep_gets_400_with_a_message(rig, path, shape):
    raw = BODIES[shape]
    assert len(raw) < 64 * 1024  # under the server's body limit: it is the parse that must refuse it
    st, body = serve_main_while(
        rig.session,
        lambda: rig.request("POST", path, token="operator", raw=raw, headers={"Content-Type": "application/json"}),
    )
    assert st == 400, (path, st, body)
    assert "nested too deeply" in body["error"], body
    # the server still answers
    assert rig.request("GET", "/api/v1/status")[0] == 200


def test_moderate_nesting_is_still_refused_before_it_reaches_a_handler(rig):
    # 200 deep parses without a RecursionError, but nothing in the API takes more than a few levels
    raw = b'{"text": "note", "extra": ' + b"[" * 200 + b"]" * 200 + b"}"
    st, body = serve_main_while(
        rig.session,
        lambda: rig.request(
            "POST", "/api/v1/session/annotate", token="operator", raw=raw, headers={"Content-Type": "application/json"}
        ),
    )
    assert st == 400 and "nested too deeply" in body["error"] and "64" in body["error"], body


def test_shallow_bodies_still_work(rig):
    st, body = serve_main_while(
        rig.session,
        lambda: rig.request(
            "POST", "/api/v1/session/annotate", token="operator", body={"text": "a note", "fields": {"a": [[1]]}}
        ),
    )
    assert st == 201, body


def test_the_stream_hello_refuses_deep_json_with_a_close_reason(rig):
    import asyncio

    import aiohttp

    deep = 1_500  # the hello is at most 4096 characters; 1,500 deep is past Python's recursion limit

    async def go():
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(f"ws://127.0.0.1:{rig.port}/api/v1/stream") as ws:
                await ws.send_str('{"type": "hello", "x": ' + "[" * deep + "]" * deep + "}")
                msg = await ws.receive(timeout=10)
                return ws.close_code, msg.extra

    code, reason = asyncio.run(go())
    assert code == 4400 and "nested too deeply" in reason, (code, reason)
    assert rig.request("GET", "/api/v1/status")[0] == 200
