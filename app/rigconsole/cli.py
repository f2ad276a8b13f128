"""Command-line entry points.

- ``rigconsole [--root DIR]``: open the console (default root: the bundled demos).
- ``rigconsole run PATH [--exp-info KEY=VALUE ...] [--data-dir DIR] [--window KEY=VALUE ...]``:
  run one experiment through the same rig core as the console (a
  :class:`rigconsole.rig.Rig`) with no console window; prints the data files
  written, the session ``.h5`` last; exit 0 on success, 3 when the run finished
  with errors (every trial ran and is kept in the CSV and the ``.h5``, then
  PsychoPy's end-of-run export raised, e.g. its ``saveAsExcel``; one line on
  stderr: the error and the experiment's file:line), 1 when the run failed (one
  line on stderr: the experiment's file:line, routine, the error, and the log
  file that holds the traceback) or the session data log could not be written
  (one line on stderr: what was kept), 2 on bad input (one line on stderr saying
  what to fix). The run's log goes to the console's log file
  (:mod:`rigconsole.logfiles`); ``-v`` prints it and the traceback on stderr too.
  ``--rig-file RIGFILE`` connects that rig's instruments during the run;
  ``--remote [HOST:]PORT`` serves the remote attach API during it;
  ``--simulate-participant [SEED]`` is a dry run (a simulated participant answers,
  data in ``<data folder>/dry-runs``) ending with a QA report; exit 0 completed,
  3 completed with errors, 1 stuck or failed.
- ``rigconsole remote token add NAME --role observer|operator`` / ``list`` / ``revoke NAME``:
  remote attach tokens (see docs/remote.md).
- ``rigconsole observe HOST[:PORT] --token T``: the observer window on a rig
  (``--text``, and with no display: one line per trial and run event in the terminal).
- ``rigconsole data FILE [--csv DIR]`` / ``rigconsole data recover FILE``: the data log tools.
- ``rigconsole rig check [RIGFILE]``: validate a rig file, connect its instruments,
  print ``*IDN?`` and one reading per channel (see docs/instruments.md).
- ``rigconsole --self-test``: check this installation (see :mod:`rigconsole.ui.selftest`).
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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_WITH_ERRORS = 0, 1, 2, 3


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


PLAN_SUFFIXES = (".yaml", ".yml", ".psyrun")


def _exit_code(outcome) -> int:
    """The exit status of a run's (or a plan's worst) :class:`~rigconsole.session.outcomes.RunOutcome`."""
    if outcome is None:
        return EXIT_OK
    return {0: EXIT_OK, 1: EXIT_WITH_ERRORS}.get(outcome.badness, EXIT_FAILED)


def cmd_run(args: argparse.Namespace) -> int:
    """``rigconsole run PATH``: one experiment, or a session plan (YAML or ``.psyrun``), through the
    rig's run queue (:class:`rigconsole.plans.RunQueue`, the one owner of runs)."""
    path = Path(args.path).expanduser()
    is_plan = path.suffix in PLAN_SUFFIXES
    if not path.is_file():
        raise UsageError(f"no such {'plan' if is_plan else 'experiment'} file: {path}")
    if path.suffix not in (".py", ".psyexp") and not is_plan:
        raise UsageError(
            f"{path.name} is not an experiment: give a .py script, a Builder .psyexp file, "
            "or a session plan (.yaml, .psyrun)"
        )
    if args.resume and not is_plan:
        raise UsageError("--resume goes on with a session plan: give the plan file (.yaml or .psyrun)")
    plan = None
    if is_plan:
        from .plans import PlanError, load_plan

        try:
            plan = load_plan(path)
        except PlanError as err:
            raise UsageError(str(err).splitlines()[0]) from None
    exp_info = _pairs(args.exp_info, "--exp-info")
    win_pairs = _pairs(args.window, "--window")
    if not os.environ.get("DISPLAY") and sys.platform.startswith("linux") and not os.environ.get("WAYLAND_DISPLAY"):
        raise UsageError("no display: run it on the rig's desktop, or under xvfb-run on a server")
    window = _window_params(win_pairs)

    import logging

    # the CLI prints its own one-line outcome; logs on stderr only with --verbose,
    # always in the log file (a failed run's line names it: the traceback is there)
    from .logfiles import setup_log_file

    to_stderr = logging.StreamHandler()
    to_stderr.setLevel(logging.INFO if args.verbose else logging.CRITICAL)
    to_stderr.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(to_stderr)
    logging.getLogger().setLevel(logging.INFO)
    log_path = setup_log_file()
    from .notifications import Notification, notifications, one_line

    if (
        args.simulate_participant is None
    ):  # psychopy.gui's PySide6 dialogs, as in the console (none in a dry run: nobody answers)
        from .ui.psychopy_gui import install_for_run

        install_for_run()
    from .rig import Rig
    from .session import ExperimentLoadError, ExpInfoError
    from .settings import Settings

    path = path.absolute()
    if args.data_dir:
        data_dir = Path(args.data_dir).absolute()
    else:  # PsychoPy Session's default: <root>/data/<timestamp>
        from time import strftime

        data_dir = path.parent / "data" / strftime("%Y-%m-%d_%H-%M-%S")
    simulate = args.simulate_participant is not None
    if args.speed is not None and not simulate:
        raise UsageError("--speed is for dry runs: add --simulate-participant (a real run keeps real time)")
    if args.pilot and (simulate or plan is not None):
        raise UsageError(
            "--pilot is for one experiment run by a person: a plan gives each item's mode (mode: pilot), "
            "and a dry run has a simulated participant"
        )
    # the same rig core as the console, with no views: the run lands in a session .h5 too
    remote = None
    if args.remote:
        host, _, port = args.remote.rpartition(":")
        if not port.isdigit() or not 0 <= int(port) <= 65535:
            raise UsageError(f"--remote {args.remote!r}: give [HOST:]PORT, e.g. --remote 6913 or --remote 0.0.0.0:6913")
        remote = (host or "127.0.0.1", int(port))
    rig_file = None
    if args.rig_file:
        rig_file = Path(args.rig_file).expanduser().absolute()
        if not rig_file.is_file():
            raise UsageError(f"no such rig file: {rig_file}")
    rig = Rig(
        Settings(root=path.parent, data_dir=data_dir, rig_file=rig_file),
        simulated_vsync_hz=args.simulate_vsync,
        window_params=window,
        scan=False,
        instruments=rig_file is not None,
    )
    if rig.rig_file_error is not None:  # bad input: nothing runs, no empty session file is left
        unused = rig.data_log.path
        rig.close()
        unused.unlink(missing_ok=True)
        raise UsageError(
            f"the rig file does not load: {one_line(rig.rig_file_error, with_type=False)} "
            f"(check it with 'rigconsole rig check {rig_file}')"
        )
    if remote is not None:
        from .remote import RemoteServer

        try:
            rig.add_component("remote", RemoteServer(host=remote[0], port=remote[1]))
        except OSError as err:
            unused = rig.data_log.path
            rig.close()
            unused.unlink(missing_ok=True)
            raise UsageError(f"cannot serve the remote API on {remote[0]}:{remote[1]}: {err.strerror or err}") from None
        print(f"remote attach: http://{remote[0]}:{rig.component('remote').port}/", file=sys.stderr, flush=True)
    write_errors: list[str] = []

    def _data_log_error(n: Notification) -> None:
        if n.source == "data log":
            write_errors.append(n.message)

    notifications.notified.connect(_data_log_error)
    session_file = rig.data_log.path
    dry_logs: list[Path] = []  # a dry run's (or pilot run's) own session files (<data folder>/dry-runs, /pilot)
    if simulate or args.pilot:
        from .rig import DRY_RUNS_FOLDER, PILOT_FOLDER

        dry_folder = data_dir / (DRY_RUNS_FOLDER if simulate else PILOT_FOLDER)
        rig.events.data_log_changed.connect(
            lambda dl: dl is not None and Path(dl.path).parent == dry_folder and dry_logs.append(Path(dl.path))
        )
    queue = rig.queue
    items = []
    try:
        if plan is not None:
            unknown = [k for k in exp_info if k not in plan.fields]
            if unknown:
                raise UsageError(
                    f"the plan asks for {', '.join(plan.fields)}; it has no field {unknown[0]!r} "
                    "(give the experiments' own values in the plan's items)"
                )
            try:
                run = rig.plan_run(
                    plan, exp_info, dry_run=simulate, seed=args.simulate_participant, speed=args.speed or 1.0
                )
                items = run.start(resume=args.resume)
            except ValueError as err:
                raise UsageError(str(err).splitlines()[0]) from None
            if not items:
                print(
                    f"rigconsole: every item of {path.name} for participant {run.fields['participant']} "
                    "has run already (nothing to resume)",
                    file=sys.stderr,
                )
        else:
            session = rig.session
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
                items = [
                    queue.run_now(
                        key,
                        exp_info,
                        mode="dry run" if simulate else "pilot" if args.pilot else "run",
                        seed=args.simulate_participant,
                        speed=args.speed or 1.0,
                    )
                ]
            except (ExpInfoError, ExperimentLoadError) as err:
                raise UsageError(f"{err} (use --exp-info KEY=VALUE)") from None
        queue.run_until_idle()
    finally:
        rig.close()  # writes the rest of the session file
        if not any(it.run_index is not None for it in items) or ((simulate or args.pilot) and dry_logs):
            session_file.unlink(missing_ok=True)  # nothing (or only dry-run notes) went into it
    ended = [it for it in items if it.outcome is not None]
    for it in ended:
        for f in getattr(it.record, "data_files", []) or []:
            print(f)
    for f in dict.fromkeys(dry_logs + [session_file]):
        if f.exists():
            print(f)
    from .plans import worst_outcome

    for it in ended:
        line = it.outcome.sentence(log_path)
        if plan is not None:
            print(f"plan item {it.plan_index + 1} of {len(plan.items)} ({it.label}): {line}", file=sys.stderr)
        elif not it.outcome.ok and not (it.report is not None and it.outcome.state == "stopped"):
            print(line, file=sys.stderr)  # a dry run's stop is in its report
        if it.record is not None and it.record.traceback and args.verbose and not it.outcome.ok:
            print(it.record.traceback, file=sys.stderr)
    notifications.notified.disconnect(_data_log_error)
    code = _exit_code(worst_outcome(it.outcome for it in ended))
    reports = [it.report for it in ended if it.report is not None]
    if reports:  # a dry run: the QA reports, and their outcome as the exit status
        for report in reports:
            print(report.to_text())
        codes = [
            {"completed": EXIT_OK, "completed with errors": EXIT_WITH_ERRORS}.get(r.outcome, EXIT_FAILED)
            for r in reports
        ]
        return EXIT_FAILED if EXIT_FAILED in codes else max(codes)
    if write_errors:  # one line, once: what was kept and what to do
        print(f"rigconsole: session data log: {write_errors[0]}", file=sys.stderr)
        code = EXIT_FAILED
    return code


def _speed(text: str):
    """``--speed``: a number > 0 or ``max`` (:func:`rigconsole.session.warp.parse_speed`)."""
    from .session.warp import parse_speed

    try:
        return parse_speed(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def cmd_gui(args: argparse.Namespace) -> int:
    root = Path(args.root).expanduser().absolute() if args.root else None
    if root is not None and not root.is_dir():
        raise UsageError(f"no such folder: {root} (give --root an existing experiment folder)")
    from .ui.app import main as gui_main

    return gui_main(root)


def _observe_window(argv: Sequence[str]) -> int:
    """``rigconsole observe HOST[:PORT] --token T [--tls] [--fingerprint FP]``: the observer window."""
    ap = _Parser(prog="rigconsole observe", description="watch a rig (add --text for one line per event)")
    ap.add_argument("address", metavar="HOST[:PORT]")
    ap.add_argument("--token", required=True)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--fingerprint")
    try:
        args = ap.parse_args(list(argv))
        host, _, port = args.address.rpartition(":") if ":" in args.address else (args.address, "", "6913")
        if not port.isdigit():
            raise UsageError(f"bad port in {args.address!r}: give HOST or HOST:PORT, e.g. rig1.lab:6913")
    except UsageError as err:
        print(f"rigconsole: {err}", file=sys.stderr)
        return EXIT_USAGE
    from .ui.remote_observer import run_observer_window

    return run_observer_window(host, int(port), args.token, tls=args.tls, fingerprint=args.fingerprint)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rigconsole", description="Rig Console: the experimenter console for PsychoPy rigs.")
    parser.add_argument("--version", action="version", version=f"rigconsole {__version__}")
    parser.add_argument("--root", help="experiment root folder (default: last used, else the bundled demos)")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation (console, demos, instruments, a run, the data file); "
        "one line per check, exit 0 when all pass",
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    run = sub.add_parser("run", help="run one experiment, or a participant's session plan, with no console window")
    run.add_argument(
        "path",
        help="experiment file (.py script or Builder .psyexp), or a session plan (.yaml, or PsychoPy Runner's .psyrun)",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="a plan: go on at the participant's first unfinished item (after a crash or a stop)",
    )
    run.add_argument("--exp-info", action="append", metavar="KEY=VALUE", help="an expInfo value (repeatable)")
    run.add_argument("--data-dir", help="data folder (default: <experiment folder>/data/<timestamp>)")
    run.add_argument(
        "--window",
        action="append",
        metavar="KEY=VALUE",
        help="a psychopy.visual.Window option, e.g. size=800,600 fullscr=false screen=1 (repeatable)",
    )
    run.add_argument("--simulate-vsync", type=float, metavar="HZ", help=argparse.SUPPRESS)
    run.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print the log and the traceback of a failed run (both always go to the log file)",
    )
    run.add_argument(
        "--simulate-participant",
        nargs="?",
        const=0,
        type=int,
        metavar="SEED",
        help="dry run: a simulated participant answers (keys, clicks, sliders; SEED for repeatability, "
        "default 0); data go to <data folder>/dry-runs; ends with a QA report",
    )
    run.add_argument(
        "--pilot",
        action="store_true",
        help="PsychoPy's pilot mode (as a Builder script's --pilot): orange border on the stimulus window, "
        "participant 'pilot' unless given, data in <data folder>/pilot, marked pilot",
    )
    run.add_argument(
        "--speed",
        type=_speed,
        metavar="N|max",
        help="with --simulate-participant: run the experiment's clocks N times faster than the wall "
        "clock (default 1; 'max': as fast as frames can be drawn)",
    )
    run.add_argument(
        "--remote",
        metavar="[HOST:]PORT",
        help="serve the remote attach API during the run (default host 127.0.0.1; tokens: rigconsole remote token add)",
    )
    run.add_argument(
        "--rig-file",
        metavar="RIGFILE",
        help="connect this rig file's instruments during the run (their readings land in the session file)",
    )
    sub.add_parser(
        "data", help="inspect, export or recover a session data file (rigconsole data --help)", add_help=False
    )
    sub.add_parser("rig", help="check a rig file and its instruments (rigconsole rig --help)", add_help=False)
    sub.add_parser("remote", help="remote attach tokens and certificate (rigconsole remote --help)", add_help=False)
    sub.add_parser(
        "observe", help="watch a rig from this computer: rigconsole observe HOST[:PORT] --token T", add_help=False
    )
    sub.add_parser("dashboard", help="the lab dashboard of the rigs it showed last (tokens from the keyring)")
    sub.add_parser(
        "replay",
        help="serve a recorded session as a live rig: rigconsole replay SESSION.h5 --remote PORT",
        add_help=False,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "data":
        from .datalog.cli import main as data_main

        return data_main(argv[1:])
    if argv and argv[0] == "observe" and not {"--text", "--json", "-h", "--help"} & set(argv):
        from .remote.cli import display_available

        if display_available():
            return _observe_window(argv[1:])
        print("rigconsole observe: no display here: following the rig in this terminal (--text)", file=sys.stderr)
    if argv[:1] == ["dashboard"] and len(argv) == 1:  # the lab dashboard of the rigs it showed last
        from .ui.remote_dashboard import run_dashboard

        return run_dashboard()
    if argv and argv[0] == "replay":  # a recorded session served as a live rig (remote/cli.py)
        from .remote.cli import main as remote_main

        return remote_main(argv)
    if argv and argv[0] in ("remote", "observe"):
        from .remote.cli import main as remote_main

        return remote_main(argv)
    if argv and argv[0] == "rig":
        from .instruments.cli import main as rig_main
        from .settings import load_settings

        return rig_main(argv[1:], rig_file=load_settings().rig_file)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.self_test:
            from .logfiles import setup_log_file
            from .ui.selftest import run_self_test

            setup_log_file()
            return run_self_test()
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
