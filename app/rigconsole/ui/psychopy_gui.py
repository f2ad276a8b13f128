"""``psychopy.gui`` on PySide6, for experiments run in the console.

PsychoPy's ``psychopy.gui`` only tries PyQt6, PyQt5 and wx: in the console,
which runs on PySide6 alone (two Qt bindings in one process break), it prints
"Neither wxPython nor PyQt could be imported" and has no dialogs, so an
experiment that calls ``gui.Dlg``, ``gui.DlgFromDict`` or ``gui.fileOpenDlg``
mid-run fails.

:func:`install` makes ``psychopy.gui`` a module running PsychoPy's own dialog
code (``psychopy/gui/qtgui.py``, the PyQt6 implementation, unchanged but for
its import of the Qt binding) on PySide6: the same classes and functions
(``Dlg``, ``DlgFromDict``, ``fileOpenDlg``, ``fileSaveDlg``, ``infoDlg``,
``warnDlg``, ``criticalDlg``, ``aboutDlg``, ``hideWindow``, ``showWindow``),
the same expInfo conventions (``|req``, ``|fix``, ``|hid`` through
``psychopy.gui.util``), the same return values (``Dlg.show()`` returns the
data, or ``None`` when cancelled; ``DlgFromDict`` updates the dict in place and
sets ``.OK``). Qt's API is the same in PySide6 and PyQt6 (but for the name of
``QFileDialog``'s ``directory`` keyword, ``dir`` in PySide6), so PsychoPy's
code runs as PsychoPy wrote it. Dialogs are modal Qt dialogs of the console's
``QApplication``, centred on the primary (operator) screen.

The console's composition root calls :func:`install`, once, before any
experiment is loaded (a Builder script binds ``from psychopy import gui`` when
it loads); ``rigconsole run`` calls :func:`install_for_run` at the same point.
With no ``QApplication`` yet (``rigconsole run`` has no console window),
PsychoPy's own ``ensureQtApp()`` makes one when the first dialog opens, as in
plain PsychoPy.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
import types
from pathlib import Path

__all__ = ["install", "install_for_run", "installed", "build_module", "PsychoPyGuiPortError"]

MODULE_NAME = "psychopy.gui"

# PsychoPy's binding selection in qtgui.py (2026.2): from 'haveQt = False' to the PyQt5 imports
_BINDING_BLOCK = re.compile(r"^haveQt = False.*?^    from PyQt5\.QtCore import Qt\n", re.S | re.M)
_SCREENS_BRANCH = "if haveQt in ['PyQt5', 'PyQt6']:"
_PYSIDE6_IMPORTS = (
    "haveQt = 'PySide6'  # rigconsole.ui.psychopy_gui: PsychoPy's PyQt6 code on PySide6\n"
    "from PySide6 import QtWidgets\n"
    "from PySide6 import QtGui\n"
    "from PySide6.QtCore import Qt\n"
)


class PsychoPyGuiPortError(RuntimeError):
    """This PsychoPy's ``qtgui.py`` does not have the shape the port expects (a PsychoPy upgrade)."""


def _gui_folder() -> Path:
    spec = importlib.util.find_spec("psychopy")
    if spec is None or not spec.submodule_search_locations:
        raise PsychoPyGuiPortError("psychopy is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "gui"


def _ported_source(source: str) -> str:
    if not _BINDING_BLOCK.search(source) or _SCREENS_BRANCH not in source:
        raise PsychoPyGuiPortError(
            "psychopy/gui/qtgui.py changed: its Qt binding import was not found; "
            "check rigconsole.ui.psychopy_gui against this PsychoPy version"
        )
    # keep PsychoPy's line numbers (tracebacks point at psychopy/gui/qtgui.py's own lines)
    source = _BINDING_BLOCK.sub(lambda m: _PYSIDE6_IMPORTS + "\n" * (m.group(0).count("\n") - 4), source, count=1)
    if source.count("directory=fdir") != 2:
        raise PsychoPyGuiPortError("psychopy/gui/qtgui.py changed: its QFileDialog calls were not found")
    source = source.replace(_SCREENS_BRANCH, "if True:  # PySide6 has QGuiApplication.screens()")
    # PySide6 names QFileDialog's `directory` argument `dir` (PyQt6: `directory`)
    return source.replace("directory=fdir", "dir=fdir")


def build_module() -> types.ModuleType:
    """A fresh ``psychopy.gui`` module on PySide6 (not installed; see :func:`install`).

    Its ``__path__`` is PsychoPy's ``gui`` folder, so ``psychopy.gui.util``
    is PsychoPy's own.

    Raises:
        PsychoPyGuiPortError: PsychoPy's ``qtgui.py`` is not the expected shape.
    """
    import PySide6.QtWidgets  # noqa: F401 - fail here, clearly, without PySide6

    folder = _gui_folder()
    path = folder / "qtgui.py"
    code = compile(_ported_source(path.read_text(encoding="utf-8")), str(path), "exec")
    module = types.ModuleType(MODULE_NAME, "Graphical user interface elements for experiments (PySide6).")
    module.__file__ = str(path)
    module.__path__ = [str(folder)]
    module.__package__ = MODULE_NAME
    module.__dict__["__rigconsole_pyside6__"] = True
    previous = sys.modules.get(MODULE_NAME)
    sys.modules[MODULE_NAME] = module  # qtgui.py's `from . import util` resolves under it
    try:
        from psychopy import constants

        module.constants = constants
        module.wxApp = None
        exec(code, module.__dict__)
    finally:
        if previous is not None:
            sys.modules[MODULE_NAME] = previous
        else:
            sys.modules.pop(MODULE_NAME, None)
    return module


def installed() -> bool:
    """True when ``psychopy.gui`` is this module's PySide6 one."""
    mod = sys.modules.get(MODULE_NAME)
    return bool(mod is not None and mod.__dict__.get("__rigconsole_pyside6__"))


def install() -> types.ModuleType:
    """Make ``psychopy.gui`` PsychoPy's dialogs on PySide6 in this process (idempotent).

    Replaces a ``psychopy.gui`` imported before (the one with no dialogs) in
    ``sys.modules`` and as the ``psychopy`` package's ``gui`` attribute, as an
    import would have bound it. Modules that bound the old one before keep it.

    Returns:
        The installed module.
    """
    if installed():
        return sys.modules[MODULE_NAME]
    import psychopy

    module = build_module()
    sys.modules[MODULE_NAME] = module
    psychopy.gui = module
    return module


def install_for_run() -> bool:
    """``rigconsole run``'s hook: :func:`install`, or log why not and carry on (never raises).

    Without it an experiment that opens a dialog fails at that line, as it
    would anyway; everything else runs. Returns True when installed.
    """
    try:
        install()
    except Exception as err:  # noqa: BLE001 - the run goes on; a dialog would fail with PsychoPy's message
        logging.getLogger(__name__).error(
            "psychopy.gui is not available (%s: %s); experiments that open PsychoPy dialogs will fail",
            type(err).__name__,
            err,
        )
        return False
    return True
