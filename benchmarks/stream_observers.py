"""N remote observers streaming a rig's WebSocket, in their own process (bench_frames --observers).

Each observer is a raw aiohttp client of ``/api/v1/stream`` (the token in the
first message, as docs/remote.md describes) that decodes every batch, as an
observer's live plot does. All N share one asyncio loop in this process, so
their CPU is this process's, not the rig's (on one machine they still share
its CPUs: on a 2-vCPU VM the rig's process and this one compete).

Protocol on stdin/stdout, one line each:

- prints ``READY`` once every observer got its ``welcome``;
- ``count`` on stdin: prints one JSON object, the totals so far:
  ``messages`` (WebSocket messages received, all observers), ``batches``,
  ``bytes``, ``events`` (per event type), ``gaps`` (a ``lost`` event or a
  batch number skipped), ``open`` (observers still connected), ``cpu_s``
  (this process's CPU time, user + system);
- ``stop`` (or end of stdin): closes the observers, prints the totals, exits.

``--fetch-preview``: each observer also fetches the subject-screen thumbnail
(``GET /api/v1/preview.jpg``) at each ``preview`` event, as the observer window
and the browser page do (one fetch at a time per observer); the totals then
count ``preview_fetches`` and ``preview_bytes``.

Run: ``python benchmarks/stream_observers.py --port P --token T --observers 10 [--tls] [--fetch-preview]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import threading
import time
from collections import Counter


class Totals:
    def __init__(self) -> None:
        self.messages = 0
        self.batches = 0
        self.bytes = 0
        self.events: Counter[str] = Counter()
        self.gaps = 0
        self.open = 0
        self.preview_fetches = 0
        self.preview_bytes = 0

    def as_dict(self) -> dict:
        return {
            "messages": self.messages,
            "batches": self.batches,
            "bytes": self.bytes,
            "events": dict(self.events),
            "gaps": self.gaps,
            "open": self.open,
            "preview_fetches": self.preview_fetches,
            "preview_bytes": self.preview_bytes,
            "cpu_s": time.process_time(),
        }


async def fetch_preview(http, url: str, token: str, totals: Totals, ssl_ctx: ssl.SSLContext | bool) -> None:
    async with http.get(url, headers={"Authorization": f"Bearer {token}"}, ssl=ssl_ctx) as resp:
        body = await resp.read()
        if resp.status == 200:
            totals.preview_fetches += 1
            totals.preview_bytes += len(body)


async def observe(
    http,
    url: str,
    token: str,
    totals: Totals,
    welcomed: asyncio.Event,
    n: int,
    ssl_ctx: ssl.SSLContext | bool,
    preview_url: str | None = None,
) -> None:
    import aiohttp

    fetching: asyncio.Future | None = None

    async with http.ws_connect(url, ssl=ssl_ctx, max_msg_size=0) as ws:
        await ws.send_str(json.dumps({"type": "hello", "token": token}))
        first = json.loads((await ws.receive()).data)
        if first.get("type") != "welcome":
            raise SystemExit(f"the server did not welcome the observer: {first}")
        totals.open += 1
        if totals.open == n:
            welcomed.set()
        last_seq = first.get("seq", 0)
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                totals.messages += 1
                totals.bytes += len(msg.data)
                data = json.loads(msg.data)
                if data.get("type") != "batch":
                    continue
                totals.batches += 1
                if data["seq"] != last_seq + 1:
                    totals.gaps += 1
                last_seq = data["seq"]
                for ev in data.get("events", ()):
                    totals.events[ev.get("type", "?")] += 1
                    if ev.get("type") == "lost":
                        totals.gaps += 1
                    elif ev.get("type") == "preview" and preview_url and (fetching is None or fetching.done()):
                        fetching = asyncio.ensure_future(fetch_preview(http, preview_url, token, totals, ssl_ctx))
        finally:
            totals.open -= 1


async def main(port: int, token: str, n: int, tls: bool, fetch: bool = False) -> None:
    import aiohttp

    scheme = "wss" if tls else "ws"
    url = f"{scheme}://127.0.0.1:{port}/api/v1/stream"
    preview_url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/api/v1/preview.jpg" if fetch else None
    ssl_ctx: ssl.SSLContext | bool = False
    if tls:  # the benchmark's self-signed certificate: encrypted, not verified (loopback)
        ssl_ctx = ssl.create_default_context()
        ssl_ctx.check_hostname = False
        ssl_ctx.verify_mode = ssl.CERT_NONE
    totals = Totals()
    welcomed = asyncio.Event()
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[str] = asyncio.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, line.strip())
        loop.call_soon_threadsafe(commands.put_nowait, "stop")

    threading.Thread(target=read_stdin, daemon=True).start()
    async with aiohttp.ClientSession() as http:
        tasks = [
            asyncio.ensure_future(observe(http, url, token, totals, welcomed, n, ssl_ctx, preview_url))
            for _ in range(n)
        ]
        waiter = asyncio.ensure_future(welcomed.wait())
        done, _ = await asyncio.wait([waiter, *tasks], timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            for t in done:
                t.result()  # raises what went wrong
            raise SystemExit("the observers were not all welcomed within 30 s")
        print("READY", flush=True)
        while True:
            cmd = await commands.get()
            if cmd == "count":
                print(json.dumps(totals.as_dict()), flush=True)
            elif cmd == "stop":
                break
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(totals.as_dict()), flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--observers", type=int, default=10)
    ap.add_argument("--tls", action="store_true", help="wss:// (the server's self-signed certificate)")
    ap.add_argument("--fetch-preview", action="store_true", help="GET /api/v1/preview.jpg at each preview event")
    a = ap.parse_args()
    asyncio.run(main(a.port, a.token, a.observers, a.tls, a.fetch_preview))
