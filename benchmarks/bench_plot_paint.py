"""Repaint time of a small pyqtgraph plot (120 points) with and without its decorations.

Run: xvfb-run -a -s "-screen 0 1920x1080x24" uv run python benchmarks/bench_plot_paint.py
Prints the median repaint time (ms) of 30 repaints for each variant.
"""

import time

import numpy as np

import rigconsole.ui  # noqa: F401  (pins PySide6)

# isort: split
import pyqtgraph as pg
from PySide6.QtWidgets import QApplication

app = QApplication([])


def bench(grid=True, legend=True, width=2, symbols=True, aa=False, n=120):
    pg.setConfigOptions(antialias=aa)
    w = pg.PlotWidget(background="w")
    w.resize(350, 500)
    w.show()
    if grid:
        w.showGrid(x=True, y=True, alpha=0.25)
    if legend:
        w.addLegend()
    x = np.arange(n)
    w.plot(
        x,
        0.3 + 0.1 * np.sin(x / 5),
        pen=pg.mkPen("r", width=width),
        symbol="o" if symbols else None,
        symbolSize=5,
        name="rt",
    )
    w.plot(x, x % 2, pen=None, symbol="o", symbolSize=7, name="correct")
    for _ in range(5):
        app.processEvents()
    ts = []
    for _ in range(30):
        t = time.perf_counter()
        w.viewport().repaint()
        ts.append(time.perf_counter() - t)
    w.close()
    return np.median(ts) * 1e3


print(f"default(aa={pg.getConfigOption('antialias')})", bench())
print("aa on", bench(aa=True))
print("no grid", bench(grid=False))
print("no legend", bench(legend=False))
print("width1", bench(width=1))
print("no symbols", bench(symbols=False))
print("minimal", bench(grid=False, legend=False, width=1, symbols=False))
