"""``RemoteObserver``: pymanip's remote observer for a Rig Console rig, with a token.

pymanip (``pymanip.asyncsession.RemoteObserver``) names and shapes:
``get_last_values() -> {name: value}``; ``start_recording()`` then
``stop_recording() -> {name: {"t": [...], "value": [...]}}`` (epoch s), each
variable with its own times. Unlike pymanip, ``reduce_time`` only collapses
the times into one ``"time"`` list when every variable has exactly the same
ones (pymanip's ``force_reduce_time`` default misaligns them), and nothing is
repeated (the server reads strictly after a time, pymanip reads ``>=``). As
in pymanip, the rig's parameters are merged into the recording.

:meth:`RemoteObserver.updates` is an async iterator of live events from the
stream, resuming after a dropped connection with nothing lost or repeated.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import ssl
from collections.abc import AsyncGenerator, Callable
from typing import Any
from urllib.parse import quote, urlencode

from .server import DEFAULT_PORT

__all__ = ["RemoteObserver", "RemoteError"]


class RemoteError(RuntimeError):
    """The rig answered with an error (``status`` holds the HTTP code, 0 when unreachable)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}" if status else message)
        self.status = status
        self.message = message


class RemoteObserver:
    """Observe (and, with an operator token, control) a rig from another computer.

    Args:
        host: the rig's host name or address.
        port: the server's port (default 6913, pymanip's).
        token: an observer or operator token (``rigconsole remote token add``).
        tls: use HTTPS/WSS.
        fingerprint: the rig certificate's SHA-256 fingerprint (``AB:CD:...``)
            to pin (a self-signed rig certificate); ``None`` with ``tls``
            verifies the certificate against the system's authorities.
        timeout: seconds per request.
    """

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        token: str | None = None,
        *,
        tls: bool = False,
        fingerprint: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = int(port)
        self.token = token
        self.tls = tls or fingerprint is not None
        self.fingerprint = fingerprint.replace(":", "").lower() if fingerprint else None
        self.timeout = timeout
        self.server_ts_start: float | None = None
        self.remote_varnames: list[str] = []

    # ------------------------------------------------------------------ transport
    def _ssl_context(self) -> ssl.SSLContext:
        if self.fingerprint:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # the pinned fingerprint is checked instead
            return ctx
        return ssl.create_default_context()

    def _check_pin(self, der: bytes | None) -> None:
        if self.fingerprint and (der is None or hashlib.sha256(der).hexdigest() != self.fingerprint):
            raise RemoteError(
                0,
                f"the rig's certificate does not match the pinned fingerprint "
                f"(got {hashlib.sha256(der or b'').hexdigest()[:16]}...); refusing to send the token",
            )

    def _request(self, method: str, path: str, body: Any = None, *, raw_answer: bool = False) -> Any:
        if self.tls:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=self._ssl_context()
            )
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            try:
                conn.connect()
                if self.tls:
                    sock = conn.sock
                    assert isinstance(sock, ssl.SSLSocket)  # an HTTPSConnection's, connected
                    self._check_pin(sock.getpeercert(binary_form=True))
                headers = {"Accept": "image/jpeg" if raw_answer else "application/json"}
                if self.token:
                    headers["Authorization"] = f"Bearer {self.token}"
                data = None
                if body is not None:
                    data = json.dumps(body).encode()
                    headers["Content-Type"] = "application/json"
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read(64 << 20)
            except (OSError, http.client.HTTPException) as err:
                raise RemoteError(0, f"cannot reach the rig at {self.host}:{self.port}: {err}") from None
        finally:
            conn.close()
        if raw_answer and resp.status < 400:
            return raw
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        if resp.status >= 400:
            msg = payload.get("error") if isinstance(payload, dict) else raw[:200].decode("utf-8", "replace")
            raise RemoteError(resp.status, str(msg))
        return payload

    def preview(self) -> bytes | None:
        """The rig's newest subject-screen thumbnail, JPEG bytes (``GET /api/v1/preview.jpg``), or
        ``None`` when the rig has none (its preview is off, or nothing was shown yet). Raises
        RemoteError when the rig cannot be reached or refuses the token."""
        try:
            return self._request("GET", "/api/v1/preview.jpg", raw_answer=True)
        except RemoteError as err:
            if err.status == 404:
                return None
            raise

    def _get(self, path: str, **query: Any) -> Any:
        q = {k: v for k, v in query.items() if v is not None}
        return self._request("GET", f"/api/v1/{path}" + (f"?{urlencode(q)}" if q else ""))

    def _post(self, path: str, body: Any = None) -> Any:
        return self._request("POST", f"/api/v1/{path}", {} if body is None else body)

    # ------------------------------------------------------------------ pymanip API
    def get_last_values(self) -> dict[str, float]:
        """``{name: value}``: each logged variable's last value (pymanip's shape)."""
        vals = self._get("last_values")["values"]
        return {k: v["value"] for k, v in vals.items() if v is not None}

    def start_recording(self) -> None:
        """Mark the rig's current time: :meth:`stop_recording` returns what is logged after it."""
        self.server_ts_start = float(self._get("status")["server_time"])
        self.remote_varnames = [v["name"] for v in self._get("variables")["variables"]]

    def logged_data_fromtimestamp(self, name: str, timestamp: float) -> tuple[list[float], list[float]]:
        """``(t, values)`` logged strictly after ``timestamp`` (epoch s); pages through long histories."""
        ts, vs = [], []
        after = timestamp
        for _ in range(10_000):  # bounded: 100,000 points a page
            page = self._get(f"variables/{quote(name, safe='')}", after=repr(float(after)))
            ts.extend(page["t"])
            vs.extend(page["values"])
            if not page["more"] or not page["t"]:
                break
            after = page["t"][-1]
        return ts, vs

    def stop_recording(self, reduce_time: bool = True, force_reduce_time: bool = False) -> dict[str, Any]:
        """Everything logged since :meth:`start_recording`, pymanip's shapes.

        Returns ``{name: {"t": [...], "value": [...]}}`` (epoch s); with
        ``reduce_time`` and every variable sharing the very same times,
        ``{name: [values...], "time": [...]}``. ``force_reduce_time`` is
        accepted for pymanip compatibility and never misaligns: variables whose
        times differ keep their own. The rig's parameters are merged in.
        Variables first logged during the recording are included.

        Raises RemoteError; RuntimeError if :meth:`start_recording` was not called.
        """
        if self.server_ts_start is None:
            raise RuntimeError("call start_recording() first")
        names = [v["name"] for v in self._get("variables")["variables"]]
        rec: dict[str, Any] = {}
        for name in names:
            t, v = self.logged_data_fromtimestamp(name, self.server_ts_start)
            if t:
                rec[name] = {"t": t, "value": v}
        if reduce_time and rec:
            first = next(iter(rec.values()))["t"]
            if all(r["t"] == first for r in rec.values()):
                rec = {k: r["value"] for k, r in rec.items()}
                rec["time"] = first
        rec.update(self._get("parameters")["parameters"])
        self.server_ts_start = None
        return rec

    # ------------------------------------------------------------------ rig state and control
    def status(self) -> dict:
        """``GET /api/v1/status``: rig, session, state, current run, expInfo, trial n of N."""
        return self._get("status")

    def experiments(self) -> list[dict]:
        return self._get("experiments")["experiments"]

    def runs(self) -> dict:
        return self._get("runs")

    def trials(self, run_id: str, start: int = 0) -> dict:
        """One page of a logged run's trial table (``run_id`` from :meth:`runs` ``logged[i]["id"]``):
        ``columns``, ``trials`` (``{column: values}``), ``n_trials``, ``more`` and the run's ``measures``."""
        return self._get(f"runs/{quote(run_id, safe='')}/trials", start=start)

    def annotations(self, after: float | None = None) -> list[dict]:
        """Annotations (notes, control actions, instrument states) strictly after ``after`` (epoch s)."""
        return self._get("annotations", after=None if after is None else repr(float(after)))["annotations"]

    def variables(self) -> list[dict]:
        """The logged variables: ``name``, ``unit``, ``description``, ``source``, ``last`` (``{t, value}`` or None)."""
        return self._get("variables")["variables"]

    def variable_data(self, name: str, after: float | None = None) -> dict:
        """One page of a variable's points strictly after ``after`` (epoch s): ``t``, ``values``, ``more``."""
        return self._get(f"variables/{quote(name, safe='')}", after=None if after is None else repr(float(after)))

    def parameters(self) -> dict:
        return self._get("parameters")["parameters"]

    def queue(self) -> dict:
        """``GET /api/v1/queue``: the plan, its items with their states and outcomes, the estimate
        (``rigconsole.plans.plan_line`` words it). Raises RemoteError (503: the rig serves no run queue)."""
        return self._get("queue")

    def run(self, experiment: str, expInfo: dict | None = None) -> dict:  # noqa: N803 - PsychoPy's name
        """Queue a run of ``experiment`` with ``expInfo`` (operator token). Raises RemoteError (400/403/409/423)."""
        return self._post("runs", {"experiment": experiment, "expInfo": expInfo or {}})

    def pause(self) -> dict:
        return self._post("session/pause")

    def resume(self) -> dict:
        return self._post("session/resume")

    def stop(self) -> dict:
        return self._post("session/stop")

    def annotate(self, text: str, marker: int | None = None) -> float:
        """Add a notebook note at the rig's running trial (operator token); ``marker`` a code 1-9. Returns its time (epoch s)."""
        body: dict[str, Any] = {"text": text}
        if marker is not None:
            body["marker"] = marker
        return float(self._post("session/annotate", body)["t"])

    # ------------------------------------------------------------------ live
    def _aiohttp_ssl(self) -> Any:
        import aiohttp

        if not self.tls:
            return True
        if self.fingerprint:
            return aiohttp.Fingerprint(bytes.fromhex(self.fingerprint))  # the pin, checked by aiohttp
        return self._ssl_context()

    async def fetch(self, http: Any, path: str, **query: Any) -> Any:
        """``GET /api/v1/<path>`` on the asyncio loop with the aiohttp ``ClientSession`` ``http``
        (the connection manager's shared one): the JSON answer. Raises RemoteError as the
        blocking calls do (``status`` 0 when the rig cannot be reached or the pin does not match)."""
        import aiohttp

        q = {k: v for k, v in query.items() if v is not None}
        scheme = "https" if self.tls else "http"
        url = f"{scheme}://{self.host}:{self.port}/api/v1/{path}" + (f"?{urlencode(q)}" if q else "")
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            async with http.get(
                url, headers=headers, ssl=self._aiohttp_ssl(), timeout=aiohttp.ClientTimeout(total=self.timeout)
            ) as resp:
                raw = await resp.read()
                code = resp.status
        except aiohttp.ServerFingerprintMismatch:
            raise RemoteError(
                0, "the rig's certificate does not match the pinned fingerprint; refusing to send the token"
            ) from None
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as err:
            raise RemoteError(
                0, f"cannot reach the rig at {self.host}:{self.port}: {err or type(err).__name__}"
            ) from None
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        if code >= 400:
            msg = payload.get("error") if isinstance(payload, dict) else raw[:200].decode("utf-8", "replace")
            raise RemoteError(code, str(msg))
        return payload

    async def updates(
        self,
        *,
        after: int | None = None,
        max_retries: int = 10,
        retry_delay_s: float = 0.5,
        heartbeat_s: float = 20.0,
        http: Any = None,
        on_connection: Callable[[str], None] | None = None,
    ) -> AsyncGenerator[dict, None]:
        """Live events, each a dict with ``type`` (``values``, ``trial``, ``run_state``, ...), ``seq``
        (its batch's number) and ``sent`` (epoch s on the rig's clock when its batch was made).

        Reconnects after a lost connection and resumes after the last batch
        received: nothing is lost or repeated while the rig still holds the
        missed batches (otherwise a ``{"type": "gap"}`` event says to re-read
        the REST state). Gives up with RemoteError after ``max_retries``
        failed connections in a row; a bad token raises at once.

        ``heartbeat_s``: a WebSocket ping every ``heartbeat_s / 2`` seconds; a
        rig that does not answer within ``heartbeat_s / 4`` more counts as lost
        (so a silent rig is noticed within ``heartbeat_s``). ``http``: an aiohttp
        ``ClientSession`` to use (default: one of its own). ``on_connection``
        is called with ``"live"`` at each welcome and ``"lost: <why>"`` at each
        lost connection (on the loop, before retrying).
        """
        import aiohttp

        scheme = "wss" if self.tls else "ws"
        url = f"{scheme}://{self.host}:{self.port}/api/v1/stream"
        ssl_arg: Any = self._ssl_context() if self.tls else True
        stream_id, failures = None, 0
        say = on_connection or (lambda what: None)
        own = http is None
        if own:
            http = aiohttp.ClientSession()
        try:
            while True:
                why = "the rig closed the stream"
                try:
                    async with http.ws_connect(
                        url, ssl=ssl_arg, heartbeat=heartbeat_s / 2, timeout=aiohttp.ClientWSTimeout(ws_close=2.0)
                    ) as ws:
                        if self.tls and self.fingerprint:
                            sslobj = ws.get_extra_info("ssl_object")
                            self._check_pin(sslobj.getpeercert(binary_form=True) if sslobj else None)
                        await ws.send_str(
                            json.dumps({"type": "hello", "token": self.token, "after": after, "stream": stream_id})
                        )
                        async for msg in ws:
                            if msg.type != aiohttp.WSMsgType.TEXT:
                                if msg.type == aiohttp.WSMsgType.ERROR:
                                    why = f"no answer from the rig ({ws.exception() or 'heartbeat'})"
                                break
                            data = json.loads(msg.data)
                            if data.get("type") == "welcome":
                                failures = 0
                                say("live")
                                if data.get("gap"):
                                    yield {"type": "gap", "seq": data["seq"]}
                                if stream_id is not None and data["stream"] != stream_id:
                                    after = 0  # the rig restarted its stream: take it from its start
                                stream_id = data["stream"]
                                if after is None:
                                    after = data["seq"]
                                continue
                            if data.get("type") != "batch" or data["seq"] <= (after or 0):
                                continue
                            after = data["seq"]
                            for ev in data["events"]:
                                yield {**ev, "seq": data["seq"], "sent": data.get("t")}
                        if ws.close_code == 4401:
                            raise RemoteError(401, "the rig refused the token")
                except aiohttp.WSServerHandshakeError as err:
                    if err.status == 401:
                        raise RemoteError(401, "the rig refused the token") from None
                    failures += 1
                    why = f"the rig answered {err.status}"
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as err:
                    failures += 1
                    why = f"cannot reach the rig at {self.host}:{self.port}: {err or type(err).__name__}"
                else:
                    failures += 1
                say(f"lost: {why}")
                if failures > max_retries:
                    raise RemoteError(0, f"lost the rig at {self.host}:{self.port} after {max_retries} retries")
                await asyncio.sleep(min(retry_delay_s * failures, 5.0))
        finally:
            if own:
                await http.close()
