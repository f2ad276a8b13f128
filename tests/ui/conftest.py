"""Fixtures for the UI tests: a real Rig (its Session with a real, small PsychoPy
window under Xvfb, its data log and recorder), the SessionBridge and RunController,
and the MainWindow; all closed at teardown. Only one PsychoPy window exists at a time.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import rigconsole.ui  # noqa: F401  (pins Qt to PySide6 before pytest-qt/pyqtgraph import it)

HERE = Path(__file__).parent
UI_EXPERIMENTS = HERE / "experiments"
ARTIFACTS = HERE / "artifacts"
SMALL_WINDOW = {"size": [320, 240], "fullscr": False, "units": "height"}


@pytest.fixture
def ui_root(tmp_path) -> Path:
    """A copy of tests/ui/experiments: simple, trials (every field kind), broken_syntax, no_run."""
    root = tmp_path / "experiments"
    shutil.copytree(UI_EXPERIMENTS, root, ignore=shutil.ignore_patterns("__pycache__", "data"))
    return root


@pytest.fixture
def ui_settings(tmp_path, ui_root):
    from rigconsole.settings import Settings, WindowSettings

    return Settings(root=ui_root, data_dir=tmp_path / "data", window=WindowSettings(size=(320, 240), fullscr=False))


@pytest.fixture
def rig(ui_settings):
    """The rig core as the console builds it: a real Session on the copied experiments with a
    320x240 window and a simulated 60 Hz vsync, its session data log and recorder."""
    from rigconsole.rig import Rig

    r = Rig(ui_settings, simulated_vsync_hz=60.0, window_params=dict(SMALL_WINDOW), scan=False)
    yield r
    r.close()


@pytest.fixture
def session(rig):
    """The rig's Session."""
    return rig.session


@pytest.fixture
def bridge(session):
    from rigconsole.ui.bridge import SessionBridge

    b = SessionBridge(session)
    yield b
    b.close()


@pytest.fixture
def controller(rig, session, bridge):
    from rigconsole.ui.controller import RunController

    c = RunController(session, rig=rig)
    yield c
    c.close()  # its queue-polling timer stops with the test


@pytest.fixture
def make_window(qtbot, rig, session, bridge, controller, ui_settings):
    """Factory for MainWindows on the shared session (several in a row for persistence tests),
    each showing the notifications as the composition root wires it (``w.presenter``)."""
    from rigconsole.notifications import notifications
    from rigconsole.ui.error_dialog import NotificationPresenter
    from rigconsole.ui.main_window import MainWindow

    made = []
    presenters = []

    def make(settings=None, scan=True):
        w = MainWindow(
            session,
            bridge,
            controller,
            settings if settings is not None else ui_settings,
            apply_settings=rig.apply_settings,
        )
        qtbot.addWidget(w)
        made.append(w)
        w.presenter = NotificationPresenter(
            notifications, log_path=None, show_banner=w.show_notice, show_status=w.show_status
        )
        presenters.append(w.presenter)
        if scan:
            session.scanRoot()
            w.experiments.refresh()
        w.show()
        qtbot.waitExposed(w)
        return w

    yield make
    if session.current_run is not None:
        session.stopExperiment()
        qtbot.waitUntil(lambda: session.current_run is None and not controller.busy, timeout=15000)
    for p in presenters:
        p.close()
    for w in made:
        try:
            w.close()
            w.log_panel.close_handler()
        except RuntimeError:  # already deleted
            pass


@pytest.fixture
def window(make_window):
    return make_window()
