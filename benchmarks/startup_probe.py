"""Run a Qt start-up script with a probe that writes when its main window first paints.

    python benchmarks/startup_probe.py SCRIPT [ARGS...]

``benchmarks/bench_startup.py`` launches the console through this, so the
console's own code needs no hook and any version of it (the main branch's,
this tree's) is timed the same way. The probe swaps
``PySide6.QtWidgets.QApplication`` for a subclass before SCRIPT runs (code
that does ``from PySide6.QtWidgets import QApplication`` gets it) which
installs one application-wide event filter. It appends lines
``<what> <time.time()> <process CPU s>`` to the file named by
``$RIGCONSOLE_STARTUP_PROBE``:

- ``paint``: the first paint event of a widget of the visible top-level window
  named ``rigconsole_main`` (the console's main window; the benchmark's empty
  baseline window has the same name), i.e. the window is exposed and Qt
  starts drawing its contents;
- ``ready``: the first moment after that, checked every 20 ms from the event
  loop, when the window's experiment list has an entry (the rig is loaded and
  the loop is free again); at once for a window without an experiment list.

Like the console's entry point it imports :mod:`rigconsole` before PySide6
(Python's own ``import`` must be kept: see ``rigconsole/ui/__init__.py``).
"""

from __future__ import annotations

import os
import runpy
import sys
import time

OUT = os.environ.get("RIGCONSOLE_STARTUP_PROBE")


def _write(what: str) -> None:
    with open(OUT, "a", encoding="utf-8") as f:
        f.write(f"{what} {time.time():.6f} {time.process_time():.4f}\n")


def _install() -> None:
    import rigconsole  # noqa: F401  (before PySide6, as packaging/rigconsole_entry.py does)
    import rigconsole.ui  # noqa: F401  (pins PySide6)

    # isort: split
    from PySide6 import QtWidgets
    from PySide6.QtCore import QEvent, QObject, QTimer

    state = {"painted": None}

    def ready(win) -> bool:
        panel = getattr(win, "experiments", None)
        tree = getattr(panel, "tree", None)
        return tree is None or tree.topLevelItemCount() > 0

    def poll() -> None:
        win = state["painted"]
        if ready(win):
            _write("ready")
        else:
            QTimer.singleShot(20, poll)

    class _Probe(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 (Qt)
            if state["painted"] is None and event.type() == QEvent.Type.Paint and obj.isWidgetType():
                win = obj.window()
                if win.objectName() == "rigconsole_main" and win.isVisible():
                    state["painted"] = win
                    _write("paint")
                    QTimer.singleShot(0, poll)
                    QtWidgets.QApplication.instance().removeEventFilter(self)
            return False

    base = QtWidgets.QApplication

    class ProbedApplication(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._probe = _Probe()
            self.installEventFilter(self._probe)

    QtWidgets.QApplication = ProbedApplication


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__.split("\n\n")[1].strip())
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    if OUT:
        _write("start")
        _install()
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
