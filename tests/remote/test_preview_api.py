"""GET /api/v1/preview.jpg and the stream's ``preview`` events, on a real server (127.0.0.1) serving a
real session's stimulus window (Xvfb), checked against docs/remote-api.yaml."""

from __future__ import annotations

import asyncio
import io
import time

import pytest


@pytest.fixture
def served(exp_root, make_session, data_log, tmp_path):
    from rigconsole.remote import RemoteServer, RigView, TokenStore
    from rigconsole.session.preview import SubjectPreview

    session = make_session(exp_root, scan=True)
    tokens = TokenStore(tmp_path / "tokens.json")
    token = tokens.add("PI office", "observer")
    preview = SubjectPreview()
    server = RemoteServer(RigView(session, data_log, rig_name="rig-p", preview=preview), port=0, tokens=tokens)
    server.start()
    yield session, preview, server, token
    server.close()
    preview.close()


def _get(port: int, token: str | None):
    import http.client

    from remote.conftest import validate

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    conn.request("GET", "/api/v1/preview.jpg", headers=headers)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    validate("GET", "/api/v1/preview.jpg", r.status, body, r.getheader("Content-Type", "").split(";")[0], None, headers)
    return r, body


def test_preview_endpoint_and_stream_event(served):
    from PIL import Image

    from rigconsole.remote import RemoteObserver
    from rigconsole.session.preview import PreviewSettings

    session, preview, server, token = served
    r, body = _get(server.port, None)
    assert r.status == 401
    r, body = _get(server.port, token)  # off: a one-line 404 saying how to turn it on
    assert r.status == 404 and b"Settings > General" in body
    obs = RemoteObserver("127.0.0.1", server.port, token=token)
    assert obs.preview() is None

    events: list[dict] = []
    welcomed = asyncio.Event()

    async def listen():
        updates = obs.updates(on_connection=lambda what: welcomed.set())
        try:
            async for ev in updates:
                if ev["type"] == "preview":
                    events.append(ev)
                    return
        finally:
            await updates.aclose()

    preview.apply(PreviewSettings(enabled=True, width=160))
    loop = asyncio.new_event_loop()
    task = loop.create_task(asyncio.wait_for(listen(), 20))
    loop.run_until_complete(asyncio.wait_for(welcomed.wait(), 20))  # the stream's welcome first
    session.win.flip()
    preview.before_swap(session.win, 1.0, False)  # outside a run a read-back always fits
    loop.run_until_complete(task)
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    ev = events[0]
    assert ev["number"] == 1 and ev["width"] == 160 and ev["height"] == 120 and abs(ev["t"] - time.time()) < 30
    r, body = _get(server.port, token)
    assert r.status == 200 and r.getheader("Content-Type") == "image/jpeg"
    assert r.getheader("X-Preview-Number") == "1" and r.getheader("Cache-Control") == "no-store"
    assert len(body) == ev["bytes"]
    assert Image.open(io.BytesIO(body)).size == (160, 120)
    assert obs.preview() == body
    preview.apply(PreviewSettings(enabled=False))  # switched off: no thumbnail is served any more
    assert _get(server.port, token)[0].status == 404
