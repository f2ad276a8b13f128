"""Fixtures for the remote tests: a real Session (small PsychoPy window), a real DataLog,
a real RemoteServer on 127.0.0.1 (a free port), tokens of both roles."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

SPEC = __import__("pathlib").Path(__file__).resolve().parents[2] / "docs" / "remote-api.yaml"
_openapi = None


def validate(
    method: str,
    path: str,
    status: int,
    body: bytes,
    content_type: str,
    req_body: bytes | None = None,
    headers: dict | None = None,
) -> None:
    """Check one exchange against docs/remote-api.yaml (openapi-core); raises on a mismatch."""
    global _openapi
    from urllib.parse import parse_qsl, urlsplit

    from openapi_core import OpenAPI
    from openapi_core.testing import MockRequest, MockResponse

    if _openapi is None:
        _openapi = OpenAPI.from_file_path(str(SPEC))
    u = urlsplit(path)
    req = MockRequest(
        "http://127.0.0.1:6913", method, u.path, args=dict(parse_qsl(u.query)), headers=headers, data=req_body
    )
    resp = MockResponse(body, status_code=status, content_type=content_type)
    _openapi.validate_response(req, resp)


@dataclass
class Rig:
    session: Any
    data_log: Any
    server: Any
    tokens: Any
    observer_token: str
    operator_token: str

    @property
    def port(self) -> int:
        return self.server.port

    def request(
        self,
        method: str,
        path: str,
        token: str | None = "observer",
        body: Any = None,
        raw: bytes | None = None,
        headers: dict | None = None,
        check: bool = True,
    ) -> tuple[int, Any]:
        """One HTTP request to the server; returns (status, parsed JSON or text).

        With ``check``, the response is validated against docs/remote-api.yaml."""
        tok = {"observer": self.observer_token, "operator": self.operator_token}.get(token, token)
        h = dict(headers or {})
        if tok:
            h["Authorization"] = f"Bearer {tok}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            text = r.read()
        finally:
            conn.close()
        if check:
            validate(method, path, r.status, text, r.getheader("Content-Type", "").split(";")[0], data, h)
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text.decode("utf-8", "replace")


def serve_main_while(session, fn: Callable[[], Any], timeout: float = 120.0) -> Any:
    """Run ``fn()`` on a worker thread while this (main) thread serves the session's command queue
    (as the console's loop does); runs queued by the server run here. Returns fn's result."""
    out: dict = {}

    def work():
        try:
            out["v"] = fn()
        except BaseException as err:  # noqa: BLE001 - re-raised on the main thread
            out["e"] = err

    th = threading.Thread(target=work, name="test client")
    th.start()
    deadline = time.monotonic() + timeout
    while th.is_alive() and time.monotonic() < deadline:
        session.commands.drain()
        time.sleep(0.005)
    th.join(5)
    assert not th.is_alive(), "the client thread did not finish"
    if "e" in out:
        raise out["e"]
    return out.get("v")


@pytest.fixture
def data_log(tmp_path):
    from rigconsole.datalog import DataLog

    dl = DataLog(tmp_path / "session.h5", flush_interval=0.1)
    yield dl
    dl.close()


@pytest.fixture
def rig(exp_root, make_session, data_log, tmp_path):
    """A session with the test experiments, recorded into a data log, served on a free port."""
    from rigconsole.remote import RemoteServer, RigView, TokenStore
    from rigconsole.session.recorder import SessionRecorder

    session = make_session(exp_root, scan=True)
    recorder = SessionRecorder(session, data_log)
    tokens = TokenStore(tmp_path / "tokens.json")
    obs = tokens.add("PI office", "observer")
    op = tokens.add("second tech", "operator")
    from rigconsole.plans import RunQueue

    queue = RunQueue(session)  # the one owner of runs (a Rig makes its own)
    server = RemoteServer(RigView(session, data_log, rig_name="rig-test", queue=queue), port=0, tokens=tokens)
    server.start()
    yield Rig(session, data_log, server, tokens, obs, op)
    server.close()
    recorder.close()
