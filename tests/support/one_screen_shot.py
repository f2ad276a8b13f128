"""Run the whole console as a new user has it on a one-screen display, start a Builder
experiment in deg units, and grab the whole screen (console and stimulus window) while the
stimulus is shown. Run under its own Xvfb (see tests/ui/test_one_screen.py):

    python tests/support/one_screen_shot.py ROOT OUT.png

Prints one JSON line: the screens Qt sees, the console's frame (Qt) and the stimulus
window's client area (pyglet), both in device pixels, the run's outcome and whether the
grab shows the stimulus (white pixels inside the stimulus window).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import rigconsole.ui  # noqa: F401  (PySide6 before anything imports a Qt binding)


def main(root: Path, out: Path) -> int:
    from PySide6.QtGui import QGuiApplication

    from rigconsole.settings import Settings
    from rigconsole.ui.app import start_console

    c = start_console(settings=Settings(root=root, data_dir=root.parent / "data"), simulated_vsync_hz=60, show=True)
    c.load_rig()
    result: dict = {}

    def stim_rect():
        win = c.session.win
        (x, y), (w, h) = win.winHandle.get_location(), win.winHandle.get_size()
        return [int(x), int(y), int(w), int(h)]

    def grab_if_stimulus():
        run = c.session.current_run
        if result.get("shown") or run is None or run.n_trials < 10:  # the console shows the run by then
            return
        screen = QGuiApplication.primaryScreen()
        x, y, w, h = stim_rect()
        img = screen.grabWindow(0, x, y, w, h).toImage()  # only the stimulus window: cheap
        white = sum(img.pixelColor(i, j).lightness() > 240 for i in range(0, w, 6) for j in range(0, h, 6))
        if white > 10:  # the square is on the screen: now the whole screen
            result["shown"] = screen.grabWindow(0).save(str(out))

    async def scenario():
        from PySide6.QtCore import QTimer

        await asyncio.sleep(2.0)  # the placement settles; instruments connect and plot
        w = c.window
        key = "units_deg/units_deg.psyexp"
        assert w.experiments.select(key)
        timer = QTimer()
        timer.timeout.connect(grab_if_stimulus)
        timer.start(40)
        w.run_action.trigger()
        for _ in range(600):
            await asyncio.sleep(0.05)
            if c.session.run_records and c.session.run_records[-1].ended is not None:
                break
        timer.stop()
        await asyncio.sleep(0.5)
        g = w.frameGeometry()
        dpr = w.screen().devicePixelRatio()
        rec = c.session.run_records[-1]
        result.update(
            screens=len(QGuiApplication.screens()),
            state=rec.state,
            error=rec.error,
            console=[round(v * dpr) for v in (g.x(), g.y(), g.width(), g.height())],
            stimulus=stim_rect(),
            log=[line for line in w.log_panel.lines() if "monitor" in line or "placed" in line],
        )

    try:
        c.loop.run_until_complete(scenario())
    finally:
        c.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
