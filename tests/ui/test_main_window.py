"""MainWindow end to end: real Session, real PsychoPy window (Xvfb), real runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from rigconsole.session.runs import RunState

RUN_TIMEOUT_MS = 30000


def _wait_idle(qtbot, window):
    """Wait for the run to end and for the window to show its end (the views follow the
    session through the event loop, so they lag it by at most one turn)."""
    qtbot.waitUntil(lambda: window.session.current_run is None and not window.controller.busy, timeout=RUN_TIMEOUT_MS)
    rec = window.session.run_records[-1]
    qtbot.waitUntil(lambda: window.status_panel.last_record is rec, timeout=5000)
    return rec


# ---------------------------------------------------------------- experiment list
def test_list_shows_experiments_and_broken_ones(window):
    keys = window.experiments.keys()
    assert {"simple/simple.py", "trials/trials.py", "broken_syntax/broken_syntax.py", "no_run/no_run.py"} <= set(keys)

    syntax = window.experiments.item_for("broken_syntax/broken_syntax.py")
    assert "syntax error" in syntax.toolTip(0)
    assert not syntax.icon(0).isNull()  # warning icon
    norun = window.experiments.item_for("no_run/no_run.py")
    assert "missing run()" in norun.toolTip(0)
    assert window.experiments.item_for("simple/simple.py").icon(0).isNull()
    assert window.experiments.item_for("trials/trials.py").text(1) == "script"

    window.experiments.select("no_run/no_run.py")
    assert "missing run()" in window.experiments.details.text()
    assert "Cannot run" in window.subtitle_label.text()
    assert not window.run_action.isEnabled()  # a broken experiment cannot run
    window.experiments.select("simple/simple.py")
    assert window.run_action.isEnabled()


def test_refresh_add_and_remove(window, tmp_path, qtbot):
    root = window.session.root
    (root / "extra").mkdir()
    (root / "extra" / "extra.py").write_text((root / "simple" / "simple.py").read_text())
    window.refresh_action.trigger()
    assert "extra/extra.py" in window.experiments.keys()

    outside = tmp_path / "elsewhere" / "outside.py"
    outside.parent.mkdir()
    outside.write_text((root / "simple" / "simple.py").read_text())
    assert window.add_experiment(str(outside))
    assert str(outside) in window.experiments.keys()
    assert window.current_key() == str(outside)
    assert outside in [Path(p) for p in window.settings.extra_experiments]
    saved = json.loads(Path(os.environ["RIGCONSOLE_SETTINGS"]).read_text())
    assert str(outside) in saved["extra_experiments"]

    window.remove_action.trigger()
    assert str(outside) not in window.experiments.keys()
    assert outside not in [Path(p) for p in window.settings.extra_experiments]


# ---------------------------------------------------------------- expInfo form
def test_form_has_the_right_widget_kinds(window):
    window.experiments.select("trials/trials.py")
    ed = window.form.editors
    assert isinstance(ed["participant"], QLineEdit)
    assert isinstance(ed["session"], QLineEdit)
    assert isinstance(ed["condition"], QComboBox)
    assert [ed["condition"].itemText(i) for i in range(ed["condition"].count())] == ["A", "B"]
    assert isinstance(ed["practice"], QCheckBox)
    assert isinstance(ed["nTrials"], QSpinBox) and ed["nTrials"].value() == 5
    assert isinstance(ed["isi"], QDoubleSpinBox) and ed["isi"].value() == 0.5
    assert isinstance(ed["rig"], QLineEdit) and ed["rig"].isReadOnly()
    assert "date" not in ed and "expName" not in ed  # hidden
    # config field sits in the collapsible Advanced group
    assert window.form.advanced.isAncestorOf(ed["framesPerTrial"])
    assert not window.form.advanced.isAncestorOf(ed["nTrials"])
    # required marked with *
    assert window.form._labels["participant"].text() == "participant *"
    assert window.form.values() == {
        "participant": "",
        "session": "001",
        "condition": "A",
        "practice": False,
        "nTrials": 5,
        "isi": 0.5,
        "rig": "rig-1",
        "framesPerTrial": 3,
    }
    window.form.set_values({"condition": "B", "practice": True, "nTrials": 7, "rig": "other"})
    v = window.form.values()
    assert (v["condition"], v["practice"], v["nTrials"], v["rig"]) == ("B", True, 7, "rig-1")


def test_required_participant_is_enforced(window, qtbot):
    window.experiments.select("trials/trials.py")
    window.form.set_values({"participant": "  "})
    window.run_action.trigger()
    qtbot.wait(50)
    assert window.session.current_run is None and not window.controller.busy
    assert window.form.invalid_fields() == ["participant"]
    assert "participant" in window.banner.text() and "required" in window.banner.text()
    assert "required" in window.form.message.text()
    assert "required" in window.statusBar().currentMessage()
    # typing a value clears the highlight
    qtbot.keyClicks(window.form.editors["participant"], "P01")
    assert window.form.invalid_fields() == []


# ---------------------------------------------------------------- runs
# A run blocks inside a zero-delay timer, serving Qt on each flip: checks and
# actions *during* a run go through the ``during_run`` fixture (a QTimer that
# fires in the frame pump); plain asserts come after the run has ended.


def _start(window, key, values):
    assert window.experiments.select(key)
    window.form.set_values(values)
    assert window.run_action.isEnabled()
    window.run_action.trigger()


def _current(window):
    return window.session.current_run


def _state(window):
    rec = window.session.current_run
    return rec.state if rec is not None else None


def test_run_end_to_end_from_the_form(window, qtbot, during_run):
    seen = {}
    script = during_run()
    script.when(
        lambda: _state(window) == RunState.RUNNING and _current(window).n_trials >= 2,
        lambda: seen.update(
            run=window.run_action.isEnabled(),
            stop=window.stop_action.isEnabled(),
            pause=window.pause_action.isEnabled(),
            pill=window.pill.state,
            form=window.form.isEnabled(),
            trial=window.status_panel.trial_label.text(),
        ),
        "observe",
    )
    script.start()
    _start(window, "trials/trials.py", {"participant": "P01", "condition": "B", "nTrials": 12, "framesPerTrial": 3})
    rec = _wait_idle(qtbot, window)
    script.check(["observe"])
    assert seen["run"] is False and seen["stop"] is True and seen["pause"] is True and seen["form"] is False
    assert seen["pill"] == RunState.RUNNING
    # the window was repainted during the run, through its gate, in pumps with time for it
    assert window.paint_gates[0] is not None and window.paint_gates[0].painted > 0
    assert seen["trial"].startswith("trial ") and seen["trial"].endswith(" of 12")

    assert rec.state == RunState.FINISHED
    assert rec.exp_info["participant"] == "P01" and rec.exp_info["condition"] == "B"
    assert rec.n_trials == 12 and rec.total_trials == 12
    assert window.pill.state == "idle" and window.run_action.isEnabled() and not window.stop_action.isEnabled()
    # the plot received every trial; default columns are the response measures
    assert len(window.trial_plot.rows) == 12
    window.trial_plot.flush()
    assert sorted(window.trial_plot.visible_series()) == ["correct", "rt"]
    x, y = window.trial_plot.series("rt")
    assert list(x) == list(range(1, 13))
    assert len(window.trial_plot.items["rt"].getData()[1]) == 12
    assert "stim.started" in window.trial_plot.series_names()  # numeric but a timestamp: not drawn by default
    assert "label" not in window.trial_plot.series_names()  # text is not plotted
    combo = window.trial_plot.column_combo
    combo.setCurrentIndex(combo.findData("level"))
    assert window.trial_plot.visible_series() == ["level"]
    # status: trial n of N, outcome, data files, frame timing
    assert window.status_panel.trial_label.text() == "trial 12 of 12"
    assert window.status_panel.progress.value() == 12
    assert "finished" in window.status_panel.outcome_label.text()
    assert rec.data_files and os.path.basename(rec.data_files[0]) in window.status_panel.files_label.text()
    assert "ms median" in window.status_panel.frames_label.text()
    assert window.status_panel.dropped_label.text() == str(rec.frame_stats["dropped_frames"])
    # the values are remembered for the experiment
    assert window.settings.last_exp_info["trials/trials.py"]["participant"] == "P01"
    assert any("finished" in line for line in window.log_panel.lines())


def test_data_file_link_opens_its_folder(window, qtbot, monkeypatch):
    opened = []
    monkeypatch.setattr(window.status_panel, "open_folder", lambda folder: opened.append(folder) or True)
    _start(window, "simple/simple.py", {"participant": "P02", "nTrials": 2})
    rec = _wait_idle(qtbot, window)
    href = window.status_panel.files_label.text().split("href='")[1].split("'")[0]
    window.status_panel.files_label.linkActivated.emit(href)
    assert opened == [str(Path(rec.data_files[0]).parent)]


def test_pause_resume_keeps_the_ui_responsive(window, qtbot, during_run):
    import time

    notes = {}
    beats = []
    heartbeat = QTimer()
    heartbeat.setInterval(20)
    heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
    pill_states = []
    window.bridge.runStateChanged.connect(lambda rec: pill_states.append((rec.state, window.pill.state)))

    def paused():
        notes.update(
            pill=window.pill.state,
            text=window.pill.text(),
            resume=window.resume_action.isEnabled(),
            pause=window.pause_action.isEnabled(),
            n=_current(window).n_trials,
            t=time.perf_counter(),
        )
        heartbeat.start()

    def resume():
        heartbeat.stop()
        notes.update(beats=len(beats), n_after=_current(window).n_trials, state=_state(window))
        window.resume_action.trigger()

    script = during_run()
    script.when(
        lambda: _state(window) == RunState.RUNNING and _current(window).n_trials >= 2,
        window.pause_action.trigger,
        "pause",
    )
    script.when(lambda: _state(window) == RunState.PAUSED, paused, "paused")
    script.when(lambda: time.perf_counter() - notes["t"] > 0.6, resume, "resume")
    script.when(
        lambda: _state(window) == RunState.RUNNING and _current(window).n_trials > notes["n"] + 2,
        lambda: notes.update(pill_after=window.pill.state) or window.stop_action.trigger(),
        "stop",
    )
    script.start()
    _start(window, "trials/trials.py", {"participant": "P03", "nTrials": 300})
    rec = _wait_idle(qtbot, window)
    script.check(["pause", "paused", "resume", "stop"])
    assert notes["pill"] == RunState.PAUSED and notes["text"] == "Paused"
    assert notes["resume"] and not notes["pause"]
    assert notes["beats"] >= 10, "the console must stay responsive while paused"
    assert notes["state"] == RunState.PAUSED
    assert notes["n_after"] <= notes["n"] + 1  # no progress while paused (at most the trial in flight)
    assert notes["pill_after"] == RunState.RUNNING
    assert [s for s, _ in pill_states][:3] == [RunState.RUNNING, RunState.PAUSED, RunState.RUNNING]
    assert rec.state == RunState.STOPPED


def test_stop_ends_the_run_as_stopped(window, qtbot, during_run):
    script = during_run()
    script.when(
        lambda: _current(window) is not None and _current(window).n_trials >= 2, window.stop_action.trigger, "stop"
    )
    script.start()
    _start(window, "trials/trials.py", {"participant": "P04", "nTrials": 500})
    rec = _wait_idle(qtbot, window)
    script.check(["stop"])
    assert rec.state == RunState.STOPPED
    assert rec.n_trials < 500
    assert "stopped" in window.status_panel.outcome_label.text()
    assert window.pill.state == "idle"
    assert window.run_action.isEnabled() and not window.stop_action.isEnabled()


def test_failed_run_shows_its_error_and_traceback(window, qtbot):
    _start(window, "failing/failing.py", {})
    rec = _wait_idle(qtbot, window)
    assert rec.state == RunState.FAILED
    assert window.pill.state == RunState.FAILED and window.pill.text() == "Failed"
    assert "stimulus file missing" in window.banner.text()
    assert "failed" in window.status_panel.outcome_label.text()
    assert "stimulus file missing" in window.status_panel.outcome_label.text()
    log_text = "\n".join(window.log_panel.lines())
    assert "Traceback (most recent call last)" in log_text and "faces/17.png" in log_text
    assert window.run_action.isEnabled()


def test_second_run_clears_the_plot(window, qtbot):
    _start(window, "trials/trials.py", {"participant": "P05", "nTrials": 3})
    _wait_idle(qtbot, window)
    _start(window, "simple/simple.py", {"participant": "P05", "nTrials": 2})
    _wait_idle(qtbot, window)
    window.trial_plot.flush()
    assert len(window.trial_plot.rows) == 2
    assert "rt" not in window.trial_plot.series_names()
    assert sorted(window.trial_plot.visible_series()) == ["i", "sq"]


def test_a_run_error_notification_shows_banner_status_and_log(window, qtbot):
    from rigconsole.notifications import notifications

    notifications.notify("trials/trials.py failed: ValueError: bad thing", source="run")
    assert "bad thing" in window.banner.text()
    assert "bad thing" in window.statusBar().currentMessage()
    assert any("bad thing" in line for line in window.log_panel.lines())


def test_shortcuts_are_in_tooltips(window):
    assert "F5" in window.run_action.toolTip()
    assert "F6" in window.pause_action.toolTip()
    assert "F7" in window.resume_action.toolTip()
    assert "Shift+F5" in window.stop_action.toolTip()
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"


# ---------------------------------------------------------------- settings
def test_settings_persist_across_windows(make_window, ui_settings, qtbot):
    from rigconsole.settings import load_settings

    w1 = make_window()
    w1.experiments.select("trials/trials.py")
    w1.form.set_values({"participant": "P77", "condition": "B"})
    w1.log_dock.hide()
    w1.resize(1100, 700)
    w1.close()
    saved = load_settings()
    assert saved.geometry and saved.window_state
    assert saved.last_exp_info["trials/trials.py"]["participant"] == "P77"

    w2 = make_window(saved)
    assert w2.log_dock.isHidden()
    w2.experiments.select("trials/trials.py")
    assert w2.form.values()["participant"] == "P77"
    assert w2.form.values()["condition"] == "B"


def test_file_menu_has_attach_and_dashboard(window, qtbot):
    from PySide6.QtWidgets import QMenu

    from rigconsole.ui.remote_dashboard import ChooseRigsDialog
    from rigconsole.ui.remote_observer import AttachDialog

    file_menu = next(m for m in window.findChildren(QMenu) if m.title() == "&File")
    texts = [a.text() for a in file_menu.actions()]
    assert "A&ttach to rig…" in texts and "Rig &dashboard…" in texts
    dlg = window.attach_to_rig()
    assert isinstance(dlg, AttachDialog) and dlg.isVisible()
    dlg.reject()
    choose = window.open_dashboard()
    assert isinstance(choose, ChooseRigsDialog) and choose.isVisible()
    choose.reject()


def test_settings_dialog_applies_validates_and_refuses_during_a_run(window, qtbot, tmp_path, during_run):
    from rigconsole.settings import load_settings

    dlg = window.open_settings()
    new_data = tmp_path / "data2"
    dlg.data_edit.setText(str(new_data))
    dlg.width_spin.setValue(10)  # too small: pydantic refuses
    assert not dlg.apply()
    assert "64" in dlg.error_label.text()
    dlg.width_spin.setValue(400)
    dlg.root_edit.setText(str(tmp_path / "no-such-folder"))
    assert not dlg.apply()
    assert "does not exist" in dlg.error_label.text()
    dlg.root_edit.setText(str(window.session.root))
    assert dlg.apply(), dlg.error_label.text()
    assert window.session.dataDir == new_data
    assert list(window.session.win.size) == [400, 240]
    saved = load_settings()
    assert saved.data_dir == new_data and tuple(saved.window.size) == (400, 240)
    dlg.close()

    notes = {}

    def try_apply():
        d = window.open_settings()
        d.height_spin.setValue(300)
        notes.update(applied=d.apply(), error=d.error_label.text())
        d.close()
        window.stop_action.trigger()

    script = during_run()
    script.when(lambda: _state(window) == RunState.RUNNING, try_apply, "apply")
    script.start()
    _start(window, "trials/trials.py", {"participant": "P06", "nTrials": 300})
    _wait_idle(qtbot, window)
    script.check(["apply"])
    assert notes["applied"] is False
    assert "run is in progress" in notes["error"]
    assert load_settings().window.size[1] == 240


def test_close_is_refused_during_a_run_and_resolves_the_future(window, qtbot, during_run):
    import asyncio

    notes = {}

    def try_close():
        notes.update(closed=window.close(), banner=window.banner.text())
        window.stop_action.trigger()

    script = during_run()
    script.when(lambda: _state(window) == RunState.RUNNING, try_close, "close")
    script.start()
    _start(window, "trials/trials.py", {"participant": "P08", "nTrials": 300})
    _wait_idle(qtbot, window)
    script.check(["close"])
    assert notes["closed"] is False and window.isVisible()
    assert "run is in progress" in notes["banner"]
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        fut = window.closed_future()
        assert window.close()
        assert fut.done()
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def test_about_shows_the_version(window):
    import rigconsole

    box = window.show_about()
    assert rigconsole.__version__ in box.text()
    box.close()


# ---------------------------------------------------------------- screenshot
def test_screenshot_while_running(window, qtbot, tmp_path, during_run):
    """Grab the window mid-run. RIGCONSOLE_UPDATE_SCREENSHOTS=1 also writes docs/screenshots/console-running.png."""
    from PySide6.QtGui import QImage

    window.resize(1280, 800)
    shot = tmp_path / "console-running.png"
    docs = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "console-running.png"

    def grab():
        window.trial_plot.flush()
        pix = window.grab()
        assert pix.save(str(shot))
        if os.environ.get("RIGCONSOLE_UPDATE_SCREENSHOTS") == "1":
            docs.parent.mkdir(parents=True, exist_ok=True)
            assert pix.save(str(docs))
        window.stop_action.trigger()

    script = during_run()
    script.when(lambda: _current(window) is not None and _current(window).n_trials >= 40, grab, "grab")
    script.start()
    _start(window, "trials/trials.py", {"participant": "P01", "condition": "A", "nTrials": 120, "framesPerTrial": 2})
    _wait_idle(qtbot, window)
    script.check(["grab"])
    img = QImage(str(shot))
    assert img.width() >= 1000 and img.height() >= 600
    colours = {img.pixel(x, y) for x in range(0, img.width(), 16) for y in range(0, img.height(), 16)}
    assert len(colours) > 20, "the screenshot looks blank"
    # the trial plot in it drew the run's response measures: its blue (first series) is in the picture
    plot = window.trial_plot
    assert plot.items and plot.visible_series()
    top_left = plot.plot.mapTo(window, plot.plot.rect().topLeft())
    region = img.copy(top_left.x(), top_left.y(), plot.plot.width(), plot.plot.height())
    blue = {region.pixelColor(x, y).name() for x in range(region.width()) for y in range(0, region.height(), 2)}
    assert "#0072b2" in blue, "the trial plot in the screenshot shows no series"


# ---------------------------------------------------------------- write-error banner
def test_a_real_write_error_shows_one_dismissable_banner_saying_what_was_kept(window, qtbot, tmp_path):
    """The data file's path stops working mid-session (moved away, a folder in its place): the
    writer's next structural cycle cannot reopen it. Its write_error (from the writer thread)
    becomes one notification (as the Rig dispatches it) that the banner shows once, with what is
    on disk, until dismissed."""
    from PySide6.QtWidgets import QToolButton

    from rigconsole.datalog import DataLog, DataLogWriteError
    from rigconsole.notifications import notifications

    path = tmp_path / "failing.h5"
    log = DataLog(path)
    log.events.write_error.connect(lambda m: notifications.notify(m, source="data log"))  # as Rig does
    log.add_entry(a=1.0)
    log.flush()
    kept = tmp_path / "kept.h5"
    path.rename(kept)
    path.mkdir()  # the data file's path now names a folder
    log.add_entry(b=2.0)  # a new variable: the writer must reopen the file by its path
    with pytest.raises(DataLogWriteError):
        log.flush()
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=5000)
    text = window.banner.text()
    assert text.startswith("Data log: writing") and str(path) in text and "is on disk" in text
    qtbot.wait(100)
    assert [where for where, n in window.presenter.shown if n.source == "data log"] == ["banner"]
    # dismiss it
    close = window.banner.findChild(QToolButton)
    close.click()
    assert not window.banner.isVisible()
    # another error is shown
    notifications.notify(
        "writing x.h5 failed (I/O error); data up to 10:00:00 is on disk; check the disk", source="data log"
    )
    assert window.banner.isVisible() and "I/O error" in window.banner.text()
    try:
        log.close()
    except DataLogWriteError:
        pass
    path.rmdir()
    with DataLog(kept, readonly=True) as ro:  # what the banner said was kept is there
        assert ro["a"][1].tolist() == [1.0]
