"""``rigconsole rig check [RIGFILE]``: validate a rig file, connect each instrument, read it once.

Prints each instrument's ``*IDN?`` reply and one reading per channel with its
unit. Exit status: 0 all reachable, 1 an instrument is unreachable (or a
channel could not be read), 2 a bad rig file (one line per problem on stderr,
``file:line: field.path: what``). RIGFILE defaults to the bundled simulated
rig (``resources/rigs/simulated.yaml``), or the ``rig_file`` the caller
passes (the console's Settings' rig file).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .config import RigFileError, default_rig_file, load_rig_file
from .instrument import ConnectionState, InstrumentError
from .links import BadReplyError
from .manager import InstrumentManager

__all__ = ["main", "check"]

EXIT_OK, EXIT_UNREACHABLE, EXIT_BAD_FILE = 0, 1, 2
USAGE = "usage: rigconsole rig check [RIGFILE]"


def check(path: Path, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the check on one rig file (printing to ``out``/``err``, default stdout/stderr); returns the exit status."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    try:
        cfg = load_rig_file(path)
    except RigFileError as e:
        for line in e.problems:
            print(line, file=err)
        return EXIT_BAD_FILE
    print(f"rig {cfg.rig!r} ({path}): {len(cfg.instruments)} instrument(s)", file=out)
    manager = InstrumentManager(cfg)
    status = EXIT_OK
    try:
        for inst in manager.instruments.values():
            inst.connect()
        for name, inst in manager.instruments.items():
            c = inst.config
            deadline = time.monotonic() + c.open_timeout_s + c.timeout_s + 1.0
            while time.monotonic() < deadline and inst.state in (
                ConnectionState.DISCONNECTED,
                ConnectionState.CONNECTING,
            ):
                time.sleep(0.01)
            if inst.state != ConnectionState.CONNECTED:
                print(f"{name}: UNREACHABLE {c.resource}: {inst.message}", file=out)
                status = EXIT_UNREACHABLE
                continue
            print(f"{name}: connected {c.resource}  *IDN? {inst.idn or '(no identification query)'}", file=out)
            for ch_name, ch in inst.channels.items():
                try:
                    value = inst.read(ch_name)
                except (InstrumentError, BadReplyError) as e:
                    print(f"  {ch_name}: FAILED: {e}", file=out)
                    status = EXIT_UNREACHABLE
                    continue
                print(f"  {ch_name} = {value:g} {ch.unit}".rstrip(), file=out)
    finally:
        manager.close()
    return status


def main(argv: Sequence[str] | None = None, *, rig_file: str | Path | None = None) -> int:
    """Entry point for ``rigconsole rig ...`` (argv without the leading ``rig``).

    ``rig_file``: the file checked when RIGFILE is not given (the console's
    Settings' rig file); default the bundled simulated rig.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="rigconsole rig", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command")
    chk = sub.add_parser(
        "check", help="validate RIGFILE, connect each instrument, print *IDN? and one reading per channel"
    )
    chk.add_argument("rigfile", nargs="?", help="the rig file (default: the bundled simulated rig)")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return EXIT_OK if e.code == 0 else EXIT_BAD_FILE
    if args.command != "check":
        print(USAGE, file=sys.stderr)
        return EXIT_BAD_FILE
    if args.rigfile:
        return check(Path(args.rigfile))
    return check(Path(rig_file) if rig_file is not None else default_rig_file())


if __name__ == "__main__":
    sys.exit(main())
