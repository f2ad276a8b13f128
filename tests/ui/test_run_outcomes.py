"""The console shows a run *finished with errors* distinctly: neither red "failed" nor plain
"finished". Real Session, real PsychoPy window (Xvfb), real run; a screenshot to look at."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rigconsole.notifications import notifications
from rigconsole.session.runs import RunState

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


@pytest.fixture
def fwe_window(ui_root, make_window):
    shutil.copytree(EXPERIMENTS / "exporterr", ui_root / "exporterr")
    return make_window()


def _run(qtbot, window, key, values):
    assert window.experiments.select(key)
    window.form.set_values(values)
    assert window.run_action.isEnabled()
    window.run_action.trigger()
    qtbot.waitUntil(lambda: window.session.current_run is None and not window.controller.busy, timeout=30000)
    rec = window.session.run_records[-1]
    qtbot.waitUntil(lambda: window.status_panel.last_record is rec, timeout=5000)
    return rec


def test_a_run_finished_with_errors_is_shown_as_such(fwe_window, qtbot, tmp_path):
    from rigconsole.views.palette import run_look

    window = fwe_window
    errors: list[str] = []

    def run_error(n):
        if n.source == "run":
            errors.append(n.message)

    notifications.notified.connect(run_error)
    rec = _run(qtbot, window, "exporterr/export_fails.py", {"participant": "ui"})
    assert rec.state == RunState.FINISHED_WITH_ERRORS
    # the state pill: its own text and colour, not Failed's red nor the grey idle of a finished run
    assert window.pill.state == RunState.FINISHED_WITH_ERRORS and window.pill.text() == "Finished with errors"
    assert run_look(RunState.FINISHED_WITH_ERRORS).colour not in (
        run_look(RunState.FAILED).colour,
        run_look("idle").colour,
    )
    assert run_look(RunState.FINISHED_WITH_ERRORS).colour in window.pill.styleSheet()
    # the last run's outcome: the state, every trial kept, the error, PsychoPy's export and where
    outcome = window.status_panel.outcome_label.text()
    assert "<b>finished with errors</b>" in outcome and run_look(RunState.FINISHED_WITH_ERRORS).colour in outcome
    assert run_look(RunState.FAILED).colour not in outcome
    assert "6 trials (every trial kept)" in outcome
    assert "IndexError: list index out of range" in outcome and "TrialHandler2.saveAsExcel" in outcome
    assert f"export_fails.py:{rec.error_line}" in outcome
    assert window.status_panel.outcome_label.toolTip() == f"Raised at {rec.error_at}"
    # not an error banner: every trial ran and is kept
    notifications.notified.disconnect(run_error)
    assert errors == [] and window.banner.text() == ""
    assert "finished with errors" in window.statusBar().currentMessage()
    # the traceback is in the log panel
    assert any("saveAsExcel" in line for line in window.log_panel.lines())
    assert window.run_action.isEnabled()
    # (docs/screenshots/finished-with-errors.png is this screenshot)
    assert window.grab().save(str(tmp_path / "finished-with-errors.png"))
    # the next run that finishes puts the pill back to idle
    rec2 = _run(qtbot, window, "simple/simple.py", {"participant": "ui2", "nTrials": 2})
    assert rec2.state == RunState.FINISHED and window.pill.state == "idle"


def test_a_failed_run_banner_names_the_experiments_line(fwe_window, qtbot):
    window = fwe_window
    rec = _run(qtbot, window, "failing/failing.py", {})
    assert rec.state == RunState.FAILED and rec.error_line is not None
    assert f"failing.py:{rec.error_line}" in window.banner.text()
    assert "stimulus file missing" in window.banner.text()
    assert f"failing.py:{rec.error_line}" in window.status_panel.outcome_label.text()
