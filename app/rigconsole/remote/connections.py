"""One connection manager for every rig this computer watches: one thread, one asyncio loop. Qt-free.

Before, each observer window and each dashboard tile ran a worker thread
with its own event loop; twenty tiles were twenty threads and twenty loops.
Now a :class:`ConnectionManager` owns one daemon thread running one asyncio
loop and one aiohttp ``ClientSession`` (one connection pool); each watched
rig is a :class:`Feed` (a task on that loop) that announces through psygnal
signals (:class:`FeedEvents`), emitted on the manager's thread: a Qt view
relays them with queued signals (``ui/remote_observer.py: RemoteFeed``).

What a feed does, in order: read the rig's status (retried every 2 s until
the rig answers; a refused token stops it), optionally each logged
variable's recent history, the run queue (announced as a ``queue`` event: a
plan under way shows at once), then follow the stream
(:meth:`RemoteObserver.updates`), resuming after a lost connection, and
re-reading the status after each run event. ``connection`` says ``"live"``,
``"lost: <why>"`` (retried) or ``"refused: <why>"`` (not retried).

The heartbeat: the stream is pinged every ``heartbeat_s / 2``; a rig that
does not answer (a frozen process, a pulled cable) is ``lost`` within
``heartbeat_s``; a rig whose process ended is ``lost`` at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from psygnal import Signal, SignalGroup

from .observer import RemoteError, RemoteObserver

__all__ = ["ConnectionManager", "Feed", "FeedEvents", "HISTORY_POINTS"]

log = logging.getLogger("rigconsole.remote.connections")

#: points of each variable's history read when a feed starts
HISTORY_POINTS = 2000
STATUS_RETRY_S = 2.0


class FeedEvents(SignalGroup):
    """A feed's announcements, emitted on the connection manager's thread (marshal to a GUI yourself)."""

    #: (GET /api/v1/status answer)
    status = Signal(dict)
    #: (one stream event: ``{"type": "values" | "trial" | "run_started" | ..., "seq", ...}``)
    event = Signal(dict)
    #: ("live" | "lost: <why>" | "refused: <why>")
    connection = Signal(str)
    #: (variable name, times epoch s, values) once at the start: the recent history
    history = Signal(str, list, list)


class Feed:
    """One rig followed by a :class:`ConnectionManager` (make it with :meth:`ConnectionManager.add`).

    Attributes:
        observer: the :class:`RemoteObserver` (host, port, token, TLS pin).
        events: the :class:`FeedEvents`.
        connection: the last connection line (``"connecting"`` before any).
        last_heard: ``time.monotonic()`` of the last message from the rig, or ``None``.
    """

    def __init__(self, manager: ConnectionManager, observer: RemoteObserver, *, history: bool) -> None:
        self.observer = observer
        self.events = FeedEvents()
        self.connection = "connecting"
        self.last_heard: float | None = None
        self.want_history = history
        self._manager = manager
        self._task: asyncio.Task | None = None
        self._closed = False
        self._started = False

    @property
    def closed(self) -> bool:
        return self._closed

    def start(self) -> None:
        """Start following the rig (once; see :meth:`ConnectionManager.add`)."""
        if self._started or self._closed:
            return
        self._started = True
        self._manager._schedule(self)

    def close(self) -> None:
        """Stop following the rig (thread-safe; idempotent). No signal is emitted after it returns
        from the manager's thread's point of view, except one already running."""
        if self._closed:
            return
        self._closed = True
        self._manager.remove(self)

    def _say(self, what: str) -> None:
        if self._closed or what == self.connection:
            return
        self.connection = what
        self.events.connection.emit(what)

    def _heard(self) -> None:
        self.last_heard = time.monotonic()


class ConnectionManager:
    """One thread, one asyncio loop, one aiohttp session, for every :class:`Feed`.

    Args:
        heartbeat_s: a silent rig is reported ``lost`` within this long (s).
        name: the thread's name.

    Thread use: :meth:`add`, :meth:`remove` and :meth:`close` from any thread.
    The thread starts with the first feed and runs until :meth:`close`.
    """

    def __init__(self, *, heartbeat_s: float = 5.0, name: str = "rigconsole connections") -> None:
        if not heartbeat_s > 0:
            raise ValueError(f"heartbeat_s must be > 0 seconds, got {heartbeat_s!r}")
        self.heartbeat_s = float(heartbeat_s)
        self._name = name
        self._lock = threading.Lock()
        self._feeds: list[Feed] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._http: Any = None
        self._stop: asyncio.Event | None = None

    @property
    def feeds(self) -> list[Feed]:
        """The feeds being followed (a copy)."""
        with self._lock:
            return list(self._feeds)

    @property
    def thread(self) -> threading.Thread | None:
        """The manager's one thread (``None`` before the first feed)."""
        return self._thread

    def add(self, observer: RemoteObserver, *, history: bool = False, start: bool = True) -> Feed:
        """Follow ``observer``'s rig; returns its :class:`Feed`.
        ``history``: read each variable's last :data:`HISTORY_POINTS` points first.
        ``start=False``: connect to ``feed.events`` first, then call :meth:`Feed.start` (with
        ``start=True`` the first announcements may come before the caller has connected)."""
        feed = Feed(self, observer, history=history)
        with self._lock:
            self._feeds.append(feed)
        if start:
            feed.start()
        return feed

    def _schedule(self, feed: Feed) -> None:
        self._ensure_thread()
        loop = self._loop
        assert loop is not None
        loop.call_soon_threadsafe(self._start_feed, feed)

    def remove(self, feed: Feed) -> None:
        """Stop following ``feed`` (its task is cancelled on the loop)."""
        feed._closed = True
        with self._lock:
            if feed in self._feeds:
                self._feeds.remove(feed)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._cancel_feed, feed)
            except RuntimeError:  # the loop closed meanwhile
                pass

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop every feed, close the aiohttp session, end the thread."""
        for feed in self.feeds:
            feed.close()
        loop, thread = self._loop, self._thread
        if loop is not None and self._stop is not None:
            try:
                loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:
                pass
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
        self._thread = None

    # ------------------------------------------------------------------ the thread
    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._ready.clear()
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        if not self._ready.wait(10.0):
            raise RuntimeError("the connection manager's thread did not start")

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except Exception:  # noqa: BLE001 - a bug here is logged, the views show "lost"
            log.exception("connection manager stopped")
        finally:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            try:
                loop.run_until_complete(asyncio.sleep(0))
            except Exception:
                pass
            loop.close()

    async def _main(self) -> None:
        import aiohttp

        self._stop = asyncio.Event()
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=5.0))
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            tasks = [f._task for f in list(self._feeds) if f._task is not None]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._http.close()

    def _start_feed(self, feed: Feed) -> None:
        if not feed.closed:
            feed._task = asyncio.ensure_future(self._follow(feed))

    @staticmethod
    def _cancel_feed(feed: Feed) -> None:
        if feed._task is not None:
            feed._task.cancel()

    async def _follow(self, feed: Feed) -> None:
        try:
            await self._follow_inner(feed)
        except asyncio.CancelledError:
            pass
        except Exception as err:  # a bug must not take other feeds down: say so on the connection line
            log.exception("feed of %s:%s failed", feed.observer.host, feed.observer.port)
            feed._say(f"lost: {type(err).__name__}: {err}")

    async def _follow_inner(self, feed: Feed) -> None:
        obs, http = feed.observer, self._http
        ev = feed.events
        while not feed.closed:  # until the rig answers (retried every 2 s), or refuses the token
            try:
                st = await obs.fetch(http, "status")
                feed._heard()
                ev.status.emit(st)
                if feed.want_history:
                    for v in (await obs.fetch(http, "variables"))["variables"]:
                        page = await obs.fetch(http, f"variables/{_quote(v['name'])}")
                        ev.history.emit(v["name"], page["t"][-HISTORY_POINTS:], page["values"][-HISTORY_POINTS:])
                await self._announce_queue(feed)
                break
            except RemoteError as err:
                feed._say(f"refused: {err.message}" if err.status else f"lost: {err.message}")
                if err.status:
                    return
                await asyncio.sleep(STATUS_RETRY_S)
        while not feed.closed:
            try:
                async for item in obs.updates(
                    max_retries=1_000_000,
                    retry_delay_s=1.0,
                    heartbeat_s=self.heartbeat_s,
                    http=http,
                    on_connection=feed._say,
                ):
                    if feed.closed:
                        return
                    feed._heard()
                    ev.event.emit(item)
                    if item["type"].startswith("run") or item["type"] in ("gap", "lock"):
                        try:
                            ev.status.emit(await obs.fetch(http, "status"))
                        except RemoteError as err:
                            log.info("status after %s from %s: %s", item["type"], obs.host, err)
            except RemoteError as err:
                feed._say(f"refused: {err.message}" if err.status else f"lost: {err.message}")
                if err.status:
                    return
                await asyncio.sleep(1.0)

    async def _announce_queue(self, feed: Feed) -> None:
        """A plan under way when the feed attaches: its queue as a ``queue`` event now (as the stream
        announces each change), so a view shows the plan line at once, not at the plan's next event."""
        try:
            queue = await feed.observer.fetch(self._http, "queue")
        except RemoteError as err:  # 503: the rig serves no run queue; anything else: the stream still comes
            log.info("no queue from %s: %s", feed.observer.host, err)
            return
        feed.events.event.emit({"type": "queue", "queue": queue})


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
