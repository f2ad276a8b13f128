"""``rigconsole data ...``: summarise, export and recover session files.

Usage::

    rigconsole data FILE                 print a summary
    rigconsole data FILE --csv DIR       export trial tables and logged variables as CSV
    rigconsole data recover FILE         repair a file after a crash (h5clear -s)

Bad input exits with status 2 and one line on stderr saying what to fix.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..notifications import one_line
from .errors import DataLogError
from .export import export_csv, summary
from .reader import SessionFile
from .recover import recover

__all__ = ["main", "summary", "export_csv"]

USAGE = "usage: rigconsole data FILE [--csv DIR] | rigconsole data recover FILE"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)


def main(argv: list[str]) -> int:
    """Run ``rigconsole data`` with ``argv`` (without the program name); return the exit status."""
    try:
        if argv[:1] == ["recover"]:
            if len(argv) != 2:
                raise _UsageError(f"recover takes exactly one FILE; {USAGE}")
            print(recover(argv[1]))
            return 0
        ap = _Parser(prog="rigconsole data", add_help=True)
        ap.add_argument("file")
        ap.add_argument("--csv", metavar="DIR")
        a = ap.parse_args(argv)
        with SessionFile(a.file) as log:  # lazy: reads only what it prints
            if a.csv:
                paths = export_csv(log, Path(a.csv))
                print(f"wrote {len(paths)} CSV files to {a.csv}")
            else:
                summary(log, sys.stdout)
        return 0
    except _UsageError as exc:
        print(
            f"rigconsole data: {exc}; {USAGE}" if "usage:" not in str(exc) else f"rigconsole data: {exc}",
            file=sys.stderr,
        )
        return 2
    except (DataLogError, OSError) as exc:
        text = (
            exc.strerror
            if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, DataLogError)
            else str(exc)
        )
        print(f"rigconsole data: {one_line(text, with_type=False) or type(exc).__name__}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
