"""rigconsole.views imports without Qt: in a fresh interpreter with PySide6, pyqtgraph and qasync blocked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BLOCKED = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "qasync", "shiboken6"):
            raise ModuleNotFoundError(f"{name} is blocked", name=name)
sys.meta_path.insert(0, Block())
import rigconsole.views.plot_sources, rigconsole.views.palette
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "qasync", "shiboken6"))
assert not loaded, loaded
print("ok")
"""


def test_views_import_with_qt_blocked():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "app")}
    out = subprocess.run([sys.executable, "-c", BLOCKED], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
