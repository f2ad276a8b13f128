"""The Qt layer: the ONLY package that imports PySide6, pyqtgraph or qasync.

Importing it pins every Qt user (qasync, pyqtgraph) to PySide6 before any of
them loads: psychopy installs PyQt6 on other machines, and two Qt bindings in
one process break.
"""
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
