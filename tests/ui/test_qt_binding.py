"""The console's process: PySide6 alone, and Python's own ``import`` statement."""

from __future__ import annotations

import builtins
import subprocess
import sys
import textwrap


def test_console_gives_python_its_own_import_back():
    """PySide6 replaces ``builtins.__import__`` (shiboken's ``__feature_import__``); every
    ``import`` statement then costs ~20x more, and PsychoPy's drawing code runs them on
    every frame. Importing the Qt layer puts Python's own function back."""
    import rigconsole
    import rigconsole.ui  # noqa: F401

    assert "PySide6.QtCore" in sys.modules
    assert builtins.__import__.__name__ == "__import__"  # not shiboken's __feature_import__
    assert builtins.__import__ is rigconsole._BUILTIN_IMPORT


def test_console_process_from_scratch_keeps_the_builtin_import_and_qt_works(tmp_path):
    """The way the console starts (rigconsole first, then its Qt layer): the hook is gone,
    and PySide6, pyqtgraph and qasync still import and run without it."""
    code = textwrap.dedent("""
        import builtins, sys
        import rigconsole.ui.app
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
        import pyqtgraph, qasync
        app = QApplication.instance() or QApplication([])
        plot = pyqtgraph.PlotWidget(); plot.plot([1, 2, 3]); plot.show()
        fired = []
        QTimer.singleShot(0, lambda: fired.append(1))
        for _ in range(20):
            app.processEvents()
        print(builtins.__import__.__name__, bool(fired), "PyQt6" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["__import__", "True", "False"]


def test_pyside6_imported_before_rigconsole_is_reported():
    """Imported the other way round (PySide6 first) the hook cannot be undone: the log says so
    and what to do (the frame benchmark made this mistake until session 5)."""
    code = textwrap.dedent("""
        import builtins
        import PySide6.QtCore
        import rigconsole.ui
        print(builtins.__import__.__name__)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["__feature_import__"]
    assert "import rigconsole (or rigconsole.ui) before PySide6" in out.stderr
