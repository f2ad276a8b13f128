"""Notebook notes in the data browser: markers on its plot (at their time on a time axis; at their
trial on a trial-number axis, for notes of that run) and rows in its Annotations tab, read from a real
session file."""

from __future__ import annotations


def test_notes_show_as_markers_and_rows_in_the_data_browser(qtbot, tmp_path):
    from rigconsole.datalog import DataLog
    from rigconsole.ui.data_browser import DataBrowser
    from rigconsole.views.notebook import add_note

    p = tmp_path / "session_2026-12-07_100000.h5"
    with DataLog(p) as log:
        for i in range(20):
            log.add_entry(temperature=21.0 + 0.1 * i)
        session_note = add_note(log, "lights on", marker=1)  # idle: a session note
        run = log.start_run("gonogo", {"participant": "P01"})
        for k in range(10):
            if k == 4:  # Ctrl+N during the 5th trial
                trial_note = add_note(log, "participant sneezed", marker=3)
            log.add_trial(run, {"trials.thisN": k, "key_resp.rt": 0.3 + 0.01 * k, "key_resp.corr": 1})
            log.add_entry(temperature=22.0 + 0.1 * k)
        log.end_run(run, "finished")
    assert trial_note["fields"] == {"run": run, "trial": 4, "marker": 3}
    b = DataBrowser(p)
    qtbot.addWidget(b)
    with qtbot.waitSignal(b.loaded, timeout=10000):
        pass
    b.variables_list.setCurrentRow(0)  # temperature, against time: both notes at their time
    plot = b.plot.plot
    qtbot.waitUntil(lambda: plot.note_marks() == [(session_note["t"], "1"), (trial_note["t"], "3")], timeout=5000)
    b.plot.set_source("trial: key_resp.rt")
    b.plot.set_axis("trial")  # trial number on x: the run's note at trial 5, the session note nowhere
    b.plot.poll()
    qtbot.waitUntil(lambda: plot.note_marks() == [(5.0, "3")], timeout=5000)
    texts = [b.annotations_table.item(r, 3).text() for r in range(b.annotations_table.rowCount())]
    assert texts == ["lights on", "participant sneezed"]
    b.close()
