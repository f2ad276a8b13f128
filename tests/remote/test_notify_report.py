"""The periodic report mail against a real SMTP server on 127.0.0.1 (aiosmtpd): summary text, a PNG
plot per chosen variable (decoded, not blank), a report due during a real run, a failing server."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import time

import pytest
from aiosmtpd.controller import Controller
from pydantic import ValidationError

from rigconsole.remote.notify import Notifier
from rigconsole.remote.settings import EmailSettings

from support.smtp import Inbox, email_settings, free_port


@pytest.fixture
def smtp():
    inbox = Inbox(timeout=30.0)
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    yield inbox, port
    ctl.stop()


def _log_signal(dl, seconds=0.6, n=120):
    """pupil (mm, a sine) and temp logged for ``seconds``."""
    dl.describe_variable("pupil", unit="mm", description="pupil diameter")
    for i in range(n):
        dl.add_entry(pupil=3.0 + math.sin(i / 10.0), temp=21.0 + i / n)
        time.sleep(seconds / n)


def _pngs(msg):
    return [p for p in msg.walk() if p.get_content_type() == "image/png"]


def _line_pixels(png: bytes) -> int:
    """Pixels of matplotlib's first line colour (C0, #1f77b4) in the image."""
    import numpy as np
    from PIL import Image

    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return int((np.abs(a - np.array([31, 119, 180])).sum(axis=2) < 60).sum())


# ---------------------------------------------------------------------------- settings


def test_report_settings_are_validated_and_report_hours_read_as_minutes():
    s = EmailSettings(report_minutes=30, report_variables=[" pupil ", "temp"], report_window_minutes=120)
    assert s.report_variables == ["pupil", "temp"] and s.report_plots_during_runs is False
    assert EmailSettings.model_validate({"report_hours": 2}).report_minutes == 120.0
    assert EmailSettings().report_minutes == 0.0  # off unless asked
    for bad, said in (
        ({"report_minutes": -1}, "report_minutes"),
        ({"report_window_minutes": 0}, "report_window"),
        ({"report_variables": ["pupil", ""]}, "an empty name"),
        ({"report_variables": ["pupil", "pupil"]}, "listed twice"),
        ({"report_variables": [f"v{i}" for i in range(9)]}, "at most 8"),
    ):
        with pytest.raises(ValidationError) as err:
            EmailSettings(**bad)
        assert said in str(err.value)


# ---------------------------------------------------------------------------- the report mail


def test_report_arrives_with_a_png_plot_of_each_chosen_variable(smtp, make_log):
    inbox, port = smtp
    dl = make_log()
    _log_signal(dl)
    n = Notifier(
        email_settings(port, report_variables=["pupil", "absent"], report_window_minutes=0.05),
        rig_name="rig-4",
        retry_delays_s=(0.1,),
    )
    n.attach(data_log=dl)
    n.start()
    try:
        t0 = time.perf_counter()
        n.send_report()
        took = time.perf_counter() - t0
        assert inbox.wait(1)
    finally:
        n.close()
    assert took < 0.05  # the caller only asks: importing matplotlib and drawing happen on the watcher thread
    msg = inbox.parsed(0)
    assert msg["Subject"].startswith("[rig-4] report ") and msg["Subject"].endswith(": idle")
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "rig rig-4" in text and "Current run: none (idle)" in text
    assert "pupil: " in text and " mm at " in text and "temp: " in text  # last values, with the unit
    assert "Plots: pupil (120 entries)" in text
    assert "Not logged (yet), so not plotted: absent" in text
    pngs = _pngs(msg)
    assert [p.get_filename() for p in pngs] == ["pupil.png"]  # only the chosen, logged variable
    png = pngs[0].get_content()
    assert len(png) > 0 and png[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size == (640, 240)
    assert _line_pixels(png) > 200  # the variable's line is drawn: the plot is not blank
    html = msg.get_body(preferencelist=("html",)).get_content()
    cid = pngs[0]["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html and "<h3>pupil</h3>" in html  # shown inline, named
    assert n.reports == 1


def test_no_variables_chosen_plots_every_logged_variable(smtp, make_log):
    inbox, port = smtp
    dl = make_log()
    _log_signal(dl, seconds=0.2, n=40)
    n = Notifier(email_settings(port, report_window_minutes=0.05), retry_delays_s=(0.1,))
    n.attach(data_log=lambda: dl)  # a callable giving the current data log, as a Rig's
    n.start()
    try:
        n.send_report()
        assert inbox.wait(1)
    finally:
        n.close()
    pngs = _pngs(inbox.parsed(0))
    assert sorted(p.get_filename() for p in pngs) == ["pupil.png", "temp.png"]
    assert all(_line_pixels(p.get_content()) > 100 for p in pngs)


def test_periodic_reports_arrive_every_report_minutes(smtp, make_log):
    inbox, port = smtp
    dl = make_log()
    dl.add_entry(pupil=3.0)
    n = Notifier(
        email_settings(port, report_minutes=0.01, report_variables=["pupil"]), retry_delays_s=(0.1,), disk_check_s=0.1
    )
    n.attach(data_log=dl)
    t0 = time.monotonic()
    n.start()
    try:
        assert inbox.wait(2, timeout=30)
    finally:
        n.close()
    first, second = inbox.times[0] - t0, inbox.times[1] - inbox.times[0]
    assert first >= 0.55 and second >= 0.3  # every 0.6 s, not at once


def test_a_failing_mail_server_is_retried_and_logged_and_a_broken_data_log_never_raises(make_log, caplog):
    inbox = Inbox(timeout=30.0)
    port = free_port()  # nothing listens yet
    dl = make_log()
    dl.add_entry(pupil=3.0)
    n = Notifier(email_settings(port, report_variables=["pupil"]), retry_delays_s=(0.2, 0.3, 0.5, 1.0, 2.0))
    n.attach(data_log=dl)
    n.start()
    try:
        n.send_report()
        deadline = time.monotonic() + 10
        while n.failures < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert n.failures >= 1
        ctl = Controller(inbox, hostname="127.0.0.1", port=port)
        ctl.start()
        try:
            assert inbox.wait(1)

            class Gone:  # a data log that fails on every read
                def logged_last_values(self):
                    raise RuntimeError("the data log went away")

            n.attach(data_log=Gone())
            n.send_report()  # made on the watcher thread: nothing reaches the caller
            assert inbox.wait(2)
        finally:
            ctl.stop()
    finally:
        n.close()
    assert "failed (attempt 1" in caplog.text
    assert len(_pngs(inbox.parsed(0))) == 1
    assert "The report could not be made: the data log went away" in inbox.parsed(1).get_content()
    assert "the report could not be made" in caplog.text


# ---------------------------------------------------------------------------- during a real run


def _run_with_report(session, notifier, trials):
    """Run the endless experiment for ``trials`` trials; ask for a report at its 5th trial."""
    asked = {}

    def on_trial(record, row):
        if len(asked) == 0 and record.n_trials >= 5:
            asked["t"] = time.monotonic()
            notifier.send_report()

    session.events.trial_added.connect(on_trial)
    session.runExperiment("endless/endless.py", {"participant": "p7", "maxTrials": trials})
    session.events.trial_added.disconnect(on_trial)
    return asked["t"], time.monotonic()


def _report_setup(exp_root, make_session, make_log, port, **kw):
    from rigconsole.session.recorder import SessionRecorder

    session = make_session(exp_root, scan=True, simulated_vsync_hz=60)
    dl = make_log()
    recorder = SessionRecorder(session, dl)
    dl.add_entry(pupil=3.0)
    n = Notifier(
        email_settings(port, report_variables=["pupil"], on_run_finished=False, **kw),
        rig_name="rig-5",
        retry_delays_s=(0.1,),
    )
    n.attach(session=session, data_log=dl)  # the session's frame budget
    n.start()
    return session, recorder, n


def test_a_report_due_during_a_run_waits_for_its_end_then_has_its_plots(smtp, exp_root, make_session, make_log):
    inbox, port = smtp
    session, recorder, n = _report_setup(exp_root, make_session, make_log, port)
    try:
        asked, ended = _run_with_report(session, n, trials=60)
        assert inbox.wait(1)
    finally:
        n.close()
        recorder.close()
    arrived = inbox.times[0]
    assert arrived > ended  # nothing was drawn while the run's frames were recorded
    msg = inbox.parsed(0)
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert len(_pngs(msg)) == 1, text
    # drawn once the frames stopped mattering: every trial was done (the run may still be saving its data)
    assert "run 1 endless/endless.py: " in text and "trial 60, participant p7" in text


def test_a_report_drawn_during_a_run_says_where_the_run_is(smtp, exp_root, make_session, make_log):
    inbox, port = smtp
    session, recorder, n = _report_setup(exp_root, make_session, make_log, port, report_plots_during_runs=True)
    try:
        asked, ended = _run_with_report(session, n, trials=120)
        assert inbox.wait(1)
    finally:
        n.close()
        recorder.close()
    msg = inbox.parsed(0)
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "Current run: run 1 endless/endless.py: running, trial " in text and "participant p7" in text
    trial = int(text.split("running, trial ")[1].split(",")[0])
    assert trial < 120  # drawn while the run's frames went on (between them: the frame budget's quiet windows)
    assert " report " in msg["Subject"] and ": run 1 endless/endless.py, trial " in msg["Subject"]
    assert len(_pngs(msg)) == 1 and _line_pixels(_pngs(msg)[0].get_content()) > 0


def test_a_report_held_for_a_whole_period_goes_without_plots_and_says_why(smtp, exp_root, make_session, make_log):
    from rigconsole.session.recorder import SessionRecorder

    inbox, port = smtp
    session = make_session(exp_root, scan=True, simulated_vsync_hz=60)
    dl = make_log()
    recorder = SessionRecorder(session, dl)
    dl.add_entry(pupil=3.0)
    n = Notifier(
        email_settings(port, report_minutes=0.02, report_variables=["pupil"], on_run_finished=False),
        retry_delays_s=(0.1,),
    )
    n.attach(session=session, data_log=dl)
    session.events.run_started.connect(lambda rec: n.start())  # the first report is due 1.2 s into the run
    try:
        session.runExperiment("endless/endless.py", {"participant": "p7", "maxTrials": 80})  # 400 frames, ~6.7 s
        ended = time.monotonic()
        assert inbox.wait(1)
    finally:
        n.close()
        recorder.close()
    arrived = inbox.times[0]
    assert arrived < ended
    msg = inbox.parsed(0)
    assert _pngs(msg) == []
    text = msg.get_content()
    assert "Plots held back: a run was in progress for the whole report period" in text
    assert "Current run: run 1 endless/endless.py: running" in text


# ---------------------------------------------------------------------------- no GUI backend


def test_the_plots_never_load_pyplot_or_a_qt_binding(tmp_path):
    code = """
import json, sys, time
import numpy as np
from rigconsole.remote.report import PlotSeries, render_plot
t = time.time() - np.arange(100)[::-1]
png = render_plot(PlotSeries("x", "V", "", t, np.sin(t), 100), float(t[-1]), 120.0)
mods = [m for m in sys.modules if m.split(".")[0] in ("PySide6", "PyQt6", "PyQt5", "qasync", "pyqtgraph")
        or m == "matplotlib.pyplot" or m.startswith("matplotlib.backends.backend_qt")]
print(json.dumps({"png": len(png), "mods": mods}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["png"] > 0 and r["mods"] == []


def test_the_notifier_as_a_rig_component_reports_from_the_rigs_current_data_log(smtp, exp_root, tmp_path):
    from rigconsole.remote.settings import RemoteSettings
    from rigconsole.rig import Rig
    from rigconsole.settings import Settings

    inbox, port = smtp
    settings = Settings(
        root=exp_root,
        data_dir=tmp_path / "data",
        remote=RemoteSettings(rig_name="rig-6", email=email_settings(port, report_variables=["pupil"])),
    )
    rig = Rig(settings, window_params={"size": [200, 150], "units": "height"}, remote=True)
    try:
        n = rig.component("notify")
        assert isinstance(n, Notifier) and n.rig_name == "rig-6"
        rig.apply_settings(rig.settings.model_copy(update={"data_dir": tmp_path / "data2"}))  # a new data log
        rig.data_log.add_entry(pupil=4.5)
        n.send_report()
        assert inbox.wait(1)
    finally:
        rig.close()
    msg = inbox.parsed(0)
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert msg["Subject"].startswith("[rig-6] report") and "pupil: 4.5 at " in text
    assert str(tmp_path / "data2") in text and len(_pngs(msg)) == 1
