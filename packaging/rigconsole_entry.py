"""The frozen app's entry point (PyInstaller's script): what a double-click runs.

Everything is :func:`rigconsole.cli.main`: the console (its composition root
sets up the rotating log file, the single-instance guard and the error
dialog), ``--self-test``, ``run``, ``data``, ``rig`` ... It also runs from the
source tree (``uv run python packaging/rigconsole_entry.py``), which is how
``benchmarks/bench_startup.py`` compares the frozen app with the source.
"""
from __future__ import annotations

import os
import sys


def _quiet_streams() -> None:
    # a windowed app on Windows/macOS has no console: stdout/stderr are None
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    _quiet_streams()
    import rigconsole  # noqa: F401  (keeps Python's own import before PySide6 loads)
    from rigconsole.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
