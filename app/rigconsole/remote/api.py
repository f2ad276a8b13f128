"""The REST half of the remote API (``/api/v1``), described in docs/remote-api.yaml.

Every handler runs on the server's thread. Reads use the session's public
state and the data log's thread-safe in-memory readers; control goes through
the session's main-thread command queue (``Session.commands.submit``) and is
recorded in the data log with the token's name.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any

from aiohttp import web

from ..notifications import one_line
from ..views.trial_measures import TrialMeasures
from .keys import SERVER_KEY, WHO_KEY
from .stream import dumps, jsonable

__all__ = ["add_routes", "error", "run_summary", "parse_hello", "parse_json", "column_unit"]

MAX_POINTS = 100_000
MAX_ROWS = 10_000
CONTROL_TIMEOUT_S = 10.0
#: the deepest nesting of arrays and objects a request body (or the stream's hello) may have;
#: the API's bodies are two levels deep, expInfo values a few more
MAX_JSON_DEPTH = 64


def error(status: int, message: str, *, headers: dict | None = None) -> web.Response:
    """A JSON error: ``{"error": <one line>, "status": <code>}``."""
    return web.Response(
        status=status,
        text=dumps({"error": message, "status": status}),
        content_type="application/json",
        headers=headers,
    )


def ok(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=dumps(data), content_type="application/json")


def bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=dumps({"error": message, "status": 400}), content_type="application/json")


def run_summary(rec: Any) -> dict | None:
    """A run record as the API shows it (RunRecord.summary() plus ``trial``/``of``), or ``None``."""
    if rec is None:
        return None
    try:
        s = rec.summary()
    except RuntimeError:  # a dict changed size while copied: read it again
        s = rec.summary()
    s["trial"] = s.get("n_trials", 0)
    s["of"] = s.get("total_trials")
    s.pop("frame_stats", None)
    return jsonable(s)


def column_unit(name: str) -> str:
    """A trial column's unit by PsychoPy's naming convention: ``*.rt``, ``*.started``, ``*.stopped``,
    ``*.duration`` are seconds; anything else has no known unit (``""``)."""
    tail = name.rsplit(".", 1)[-1]
    return "s" if tail in ("rt", "started", "stopped", "duration", "time") and "." in name else ""


def parse_json(raw: bytes | str) -> Any:
    """Parse a request body or a stream message: the ONE place the remote API reads JSON it is sent.

    Returns the parsed value. Raises ValueError with a one-line message for the
    client (answered as 400, or as the stream's close reason): malformed JSON,
    bytes that are not UTF-8, or arrays/objects nested deeper than
    :data:`MAX_JSON_DEPTH` (Python's parser raises RecursionError, not
    ValueError, past about 1,000 levels).
    """
    too_deep = f"the JSON is nested too deeply (at most {MAX_JSON_DEPTH} levels of arrays and objects)"
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ValueError(too_deep) from None
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"malformed JSON: {err}") from None
    level = [value]
    for _ in range(MAX_JSON_DEPTH):  # breadth-first, one level per pass: no recursion
        level = [v for c in level if isinstance(c, (dict, list)) for v in (c.values() if isinstance(c, dict) else c)]
        if not level:
            return value
    if any(isinstance(c, (dict, list)) for c in level):
        raise ValueError(too_deep)
    return value


def parse_hello(text: str | None) -> dict | str:
    """The stream's first message, ``{"type": "hello", "token"?, "after"?, "stream"?}``, or an error string."""
    if text is None or len(text) > 4096:
        return 'the first message must be a JSON text: {"type": "hello", "token": ..., "after": <seq>}'
    try:
        msg = parse_json(text)
    except ValueError as err:
        return f"first message: {err}"
    if not isinstance(msg, dict) or msg.get("type") != "hello":
        return 'the first message must be {"type": "hello", ...}'
    after = msg.get("after")
    if after is not None and (isinstance(after, bool) or not isinstance(after, int) or after < 0):
        return "'after' must be the last batch seq received (integer >= 0) or null"
    for k in ("token", "stream"):
        if msg.get(k) is not None and not isinstance(msg[k], str):
            return f"'{k}' must be a string"
    return msg


# ---------------------------------------------------------------------------- parsing
def _float_arg(request: web.Request, name: str, default: float) -> float:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        v = float(raw)
    except ValueError:
        raise bad(f"'{name}' must be a number (epoch seconds), not {raw[:40]!r}") from None
    if math.isnan(v):
        raise bad(f"'{name}' must be a number, not NaN")
    return v


def _int_arg(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        v = int(raw)
    except ValueError:
        raise bad(f"'{name}' must be an integer from {lo} to {hi}, not {raw[:40]!r}") from None
    if not lo <= v <= hi:
        raise bad(f"'{name}' must be from {lo} to {hi}, not {v}")
    return v


async def _json_body(request: web.Request, *, required: bool) -> dict:
    if not request.can_read_body:
        if required:
            raise bad("send a JSON object as the request body")
        return {}
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise
    if not raw.strip():
        if required:
            raise bad("send a JSON object as the request body")
        return {}
    try:
        body = parse_json(raw)
    except ValueError as err:
        raise bad(str(err)) from None
    if not isinstance(body, dict):
        raise bad("the request body must be a JSON object")
    return body


# ---------------------------------------------------------------------------- reads
def _server(request: web.Request):
    return request.app[SERVER_KEY]


async def status(request: web.Request) -> web.Response:
    srv = _server(request)
    s = srv.view.session
    dl = srv.view.data_log
    rec = s.current_run
    run = run_summary(rec)
    return ok(
        {
            "rig": srv.view.rig_name,
            "server_time": time.time(),
            "locked": srv.locked,
            "you": {"name": request[WHO_KEY].name, "role": request[WHO_KEY].role},
            "session": {
                "root": str(s.root),
                "data_dir": str(getattr(s, "dataDir", "")),
                "data_log": str(dl.path) if dl is not None else None,
                "n_runs": len(s.run_records),
            },
            "state": run["state"] if run else "idle",
            "run": run,
            "expInfo": run["expInfo"] if run else None,
            "trial": run["trial"] if run else None,
            "of": run["of"] if run else None,
        }
    )


async def preview_jpg(request: web.Request) -> web.Response:
    """The newest subject-screen thumbnail (JPEG), announced by the stream's ``preview`` events."""
    srv = _server(request)
    budget = srv.view.budget
    if budget.running:  # every observer asks at once: answer in the frame's quiet window, as the stream encodes
        wait = 1.0 / max(budget.refresh_hz, 1.0)
        await asyncio.get_running_loop().run_in_executor(None, budget.wait_for_quiet, wait, 0.001)
    thumb = srv.latest_preview()
    if thumb is None:
        return error(
            404, "no subject-screen preview: it is off on the rig (Settings > General) or no frame was shown yet"
        )
    return web.Response(
        body=thumb.jpeg,
        content_type="image/jpeg",
        headers={"Cache-Control": "no-store", "X-Preview-Number": str(thumb.seq), "X-Preview-Time": f"{thumb.t:.3f}"},
    )


async def experiments(request: web.Request) -> web.Response:
    s = _server(request).view.session
    out = []
    for key, entry in sorted(dict(s.experiment_files).items()):
        fields = [
            {
                "name": f.name,
                "kind": f.kind,
                "default": f.default,
                "choices": list(f.choices),
                "required": f.required,
                "hidden": f.hidden,
                "fixed": f.fixed,
            }
            for f in list(entry.fields)
        ]
        out.append(
            {
                "key": key,
                "kind": entry.kind,
                "path": str(entry.path),
                "broken": entry.broken,
                "error": entry.error,
                "expInfo": fields,
            }
        )
    return ok({"experiments": out})


def _run_id(path: str) -> str:
    return path.split("/", 1)[1] if path.startswith("runs/") else path


async def runs(request: web.Request) -> web.Response:
    srv = _server(request)
    s = srv.view.session
    dl = srv.view.data_log
    logged = []
    if dl is not None:
        for path in dl.runs():
            info = dl.run_info(path)
            logged.append(
                {
                    "id": _run_id(path),
                    "experiment": info["experiment"],
                    "outcome": info["outcome"],
                    "started": info["started"],
                    "ended": info["ended"],
                    "n_trials": info["n_trials"],
                    "expInfo": info["expInfo"],
                }
            )
    return ok({"runs": [run_summary(r) for r in list(s.run_records)], "logged": logged})


async def trials(request: web.Request) -> web.Response:
    dl = _server(request).view.data_log
    run_id = request.match_info["run"]
    start = _int_arg(request, "start", 0, 0, 10**9)
    limit = _int_arg(request, "limit", MAX_ROWS, 1, MAX_ROWS)
    path = f"runs/{run_id}"
    if dl is None or path not in dl.runs():
        raise web.HTTPNotFound(
            text=dumps({"error": f"no run {run_id!r} in the data log", "status": 404}), content_type="application/json"
        )
    table = dl.trials(path)
    cols = []
    for name, arr in table.items():
        unit = column_unit(name)
        cols.append({"name": name, "kind": "number" if arr.dtype.kind == "f" else "text", "unit": unit})
    n = len(next(iter(table.values()))) if table else 0
    rows = {k: jsonable(v[start : start + limit]) for k, v in table.items()}
    return ok(
        {
            "run": run_id,
            "n_trials": n,
            "start": start,
            "columns": cols,
            "trials": rows,
            "more": start + limit < n,
            "measures": TrialMeasures.of_table(table, dl.run_info(path)["expInfo"]).summary(),
        }
    )


def _var_info(dl: Any, name: str) -> dict:
    fn = getattr(dl, "variable_info", None)
    if callable(fn):
        try:
            i = fn(name)
            return {"unit": i.get("unit", ""), "description": i.get("description", ""), "source": i.get("source", "")}
        except Exception:
            pass
    return {"unit": "", "description": "", "source": ""}


async def variables(request: web.Request) -> web.Response:
    dl = _server(request).view.data_log
    out = []
    if dl is not None:
        for name, last in sorted(dl.logged_last_values().items()):
            out.append(
                {"name": name, **_var_info(dl, name), "last": {"t": last[0], "value": last[1]} if last else None}
            )
    return ok({"variables": out})


async def last_values(request: web.Request) -> web.Response:
    dl = _server(request).view.data_log
    vals = dl.logged_last_values() if dl is not None else {}
    return ok({"values": {k: ({"t": v[0], "value": v[1]} if v else None) for k, v in vals.items()}})


async def variable_data(request: web.Request) -> web.Response:
    dl = _server(request).view.data_log
    name = request.match_info["name"]
    after = _float_arg(request, "after", -math.inf)
    limit = _int_arg(request, "limit", MAX_POINTS, 1, MAX_POINTS)
    if dl is None or name not in dl.logged_variables():
        raise web.HTTPNotFound(
            text=dumps({"error": f"no logged variable {name[:80]!r}", "status": 404}), content_type="application/json"
        )
    t, v = dl.logged_data_fromtimestamp(name, after)
    more = len(t) > limit
    return ok(
        {
            "name": name,
            **_var_info(dl, name),
            "after": after if math.isfinite(after) else None,
            "t": jsonable(t[:limit]),
            "values": jsonable(v[:limit]),
            "more": more,
        }
    )


async def parameters(request: web.Request) -> web.Response:
    dl = _server(request).view.data_log
    return ok({"parameters": dl.parameters() if dl is not None else {}})


async def instruments(request: web.Request) -> web.Response:
    srv = _server(request)
    states = srv.instrument_states()
    out = []
    for name in sorted(set(srv.view.instrument_names()) | set(states)):
        st = states.get(name, {})
        out.append(
            {"name": name, "state": st.get("state", "unknown"), "message": st.get("message", ""), "since": st.get("t")}
        )
    return ok({"instruments": out})


async def annotations_list(request: web.Request) -> web.Response:
    srv = _server(request)
    after = _float_arg(request, "after", -math.inf)
    dl = srv.view.data_log
    fn = getattr(dl, "annotations", None)
    if callable(fn):
        rows = fn(since=after if math.isfinite(after) else None)
    else:
        rows = [r for r in srv.audit() if r["t"] > after]
    return ok({"annotations": rows[-MAX_ROWS:]})


# ---------------------------------------------------------------------------- control
def _may_control(request: web.Request):
    who = request[WHO_KEY]
    if not who.can_control:
        raise web.HTTPForbidden(
            text=dumps(
                {"error": f"token {who.name!r} is an observer token: control needs an operator token", "status": 403}
            ),
            content_type="application/json",
        )
    if _server(request).locked:
        raise _Locked()
    return who


class _Locked(web.HTTPClientError):
    status_code = 423

    def __init__(self) -> None:
        super().__init__(
            text=dumps(
                {"error": "remote control is locked at the rig; ask the technician to unlock it", "status": 423}
            ),
            content_type="application/json",
        )


async def _on_main(request: web.Request, fn, *args):
    """Run ``fn(*args)`` on the rig's main thread (the command queue) and await its result."""
    session = _server(request).view.session
    fut = session.commands.submit(fn, *args)
    try:
        return await asyncio.wait_for(asyncio.wrap_future(fut), CONTROL_TIMEOUT_S)
    except asyncio.TimeoutError:
        raise web.HTTPServiceUnavailable(
            text=dumps(
                {
                    "error": f"the rig's main loop did not take the command within {CONTROL_TIMEOUT_S:.0f} s",
                    "status": 503,
                }
            ),
            content_type="application/json",
        ) from None


def _queue_of(request: web.Request):
    queue = _server(request).view.queue
    if queue is None:
        raise web.HTTPServiceUnavailable(
            text=dumps({"error": "this rig serves no run queue", "status": 503}), content_type="application/json"
        )
    return queue


def _queue_run(queue: Any, key: str, exp_info: dict, mode: str = "run") -> dict:
    """Main thread: hand the run to the rig's run queue (the one owner of runs), which starts it at
    its next turn; returns what will run. Raises RunInProgressError, or bad input's error."""
    session = queue.session
    item = queue.run_now(key, exp_info, mode=mode)  # its turn comes right after this call (the command queue)
    return {"index": len(session.run_records) + 1, "item": item.id, "experiment": item.key, "expInfo": item.exp_info}


async def start_run(request: web.Request) -> web.Response:
    who = _may_control(request)
    body = await _json_body(request, required=True)
    key, exp_info = body.get("experiment"), body.get("expInfo", {})
    if not isinstance(key, str) or not key:
        raise bad("'experiment' must be an experiment key (see GET /api/v1/experiments)")
    if exp_info is None:
        exp_info = {}
    if not isinstance(exp_info, dict):
        raise bad("'expInfo' must be an object of field name to value")
    mode = body.get("mode", "run")
    if mode not in ("run", "pilot"):  # pilot: PsychoPy's pilot mode (data in the data folder's pilot/)
        raise bad("'mode' must be 'run' or 'pilot'")
    from ..session import ExperimentLoadError, ExpInfoError, RunInProgressError, UnknownExperimentError

    try:
        queued = await _on_main(request, _queue_run, _queue_of(request), key, exp_info, mode)
    except UnknownExperimentError as err:
        raise web.HTTPNotFound(
            text=dumps({"error": str(err), "status": 404}), content_type="application/json"
        ) from None
    except (ExpInfoError, ExperimentLoadError, TypeError, ValueError) as err:
        raise bad(one_line(err, with_type=False)) from None
    except RunInProgressError as err:
        raise web.HTTPConflict(
            text=dumps({"error": str(err), "status": 409}), content_type="application/json"
        ) from None
    _server(request).record_control(who, "run", experiment=key, expInfo=jsonable(queued["expInfo"]))
    return ok({"queued": True, **queued}, status=202)


def _session_action(name: str):
    method = {"pause": "pauseExperiment", "resume": "resumeExperiment", "stop": "stopExperiment"}[name]

    async def handler(request: web.Request) -> web.Response:
        who = _may_control(request)
        await _json_body(request, required=False)
        srv = _server(request)
        session = srv.view.session
        done = await _on_main(request, getattr(session, method))
        if not done:
            raise web.HTTPConflict(
                text=dumps({"error": f"cannot {name}: no run in progress", "status": 409}),
                content_type="application/json",
            )
        t = srv.record_control(who, name)
        rec = session.current_run
        return ok({"done": True, "action": name, "t": t, "run": run_summary(rec)})

    return handler


async def annotate(request: web.Request) -> web.Response:
    who = _may_control(request)
    body = await _json_body(request, required=True)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > 2000:
        raise bad("'text' must be a note of 1-2000 characters")
    try:  # a notebook note at the running trial (views.notebook), marker code 1-9 optional
        row = _server(request).add_note(who, text, body.get("marker"))
    except ValueError as err:
        raise bad(str(err)) from None
    return ok({"t": row["t"], "note": row}, status=201)


# ---------------------------------------------------------------------------- the run queue
def _not_found(message: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=dumps({"error": message, "status": 404}), content_type="application/json")


def _conflict(message: str) -> web.HTTPConflict:
    return web.HTTPConflict(text=dumps({"error": message, "status": 409}), content_type="application/json")


def _item_id(request: web.Request) -> int:
    raw = request.match_info["item"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise _not_found(f"no queue item {raw[:40]!r}")
    return int(raw)


async def queue_state(request: web.Request) -> web.Response:
    """``GET /api/v1/queue``: the plan, its items with their states and outcomes, the estimate."""
    queue = _queue_of(request)
    return ok(jsonable(await _on_main(request, queue.summary)))


async def queue_add(request: web.Request) -> web.Response:
    who = _may_control(request)
    body = await _json_body(request, required=True)
    key, exp_info = body.get("experiment"), body.get("expInfo") or {}
    mode, position = body.get("mode", "run"), body.get("position")
    if not isinstance(key, str) or not key:
        raise bad("'experiment' must be an experiment key (see GET /api/v1/experiments)")
    if not isinstance(exp_info, dict):
        raise bad("'expInfo' must be an object of field name to value")
    if mode not in ("run", "pilot", "dry run"):
        raise bad("'mode' must be 'run', 'pilot' or 'dry run'")
    if position is not None and (
        isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 10_000
    ):
        raise bad("'position' must be an index among the pending items (integer >= 0) or null (at the end)")
    from ..session import ExperimentLoadError, ExpInfoError, UnknownExperimentError

    queue = _queue_of(request)
    try:
        item = await _on_main(request, lambda: queue.add(key, exp_info, mode=mode, position=position))
    except UnknownExperimentError as err:
        raise _not_found(str(err)) from None
    except (ExpInfoError, ExperimentLoadError, TypeError, ValueError) as err:
        raise bad(str(err).splitlines()[0] if str(err) else type(err).__name__) from None
    _server(request).record_control(who, "queue add", experiment=item.key, item=item.id)
    return ok({"item": jsonable(item.summary())}, status=201)


def _item_action(name: str):
    async def handler(request: web.Request) -> web.Response:
        who = _may_control(request)
        body = await _json_body(request, required=name == "move")  # a bad body is a 400 whatever the item
        item_id = _item_id(request)
        queue = _queue_of(request)
        position = body.get("position")
        if name == "move" and (
            isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 10_000
        ):
            raise bad("'position' must be an index among the pending items (integer >= 0)")

        def act():
            if name == "move":
                queue.move(item_id, position)
            elif name == "remove":
                gone = next((it for it in queue.pending if it.id == item_id), None)
                queue.remove(item_id)
                return gone
            elif name == "skip":
                queue.skip(item_id)
            else:
                return queue.retry(item_id)
            return queue.item(item_id)

        try:
            item = await _on_main(request, act)
        except KeyError:
            raise _not_found(f"no {'pending ' if name in ('move', 'remove') else ''}queue item {item_id}") from None
        except ValueError as err:
            raise _conflict(str(err)) from None
        _server(request).record_control(who, f"queue {name}", item=item_id)
        return ok(
            {"done": True, "action": name, "item": jsonable(item.summary())}, status=201 if name == "retry" else 200
        )

    return handler


def _queue_action(name: str):
    async def handler(request: web.Request) -> web.Response:
        who = _may_control(request)
        await _json_body(request, required=False)
        queue = _queue_of(request)

        def act():
            {"start": queue.start, "pause": queue.pause, "stop": queue.stop}[name]()
            return queue.summary()

        state = await _on_main(request, act)
        _server(request).record_control(who, f"queue {name}")
        return ok({"done": True, "action": name, "queue": jsonable(state)})

    return handler


# ---------------------------------------------------------------------------- trial control
def _trial_control_of(request: web.Request):
    return _queue_of(request).trial_control


async def trial_control_state(request: web.Request) -> web.Response:
    """``GET /api/v1/trial-control``: the running loop, its trial, the upcoming trials, expInfo, and
    which actions can be done now (with the reason when not)."""
    n = _int_arg(request, "upcoming", 5, 0, 100)
    tc = _trial_control_of(request)
    return ok(jsonable(await _on_main(request, tc.state, n)))


def _trial_action(name: str):
    """``POST /api/v1/trial-control/<name>``: repeat, next, skip (``{"n"}``), pause-loop (at the end of
    the loop), pause-trial (after the trial in progress), exp-info (``{"key", "value"}``), as the operator's token name (the annotation's ``source``)."""

    async def handler(request: web.Request) -> web.Response:
        from ..session.trial_control import TrialControlError

        who = _may_control(request)
        body = await _json_body(request, required=name in ("skip", "exp-info"))
        tc = _trial_control_of(request)
        source = f"remote:{who.name}"
        if name == "skip":
            n = body.get("n")
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 100_000:
                raise bad("'n' must be the number of trials to skip (an integer >= 1)")
            args: tuple = (tc.skip_trials, n, source)
        elif name == "exp-info":
            key, value = body.get("key"), body.get("value")
            if not isinstance(key, str) or not key or len(key) > 200:
                raise bad("'key' must be the name of an expInfo field of the running experiment")
            if not isinstance(value, (str, int, float, bool)) or (isinstance(value, str) and len(value) > 2000):
                raise bad("'value' must be text (at most 2000 characters), a number or true/false")
            if isinstance(value, float) and not math.isfinite(value):
                raise bad("'value' must be a finite number")
            args = (tc.set_exp_info, key, value, source)
        else:
            fn = {
                "repeat": tc.repeat_trial,
                "next": tc.next_trial,
                "pause-loop": tc.pause_at_loop_end,
                "pause-trial": tc.pause_after_trial,
            }[name]
            args = (fn, source)
        try:
            row = await _on_main(request, *args)
        except TrialControlError as err:
            raise _conflict(str(err)) from None
        return ok({"done": True, "action": name, "annotation": jsonable(row)})

    return handler


async def cancel_loop_end_pause(request: web.Request) -> web.Response:
    """``DELETE /api/v1/trial-control/pause-loop``: cancel the pending pause at the end of the loop
    (409 when none is pending), as the operator's token name."""
    from ..session.trial_control import TrialControlError

    who = _may_control(request)
    tc = _trial_control_of(request)
    try:
        row = await _on_main(request, tc.cancel_loop_end_pause, f"remote:{who.name}")
    except TrialControlError as err:
        raise _conflict(str(err)) from None
    return ok({"done": True, "action": "pause-loop-cancel", "annotation": jsonable(row)})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/status", status)
    r.add_get("/api/v1/preview.jpg", preview_jpg)
    r.add_get("/api/v1/experiments", experiments)
    r.add_get("/api/v1/runs", runs)
    r.add_post("/api/v1/runs", start_run)
    r.add_get("/api/v1/runs/{run}/trials", trials)
    r.add_get("/api/v1/variables", variables)
    r.add_get("/api/v1/variables/{name}", variable_data)
    r.add_get("/api/v1/last_values", last_values)
    r.add_get("/api/v1/parameters", parameters)
    r.add_get("/api/v1/instruments", instruments)
    r.add_get("/api/v1/annotations", annotations_list)
    for name in ("pause", "resume", "stop"):
        r.add_post(f"/api/v1/session/{name}", _session_action(name))
    r.add_post("/api/v1/session/annotate", annotate)
    r.add_get("/api/v1/queue", queue_state)
    r.add_post("/api/v1/queue/items", queue_add)
    for name in ("move", "skip", "retry"):
        r.add_post(f"/api/v1/queue/items/{{item}}/{name}", _item_action(name))
    r.add_delete("/api/v1/queue/items/{item}", _item_action("remove"))
    for name in ("start", "pause", "stop"):
        r.add_post(f"/api/v1/queue/{name}", _queue_action(name))
    r.add_get("/api/v1/trial-control", trial_control_state)
    for name in ("repeat", "next", "skip", "pause-loop", "pause-trial", "exp-info"):
        r.add_post(f"/api/v1/trial-control/{name}", _trial_action(name))
    r.add_delete("/api/v1/trial-control/pause-loop", cancel_loop_end_pause)
