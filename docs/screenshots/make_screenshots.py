"""Screenshots for docs/technicians-guide.md, taken from the real console (not mock-ups).

Builds the console as a double-click does (build_console on the bundled demos,
a first-run settings file, a data folder of its own), then runs the go/no-go
demo through the toolbar and grabs the window at each step a technician meets:

    first-run.png      the console on first launch: the bundled demo selected, its expInfo form
    settings.png       Settings: root folder, data folder, the subject screen's window
    running.png        a run in progress (trial count, live trial plot)
    paused.png         the same run paused
    finished.png       after the run: the data files it wrote
    data-browser.png   the session data file opened in the data browser
    error-dialog.png   what an uncaught error looks like (the message and the log file)
    dry-run-dialog.png Run → Dry run: the Dry run dialog (speed, seed)
    dry-run.png        the dry run of the go/no-go demo in progress at 10x (DRY RUN in the status bar)
    dry-run-report.png its QA report (with the speed reached, experiment and wall time)
    settings-remote.png, settings-email.png   Settings: remote attach (tokens, fingerprint) and email
    remote-attach.png, remote-pin.png   File → Attach to rig… during a real run, and the first-use
                       question about the rig's certificate
    remote-observer.png   the observer window attached to that run (status, trial n of N, live plots)
    remote-dashboard.png  the rig dashboard (that rig, and one that cannot be reached)
    remote-page.png    the rig's browser page during the run (headless Chromium)

The console serves remote attach on 127.0.0.1 (a free port, the self-signed certificate) with
two tokens; the remote screenshots are taken while a second go/no-go run is in progress.

Run (needs a display; on a server under Xvfb):

    xvfb-run -a -s "-screen 0 1920x1080x24" uv run --frozen python docs/screenshots/make_screenshots.py

Writes the PNGs next to this script and prints their paths. Names given on the command
line (``make_screenshots.py dry-run-report.png``) write only those (the tour still runs).
"""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(only: list[str] | None = None) -> int:
    work = Path(tempfile.mkdtemp(prefix="rigconsole-shots-"))
    os.environ["RIGCONSOLE_SETTINGS"] = str(work / "settings.json")
    os.environ["RIGCONSOLE_LOG_DIR"] = str(work / "log")
    import rigconsole.ui  # noqa: F401  (before PySide6)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from rigconsole.logfiles import setup_log_file
    from rigconsole.settings import Settings, WindowSettings, default_root
    from rigconsole.ui.app import build_console, setup_logging
    from rigconsole.ui.single_instance import set_application_identity

    app = QApplication.instance() or QApplication(sys.argv[:1])
    set_application_identity(app)
    setup_logging()
    log_path = setup_log_file()
    from rigconsole.remote import TokenStore
    from rigconsole.remote.settings import EmailSettings, RemoteSettings

    tokens = TokenStore.default()  # next to the settings file, where the console's server looks
    tokens.add("PI office", "observer")
    operator_token = tokens.add("second tech", "operator")
    email = EmailSettings(enabled=False, host="smtp.university.edu", user="rig-2", from_addr="rig-2@university.edu",
                          to_addrs=["pi@university.edu", "tech@university.edu"])
    import socket

    with socket.socket() as sock:  # a free port, so the Settings screenshot shows the one in use
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]
    remote = RemoteSettings(enabled=True, host="127.0.0.1", port=free_port, rig_name="rig-2 (EEG room)", email=email)
    settings = Settings(root=default_root(), data_dir=work / "data", window=WindowSettings(size=(640, 480)),
                        remote=remote)
    c = build_console(settings=settings, simulated_vsync_hz=60.0, show=True, log_path=log_path)
    handler = c.presenter.error_dialog
    w = c.window
    w.resize(1280, 800)
    shots: list[Path] = []

    async def wait(cond, timeout=60.0):
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise SystemExit("make_screenshots: timed out")
            await asyncio.sleep(0.01)

    def grab(widget, name):  # after the caller let Qt process its events
        if only and name not in only:
            return
        path = HERE / name
        if not widget.grab().save(str(path)):
            raise SystemExit(f"make_screenshots: could not write {path}")
        shots.append(path)

    # the whole tour runs inside the console's own loop (qasync), as a double-click runs it:
    # the monitoring tasks and the run need a running loop
    async def tour():
        await wait(lambda: w.isVisible())
        key = "gonogo/gonogo.py"
        assert w.experiments.select(key)
        await wait(lambda: w.current_key() == key)
        w.form.set_values({"participant": "P01", "nTrials": 8})
        time.sleep(0.2)
        await asyncio.sleep(0.05)  # Qt events through the loop (never processEvents inside a task)
        grab(w, "first-run.png")

        # the simulated rig's instruments connected, their first channels plotting live
        manager = c.rig.instruments
        await wait(lambda: manager is not None and all(i.state.value == "connected" for i in manager.instruments.values()))
        await wait(lambda: len(c.data_log.logged_variable("photometer.luminance")[0]) >= 12
             and len(c.data_log.logged_variable("thermometer.temperature")[0]) >= 6, 30)
        await asyncio.sleep(0.05)  # Qt events through the loop (never processEvents inside a task)
        grab(w, "instruments.png")

        dlg = w.open_settings()
        await wait(lambda: dlg.isVisible())
        await asyncio.sleep(0.05)  # Qt events through the loop (never processEvents inside a task)
        grab(dlg, "settings.png")
        dlg.tabs.setCurrentWidget(dlg.remote_tab)
        dlg.remote_tab.token_name_edit.setText("lab laptop")
        dlg.remote_tab.add_token()  # shown once, to copy
        await asyncio.sleep(0.05)
        grab(dlg, "settings-remote.png")
        dlg.tabs.setCurrentWidget(dlg.email_tab)
        await asyncio.sleep(0.05)
        grab(dlg, "settings-email.png")
        dlg.reject()

        # the run blocks inside one Qt callback and serves Qt on each flip: steps run from a timer
        steps = {"running": False, "paused": False, "resumed": False}

        def tick():
            rec = c.session.current_run
            if rec is None:
                return
            if not steps["running"] and rec.n_trials >= 3:
                app.processEvents()  # inside the run: a Qt callback, no task is running
                grab(w, "running.png")
                steps["running"] = True
                w.pause_action.trigger()
            elif steps["running"] and not steps["paused"] and w.resume_action.isEnabled():
                time.sleep(0.1)
                app.processEvents()  # inside the run: a Qt callback, no task is running
                grab(w, "paused.png")
                steps["paused"] = True
                w.resume_action.trigger()
        timer = QTimer()
        timer.setInterval(20)
        timer.timeout.connect(tick)
        timer.start()
        n = len(c.session.run_records)
        w.run_action.trigger()
        await wait(lambda: len(c.session.run_records) > n and c.session.run_records[-1].ended is not None, 120)
        timer.stop()
        time.sleep(0.2)
        await asyncio.sleep(0.05)  # Qt events through the loop (never processEvents inside a task)
        grab(w, "finished.png")

        # Run → Dry run: a simulated participant takes the go/no-go demo; its QA report opens
        assert w.experiments.select(key)
        await wait(lambda: w.current_key() == key)
        w.form.set_values({"participant": "P01", "nTrials": 8})
        await asyncio.sleep(0.05)

        def dry_tick():  # inside the run (a Qt callback): grab once a few trials are in
            rec = c.session.current_run
            if rec is not None and rec.n_trials >= 3 and not dry_timer.property("done"):
                app.processEvents()
                grab(w, "dry-run.png")
                dry_timer.setProperty("done", True)
        dry_timer = QTimer()
        dry_timer.setInterval(20)
        dry_timer.timeout.connect(dry_tick)
        dry_timer.start()
        w.dry_run_action.trigger()
        await wait(lambda: w.dry_run_view.ask_dialog is not None and w.dry_run_view.ask_dialog.isVisible())
        await asyncio.sleep(0.05)
        grab(w.dry_run_view.ask_dialog, "dry-run-dialog.png")
        w.dry_run_view.ask_dialog.buttons.accepted.emit()  # Start, at the offered 10x
        await wait(lambda: w.dry_run_view.dialog is not None and w.dry_run_view.dialog.isVisible(), 120)
        dry_timer.stop()
        report = w.dry_run_view.dialog
        time.sleep(0.2)
        await asyncio.sleep(0.05)  # Qt events through the loop (never processEvents inside a task)
        grab(report, "dry-run-report.png")
        report.close()
        await remote_tour()

        c.data_log.flush()
        browser = c.data_tools.open_browser(c.data_log.path)
        browser.resize(1280, 780)
        await wait(lambda: browser.isVisible())
        time.sleep(0.5)
        await asyncio.sleep(0.05)  # Qt events through the loop (never processEvents inside a task)
        grab(browser, "data-browser.png")
        browser.close()

        try:
            raise FileNotFoundError("[Errno 2] No such file or directory: 'conditions.xlsx'")
        except FileNotFoundError:
            c.notifications.sys_hook(*sys.exc_info())
        await wait(lambda: handler.dialog is not None and handler.dialog.isVisible())
        time.sleep(0.1)
        await asyncio.sleep(0.05)  # Qt events through the loop (never processEvents inside a task)
        grab(handler.dialog, "error-dialog.png")
        handler.dialog.close()


    async def remote_tour():
        """Attach to this rig over HTTPS during a real run: the dialog, the pin question, the observer
        window, the dashboard and the browser page, all showing the run as it goes."""
        from rigconsole.remote import RemoteObserver
        from rigconsole.ui.remote_dashboard import DashboardWindow
        from rigconsole.ui.remote_observer import AttachDialog, ObserverWindow, trust_box

        server = c.rig.component("remote")
        assert server is not None and server.port, "the console did not start its remote server"
        port = server.port
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        st: dict = {}

        def tick():  # inside the run (a Qt callback): each step once, the run goes on between them
            rec = c.session.current_run
            if rec is None:
                return
            if "attach" not in st and rec.n_trials >= 2:
                dlg = AttachDialog(w, trust=lambda h, p, fp: True)
                dlg.host.setText("127.0.0.1")
                dlg.port.setValue(port)
                dlg.token.setText(operator_token)
                dlg.tls.setChecked(True)
                dlg.show()
                app.processEvents()
                grab(dlg, "remote-attach.png")
                box = trust_box(w, "127.0.0.1", port, server.fingerprint)
                box.show()
                app.processEvents()
                grab(box, "remote-pin.png")
                box.close()
                dlg._accept()  # the first use: trusted (the question above), pinned
                obs = dlg.observer()
                win = ObserverWindow(obs)
                win.resize(1100, 640)
                win.show()
                dash = DashboardWindow([RemoteObserver("127.0.0.1", port, token=operator_token, tls=True,
                                                       fingerprint=server.fingerprint),
                                        RemoteObserver("127.0.0.1", 1, token="x", timeout=1)], columns=2)
                dash.resize(640, 220)
                dash.show()
                st.update(attach=dlg, win=win, dash=dash)
                if chromium:
                    shot = HERE / "remote-page.png"
                    st["chromium"] = subprocess.Popen(
                        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--hide-scrollbars", "--ignore-certificate-errors",
                         f"--user-data-dir={work / 'chromium-profile'}", "--window-size=1100,760",
                         "--virtual-time-budget=8000", f"--screenshot={shot}",
                         f"https://127.0.0.1:{port}/#token={operator_token}"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    st["page"] = shot
                dlg.close()
            elif "win" in st and "observed" not in st:
                win = st["win"]
                if (win.conn.text() == "live" and win.trial.text().startswith("trial")
                        and len(win._plots) >= 2 and rec.n_trials >= 6):
                    app.processEvents()
                    grab(win, "remote-observer.png")
                    st["observed"] = True
            elif "observed" in st and "dashboard" not in st:
                tile = st["dash"].tiles[1]
                if st["dash"].tiles[0].conn.text() == "live" and "cannot reach" in tile.conn.text():
                    app.processEvents()
                    grab(st["dash"], "remote-dashboard.png")
                    st["dashboard"] = True
            elif "dashboard" in st and "done" not in st:
                proc = st.get("chromium")
                if proc is None or proc.poll() is not None:
                    if proc is not None:
                        shots.append(st["page"])
                    st["done"] = True
                    w.stop_action.trigger()
        timer = QTimer()
        timer.setInterval(50)
        timer.timeout.connect(tick)
        timer.start()
        w.form.set_values({"participant": "P02", "nTrials": 60})
        await asyncio.sleep(0.05)
        n = len(c.session.run_records)
        w.run_action.trigger()
        await wait(lambda: len(c.session.run_records) > n and c.session.run_records[-1].ended is not None, 240)
        timer.stop()
        if "done" not in st:
            raise SystemExit(f"make_screenshots: the remote tour stopped at {sorted(st)}")
        for key in ("win", "dash"):
            st[key].close()

    c.loop.run_until_complete(tour())
    c.close()
    shutil.rmtree(work, ignore_errors=True)
    for p in shots:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
