"""The WebSocket stream: numbered batches, resume with nothing lost or repeated, token in the
first message or the subprotocol, a stalled client dropped with bounded memory, the others unharmed."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import threading
import time

import aiohttp
import pytest


def _url(rig) -> str:
    return f"ws://127.0.0.1:{rig.port}/api/v1/stream"


async def _collect(ws, until, timeout=20.0):
    """Read batches until ``until(values)`` holds; returns (values [x...], last seq, seqs)."""
    values, seqs = [], []
    deadline = time.monotonic() + timeout
    while not until(values):
        msg = await asyncio.wait_for(ws.receive(), max(deadline - time.monotonic(), 0.01))
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        data = json.loads(msg.data)
        if data["type"] != "batch":
            continue
        seqs.append(data["seq"])
        for ev in data["events"]:
            if ev["type"] == "values" and "x" in ev["values"]:
                values.append(ev["values"]["x"])
    return values, seqs


def test_disconnect_mid_stream_and_resume_loses_and_repeats_nothing(rig):
    dl = rig.data_log

    async def main():
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(_url(rig))
            await ws.send_str(json.dumps({"type": "hello", "token": rig.observer_token}))
            welcome = json.loads((await ws.receive()).data)
            assert welcome["type"] == "welcome" and welcome["role"] == "observer" and not welcome["gap"]
            for i in range(50):
                dl.add_entry(x=float(i))
                await asyncio.sleep(0.001)
            got1, seqs1 = await _collect(ws, lambda v: len(v) >= 20)
            await ws.close()  # mid-stream: batches 20..49 unread
            for i in range(50, 100):
                dl.add_entry(x=float(i))
            ws = await http.ws_connect(_url(rig))
            await ws.send_str(
                json.dumps(
                    {"type": "hello", "token": rig.observer_token, "after": seqs1[-1], "stream": welcome["stream"]}
                )
            )
            again = json.loads((await ws.receive()).data)
            assert again["type"] == "welcome" and not again["gap"]
            got2, seqs2 = await _collect(ws, lambda v: v and v[-1] == 99.0)
            await ws.close()
            return got1, seqs1, got2, seqs2

    got1, seqs1, got2, seqs2 = asyncio.run(main())
    assert got1 + got2 == [float(i) for i in range(100)]
    allseqs = seqs1 + seqs2
    assert allseqs == list(range(allseqs[0], allseqs[0] + len(allseqs)))  # numbered, none twice, none skipped


def test_resume_from_a_restarted_or_forgotten_stream_says_gap(rig):
    async def main():
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(_url(rig))
            await ws.send_str(json.dumps({"type": "hello", "token": rig.observer_token, "after": 5, "stream": "old"}))
            welcome = json.loads((await ws.receive()).data)
            await ws.close()
            return welcome

    assert asyncio.run(main())["gap"] is True


def test_token_in_the_subprotocol_and_refusals(rig):
    async def main():
        out = {}
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(_url(rig), protocols=("rigconsole.v1", f"token.{rig.operator_token}"))
            assert ws.protocol == "rigconsole.v1"
            await ws.send_str(json.dumps({"type": "hello"}))
            out["welcome"] = json.loads((await ws.receive()).data)
            await ws.close()
            try:
                await http.ws_connect(_url(rig), protocols=("rigconsole.v1", "token.wrong"))
            except aiohttp.WSServerHandshakeError as err:
                out["bad_subprotocol"] = err.status
            for first in (json.dumps({"type": "hello", "token": "wrong"}), "not json", json.dumps({"type": "hello"})):
                ws = await http.ws_connect(_url(rig))
                await ws.send_str(first)
                msg = await ws.receive()
                out.setdefault("closes", []).append((msg.type, ws.close_code))
                await ws.close()
        return out

    out = asyncio.run(main())
    assert out["welcome"]["type"] == "welcome" and out["welcome"]["role"] == "operator"
    assert out["bad_subprotocol"] == 401
    assert [c for _, c in out["closes"]] == [4401, 4400, 4401]


def _raw_ws_stalled(port: int, token: str) -> socket.socket:
    """A WebSocket client that authenticates and then never reads (tiny receive buffer)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        (
            f"GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert b" 101 " in head.split(b"\r\n")[0]
    payload = json.dumps({"type": "hello", "token": token}).encode()
    mask = os.urandom(4)
    frame = bytes([0x81]) + (
        bytes([0x80 | len(payload)]) if len(payload) < 126 else bytes([0x80 | 126]) + struct.pack(">H", len(payload))
    )
    frame += mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    s.sendall(frame)
    return s


@pytest.fixture
def small_rig(exp_root, make_session, data_log, tmp_path):
    from rigconsole.remote import RemoteServer, RigView, Stream, TokenStore

    session = make_session(exp_root)
    tokens = TokenStore(tmp_path / "tokens.json")
    tok = tokens.add("office", "observer")
    server = RemoteServer(
        RigView(session, data_log),
        port=0,
        tokens=tokens,
        stream=Stream(client_max_batches=64, client_max_bytes=512 * 1024),
    )
    server.start()
    yield server, data_log, tok
    server.close()


def test_a_stalled_client_is_dropped_with_bounded_memory_and_the_others_get_everything(small_rig):
    server, dl, tok = small_rig
    stalled = _raw_ws_stalled(server.port, tok)
    n_events, width = 1500, 300
    seen_bytes = []

    async def main():
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(f"ws://127.0.0.1:{server.port}/api/v1/stream")
            await ws.send_str(json.dumps({"type": "hello", "token": tok}))
            assert json.loads((await ws.receive()).data)["type"] == "welcome"
            deadline = time.monotonic() + 10
            while len(server.stream.clients) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert len(server.stream.clients) == 2

            def produce():
                for i in range(n_events):
                    dl.add_entry({f"v{j:03d}": float(i) for j in range(width)}, x=float(i))
                    if i % 20 == 0:
                        seen_bytes.append(max((c.bytes for c in list(server.stream.clients)), default=0))
                        time.sleep(0.01)

            th = threading.Thread(target=produce)
            th.start()
            got, seqs = await _collect(ws, lambda v: v and v[-1] == float(n_events - 1), timeout=60)
            th.join()
            await ws.close()
            return got, seqs

    got, seqs = asyncio.run(main())
    assert got == [float(i) for i in range(n_events)]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    deadline = time.monotonic() + 10
    while len(server.stream.clients) > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(server.stream.clients) == 0  # the stalled one was dropped (the healthy one left)
    assert max(seen_bytes) <= 512 * 1024
    stalled.settimeout(5)
    # the rig closed the stalled connection: reading what is buffered ends in EOF or a reset
    ended = False
    try:
        for _ in range(100_000):
            if not stalled.recv(65536):
                ended = True
                break
    except (TimeoutError, ConnectionResetError):
        ended = True
    stalled.close()
    assert ended


def test_disconnect_clients_kicks_a_token(rig):
    async def main():
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(_url(rig))
            await ws.send_str(json.dumps({"type": "hello", "token": rig.observer_token}))
            await ws.receive()
            rig.server.disconnect_clients("PI office")
            msg = await asyncio.wait_for(ws.receive(), 5)
            return msg.type

    assert asyncio.run(main()) in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.ERROR)


def test_a_revoked_token_loses_its_open_stream(rig):
    """Revoked in Settings or with ``rigconsole remote token revoke``: its stream closes within
    the server's check interval; the other token's stream goes on."""
    from rigconsole.remote.server import REVOKED_CHECK_S
    from rigconsole.remote.tokens import TokenStore

    async def main():
        async with aiohttp.ClientSession() as http:
            gone = await http.ws_connect(_url(rig))
            await gone.send_str(json.dumps({"type": "hello", "token": rig.observer_token}))
            stays = await http.ws_connect(_url(rig))
            await stays.send_str(json.dumps({"type": "hello", "token": rig.operator_token}))
            await gone.receive()
            await stays.receive()
            t0 = time.monotonic()
            assert TokenStore(rig.tokens.path).revoke("PI office")  # another store on the same file
            msg = await asyncio.wait_for(gone.receive(), REVOKED_CHECK_S + 5)
            took = time.monotonic() - t0
            rig.data_log.add_entry(x=1.0)
            values, _ = await _collect(stays, lambda v: v == [1.0])
            return msg.type, took, values

    kind, took, values = asyncio.run(main())
    assert kind in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.ERROR)
    assert took < REVOKED_CHECK_S + 5 and values == [1.0]
