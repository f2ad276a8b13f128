"""``rigconsole remote ...`` and ``rigconsole observe ...`` (:mod:`rigconsole.cli` hands ``argv`` here).

- ``rigconsole remote token add NAME --role observer|operator``: prints the new
  token as the last word of its last line (shown once; only its hash is kept).
- ``rigconsole remote token list`` / ``rigconsole remote token revoke NAME``.
- ``rigconsole remote cert PATH_DIR``: make (once) the rig's self-signed certificate, print its fingerprint.
- ``rigconsole observe HOST[:PORT] --token T [--tls] [--fingerprint FP] [--seconds S]``:
  the rig's status, then its live events, one line each (Ctrl-C ends).

Exit status: 0 ok, 1 the rig or the store refused, 2 bad usage.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time

from .tokens import ROLES, TokenError, TokenStore

__all__ = ["main"]


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
    return ap


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
        from pathlib import Path

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
    run = st.get("run") or {}
    print(f"rig {st['rig']}: {st['state']}" + (f", {run.get('key')} trial {st['trial']} of {st['of'] or '?'}" if run else ""))

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
                print(dumps(ev), flush=True)
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
    """``argv`` starts with ``remote`` or ``observe`` (the subcommand); returns the exit status."""
    try:
        if argv[:1] == ["remote"]:
            return _remote(argv[1:])
        if argv[:1] == ["observe"]:
            return _observe(argv[1:])
        raise _UsageError("usage: rigconsole remote token add|list|revoke ... | rigconsole observe HOST[:PORT] --token T")
    except _UsageError as err:
        print(err, file=sys.stderr)
        return 2
    except TokenError as err:
        print(f"rigconsole remote: {err}", file=sys.stderr)
        return 1
