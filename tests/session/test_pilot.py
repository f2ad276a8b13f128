"""Pilot mode through the run owner, on a real stimulus window (core suite: Qt blocked).

A pilot run (PsychoPy's pilot mode, ``psychopy.piloting``) lands in ``<data folder>/pilot``, is
marked pilot in its session file and in PsychoPy's CSV (the ``piloting`` column Builder scripts
write), gets ``"pilot"`` as its participant, and has PsychoPy's orange piloting border on the
stimulus window, read here from the window's own pixels by the experiment itself while it runs.
A real run after it has no border and writes to the data folder as before.
"""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

import h5py
import pytest

from rigconsole.datalog.schema import read_annotations
from rigconsole.rig import PILOT_FOLDER, Rig
from rigconsole.settings import Settings

WINDOW = {"size": [320, 240], "fullscr": False, "units": "height", "color": "grey"}
#: PsychoPy's piloting indicator colour (``Window.showPilotingIndicator``: ``#EC9703``)
ORANGE = (0xEC, 0x97, 0x03)

#: a plain experiment script that reads its own window's pixels before each flip: the frame it is
#: about to show (back buffer), at the left edge (where the border goes) and in the middle
PROBE = """
from psychopy import visual, data
from psychopy.constants import STARTED

expName = 'probe'
expInfo = {'participant': '', 'nTrials': 3, 'date|hid': '', 'expName|hid': expName}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(
        name=expName, extraInfo=expInfo,
        dataFileName=f"{dataDir}/{expInfo['participant']}_{expName}_{expInfo['date']}",
    )


def setupWindow(expInfo=None, win=None):
    return win


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    dot = visual.Circle(win, radius=0.05, fillColor='white', lineColor='white')
    thisExp.status = STARTED
    for i in range(int(expInfo['nTrials'])):
        dot.draw()
        frame = win.getMovieFrame(buffer='back')
        win.movieFrames.clear()
        w, h = frame.size
        thisExp.addData('trial', i)
        thisExp.addData('edge_rgb', '%d %d %d' % frame.getpixel((2, h // 2))[:3])
        thisExp.addData('top_rgb', '%d %d %d' % frame.getpixel((w // 2, 3))[:3])
        thisExp.addData('middle_rgb', '%d %d %d' % frame.getpixel((w // 2, h // 2))[:3])
        win.flip()
        thisExp.nextEntry()


def saveData(thisExp):
    thisExp.saveAsWideText(thisExp.dataFileName + '.csv', delim=',')
"""


@pytest.fixture
def probe(tmp_path) -> Path:
    folder = tmp_path / "probe_exp"
    folder.mkdir()
    path = folder / "probe.py"
    path.write_text(textwrap.dedent(PROBE))
    return path


@pytest.fixture
def rig(exp_root, tmp_path):
    r = Rig(Settings(root=exp_root, data_dir=tmp_path / "data"), window_params=WINDOW, simulated_vsync_hz=60)
    yield r
    r.close()


def _rgb(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split())


def _near(rgb, want, tol=6) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(rgb, want, strict=True))


def _csv_rows(files) -> list[dict]:
    (path,) = [f for f in files if f.endswith(".csv")]
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_a_pilot_run_lands_in_pilot_marked_with_the_orange_border_and_a_real_run_after_has_none(rig, probe, tmp_path):
    data = tmp_path / "data"
    q = rig.queue
    participant_file = rig.data_log.path

    item = q.run_now(probe, {}, mode="pilot")
    assert item.exp_info["participant"] == "pilot"  # PsychoPy's default participant in pilot mode
    q.run_until_idle()
    assert item.state == "finished", item.outcome.sentence()
    rec = item.record
    assert rec.pilot and rec.exp_info["participant"] == "pilot"
    assert rec.data_files and all(Path(f).is_relative_to(data / PILOT_FOLDER) for f in rec.data_files)
    # the orange border, read from the window's pixels during the run (every trial's frame)
    rows = _csv_rows(rec.data_files)
    assert len(rows) == 3
    for row in rows:
        assert _near(_rgb(row["edge_rgb"]), ORANGE) and _near(_rgb(row["top_rgb"]), ORANGE), row
        assert _near(_rgb(row["middle_rgb"]), (255, 255, 255)), row  # the experiment's own drawing
    # the CSV: PsychoPy's `piloting` column, as a Builder script's setupData writes it
    assert rows[0]["piloting"] == "True"
    # back in the data folder, out of pilot mode, the border gone from the window
    assert rig.session.dataDir == data and rig.data_log.path == participant_file
    assert not rig.session.pilot_mode and not rig.session.win._showPilotingIndicator
    from psychopy import piloting

    assert piloting.getPilotMode() is False
    pilot_files = sorted((data / PILOT_FOLDER).glob("session_*.h5"))
    assert len(pilot_files) == 1

    # a real run of the experiment after its pilot runs: the console asks once (RunQueue.after_pilot)
    assert q.after_pilot(probe) and q.after_pilot(item.key)
    real = q.run_now(probe, {"participant": "P01"})
    q.run_until_idle()
    assert real.state == "finished", real.outcome.sentence()
    assert not q.after_pilot(item.key)  # asked once: the next real run follows a real run
    rec2 = real.record
    assert not rec2.pilot
    assert rec2.data_files and not any(Path(f).is_relative_to(data / PILOT_FOLDER) for f in rec2.data_files)
    assert all(Path(f).parent == data for f in rec2.data_files)
    rows = _csv_rows(rec2.data_files)
    for row in rows:
        assert not _near(_rgb(row["edge_rgb"]), ORANGE) and not _near(_rgb(row["top_rgb"]), ORANGE), row
        assert _near(_rgb(row["edge_rgb"]), (128, 128, 128), tol=2), row  # the window's grey
    assert "piloting" not in rows[0]

    # a second pilot run appends to the same pilot session file
    again = q.run_now(probe, {"participant": "tester"}, mode="pilot")
    q.run_until_idle()
    assert again.record.pilot and again.record.exp_info["participant"] == "tester"  # a given one is kept
    assert sorted((data / PILOT_FOLDER).glob("session_*.h5")) == pilot_files
    rig.close()

    with h5py.File(pilot_files[0], "r") as f:
        assert json.loads(f["metadata"].attrs["pilot"]) == {"pilot": True, "psychopy_piloting": True}
        runs = [f["runs"][r] for r in f["runs"]]
        assert len(runs) == 2 and all(bool(r.attrs["pilot"]) for r in runs)
    with h5py.File(participant_file, "r") as f:
        meta = f.get("metadata")
        assert meta is None or "pilot" not in meta.attrs  # a participant's session file is never marked
        (run,) = [f["runs"][r] for r in f["runs"]]
        assert "pilot" not in run.attrs and run.attrs["experiment"] == item.key
        notes = [(a["kind"], a["text"]) for a in read_annotations(f)]
        assert ("pilot", f"pilot run: the data go to {data / PILOT_FOLDER} until it ends") in notes
        assert ("pilot", f"pilot run ended: its data are in {pilot_files[0]}") in notes


def test_a_pending_item_switches_between_run_and_pilot(rig, probe):
    q = rig.queue
    q.pause()
    item = q.add(probe, {"participant": ""}, mode="run")
    assert item.exp_info["participant"] == ""
    assert q.set_mode(item.id, "pilot").mode == "pilot" and item.exp_info["participant"] == "pilot"
    assert q.participant_is_pilot(item.exp_info)
    q.set_mode(item.id, "run")
    assert item.mode == "run" and item.exp_info["participant"] == "pilot"  # kept: the console asks
    with pytest.raises(ValueError, match="mode must be"):
        q.set_mode(item.id, "rehearsal")
    with pytest.raises(KeyError):
        q.set_mode(999, "pilot")
    assert item.summary()["mode"] == "run"


def test_pilot_mode_follows_psychopys_pilot_window_settings_and_undoes_them(exp_root, make_session):
    """PsychoPy's prefs.piloting (defaults): a full-screen stimulus window is windowed at 800x600 and
    shows the mouse in pilot mode (a Builder script does this to a window it makes); after it, the
    one persistent window is full screen again, with the mouse as it was and no border."""
    s = make_session(exp_root, win={"fullscr": True, "units": "height"})
    s.setupWindowFromParams({"fullscr": True, "units": "height"})
    win = s.win
    assert win.fullscr and list(win.size) != [800, 600]
    full_size = list(win.size)
    win.mouseVisible = False
    s.set_pilot_mode(True)
    assert s.pilot_mode and not s.win.fullscr and list(s.win.size) == [800, 600]
    assert s.win.mouseVisible and s.win._showPilotingIndicator
    s.set_pilot_mode(False)
    assert not s.pilot_mode and s.win.fullscr and list(s.win.size) == full_size
    assert not s.win._showPilotingIndicator
    from psychopy import piloting

    assert piloting.getPilotMode() is False
    # a windowed window stays as it is; the mouse comes back as it was
    s.setupWindowFromParams({"fullscr": False, "size": [320, 240]})
    s.win.mouseVisible = False
    s.set_pilot_mode(True)
    assert list(s.win.size) == [320, 240] and s.win.mouseVisible
    s.set_pilot_mode(False)
    assert list(s.win.size) == [320, 240] and not s.win.mouseVisible
