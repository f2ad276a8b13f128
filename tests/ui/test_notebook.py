"""The lab notebook as a technician uses it: Ctrl+N typed (real X keys, xdotool) into the whole
console (build_console) during a real go/no-go run on a real PsychoPy window under Xvfb.

The note lands in the session .h5 at its trial, with its marker code; it shows as a marker on the
trial plot and in the Notes dock; a RemoteObserver attached over 127.0.0.1 receives it; the CSV
export lists it; an operator's remote note is a note too. Screenshots go to tests/ui/artifacts/."""

from __future__ import annotations

import asyncio
import csv
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from rigconsole.settings import Settings, WindowSettings

REPO = Path(__file__).resolve().parents[2]
# RIGCONSOLE_UPDATE_SCREENSHOTS=1: the screenshot goes to the docs (docs/screenshots/notebook.png)
SHOTS = REPO / "docs" / "screenshots" if os.environ.get("RIGCONSOLE_UPDATE_SCREENSHOTS") == "1" else None
pytestmark = pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool is installed by scripts/setup")


@pytest.fixture
def console(qtbot, tmp_path):
    from rigconsole.remote.settings import RemoteSettings
    from rigconsole.ui.app import build_console

    root = tmp_path / "root"
    shutil.copytree(REPO / "resources" / "experiments", root)
    settings = Settings(
        root=root,
        data_dir=tmp_path / "data",
        window=WindowSettings(size=(400, 300)),
        remote=RemoteSettings(enabled=True, port=0, tls="off"),
    )
    c = build_console(settings=settings, simulated_vsync_hz=60, show=True)
    qtbot.waitExposed(c.window)
    qtbot.waitUntil(lambda: c.notebook is not None, timeout=60_000)
    yield c
    c.close()


class Listener:
    """A RemoteObserver on its own thread and asyncio loop, keeping every stream event."""

    def __init__(self, port: int, token: str) -> None:
        from rigconsole.remote import RemoteObserver

        self.obs = RemoteObserver("127.0.0.1", port, token)
        self.events: list[dict] = []
        self.live = threading.Event()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.thread.start()

    async def _run(self) -> None:
        async def listen():
            async for ev in self.obs.updates(on_connection=lambda w: w == "live" and self.live.set()):
                self.events.append(ev)

        task = asyncio.create_task(listen())
        while not self._stop.is_set() and not task.done():
            await asyncio.sleep(0.05)
        task.cancel()

    def notes(self) -> list[dict]:
        return [
            e["annotation"]
            for e in self.events
            if e.get("type") == "annotation" and e["annotation"].get("kind") == "note"
        ]

    def close(self) -> None:
        self._stop.set()
        self.thread.join(10)


def _xdotool(*args) -> None:
    subprocess.Popen(["xdotool", *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_ctrl_n_note_during_gonogo_reaches_file_plot_panel_observer_and_csv(qtbot, console, during_run, tmp_path):
    from rigconsole.datalog import SessionFile
    from rigconsole.datalog.export import export_csv

    c = console
    w = c.window
    server = c.rig.component("remote")
    assert server is not None and server.port
    listener = Listener(server.port, server.tokens.add("PI office", "observer"))
    try:
        qtbot.waitUntil(listener.live.is_set, timeout=20_000)
        key = "gonogo/gonogo.py"
        assert w.experiments.select(key)
        qtbot.waitUntil(lambda: w.current_key() == key)
        w.form.set_values({"participant": "nb01", "nTrials": 8, "feedback": False})
        n_runs = len(c.session.run_records)
        seen: dict = {}
        script = during_run()

        def running():
            recs = c.session.run_records
            return len(recs) > n_runs and recs[-1].n_trials >= 2

        def press_ctrl_n():
            seen["trial_at_press"] = c.session.run_records[-1].n_trials
            _xdotool("windowfocus", int(w.winId()))
            time.sleep(0.05)
            _xdotool("key", "ctrl+n")

        def type_note():
            dlg = c.notebook.dialog
            seen["where"] = dlg.where.text()
            _xdotool("windowfocus", int(dlg.winId()))
            time.sleep(0.05)
            _xdotool("type", "--delay", "15", "3participant sneezed")

        def press_enter():
            _xdotool("key", "Return")

        def shoot():
            path = (SHOTS or tmp_path) / "notebook.png"
            w.trial_plot.flush()
            w.grab().save(str(path))
            seen["shot"] = path

        script.when(running, press_ctrl_n, "ctrl+n")
        script.when(lambda: c.notebook.dialog is not None and c.notebook.dialog.isVisible(), type_note, "type")
        script.when(
            lambda: c.notebook.dialog is not None and c.notebook.dialog.text.text() == "participant sneezed",
            press_enter,
            "enter",
        )
        script.when(lambda: c.notebook.dialog is None and w.trial_plot.plot.note_items, shoot, "shot")
        script.start()
        w.run_action.trigger()
        qtbot.waitUntil(
            lambda: len(c.session.run_records) > n_runs and c.session.run_records[-1].ended is not None, timeout=120_000
        )
        script.check(["ctrl+n", "type", "enter", "shot"])
        rec = c.session.run_records[-1]
        assert rec.state == "finished", rec.error
        trial = seen["trial_at_press"]
        assert seen["where"].startswith(f"Note for trial {trial + 1} · ")

        # in the session file, at its trial, with its marker code
        group = c.rig.recorder.group_for(rec)
        c.data_log.flush()
        with SessionFile(c.data_log.path) as f:
            notes = [a for a in f.annotations() if a["kind"] == "note"]
        assert [(n["text"], n["source"]) for n in notes] == [("participant sneezed", "console")]
        assert notes[0]["fields"] == {"run": group, "trial": trial, "marker": 3}

        # a marker on the console's trial plot, at that trial's number, labelled with the code
        assert w.trial_plot.plot.note_marks() == [(float(trial + 1), "3")]
        # listed in the Notes panel
        qtbot.waitUntil(lambda: c.notebook.dock.texts() == ["participant sneezed"], timeout=5000)
        assert c.notebook.dock.isVisible()
        # a remote observer got it from the stream
        qtbot.waitUntil(lambda: bool(listener.notes()), timeout=10_000)
        got = listener.notes()[0]
        assert got["text"] == "participant sneezed" and got["fields"]["trial"] == trial
        assert seen["shot"].stat().st_size > 10_000

        # an operator's note, remotely, while idle: a session note (no trial), seen by the observer too
        from rigconsole.remote import RemoteObserver

        op = RemoteObserver("127.0.0.1", server.port, server.tokens.add("second tech", "operator"))
        t_op = threading.Thread(target=lambda: seen.update(op_t=op.annotate("lights back on", marker=7)))
        t_op.start()
        qtbot.waitUntil(lambda: "op_t" in seen, timeout=20_000)
        t_op.join(5)
        qtbot.waitUntil(lambda: len(listener.notes()) == 2, timeout=10_000)
        remote = listener.notes()[1]
        assert remote["source"] == "remote:second tech" and remote["fields"] == {"marker": 7}
        qtbot.waitUntil(lambda: c.notebook.dock.texts() == ["participant sneezed", "lights back on"], timeout=5000)

        # rigconsole data FILE --csv: notes.csv, one row per note, with run, trial number and marker
        c.data_log.flush()
        with SessionFile(c.data_log.path) as f:
            paths = export_csv(f, tmp_path / "csv")
        notes_csv = tmp_path / "csv" / "notes.csv"
        assert notes_csv in paths
        with open(notes_csv, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert [(r["text"], r["run"], r["trial"], r["marker"], r["who"]) for r in rows] == [
            ("participant sneezed", group.split("/", 1)[1], str(trial + 1), "3", "console"),
            ("lights back on", "", "", "7", "remote:second tech"),
        ]
    finally:
        listener.close()


def test_bad_note_keeps_the_box_open_with_a_one_line_error(qtbot, console):
    c = console
    dlg = c.notebook.open_note()
    dlg.text.setText("   ")
    dlg.accept()
    assert dlg.isVisible() and "needs some text" in dlg.error.text()
    assert not [a for a in c.data_log.annotations() if a["kind"] == "note"]
    dlg.text.setText("lights on")
    dlg.set_marker(2)
    dlg.accept()
    notes = [a for a in c.data_log.annotations() if a["kind"] == "note"]
    assert [(n["text"], n["fields"]) for n in notes] == [("lights on", {"marker": 2})]  # idle: a session note
