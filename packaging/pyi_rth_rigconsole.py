# PyInstaller runtime hook, run before PyInstaller's own (custom hooks come first).
#
# PyInstaller's PySide6 runtime hook imports PySide6.QtCore at startup, which replaces
# builtins.__import__ with shiboken's __feature_import__ before the app's code runs.
# rigconsole keeps Python's own __import__ from its first import and rigconsole.ui puts
# it back (PsychoPy's per-frame imports are ~20x slower through the hook; see
# rigconsole/ui/__init__.py). Importing the tiny rigconsole package here, first, keeps
# the original for it. The self-test's "import hook" check fails when this is missing.
import rigconsole  # noqa: F401
