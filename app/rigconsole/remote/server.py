"""The rig's remote server: aiohttp on its own thread and event loop, a Rig component.

Where it runs, and why (measured, see docs/remote.md): on its own thread with
its own asyncio loop. During a run the console's qasync loop only runs inside
the frame pump's slices of each frame's slack, so requests there would wait
for frames and their JSON encoding would be taken from the slack; in a
thread the main thread's share is one deque append per event (plus one pipe
write per batch), and the thread asks the frame-budget port for the quiet
window before encoding. A process would need the data log's memory copied
across; the data log's readers are thread-safe, so a thread reads them
directly.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from ..views.notebook import add_note
from ..views.trial_measures import TrialMeasures
from . import api
from .keys import SERVER_KEY, WHO_KEY
from .stream import Stream, StreamClient, dumps, jsonable
from .tls import TlsConfig
from .tokens import TokenInfo, TokenStore
from .view import RigView

if TYPE_CHECKING:
    from .discovery import Announcer

__all__ = ["RemoteServer", "DEFAULT_PORT"]

log = logging.getLogger("rigconsole.remote")
DEFAULT_PORT = 6913  # pymanip's
#: the OpenAPI description served at /api/v1/openapi.yaml: docs/ of the source tree, or of the
#: frozen app's bundle (PyInstaller's ``sys._MEIPASS``, see packaging/rigconsole.spec)
SPEC_PATH = (
    Path(getattr(sys, "_MEIPASS", "")) / "docs" / "remote-api.yaml"
    if getattr(sys, "frozen", False)
    else Path(__file__).resolve().parents[3] / "docs" / "remote-api.yaml"
)
STATIC = Path(__file__).parent / "static"
HELLO_TIMEOUT_S = 5.0
#: how often open streams are checked against the token store (a token revoked in Settings or
#: from the command line closes its streams within this long), s
REVOKED_CHECK_S = 2.0


class RemoteServer:
    """Serves a rig's state, data and control over HTTP(S) and one WebSocket stream.

    Args:
        rig_view: a :class:`RigView`; ``None`` when the server is added to a
            Rig (``rig.add_component("remote", server)`` calls ``start(rig)``).
        host: address to bind (default 127.0.0.1: this computer only).
        port: TCP port (default 6913, pymanip's; 0 picks a free one, see :attr:`port`).
        tokens: the :class:`TokenStore` (default: the user's token file).
        tls: a :class:`rigconsole.remote.tls.TlsConfig` for HTTPS/WSS, or ``None`` (plain HTTP).
        stream: a :class:`Stream` to use (its bounds: history and per-client queue).
        locked: start with remote control locked (423) until :meth:`set_locked` (False).
        announce: announce the rig by DNS-SD on the network (:mod:`.discovery`; never on loopback).
        replay: say "replay" in the announcement (``rigconsole replay``).

    Thread use: ``start``/``close``/``set_locked`` from any thread; the
    server's own thread runs every request.
    """

    def __init__(
        self,
        rig_view: RigView | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        tokens: TokenStore | None = None,
        tls: TlsConfig | None = None,
        stream: Stream | None = None,
        locked: bool = False,
        announce: bool = True,
        replay: bool = False,
    ) -> None:
        self.view = rig_view
        self._announce, self._replay = announce, replay
        self._announcer: Announcer | None = None
        self.host = host
        self.requested_port = port
        self.tokens = tokens if tokens is not None else TokenStore.default()
        self.tls = tls
        self.stream = stream or Stream()
        self._port: int | None = None
        self._locked = bool(locked)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._links: list[tuple[Any, Any]] = []
        self._log_links: list[tuple[Any, Any]] = []
        self._measures: tuple[int | None, TrialMeasures] = (None, TrialMeasures())  # (run index, its measures)
        self._instrument_states: dict[str, dict] = {}
        self._audit: list[dict] = []
        self._ws: set[web.WebSocketResponse] = set()
        self._ws_names: dict[web.WebSocketResponse, str] = {}
        self._ws_who: dict[web.WebSocketResponse, TokenInfo] = {}
        self._ws_transports: dict[web.WebSocketResponse, Any] = {}

    @classmethod
    def from_settings(cls, settings: Any, *, config_dir: Path, tokens: TokenStore | None = None) -> RemoteServer:
        """The server a :class:`rigconsole.remote.settings.RemoteSettings` describes.

        ``tls="self-signed"`` makes (once) ``remote-cert.pem``/``remote-key.pem``
        in ``config_dir``; ``"files"`` uses ``tls_cert``/``tls_key``; ``"off"``
        serves plain HTTP. Raises ValueError when ``"files"`` lacks a path.
        """
        if settings.tls == "self-signed":
            tls = TlsConfig.self_signed(Path(config_dir))
        elif settings.tls == "files":
            if not (settings.tls_cert and settings.tls_key):
                raise ValueError("remote.tls is 'files': set remote.tls_cert and remote.tls_key")
            tls = TlsConfig(Path(settings.tls_cert), Path(settings.tls_key))
        else:
            tls = None
        return cls(host=settings.host, port=settings.port, tokens=tokens, tls=tls, locked=settings.locked)

    # ------------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int | None:
        """The bound port once started (the real one when ``port=0`` was asked)."""
        return self._port

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self._port}"

    @property
    def fingerprint(self) -> str | None:
        """SHA-256 fingerprint of the TLS certificate (``AB:CD:...``), or ``None`` without TLS."""
        return self.tls.fingerprint if self.tls else None

    @property
    def locked(self) -> bool:
        """``True`` while remote control is locked out at the rig (control answers 423)."""
        return self._locked

    def set_locked(self, locked: bool) -> None:
        """Lock (or unlock) remote control from the rig; observers are told on the stream."""
        self._locked = bool(locked)
        self.stream.push({"type": "lock", "locked": self._locked})

    def disconnect_clients(self, name: str | None = None) -> None:
        """Close the stream of every client (or of the token called ``name``, e.g. after revoking it).

        Thread-safe. Clients of a valid token reconnect and resume."""
        loop = self._loop
        if loop is None:
            return

        def drop() -> None:
            for ws in list(self._ws):
                if name is None or self._ws_names.get(ws) == name:
                    transport = self._ws_transports.get(ws)
                    if transport is not None:
                        transport.abort()

        try:
            loop.call_soon_threadsafe(drop)
        except RuntimeError:
            pass

    def start(self, rig: Any = None, *, timeout_s: float = 10.0) -> None:
        """Start serving (a Rig component's ``start(rig)``). Raises OSError when the port cannot be bound."""
        if self._thread is not None:
            return
        if self.view is None:
            if rig is None:
                raise ValueError("RemoteServer needs a RigView or a Rig to serve")
            self.view = RigView.from_rig(rig)
        self.stream.budget = self.view.budget
        self._ready.clear()
        self._thread = threading.Thread(target=self._serve, name="rigconsole remote server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise TimeoutError(f"remote server did not start within {timeout_s} s")
        if self._error is not None:
            err, self._error = self._error, None
            self._thread.join(1.0)
            self._thread = None
            raise OSError(f"remote server cannot listen on {self.host}:{self.requested_port}: {err}") from err
        self._connect()
        log.info("remote server on %s", self.url)
        if self._announce and self._port is not None:
            from .discovery import announce_rig

            rig_name = self.view.rig_name if self.view is not None else "rig"
            self._announcer = announce_rig(
                rig_name, self.host, self._port, fingerprint=self.fingerprint, replay=self._replay
            )

    def close(self) -> None:
        """Stop serving: close every client, unbind, join the thread (a Rig component's ``close()``)."""
        announcer, self._announcer = self._announcer, None
        if announcer is not None:
            announcer.close()
        self._disconnect()
        loop, thread = self._loop, self._thread
        if loop is not None and self._stop is not None:
            try:
                loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:
                pass
        if thread is not None:
            thread.join(10.0)
        self._thread = None
        self._port = None

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        except BaseException as err:  # noqa: BLE001 - reported to start()
            self._error = err
            self._ready.set()
        finally:
            self.stream.loop = None
            loop.close()
            self._loop = None

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self.stream.loop = asyncio.get_running_loop()
        app = self._make_app()
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=1.0,
            max_line_size=32 * 1024,
            max_field_size=16 * 1024,
        )
        await runner.setup()
        ssl_ctx = self.tls.ssl_context() if self.tls else None
        site = web.TCPSite(runner, self.host, self.requested_port, ssl_context=ssl_ctx, backlog=64)
        try:
            await site.start()
            server = site._server  # aiohttp offers no public accessor for the bound port
            assert isinstance(server, asyncio.Server)  # started just above
            sock = server.sockets[0]
            self._port = sock.getsockname()[1]
            self._ready.set()
            while not self._stop.is_set():
                try:
                    await asyncio.wait_for(self._stop.wait(), REVOKED_CHECK_S)
                except asyncio.TimeoutError:
                    self._drop_revoked()
        finally:
            for ws in list(self._ws):
                await ws.close(code=1001, message=b"rig server closing")
            await runner.cleanup()

    def _drop_revoked(self) -> None:
        """Close the streams whose token was revoked since they attached (server thread)."""
        if not self._ws_who:
            return
        try:
            valid = set(self.tokens.list())
        except Exception:  # noqa: BLE001 - an unreadable token file: every request is refused already
            valid = set()
        for ws, who in list(self._ws_who.items()):
            if who not in valid:
                log.info("remote: token %r revoked; closing its stream", who.name)
                transport = self._ws_transports.get(ws)
                if transport is not None:
                    transport.abort()

    # ------------------------------------------------------------------ rig events → stream
    def _rig_view(self) -> RigView:
        """The view served (set by the constructor or :meth:`start`, before anything is served)."""
        if self.view is None:
            raise RuntimeError("the remote server has no rig to serve: start(rig) first")
        return self.view

    def _connect(self) -> None:
        view = self._rig_view()
        ev = view.session.events
        push = self.stream.push
        self._links = [
            (ev.run_started, lambda rec: push({"type": "run_started", "run": api.run_summary(rec)})),
            (ev.run_state_changed, lambda rec: push({"type": "run_state", "run": api.run_summary(rec)})),
            (ev.run_ended, lambda rec: push({"type": "run_ended", "run": api.run_summary(rec)})),
            (ev.trial_added, self._on_trial),
            (ev.experiments_changed, lambda: push({"type": "experiments_changed"})),
        ]
        queue = view.queue
        if queue is not None:  # the plan's events: the queue as it is now, each ended item, breaks
            qe = queue.events
            self._links += [
                (qe.changed, lambda: push({"type": "queue", "queue": jsonable(queue.summary())})),
                (qe.item_ended, lambda item: push({"type": "queue_item_ended", "item": jsonable(item.summary())})),
                (qe.break_started, lambda item, msg: push({"type": "plan_break", "after": item.id, "message": msg})),
                (qe.break_ended, lambda item: push({"type": "plan_break_ended", "after": item.id})),
            ]
        preview = view.preview
        if preview is not None:  # the subject-screen preview: announced here, served at /api/v1/preview.jpg
            self._links.append((preview.events.thumbnail, self._on_preview))
        inst = view.instruments
        if inst is not None and hasattr(getattr(inst, "events", None), "state_changed"):
            self._links.append((inst.events.state_changed, self._on_instrument_state))
        if view.data_log_changed is not None:
            self._links.append((view.data_log_changed, self._hook_data_log))
        for sig, slot in self._links:
            sig.connect(slot)
        self._hook_data_log(view.data_log)

    def _on_trial(self, rec: Any, row: dict) -> None:
        """A trial event, with the run's response measures so far (computed once, here; see views.trial_measures)."""
        if self._measures[0] != rec.index:
            self._measures = (rec.index, TrialMeasures(exclude=rec.exp_info))
        measures = self._measures[1].add(dict(row))
        self.stream.push(
            {
                "type": "trial",
                "run_index": rec.index,
                "n": rec.n_trials,
                "of": rec.total_trials,
                "row": dict(row),
                "measures": measures,
            }
        )

    def _on_preview(self, thumb: Any) -> None:
        """A new subject-screen thumbnail (the preview's worker thread): a small ``preview`` event;
        the image itself is fetched with ``GET /api/v1/preview.jpg`` (the stream's history keeps
        thousands of batches for resuming clients: no images in it)."""
        self.stream.push({"type": "preview", **thumb.summary()})

    def latest_preview(self) -> Any:
        """The newest subject-screen thumbnail (:class:`rigconsole.session.preview.Thumbnail`), or
        ``None`` (no preview on this rig, it is off, or no frame was taken yet)."""
        preview = self._rig_view().preview
        return preview.latest if preview is not None and preview.enabled else None

    def add_note(self, who: TokenInfo, text: str, marker: int | None = None) -> dict:
        """An operator's notebook note, at the running trial (``source="remote:<token name>"``); its row.

        Raises ValueError (bad text or marker, or no data log: nothing recorded).
        """
        row = add_note(self._rig_view().data_log, text, marker=marker, source=f"remote:{who.name}")
        log.info("remote note by %s: %s", who.name, row["text"])
        return row

    def _hook_data_log(self, data_log: Any) -> None:
        for sig, slot in self._log_links:
            try:
                sig.disconnect(slot)
            except Exception:
                pass
        self._log_links = []
        if data_log is None:
            return
        push = self.stream.push
        ev = data_log.events
        self._log_links.append((ev.entry_added, lambda t, vals: push({"type": "values", "t": t, "values": vals})))
        self._log_links.append((ev.parameter_saved, lambda p: push({"type": "parameters", "parameters": p})))
        if hasattr(ev, "annotation_added"):
            self._log_links.append(
                (ev.annotation_added, lambda t, row: push({"type": "annotation", "t": t, "annotation": dict(row)}))
            )
        for sig, slot in self._log_links:
            sig.connect(slot)
        push({"type": "data_log", "path": str(getattr(data_log, "path", ""))})

    def _on_instrument_state(self, name: str, state: str, message: str = "") -> None:
        row = {"name": name, "state": state, "message": message, "t": time.time()}
        self._instrument_states[name] = row
        self.stream.push({"type": "instrument", **row})

    def instrument_states(self) -> dict[str, dict]:
        """The last state each instrument announced (``name``, ``state``, ``message``, ``t``)."""
        return dict(self._instrument_states)

    def _disconnect(self) -> None:
        for sig, slot in self._links + self._log_links:
            try:
                sig.disconnect(slot)
            except Exception:
                pass
        self._links, self._log_links = [], []

    # ------------------------------------------------------------------ control audit
    def record_control(self, who: TokenInfo, action: str, **fields: Any) -> float:
        """Record a remote control action in the session data log (``source="remote:<token name>"``).

        Uses ``DataLog.add_annotation`` (kind ``"control"``); without a data log
        that offers it, the action is kept in memory and logged. Returns epoch s.
        """
        t = time.time()
        text = f"{action} by {who.name}"
        row = {"t": t, "source": f"remote:{who.name}", "kind": "control", "text": text, "fields": fields}
        dl = self._rig_view().data_log
        add = getattr(dl, "add_annotation", None)
        if callable(add):
            try:
                t = add(text, source=row["source"], kind="control", timestamp=t, **{"action": action, **fields})
            except Exception as err:
                log.error("remote: cannot record %r in the data log: %s", text, err)
        else:
            self._audit.append(row)
            del self._audit[:-1000]
            self.stream.push({"type": "annotation", "t": t, "annotation": row})
        log.info("remote control: %s %s", text, fields or "")
        return t

    def audit(self) -> list[dict]:
        """Control actions kept in memory (only when the data log cannot record annotations)."""
        return list(self._audit)

    # ------------------------------------------------------------------ app
    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors, self._auth], client_max_size=64 * 1024)
        app[SERVER_KEY] = self
        api.add_routes(app)
        app.router.add_get("/api/v1/stream", self._ws_handler)
        app.router.add_get("/api/v1/openapi.yaml", self._spec)
        app.router.add_get("/", self._index)
        app.router.add_static("/static/", STATIC, show_index=False)
        return app

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _spec(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(SPEC_PATH, headers={"Content-Type": "application/yaml"})

    @web.middleware
    async def _errors(self, request: web.Request, handler):
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400 or exc.content_type == "application/json":
                raise
            msg = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
            return api.error(
                exc.status,
                msg,
                headers={k: v for k, v in exc.headers.items() if k.lower() in ("allow", "www-authenticate")},
            )
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a bug: logged, answered, the server keeps serving
            log.exception("remote: %s %s failed", request.method, request.path)
            return api.error(500, f"internal error: {type(err).__name__}")

    @web.middleware
    async def _auth(self, request: web.Request, handler):
        if not request.path.startswith("/api/"):
            return await handler(request)
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else None
        if token is None and request.path == "/api/v1/stream":
            token = _subprotocol_token(request)
            if token is None and request.headers.get("Upgrade", "").lower() == "websocket":
                return await handler(request)  # the token comes in the first message
        who = self.tokens.check(token)
        if who is None:
            return api.error(
                401,
                "missing or invalid token: send 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": 'Bearer realm="rigconsole"'},
            )
        request[WHO_KEY] = who
        return await handler(request)

    # ------------------------------------------------------------------ WebSocket
    async def _ws_handler(self, request: web.Request) -> web.StreamResponse:
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        ws = web.WebSocketResponse(
            protocols=["rigconsole.v1"] if "rigconsole.v1" in offered else (), heartbeat=20.0, max_msg_size=64 * 1024
        )
        await ws.prepare(request)
        self._ws.add(ws)
        client = None
        try:
            try:
                msg = await ws.receive(timeout=HELLO_TIMEOUT_S)
            except asyncio.TimeoutError:
                await ws.close(code=4400, message=b'send {"type": "hello"} first')
                return ws
            hello = api.parse_hello(msg.data if msg.type == WSMsgType.TEXT else None)
            if isinstance(hello, str):
                await ws.close(code=4400, message=hello.encode()[:120])
                return ws
            who = request.get(WHO_KEY) or self.tokens.check(hello.get("token"))
            if who is None:
                await ws.close(code=4401, message=b"missing or invalid token")
                return ws
            self._ws_names[ws] = who.name
            self._ws_who[ws] = who
            self._ws_transports[ws] = request.transport
            client = StreamClient(
                who.name, max_batches=self.stream.client_max_batches, max_bytes=self.stream.client_max_bytes
            )
            welcome = self.stream.attach(client, hello.get("after"), hello.get("stream"))
            welcome.update(role=who.role, rig=self._rig_view().rig_name, locked=self._locked)
            await ws.send_str(dumps(welcome))
            sender = asyncio.ensure_future(self._send_loop(ws, client))
            reader = asyncio.ensure_future(self._read_loop(ws))
            gone = asyncio.ensure_future(client.gone.wait())
            await asyncio.wait({sender, reader, gone}, return_when=asyncio.FIRST_COMPLETED)
            for task in (sender, reader, gone):
                task.cancel()
            if client.dropped:
                log.warning("remote: stream client %r dropped: %s", client.name, client.dropped)
                transport = request.transport
                if transport is not None:
                    transport.abort()
            return ws
        finally:
            if client is not None:
                self.stream.detach(client)
            self._ws.discard(ws)
            self._ws_names.pop(ws, None)
            self._ws_who.pop(ws, None)
            self._ws_transports.pop(ws, None)

    async def _send_loop(self, ws: web.WebSocketResponse, client: StreamClient) -> None:
        while client.dropped is None and not ws.closed:
            await client.wake.wait()
            client.wake.clear()
            while client.dropped is None:
                text = client.pop()
                if text is None:
                    break
                await ws.send_str(text)

    async def _read_loop(self, ws: web.WebSocketResponse) -> None:
        async for msg in ws:  # clients have nothing more to say; ignore, but notice the close
            if msg.type == WSMsgType.ERROR:
                break


def _subprotocol_token(request: web.Request) -> str | None:
    for p in request.headers.get("Sec-WebSocket-Protocol", "").split(","):
        p = p.strip()
        if p.startswith("token."):
            return p[6:]
    return None
