"""Live-plot benchmark: a VariablePlotDock on a 1,000,000-point logged variable.

Writes 1,000,000 entries into a DataLog in a temporary folder, opens a live
VariablePlotDock on it (default raster PlotWidget, peak downsampling,
clip-to-view) and measures:

- repaint rate while panning and zooming programmatically: 200 ``setXRange``
  steps, each followed by ``processEvents`` and a synchronous ``repaint``;
- the incremental update when 1,000 new points arrive: ``poll()``
  (``logged_data_fromtimestamp`` + append into the numpy buffer + ``setData``
  + repaint), repeated 50 times, with follow on;
- the first load of the whole series.

Run (a 24-bit X screen; Xvfb has no GPU, so these are software-rendering figures)::

    xvfb-run -a -s "-screen 0 1920x1080x24" uv run python benchmarks/bench_liveplot.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

import rigconsole.ui  # noqa: E402,F401  (pins Qt to PySide6)

# isort: split
from PySide6.QtWidgets import QApplication  # noqa: E402

N = 1_000_000
STEPS = 200
NEW = 1_000
POLLS = 50


def pct(a, q):
    return float(np.percentile(np.asarray(a) * 1000, q))


def row(name, times):
    return f"| {name} | {len(times)} | {pct(times, 50):.2f} | {pct(times, 95):.2f} | {max(times) * 1000:.2f} | {1 / statistics.mean(times):.0f} |"


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from rigconsole.datalog import DataLog
    from rigconsole.ui.variable_plots import VariablePlotDock

    tmp = Path(tempfile.mkdtemp(prefix="bench_liveplot_"))
    log = DataLog(tmp / "session.h5", flush_interval=0.5)
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.05, N)
    for i in range(N):
        log.add_entry(signal=np.sin(i / 5000.0) + noise[i])
    t_log = time.perf_counter() - t0
    log.flush(timeout=120)

    s = time.perf_counter()
    dock = VariablePlotDock(log, "signal", axis="time", follow=False, poll_hz=5)
    dock.view.timer.stop()  # the benchmark drives polls itself
    dock.resize(1200, 500)
    dock.show()
    app.processEvents()
    dock.view.plot.repaint()
    t_open = time.perf_counter() - s
    assert dock.view.point_count() == N

    view = dock.view
    vb = view.plot.getViewBox()
    t, _ = log.logged_variable("signal")
    start, end = float(t[0]), float(t[-1])
    span = end - start

    # full view (everything visible): pan-by-zoom out/in steps
    results = []
    full = []
    for k in range(STEPS):
        w = span * (0.5 + 0.5 * abs(np.sin(k / 20)))
        x0 = start + (span - w) * (k / STEPS)
        s = time.perf_counter()
        vb.setXRange(x0, x0 + w, padding=0)
        app.processEvents()
        view.plot.repaint()
        full.append(time.perf_counter() - s)
    results.append(row("pan + zoom, 50-100 % of 1,000,000 points in view", full))

    narrow = []
    w = span * 0.01
    for k in range(STEPS):
        x0 = start + (span - w) * (k / STEPS)
        s = time.perf_counter()
        vb.setXRange(x0, x0 + w, padding=0)
        app.processEvents()
        view.plot.repaint()
        narrow.append(time.perf_counter() - s)
    results.append(row("pan, 1 % in view (10,000 points)", narrow))

    # live: 1,000 new points arrive, follow on (a window of the last 10 % in view)
    view.set_follow(True)
    vb.setXRange(end - 0.1 * span, end, padding=0)
    polls = []
    poll_only = []
    for _ in range(POLLS):
        base = log.logged_last_values()["signal"][0]
        for i in range(NEW):
            log.add_entry(signal=float(np.sin(i / 50)))
        s = time.perf_counter()
        view.poll()
        poll_only.append(time.perf_counter() - s)
        app.processEvents()
        view.plot.repaint()
        polls.append(time.perf_counter() - s)
        assert log.logged_last_values()["signal"][0] > base
    assert view.point_count() == N + POLLS * NEW, view.point_count()
    results.append(row("poll + setData, 1,000 new points (no repaint)", poll_only))
    results.append(row("poll + setData + repaint, 1,000 new points", polls))

    print(f"logged {N:,} entries in {t_log:.1f} s; opened the dock (full read + first paint) in {t_open * 1000:.0f} ms")
    print(
        f"Qt {__import__('PySide6').__version__}, pyqtgraph {__import__('pyqtgraph').__version__}, "
        f"platform {app.platformName()}, plot {dock.view.plot.width()}x{dock.view.plot.height()} px"
    )
    print()
    print("| step | n | p50 ms | p95 ms | max ms | steps/s |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(r)
    dock.close()
    log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
