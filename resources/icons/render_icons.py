"""Render rigconsole.svg to the PNG sizes the installers use (run after editing the SVG).

    uv run --frozen python resources/icons/render_icons.py

Writes rigconsole-<N>.png for N in SIZES and rigconsole.png (256 px). PyInstaller turns
rigconsole.png into the Windows .ico and the macOS .icns itself (through Pillow).
"""
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
import rigconsole.ui  # noqa: E402,F401  (pins PySide6)
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

HERE = Path(__file__).resolve().parent
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def main() -> int:
    app = QGuiApplication(sys.argv[:1])  # noqa: F841
    renderer = QSvgRenderer(str(HERE / "rigconsole.svg"))
    if not renderer.isValid():
        print("rigconsole.svg is not a valid SVG", file=sys.stderr)
        return 1
    for n in SIZES:
        img = QImage(n, n, QImage.Format.Format_ARGB32)
        img.fill(Qt.GlobalColor.transparent)
        p = QPainter(img)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(p)
        p.end()
        img.save(str(HERE / f"rigconsole-{n}.png"))
        if n == 256:
            img.save(str(HERE / "rigconsole.png"))
    print(f"wrote {len(SIZES) + 1} PNGs to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
