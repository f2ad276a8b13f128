"""``psychopy.gui`` in ``rigconsole run``: an experiment that opens a dialog mid-run gets PsychoPy's
dialog (on PySide6, with a QApplication made when it opens), a person answers it with real X key
presses (xdotool), and the answers land in the experiment's CSV and the session .h5."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

from support.csv_h5 import csv_rows

pytestmark = [
    pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool is installed by scripts/setup"),
    pytest.mark.timeout(300),
]

ASKS = textwrap.dedent('''
    """Asks the participant a question with psychopy.gui after trial 2."""
    from psychopy import visual, data, gui

    expName = 'asks'
    expInfo = {'participant': 'p1', 'date|hid': '', 'expName|hid': expName}


    def setupData(expInfo, dataDir=None):
        return data.ExperimentHandler(name=expName, extraInfo=expInfo,
                                      dataFileName=f"{dataDir}/{expInfo['participant']}_{expName}")


    def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
        stim = visual.TextStim(win, text='+')
        for i in range(4):
            for _ in range(3):
                stim.draw()
                win.flip()
            thisExp.addData('trial', i)
            if i == 2:
                answers = {'confidence': 5, 'strategy': ''}
                dlg = gui.DlgFromDict(answers, title='A question', sortKeys=False)
                thisExp.addData('dlg_ok', dlg.OK)
                thisExp.addData('confidence', answers['confidence'])
                thisExp.addData('strategy', answers['strategy'])
            thisExp.nextEntry()


    def saveData(thisExp):
        thisExp.saveAsWideText(thisExp.dataFileName + '.csv', delim=',')
''')


def _xdotool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=30, check=False)


def _wait_for_window(title: str, proc: subprocess.Popen, timeout_s: float = 120.0) -> str:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        found = _xdotool("search", "--name", f"^{title}$").stdout.split()
        if found:
            return found[0]
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"rigconsole run ended (exit {proc.returncode}) before the dialog opened:\n{err}")
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"no window named {title!r} within {timeout_s} s")


def test_a_dialog_opened_mid_run_is_answered_in_rigconsole_run(tmp_path):
    from rigconsole.datalog import DataLog

    (tmp_path / "asks").mkdir()
    script = tmp_path / "asks" / "asks.py"
    script.write_text(ASKS)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rigconsole.cli",
            "run",
            str(script),
            "--exp-info",
            "participant=d01",
            "--data-dir",
            str(tmp_path / "data"),
            "--window",
            "size=320,240",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        win = _wait_for_window("A question", proc)
        # as a person would: focus the dialog (no window manager under Xvfb), type into the
        # first field (confidence), Tab to the next (strategy), Enter presses OK
        assert _xdotool("windowfocus", "--sync", win).returncode == 0
        for args in (["key", "ctrl+a"], ["type", "3"], ["key", "Tab"], ["type", "guessed"], ["key", "Return"]):
            assert _xdotool(*args).returncode == 0, args
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "gui is not available" not in out + err
    files = out.split()
    rows = csv_rows(next(f for f in files if f.endswith(".csv")))
    assert len(rows) == 4
    assert (rows[2]["dlg_ok"], rows[2]["confidence"], rows[2]["strategy"]) == ("True", "3", "guessed")
    with DataLog(next(f for f in files if f.endswith(".h5")), readonly=True) as log:
        (run,) = log.runs()
        trials = log.trials(run)
    assert str(trials["strategy"][2]) == "guessed" and float(trials["confidence"][2]) == 3.0


def test_a_dry_run_does_not_wait_for_a_dialog_nobody_answers(tmp_path):
    """A dry run has no person at the rig: the dialog is not offered, the run ends (failed at that line)."""
    (tmp_path / "asks").mkdir()
    script = tmp_path / "asks" / "asks.py"
    script.write_text(ASKS)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "rigconsole.cli",
            "run",
            str(script),
            "--simulate-participant",
            "--data-dir",
            str(tmp_path / "data"),
            "--window",
            "size=320,240",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 1, out.stderr
    assert "asks.py:23" in out.stdout + out.stderr
