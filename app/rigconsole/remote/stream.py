"""The live stream: events from any thread, numbered JSON batches, bounded per-client queues.

Producers (psygnal slots on the rig's main thread, the data log's callers,
instrument threads) call :meth:`Stream.push`, which only appends to a deque
under a lock and, for the first event of a batch, wakes the server's loop
(``call_soon_threadsafe``: one pipe write). Everything else happens on the
server thread: turning events into JSON (asking the frame-budget port for a
quiet moment first during a run), numbering the batch, keeping it in a
bounded history for clients that reconnect, and handing the encoded text to
each client's bounded queue. A client whose queue overflows (it stopped
reading) is dropped; the others never wait for it.

Batch (server → client)::

    {"type": "batch", "stream": "<id>", "seq": 17, "t": 1764625000.12,
     "events": [{"type": "values", "t": ..., "values": {"x": 1.0}}, ...]}
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["Stream", "StreamClient", "jsonable", "dumps"]

#: events waiting for the server thread; beyond this the oldest are dropped
#: (and a "lost" event says how many) so a stuck server thread cannot grow memory
MAX_WAITING_EVENTS = 100_000
#: events per batch at most (a burst is split into several numbered batches)
MAX_EVENTS_PER_BATCH = 2000


def jsonable(obj: Any, depth: int = 0) -> Any:
    """``obj`` as JSON-safe values: NaN/inf → None, numpy scalars and arrays → numbers and lists,
    paths and other objects → ``str``. Depth-bounded (deeper than 8 → ``str``)."""
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if depth > 8:
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): jsonable(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v, depth + 1) for v in obj]
    tolist = getattr(obj, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        try:
            return jsonable(tolist(), depth + 1)
        except Exception:
            return str(obj)
    return str(obj)


def dumps(obj: Any) -> str:
    return json.dumps(jsonable(obj), separators=(",", ":"), allow_nan=False)


class StreamClient:
    """One WebSocket client's queue of encoded batches (server thread only).

    Bounded by ``max_batches`` and ``max_bytes``: :meth:`offer` past either
    marks the client dropped (``dropped`` holds why) and wakes its sender.
    """

    def __init__(self, name: str, *, max_batches: int, max_bytes: int) -> None:
        self.name = name
        self.max_batches = max_batches
        self.max_bytes = max_bytes
        self.queue: deque[str] = deque()
        self.bytes = 0
        self.dropped: str | None = None
        self.wake = asyncio.Event()
        #: set when the client is dropped (its sender may be stuck waiting on the socket)
        self.gone = asyncio.Event()

    def offer(self, text: str) -> bool:
        if self.dropped is not None:
            return False
        if len(self.queue) >= self.max_batches or self.bytes + len(text) > self.max_bytes:
            self.dropped = (
                f"too slow: {len(self.queue)} batches ({self.bytes} bytes) waiting; "
                f"reconnect with after=<last seq> to resume"
            )
            self.queue.clear()
            self.bytes = 0
            self.wake.set()
            self.gone.set()
            return False
        self.queue.append(text)
        self.bytes += len(text)
        self.wake.set()
        return True

    def pop(self) -> str | None:
        if not self.queue:
            return None
        text = self.queue.popleft()
        self.bytes -= len(text)
        return text


class Stream:
    """Numbered batches of rig events, with a bounded history for resuming.

    Args:
        history_batches: batches kept for clients that reconnect (older ones
            are gone: a client asking for them gets a ``gap`` message).
        client_max_batches, client_max_bytes: a client's queue bound.
        budget: the frame-budget port; encoding waits up to one refresh period
            for the frame's quiet window while a run is in progress.
    """

    def __init__(
        self,
        *,
        history_batches: int = 4096,
        client_max_batches: int = 1024,
        client_max_bytes: int = 8 << 20,
        budget: Any = None,
    ) -> None:
        self.id = secrets.token_hex(6)
        self.history: deque[tuple[int, str]] = deque(maxlen=history_batches)
        self.client_max_batches = client_max_batches
        self.client_max_bytes = client_max_bytes
        self.budget = budget
        self.seq = 0
        self.clients: set[StreamClient] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._waiting: deque[dict] = deque()
        self._lost = 0
        self._lock = threading.Lock()
        self._scheduled = False
        self._encode_s: deque[float] = deque(maxlen=64)
        self.on_batch: Callable[[int, list[dict]], None] | None = None
        #: server-thread work so far: batches made and seconds spent making and offering them
        #: (what would land on the console's loop if the server ran there)
        self.flush_stats = {"batches": 0, "events": 0, "seconds": 0.0}

    # ------------------------------------------------------------------ any thread
    def push(self, event: dict) -> None:
        """Queue one event (a dict with ``type``); thread-safe and cheap (no encoding here)."""
        with self._lock:
            if len(self._waiting) >= MAX_WAITING_EVENTS:
                self._waiting.popleft()
                self._lost += 1
            self._waiting.append(event)
            wake = not self._scheduled
            self._scheduled = True
        if wake:
            loop = self.loop
            if loop is not None:
                try:
                    loop.call_soon_threadsafe(self.flush)
                except RuntimeError:  # loop closed: the server is going away
                    pass

    # ------------------------------------------------------------------ server thread
    def flush(self) -> None:
        """Encode what is waiting into numbered batches and offer them to every client."""
        with self._lock:
            events = list(self._waiting)
            self._waiting.clear()
            lost, self._lost = self._lost, 0
            self._scheduled = False
        if lost:
            events.insert(0, {"type": "lost", "events": lost})
        if not events:
            return
        t_start = time.perf_counter()
        budget = self.budget
        if budget is not None and budget.running:
            need = statistics.median(self._encode_s) if self._encode_s else 0.0
            budget.wait_for_quiet(1.0 / max(budget.refresh_hz, 1.0), need)
        for i in range(0, len(events), MAX_EVENTS_PER_BATCH):
            chunk = events[i : i + MAX_EVENTS_PER_BATCH]
            t0 = time.perf_counter()
            self.seq += 1
            text = dumps({"type": "batch", "stream": self.id, "seq": self.seq, "t": time.time(), "events": chunk})
            self._encode_s.append(time.perf_counter() - t0)
            self.history.append((self.seq, text))
            for c in list(self.clients):
                c.offer(text)
            if self.on_batch is not None:
                self.on_batch(self.seq, chunk)
            self.flush_stats["batches"] += 1
        self.flush_stats["events"] += len(events)
        self.flush_stats["seconds"] += time.perf_counter() - t_start

    def attach(self, client: StreamClient, after: int | None, stream_id: str | None) -> dict:
        """Register ``client``; queue the batches after ``after`` it missed. Returns the welcome message.

        ``after=None``: live from now on. When the stream id differs (the
        server restarted) or the batches after ``after`` are no longer held,
        the welcome says ``gap: true`` and the client should re-read the REST
        state; it then gets every batch still held.
        """
        first = self.history[0][0] if self.history else self.seq + 1
        gap = False
        if after is not None:
            if stream_id not in (None, self.id) or after > self.seq:
                gap, after = True, 0
            if after + 1 < first:
                gap = True
            for seq, text in self.history:
                if seq > after:
                    client.offer(text)
        self.clients.add(client)
        return {"type": "welcome", "stream": self.id, "seq": self.seq, "first": first, "gap": gap}

    def detach(self, client: StreamClient) -> None:
        self.clients.discard(client)
