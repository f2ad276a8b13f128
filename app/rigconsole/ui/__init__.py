"""The Qt layer: the ONLY package that imports PySide6, pyqtgraph or qasync.

Importing it pins every Qt user (qasync, pyqtgraph) to PySide6 before any of
them loads: psychopy installs PyQt6 on other machines, and two Qt bindings in
one process break.

It also gives Python its own ``import`` statement back: importing
``PySide6.QtCore`` replaces ``builtins.__import__`` with shiboken's
``__feature_import__`` (the machinery behind PySide's opt-in
``from __feature__ import snake_case, true_property``), which makes every
``import`` statement in the process ~20x slower (2.1 µs instead of 0.09 µs
here). PsychoPy's drawing code runs function-level imports on every frame:
with the hook in place the same stimulus drew 25-30 % slower in the console
than in PsychoPy alone (docs/performance.md). Rig Console does not use
``__feature__``; code that does must not run in the console's process. The
original is the one :mod:`rigconsole` kept at its first import, so it is
restored even when PySide6 was imported first (pytest-qt does), unless
PySide6 was imported before :mod:`rigconsole` itself (then a warning says so).
"""

import builtins
import os
import sys

os.environ["QT_API"] = "pyside6"
os.environ["PYQTGRAPH_QT_LIB"] = "PySide6"


class _BlockOtherQtBindings:
    """A meta-path finder that refuses PyQt5/PyQt6 so nothing can load a second binding."""

    blocked = ("PyQt5", "PyQt6", "PySide2")

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.blocked:
            raise ModuleNotFoundError(f"{name} is blocked: Rig Console runs on PySide6 alone", name=name)
        return None


if not any(isinstance(f, _BlockOtherQtBindings) for f in sys.meta_path):
    sys.meta_path.insert(0, _BlockOtherQtBindings())


def _restore_builtin_import() -> None:
    """Import QtCore, then undo shiboken's ``builtins.__import__`` replacement (see the module docstring)."""
    import PySide6.QtCore  # noqa: F401  (installs the hook)

    from .. import _BUILTIN_IMPORT

    hooked = getattr(builtins.__import__, "__name__", "") == "__feature_import__"
    if hooked and getattr(_BUILTIN_IMPORT, "__name__", "") == "__import__":
        builtins.__import__ = _BUILTIN_IMPORT
    elif hooked:
        import logging

        logging.getLogger("rigconsole.ui").warning(
            "PySide6 was imported before rigconsole: its import hook stays and slows PsychoPy's "
            "drawing; import rigconsole (or rigconsole.ui) before PySide6"
        )


_restore_builtin_import()
