"""The QA report dialog for each outcome a dry run can have (the dialog alone; the console's
dry runs are in test_dry_run.py)."""

from __future__ import annotations

import math

from rigconsole.session.qa import QAReport
from rigconsole.ui.qa_report import QAReportDialog, report_text


def _dialog(qtbot, report, folder="/data/dry-runs"):
    dlg = QAReportDialog(report, folder)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    return dlg


def test_a_builder_report_lists_loops_empty_columns_and_frames(qtbot):
    report = QAReport(
        "GoNoGo/gng.psyexp",
        "completed",
        rows=14,
        trials_per_loop={"practice": 2, "trials": 12},
        expected_trials={"trials": 12},
        empty_columns=["resp.corr"],
        frame_stats={
            "n_frames": 1200,
            "dropped_frames": 3,
            "p50_ms": 16.7,
            "p99_ms": 18.2,
            "max_ms": 40.1,
            "refresh_hz": 60.0,
        },
        duration_s=75.4,
        simulated={"key_press": 13, "key_release": 13},
    )
    dlg = _dialog(qtbot, report)
    assert dlg.fields["Trials"].text() == "practice 2, trials 12 of 12 (14 data rows)"
    assert dlg.fields["Empty columns"].text() == "resp.corr"
    assert dlg.fields["Frame timing"].text().startswith("1200 frames, 3 dropped; median 16.7 ms")
    assert dlg.fields["Duration"].text() == "01:15"
    assert "Where" not in dlg.fields and "Where it stuck" not in dlg.fields and "Error" not in dlg.fields
    assert dlg.fields["Simulated participant"].text() == "key press 13, key release 13"
    assert "data folder: /data/dry-runs" in dlg.text()


def test_stuck_failed_and_time_limit_say_where(qtbot):
    stuck = QAReport(
        "a.py",
        "stuck",
        where="routine 'trial', loop 'trials' trial 3 of 10, waiting for keys ['q']",
        rows=2,
        expected_rows=10,
    )
    dlg = _dialog(qtbot, stuck)
    assert "stuck" in dlg.outcome_label.text() and "stopped making progress" in dlg.outcome_label.text()
    assert dlg.fields["Where it stuck"].text().endswith("waiting for keys ['q']")
    assert dlg.fields["Trials"].text() == "2 of 10 trials (no PsychoPy loops)"
    assert dlg.fields["Frame timing"].text() == "no frames recorded" and dlg.fields["Duration"].text() == "—"

    error = "ValueError: stimulus file missing"
    failed = QAReport("b.py", "failed", where=error, error=error)
    dlg = _dialog(qtbot, failed)
    assert dlg.fields["Where"].text() == "ValueError: stimulus file missing" and "Error" not in dlg.fields
    assert report_text(failed).startswith("QA report: b.py: failed (ValueError: stimulus file missing)")

    limit = QAReport("c.psyexp", "time limit", rows=40, duration_s=math.nan)
    dlg = _dialog(qtbot, limit, folder=None)
    assert dlg.fields["Where it stopped"].text() == "not known" and not dlg.open_button.isEnabled()
