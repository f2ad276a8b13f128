"""``rigconsole observe`` in a terminal (an SSH session, no display): it says so in one line, prints
the rig's status, then one line per trial and run event of a live headless run
(``rigconsole run ... --remote``), until Ctrl+C (exit 0); it never aborts in Qt."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from rigconsole.remote.cli import event_line, status_line

pytestmark = pytest.mark.timeout(300)

N_TRIALS = 40

PACED = textwrap.dedent(f'''
    """{N_TRIALS} trials of 15 frames (a quarter second at the simulated 60 Hz): slow enough to watch.
    A plain loop: PsychoPy knows no total, so the lines say "trial n", not "n of N"."""
    from psychopy import visual, data

    expName = 'paced'
    expInfo = {{'participant': 'p1', 'date|hid': '', 'expName|hid': expName}}


    def setupData(expInfo, dataDir=None):
        return data.ExperimentHandler(name=expName, extraInfo=expInfo,
                                      dataFileName=f"{{dataDir}}/{{expInfo['participant']}}_{{expName}}")


    def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
        stim = visual.TextStim(win, text='+')
        for i in range({N_TRIALS}):
            for _ in range(15):
                stim.draw()
                win.flip()
            thisExp.addData('trial', i)
            thisExp.addData('key', 'space' if i % 2 else 'none')
            thisExp.nextEntry()


    def saveData(thisExp):
        thisExp.saveAsWideText(thisExp.dataFileName + '.csv', delim=',')
''')


def _lines(stream, q: queue.Queue) -> None:
    for line in stream:
        q.put(line.rstrip("\n"))
    q.put(None)


def _wait_line(q: queue.Queue, pattern: str, seen: list[str], timeout_s: float) -> re.Match:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            line = q.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            raise AssertionError(f"the stream ended before a line matched {pattern!r}:\n" + "\n".join(seen))
        seen.append(line)
        m = re.search(pattern, line)
        if m:
            return m
    raise AssertionError(f"no line matched {pattern!r} within {timeout_s} s:\n" + "\n".join(seen))


def _reader(proc: subprocess.Popen, stream) -> queue.Queue:
    q: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(stream, q), daemon=True).start()
    return q


def test_observe_with_no_display_follows_a_live_headless_run(tmp_path):
    from rigconsole.remote import TokenStore

    tokens = tmp_path / "tokens.json"
    token = TokenStore(tokens).add("PI office", "observer")
    (tmp_path / "paced").mkdir()
    script = tmp_path / "paced" / "paced.py"
    script.write_text(PACED)
    env = {**os.environ, "RIGCONSOLE_REMOTE_TOKENS": str(tokens)}
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rigconsole.cli",
            "run",
            str(script),
            "--exp-info",
            "participant=ssh01",
            "--data-dir",
            str(tmp_path / "data"),
            "--window",
            "size=320,240",
            "--simulate-vsync",
            "60",
            "--remote",
            "127.0.0.1:0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    observe = None
    try:
        run_err = _reader(run, run.stderr)
        port = int(_wait_line(run_err, r"remote attach: http://127\.0\.0\.1:(\d+)/", [], 120).group(1))
        # an SSH session: no DISPLAY, no WAYLAND_DISPLAY
        no_display = {k: v for k, v in env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        observe = subprocess.Popen(
            [sys.executable, "-m", "rigconsole.cli", "observe", f"127.0.0.1:{port}", "--token", token],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=no_display,
        )
        out, seen = _reader(observe, observe.stdout), []
        _wait_line(out, r"^rig \S+: (idle|running)", seen, 60)  # the status first
        first = int(_wait_line(out, r"^\d\d:\d\d:\d\d trial (\d+): trial=\d+, key=(space|none)$", seen, 120).group(1))
        _wait_line(out, rf"^\d\d:\d\d:\d\d trial {first + 1}: ", seen, 30)  # one line each, in order
        _wait_line(out, rf"^\d\d:\d\d:\d\d run 1 \(paced\.py\) finished: {N_TRIALS} trials$", seen, 120)
        observe.send_signal(signal.SIGINT)  # Ctrl+C
        observe.wait(30)
        err = observe.stderr.read()
        assert observe.returncode == 0, (observe.returncode, err)
        said = "rigconsole observe: no display here: following the rig in this terminal (--text)"
        assert err.splitlines()[:1] == [said], err
        assert "Qt" not in err and "Traceback" not in err, err
        trials = [int(m.group(1)) for line in seen if (m := re.match(r"^\d\d:\d\d:\d\d trial (\d+):", line))]
        assert trials == list(range(first, N_TRIALS + 1)), trials  # none lost, none repeated
        assert not any(line.startswith("{") for line in seen)  # lines for a person, not JSON
        assert not any(line.endswith(" finished") for line in seen)  # the end is said once
        assert run.wait(120) == 0, run.stderr.read()
    finally:
        for p in (observe, run):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(10)


def test_lines_for_a_person():
    assert (
        status_line({"rig": "rig-2", "state": "running", "run": {"key": "gonogo/gonogo.py"}, "trial": 3, "of": 8})
        == "rig rig-2: running, gonogo/gonogo.py trial 3 of 8"
    )
    run = {
        "index": 2,
        "key": "gonogo/gonogo.py",
        "state": "running",
        "expInfo": {"participant": "P01"},
        "t0_epoch": time.time(),
        "trial": 0,
        "of": 8,
    }
    assert event_line({"type": "run_started", "run": run}).endswith(
        " run 2 (gonogo/gonogo.py) started: participant=P01"
    )
    row = {"trial": 1, "rt": 0.4213, "participant": "P01", "key_resp.started": 1.2, "notes": "", "x": float("nan")}
    assert event_line({"type": "trial", "n": 2, "of": 8, "row": row}, {"participant"}).endswith(
        " trial 2 of 8: trial=1, rt=0.4213"
    )
    assert event_line({"type": "trial", "n": 2, "of": None, "row": {"w": "y" * 500}}).endswith("...")
    assert len(event_line({"type": "trial", "n": 2, "row": {f"c{i}": i for i in range(200)}})) == 200
    failed = {**run, "state": "failed", "trial": 3, "error": "ValueError: x", "error_at": "exp.py:12", "ended": 0.0}
    assert event_line({"type": "run_ended", "run": failed}).endswith(
        " run 2 (gonogo/gonogo.py) failed: 3 of 8 trials; ValueError: x at exp.py:12"
    )
    assert event_line({"type": "values", "t": 1.0, "values": {"x": 1.0}}) is None


def test_text_is_chosen_with_a_dead_display_socket_too(monkeypatch):
    from rigconsole.remote.cli import display_available

    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":987")  # no X server there
    assert display_available() is False
    monkeypatch.delenv("DISPLAY")
    assert display_available() is False
    monkeypatch.setenv("DISPLAY", "localhost:10.0")  # ssh -X: taken on trust
    assert display_available() is True
