"""``psychopy.gui`` on PySide6: every dialog opens (auto-answered by a timer), and one opens mid-run."""

from __future__ import annotations

import csv
import sys
import textwrap

import pytest

import rigconsole.ui  # noqa: F401  (pins Qt to PySide6 before pytest-qt imports it)

pytest.importorskip("pytestqt")
# a dialog nobody answers would wait forever: fail instead
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def gui(qapp):
    from rigconsole.ui import psychopy_gui

    module = psychopy_gui.install()
    assert sys.modules["psychopy.gui"] is module and psychopy_gui.installed()
    return module


def answer(qtbot, action, attempts=1500):
    """Run ``action(dialog)`` on the next modal dialog once it is shown (from a Qt timer; tries
    every 20 ms for up to 30 s: a busy machine takes seconds to show a file dialog)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QDialog

    state = {"n": 0, "done": False, "seen": None}

    def modal_shown():
        return [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible() and w.isModal()]

    already = {id(w) for w in modal_shown()}  # a dialog of an earlier test that Qt still counts as shown

    def tick():
        # no window manager under Xvfb: nothing is activated, so look for the newly shown modal dialog
        shown = [w for w in modal_shown() if id(w) not in already]
        w = shown[-1] if shown else None
        state["n"] += 1
        if w is not None:
            state["seen"] = w
            action(w)
            state["done"] = True
        elif state["n"] < attempts:
            QTimer.singleShot(20, tick)

    QTimer.singleShot(20, tick)
    return state


def test_no_pyqt_and_no_wx(gui):
    assert gui.haveQt == "PySide6"
    assert "PyQt6" not in sys.modules and "PyQt5" not in sys.modules and "wx" not in sys.modules
    assert gui.QtWidgets.__name__ == "PySide6.QtWidgets"


# runs before the DlgFromDict test: after it, the file dialog never showed to the test's timer (not understood yet)
def test_file_dialogs(gui, qtbot, tmp_path):
    target = tmp_path / "conds.csv"
    target.write_text("a\n1\n")

    def pick(w):
        w.selectFile(str(target))
        w.accept()

    answer(qtbot, pick)
    assert gui.fileOpenDlg(tryFilePath=str(tmp_path), prompt="Open") == [str(target)]
    out = tmp_path / "out.csv"

    def save(w):
        w.selectFile(str(out))
        w.accept()

    answer(qtbot, save)
    assert gui.fileSaveDlg(initFilePath=str(tmp_path), initFileName="out.csv") == str(out)
    answer(qtbot, lambda w: w.reject())
    assert gui.fileOpenDlg(tryFilePath=str(tmp_path)) is None


def test_dlg_returns_the_fields_on_ok(gui, qtbot):
    dlg = gui.Dlg(title="Subject info")
    dlg.addText("Subject info")
    dlg.addField("Name:", "ann")
    dlg.addField("Age:", 21)
    dlg.addField("Group:", choices=["Test", "Control"], initial="Control")

    def fill(w):
        w.inputFields[1].setText("34")
        w.inputFields[1].textEdited.emit("34")
        w.accept()

    state = answer(qtbot, fill)
    data = dlg.show()
    assert state["done"] and state["seen"] is dlg
    assert dlg.OK is True
    assert list(data.values()) == ["ann", 34, "Control"]  # typed as the initial values (PsychoPy's conversion)


def test_dlg_cancelled_returns_none(gui, qtbot):
    dlg = gui.Dlg(title="x")
    dlg.addField("a", 1)
    answer(qtbot, lambda w: w.reject())
    assert dlg.show() is None and dlg.OK is False


def test_dlg_from_dict_updates_the_dict_in_place(gui, qtbot):
    info = {"participant|req": "", "session": 1, "group": ["A", "B"], "rig|fix": "rig-1", "date|hid": "today"}

    def fill(w):
        assert not w.okBtn.isEnabled()  # a required field is empty
        box = w.inputFields[0]  # the first shown field: participant (sortKeys=False keeps the dict's order)
        box.setText("p07")
        box.textEdited.emit("p07")
        assert w.okBtn.isEnabled()
        w.accept()

    state = answer(qtbot, fill)
    dlg = gui.DlgFromDict(info, title="expInfo", sortKeys=False)
    assert state["done"] and dlg.OK
    assert info["participant|req"] == "p07" and info["session"] == 1 and info["group"] == "A"
    assert info["date|hid"] == "today"


@pytest.mark.parametrize("fn", ["infoDlg", "warnDlg", "criticalDlg"])
def test_message_dialogs(gui, qtbot, fn):
    state = answer(qtbot, lambda w: (state.__setitem__("text", w.text()), w.accept()))
    assert getattr(gui, fn)(title="T", prompt=f"{fn} text") is None
    assert state["done"] and state["text"] == f"{fn} text"
    assert type(state["seen"]).__name__ == "QMessageBox"


MID_RUN = textwrap.dedent('''
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
                dlg = gui.DlgFromDict(answers, title='A question')
                thisExp.addData('dlg_ok', dlg.OK)
                thisExp.addData('confidence', answers['confidence'])
                thisExp.addData('strategy', answers['strategy'])
            thisExp.nextEntry()


    def saveData(thisExp):
        thisExp.saveAsWideText(thisExp.dataFileName + '.csv', delim=',')
''')


def test_dialog_opened_mid_run(gui, qtbot, tmp_path):
    from rigconsole import Session

    root = tmp_path / "root"
    (root / "asks").mkdir(parents=True)
    (root / "asks" / "asks.py").write_text(MID_RUN)
    s = Session(
        root,
        dataDir=tmp_path / "data",
        cache_dir=tmp_path / "cache",
        win={"size": [320, 240], "fullscr": False, "units": "height"},
        simulated_vsync_hz=60,
    )
    try:
        assert s.addExperiment("asks/asks.py"), s.experiment_files["asks/asks.py"].error

        def fill(w):
            keys = w._keys
            for key, text in (("confidence", "3"), ("strategy", "guessed")):
                box = w.inputFields[keys.index(key)]
                box.setText(text)
                box.textEdited.emit(text)
            w.accept()

        state = answer(qtbot, fill)
        assert s.runExperiment("asks/asks.py", {"participant": "g1"}) is True
        assert state["done"]
        rec = s.run_records[-1]
        assert rec.state == "finished", rec.error
        with open(next(f for f in rec.data_files if f.endswith(".csv")), newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == 4
        assert (rows[2]["dlg_ok"], rows[2]["confidence"], rows[2]["strategy"]) == ("True", "3", "guessed")
    finally:
        s.close()
