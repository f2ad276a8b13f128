"""Command-line entry points.

- ``rigconsole [--root DIR]``: open the console (default root: the bundled demos).
- ``rigconsole run PATH [--exp-info KEY=VALUE ...] [--data-dir DIR] [--window KEY=VALUE ...]``:
  run one experiment through the same Session with no console window; prints
  the data files written; exit 0 on success, 1 when the run failed, 2 on bad
  input (one line on stderr saying what to fix).
- ``rigconsole data FILE [--csv DIR]`` / ``rigconsole data recover FILE``: the data log tools.
- ``rigconsole --version``.

Nothing here imports PsychoPy's visual module or Qt before it is needed, so
``--version`` and ``data`` work without a display.
"""
from __future__ import annotations

import argparse
import ast
import inspect
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from . import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad command-line input; the message is the one line shown to the user."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _parse_value(text: str) -> Any:
    """Read a ``--window`` value: numbers, true/false, ``800,600`` lists, else the string."""
    low = text.strip().lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if "," in text:
        return [_parse_value(part) for part in text.split(",")]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _pairs(items: Sequence[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{what} {item!r} must look like KEY=VALUE")
        out[key.strip()] = value
    return out


def _window_params(pairs: dict[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = {"size": [800, 600], "fullscr": False, "units": "height"}
    if not pairs:
        return params
    from psychopy.visual import Window  # needs a display; only reached for a run

    known = [p for p in inspect.signature(Window.__init__).parameters if p != "self"]
    for key, raw in pairs.items():
        if key not in known:
            raise UsageError(f"unknown --window option {key!r} (known: {', '.join(sorted(known))})")
        params[key] = _parse_value(raw)
    if "size" in params:
        size = params["size"]
        if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
            raise UsageError("--window size must be WIDTH,HEIGHT in pixels, e.g. size=800,600")
    return params


def cmd_run(args: argparse.Namespace) -> int:
    path = Path(args.path).expanduser()
    if not path.is_file():
        raise UsageError(f"no such experiment file: {path}")
    if path.suffix not in (".py", ".psyexp"):
        raise UsageError(f"{path.name} is not an experiment: give a .py script or a Builder .psyexp file")
    exp_info = _pairs(args.exp_info, "--exp-info")
    win_pairs = _pairs(args.window, "--window")
    if not os.environ.get("DISPLAY") and sys.platform.startswith("linux") and not os.environ.get("WAYLAND_DISPLAY"):
        raise UsageError("no display: run it on the rig's desktop, or under xvfb-run on a server")
    window = _window_params(win_pairs)

    import logging

    # the CLI prints its own one-line outcome; logs only with --verbose
    logging.basicConfig(level=logging.INFO if args.verbose else logging.CRITICAL,
                        format="%(levelname)s %(name)s: %(message)s")
    from .session import ExpInfoError, ExperimentLoadError, Session

    path = path.absolute()
    data_dir = Path(args.data_dir).absolute() if args.data_dir else None
    session = Session(path.parent, dataDir=data_dir, simulated_vsync_hz=args.simulate_vsync)
    try:
        session.addExperiment(path)
        key = session.key_for(path)
        entry = session.experiment_files[key]
        if entry.broken:
            raise UsageError(f"{path.name} does not load: {entry.error}")
        fields = {f.name for f in session.expInfoFields(key)}
        unknown = [k for k in exp_info if k.split("|")[0] not in fields]
        if unknown:
            raise UsageError(f"expInfo has no field {unknown[0]!r} (fields: {', '.join(sorted(fields))})")
        try:
            resolved = session.resolveExpInfo(key, exp_info)
        except (ExpInfoError, ExperimentLoadError) as err:
            raise UsageError(f"{err} (use --exp-info KEY=VALUE)") from None
        session.setupWindowFromParams(window)
        try:
            session.runExperiment(key, resolved)
        except Exception:
            pass  # recorded in the run record, printed below
        record = session.run_records[-1]
        for f in record.data_files:
            print(f)
        if record.state == "failed":
            print(f"run failed: {record.error}", file=sys.stderr)
            if record.traceback and args.verbose:
                print(record.traceback, file=sys.stderr)
            return EXIT_FAILED
        if record.state == "stopped":
            print(f"run stopped after {record.n_trials} trials", file=sys.stderr)
        return EXIT_OK
    finally:
        session.close()


def cmd_gui(args: argparse.Namespace) -> int:
    root = Path(args.root).expanduser().absolute() if args.root else None
    if root is not None and not root.is_dir():
        raise UsageError(f"no such folder: {root} (give --root an existing experiment folder)")
    from .ui.app import main as gui_main
    return gui_main(root)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rigconsole", description="Rig Console: the experimenter console for PsychoPy rigs.")
    parser.add_argument("--version", action="version", version=f"rigconsole {__version__}")
    parser.add_argument("--root", help="experiment root folder (default: last used, else the bundled demos)")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    run = sub.add_parser("run", help="run one experiment with no console window")
    run.add_argument("path", help="experiment file (.py script or Builder .psyexp)")
    run.add_argument("--exp-info", action="append", metavar="KEY=VALUE", help="an expInfo value (repeatable)")
    run.add_argument("--data-dir", help="data folder (default: <experiment folder>/data/<timestamp>)")
    run.add_argument("--window", action="append", metavar="KEY=VALUE",
                     help="a psychopy.visual.Window option, e.g. size=800,600 fullscr=false screen=1 (repeatable)")
    run.add_argument("--simulate-vsync", type=float, metavar="HZ", help=argparse.SUPPRESS)
    run.add_argument("-v", "--verbose", action="store_true", help="print the traceback of a failed run")
    sub.add_parser("data", help="inspect, export or recover a session data file (rigconsole data --help)", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "data":
        from .datalog.cli import main as data_main
        return data_main(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "run":
            return cmd_run(args)
        return cmd_gui(args)
    except UsageError as err:
        print(f"rigconsole: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
