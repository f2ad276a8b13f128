"""``rigconsole remote ...`` and ``rigconsole observe ...`` (:mod:`rigconsole.cli` hands ``argv`` here).

- ``rigconsole remote token add NAME --role observer|operator``: prints the new
  token as the last word of its last line (shown once; only its hash is kept).
- ``rigconsole remote token list`` / ``rigconsole remote token revoke NAME``.
- ``rigconsole remote cert PATH_DIR``: make (once) the rig's self-signed certificate, print its fingerprint.
- ``rigconsole observe HOST[:PORT] --token T --text [--tls] [--fingerprint FP] [--seconds S] [--json]``:
  the rig's status in one line, then one line per run event (started, paused,
  resumed, ended), trial, instrument state change, note and lock, each with the
  local time, until Ctrl-C (exit 0). ``--json`` prints every stream event as it
  comes (values too), one JSON object per line, for programs. The top-level
  ``rigconsole observe`` comes here when there is no display to open the
  observer window on (an SSH session): :func:`display_available`.
- ``rigconsole replay SESSION.h5 [--speed N] [--loop] --remote [HOST:]PORT [--name NAME] [--tls DIR]``:
  serve a recorded session as a live rig (:mod:`rigconsole.remote.replay`) until Ctrl-C
  (without ``--loop``, until it has played through).

Exit status: 0 ok (Ctrl-C included), 1 the rig or the store refused, 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from .tokens import ROLES, TokenError, TokenStore

__all__ = ["main", "display_available", "status_line", "event_line"]

#: columns of a trial row left out of its line: PsychoPy's per-component times (Builder writes
#: dozens) and the expInfo, which the run's "started" line already gave
_QUIET_SUFFIXES = (".started", ".stopped", "thisRow.t", "notes")
TRIAL_LINE_MAX = 200


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 from main()
        raise _UsageError(f"{self.prog}: {message}")


def _remote_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="rigconsole remote")
    sub = ap.add_subparsers(dest="what", required=True)
    tok = sub.add_parser("token", help="observer and operator tokens")
    tsub = tok.add_subparsers(dest="action", required=True)
    add = tsub.add_parser("add", help="make a token (printed once)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="observer")
    tsub.add_parser("list", help="the tokens' names and roles")
    rev = tsub.add_parser("revoke", help="forget a token")
    rev.add_argument("name")
    cert = sub.add_parser("cert", help="make the rig's self-signed certificate (once) and print its fingerprint")
    cert.add_argument("folder")
    cert.add_argument("--hostname", default="localhost")
    return ap


def _observe_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="rigconsole observe")
    ap.add_argument("target", metavar="HOST[:PORT]")
    ap.add_argument("--token", required=True)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--fingerprint", default=None)
    ap.add_argument("--seconds", type=float, default=None, help="stop after this long (default: until Ctrl-C)")
    ap.add_argument(
        "--text",
        action="store_true",
        help="follow the rig in this terminal, one line per trial and run event (the default with no display)",
    )
    ap.add_argument("--json", action="store_true", help="print every stream event as one JSON object per line")
    return ap


def _replay_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="rigconsole replay", description="serve a recorded session file as a live rig")
    ap.add_argument("session", metavar="SESSION.h5")
    ap.add_argument("--speed", type=float, default=1.0, help="times the recorded pace (default 1)")
    ap.add_argument("--loop", action="store_true", help="start over after the last event")
    ap.add_argument(
        "--remote",
        required=True,
        metavar="[HOST:]PORT",
        help="where to serve (default host 127.0.0.1; 0.0.0.0:PORT for the lab network)",
    )
    ap.add_argument("--name", default=None, help="the rig name observers see (default: replay of <file>)")
    ap.add_argument(
        "--tls",
        default=None,
        metavar="DIR",
        help="serve HTTPS with the self-signed certificate kept in DIR (made once)",
    )
    return ap


def _replay(argv: list[str]) -> int:
    import signal
    from pathlib import Path

    a = _replay_parser().parse_args(argv)
    host, sep, port = a.remote.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        raise _UsageError(f"rigconsole replay: --remote {a.remote!r}: give [HOST:]PORT, e.g. --remote 6913")
    if not Path(a.session).is_file():
        raise _UsageError(f"rigconsole replay: no session file {a.session!r}")
    from .replay import Replay
    from .tls import TlsConfig

    tls = TlsConfig.self_signed(Path(a.tls)) if a.tls else None
    try:
        rp = Replay(
            a.session, speed=a.speed, loop=a.loop, host=host or "127.0.0.1", port=int(port), rig_name=a.name, tls=tls
        )
    except ValueError as err:
        raise _UsageError(f"rigconsole replay: {err}") from None
    except OSError as err:
        print(f"rigconsole replay: cannot read {a.session}: {str(err).splitlines()[0]}", file=sys.stderr)
        return 1
    try:
        rp.start()
    except OSError as err:
        rp.close()
        print(f"rigconsole replay: {err}", file=sys.stderr)
        return 1
    scheme = "https" if tls else "http"
    print(
        f"replaying {a.session} ({len(rp.events)} events, {rp.duration_s:.0f} s at {a.speed:g}x) as rig "
        f"{rp.rig_name!r} on {scheme}://{rp.server.host}:{rp.port}/",
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while not rp.wait(0.5) or a.loop:
            pass
        print("replay: played through", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        rp.close()
    return 0


def display_available() -> bool:
    """Whether a Qt window can open here: not on Linux without a reachable X or Wayland display.

    ``DISPLAY=:N`` (local) counts only when its socket ``/tmp/.X11-unix/XN`` is
    there; a forwarded one (``localhost:10.0``, ``ssh -X``) is taken on trust.
    macOS and Windows always have one.
    """
    if not sys.platform.startswith("linux"):
        return True
    if os.environ.get("WAYLAND_DISPLAY"):
        return True
    display = os.environ.get("DISPLAY", "")
    if not display:
        return False
    host, _, number = display.rpartition(":")
    if host in ("", "unix"):
        return Path(f"/tmp/.X11-unix/X{number.split('.')[0]}").exists()
    return True


def _is_nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _clock() -> str:
    """The local time an event reached this terminal (lines stay in order)."""
    return time.strftime("%H:%M:%S")


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    text = str(v)
    return text if len(text) <= 40 else text[:37] + "..."


def status_line(st: dict) -> str:
    """``GET /api/v1/status`` in one line: ``rig NAME: STATE[, KEY trial N of M]``."""
    run = st.get("run") or {}
    return f"rig {st['rig']}: {st['state']}" + (
        (" (pilot run)" if run.get("pilot") else "") + f", {run.get('key')} trial {st['trial']} of {st['of'] or '?'}"
        if run
        else ""
    )


def _run_words(run: dict) -> str:
    """``run 3 (key)``; a pilot run (PsychoPy's pilot mode) is ``pilot run 3 (key)``."""
    return f"{'pilot run' if run.get('pilot') else 'run'} {run.get('index', '?')} ({run.get('key', '?')})"


def event_line(ev: dict, exp_info: Any = ()) -> str | None:
    """One stream event as a line for a person (the local time it came first), or ``None`` for events
    a person does not follow line by line (logged values, parameters, the data log's path).

    A trial's line leaves out the columns named in ``exp_info`` (the run's expInfo
    fields, given once on its "started" line), PsychoPy's per-component times and
    empty cells, and is cut at :data:`TRIAL_LINE_MAX` characters."""
    kind = ev.get("type")
    run = ev.get("run") or {}
    if kind == "run_started":
        info = ", ".join(f"{k}={_value(v)}" for k, v in (run.get("expInfo") or {}).items())
        return f"{_clock()} {_run_words(run)} started" + (f": {info}" if info else "")
    if kind == "run_state":  # the start and the end have lines of their own
        return f"{_clock()} {_run_words(run)} {run['state']}" if run.get("state") in ("running", "paused") else None
    if kind == "run_ended":
        of = f" of {run['of']}" if run.get("of") else ""
        line = f"{_clock()} {_run_words(run)} {run.get('state')}: {run.get('trial', 0)}{of} trials"
        if run.get("error"):
            line += f"; {run['error']}" + (f" at {run['error_at']}" if run.get("error_at") else "")
        return line
    if kind == "trial":
        cols = []
        for k, v in (ev.get("row") or {}).items():
            if k in exp_info or k.endswith(_QUIET_SUFFIXES) or v is None or v == "" or _is_nan(v):
                continue
            cols.append(f"{k}={_value(v)}")
        of = f" of {ev['of']}" if ev.get("of") else ""
        line = f"{_clock()} trial {ev.get('n', '?')}{of}" + (": " + ", ".join(cols) if cols else "")
        return line if len(line) <= TRIAL_LINE_MAX else line[: TRIAL_LINE_MAX - 3] + "..."
    if kind == "instrument":
        return f"{_clock()} instrument {ev.get('name')}: {ev.get('state')}" + (
            f" ({ev['message']})" if ev.get("message") else ""
        )
    if kind == "annotation":
        row = ev.get("annotation") or {}
        return f"{_clock()} note from {row.get('source', '?')}: {row.get('text', '')}"
    if kind == "lock":
        return f"{_clock()} remote control {'locked' if ev.get('locked') else 'unlocked'} at the rig"
    if kind == "gap":
        return f"{_clock()} (missed some events while disconnected)"
    return None


def _split_target(target: str) -> tuple[str, int]:
    from .server import DEFAULT_PORT

    host, sep, port = target.rpartition(":")
    if not sep or "]" in port:
        return target, DEFAULT_PORT
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        raise _UsageError(f"rigconsole observe: bad port in {target!r}; use HOST or HOST:PORT") from None


def _remote(argv: list[str]) -> int:
    a = _remote_parser().parse_args(argv)
    if a.what == "cert":
        from .tls import TlsConfig

        tls = TlsConfig.self_signed(Path(a.folder), hostname=a.hostname)
        print(f"certificate {tls.cert}")
        print(f"fingerprint {tls.fingerprint}")
        return 0
    store = TokenStore.default()
    if a.action == "add":
        token = store.add(a.name, a.role)
        print(f"{a.role} token {a.name!r} made; copy it now, it is not shown again.")
        print(f"token: {token}")
        return 0
    if a.action == "list":
        rows = store.list()
        if not rows:
            print("no tokens (add one: rigconsole remote token add NAME --role observer|operator)")
        for info in rows:
            print(f"{info.name}\t{info.role}\t{time.strftime('%Y-%m-%d %H:%M', time.localtime(info.created))}")
        return 0
    if store.revoke(a.name):
        print(f"revoked {a.name!r}")
        return 0
    print(f"no token named {a.name!r} (see: rigconsole remote token list)", file=sys.stderr)
    return 1


def _observe(argv: list[str]) -> int:
    from .observer import RemoteError, RemoteObserver
    from .stream import dumps

    a = _observe_parser().parse_args(argv)
    host, port = _split_target(a.target)
    obs = RemoteObserver(host, port, token=a.token, tls=a.tls, fingerprint=a.fingerprint)
    try:
        st = obs.status()
    except RemoteError as err:
        print(f"rigconsole observe: {err}", file=sys.stderr)
        return 1
    print(status_line(st), flush=True)
    exp_info = set(st.get("expInfo") or ())

    async def follow() -> None:
        deadline = None if a.seconds is None else time.monotonic() + a.seconds
        agen = obs.updates()
        try:
            while True:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return
                try:
                    ev = await asyncio.wait_for(agen.__anext__(), left)
                except (asyncio.TimeoutError, StopAsyncIteration):
                    return
                if ev.get("type") == "run_started":
                    exp_info.clear()
                    exp_info.update((ev.get("run") or {}).get("expInfo") or ())
                line = dumps(ev) if a.json else event_line(ev, exp_info)
                if line is not None:
                    print(line, flush=True)
        finally:
            await agen.aclose()

    try:
        asyncio.run(follow())
    except RemoteError as err:
        print(f"rigconsole observe: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def main(argv: list[str]) -> int:
    """``argv`` starts with ``remote``, ``observe`` or ``replay`` (the subcommand); returns the exit status."""
    try:
        if argv[:1] == ["remote"]:
            return _remote(argv[1:])
        if argv[:1] == ["observe"]:
            try:
                return _observe(argv[1:])
            except KeyboardInterrupt:  # Ctrl-C is how a person stops following
                return 0
        if argv[:1] == ["replay"]:
            return _replay(argv[1:])
        raise _UsageError(
            "usage: rigconsole remote token add|list|revoke ... | rigconsole observe HOST[:PORT] --token T"
        )
    except _UsageError as err:
        print(err, file=sys.stderr)
        return 2
    except TokenError as err:
        print(f"rigconsole remote: {err}", file=sys.stderr)
        return 1
