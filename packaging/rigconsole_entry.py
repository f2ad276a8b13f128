"""The frozen app's entry point (PyInstaller's script): what a double-click runs.

- ``rigconsole --self-test``: :func:`rigconsole.selftest.run_self_test` (one line per check).
- ``rigconsole`` (or ``--root DIR``), the console: the rotating log file, then the
  single-instance guard (a second launch brings the running console forward and
  exits 0 at once, before PsychoPy loads), the error dialog, then
  :func:`rigconsole.cli.main`.
- every other command (``run``, ``data``, ``--version``, ``--help``): :func:`rigconsole.cli.main`.

It also runs from the source tree (``uv run python packaging/rigconsole_entry.py``),
which is how ``benchmarks/bench_startup.py`` compares the frozen app with the source.
When ``cli.py`` grows its own ``--self-test`` and ``ui/app.py`` wires these
hooks, this file shrinks to ``sys.exit(rigconsole.cli.main())``.
"""
from __future__ import annotations

import os
import sys

_CLI_ONLY = {"run", "data", "-h", "--help", "--version"}


def _quiet_streams() -> None:
    # a windowed app on Windows/macOS has no console: stdout/stderr are None
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _quiet_streams()
    import rigconsole  # noqa: F401  (keeps Python's own import before PySide6 loads)

    if "--self-test" in argv:
        from rigconsole.logfiles import setup_log_file
        from rigconsole.selftest import run_self_test

        setup_log_file()
        return run_self_test()
    if any(a in _CLI_ONLY for a in argv):
        from rigconsole.cli import main as cli_main

        return cli_main(argv)

    import logging

    from rigconsole.logfiles import setup_log_file

    log_path = setup_log_file()
    import rigconsole.ui  # noqa: F401  (pins PySide6)
    from rigconsole.ui.single_instance import claim_single_instance

    instance = claim_single_instance()
    if instance is None:
        print("Rig Console is already running: brought it forward", flush=True)
        return 0
    from rigconsole.ui.error_dialog import install_error_dialog

    install_error_dialog(log_path)
    logging.getLogger("rigconsole").info("Rig Console starting (log file %s)", log_path)
    from rigconsole.cli import main as cli_main

    try:
        return cli_main(argv)
    finally:
        instance.close()


if __name__ == "__main__":
    sys.exit(main())
