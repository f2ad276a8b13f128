"""``rigconsole run PLAN`` headless, as a technician runs it: a real stimulus window under Xvfb,
real key presses (xdotool) into it, real data files; kill -9 during item 2 and ``--resume``."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "resources" / "experiments"

needs_xdotool = pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool is installed by scripts/setup")


class KeyPresser:
    """Presses keys on the X display from another thread, as a participant would."""

    def __init__(self, keys, interval=0.35):
        self.keys, self.interval = keys, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        i = 0
        while not self._stop.wait(self.interval):
            subprocess.run(["xdotool", "key", self.keys[i % len(self.keys)]], check=False)
            i += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)


def _cmd(*args):
    return [
        sys.executable,
        "-m",
        "rigconsole.cli",
        "run",
        *map(str, args),
        "--window",
        "size=640,480",
        "--simulate-vsync",
        "60",
    ]


def _env(tmp_path):
    return dict(os.environ, RIGCONSOLE_LOG_DIR=str(tmp_path / "log"))


def _csv_rows(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


@needs_xdotool
def test_a_three_item_plan_runs_end_to_end_for_one_participant(tmp_path, gng_root):
    from rigconsole.datalog import DataLog

    plan = tmp_path / "battery.yaml"
    plan.write_text(f"""name: three tasks
fields: {{participant: "", session: "001"}}
items:
  - experiment: {BUNDLED / "gonogo" / "gonogo.py"}
    expInfo: {{nTrials: 6}}
    after: {{break: "Rest a moment. Press SPACE to go on."}}
  - experiment: {BUNDLED / "detection" / "detection.psyexp"}
  - experiment: {gng_root / "GoNoGo" / "gng.psyexp"}
""")
    data = tmp_path / "d"
    with KeyPresser(["s", "space", "space"]):
        out = subprocess.run(
            _cmd(plan, "--exp-info", "participant=s07", "--data-dir", data),
            capture_output=True,
            text=True,
            timeout=600,
            env=_env(tmp_path),
        )
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("plan item ")]
    assert [line.split(":")[0] for line in lines] == [
        "plan item 1 of 3 (gonogo)",
        "plan item 2 of 3 (detection)",
        "plan item 3 of 3 (gng)",
    ], out.stderr
    assert all(": run finished: " in line for line in lines), lines
    files = out.stdout.split()
    csvs = [f for f in files if f.endswith(".csv")]
    assert len(csvs) == 3
    for f in csvs:  # every run's CSV carries the participant typed once
        rows = _csv_rows(f)
        assert rows and all(r["participant"] == "s07" for r in rows), f
    (h5,) = [f for f in files if f.endswith(".h5")]
    with DataLog(h5, readonly=True) as log:
        runs = log.runs()
        infos = [log.run_info(r) for r in runs]
        meta = log.metadata("plan")
        notes = [a for a in log.annotations() if a["kind"] == "plan"]
    assert len(runs) == 3 and all(i["expInfo"]["participant"] == "s07" for i in infos)
    assert [i["outcome"] for i in infos] == ["finished"] * 3
    assert meta["participant"] == "s07" and meta["order"] == [0, 1, 2] and meta["plan_file"] == str(plan)
    assert [n["fields"]["run"] for n in notes] == runs
    # the break showed between items 1 and 2, and a key (SPACE) ended it
    log_text = (tmp_path / "log" / "rigconsole.log").read_text()
    assert "break after gonogo: 'Rest a moment. Press SPACE to go on.'" in log_text
    state = json.loads((data / "plans" / "s07_battery.json").read_text())
    assert [i["state"] for i in state["items"]] == ["finished"] * 3


def test_kill_9_during_item_2_then_resume_goes_on_at_item_2(tmp_path, exp_root):
    from rigconsole.datalog import DataLog

    plan = tmp_path / "plan.yaml"
    plan.write_text(f"""fields: {{participant: ""}}
items:
  - experiment: {exp_root / "simple" / "simple.py"}
    expInfo: {{nTrials: 3}}
  - experiment: {exp_root / "simple" / "simple.py"}
    expInfo: {{nTrials: 150}}
  - experiment: {exp_root / "simple" / "simple.py"}
    expInfo: {{nTrials: 2}}
""")
    data = tmp_path / "d"
    state_file = data / "plans" / "k9_plan.json"
    proc = subprocess.Popen(
        _cmd(plan, "--exp-info", "participant=k9", "--data-dir", data),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                items = json.loads(state_file.read_text())["items"]
            except (OSError, ValueError, KeyError):
                items = []
            if len(items) == 3 and items[1]["state"] == "running":
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        else:
            pytest.fail("item 2 never started")
        time.sleep(1.0)  # some of item 2's trials
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed = json.loads(state_file.read_text())
    assert [i["state"] for i in killed["items"]] == ["finished", "running", "pending"]
    (first_h5,) = data.glob("session_*.h5")
    assert killed["items"][0]["data_log"] == str(first_h5)

    def item1(path):
        subprocess.run([sys.executable, "-m", "rigconsole.cli", "data", "recover", str(path)], capture_output=True)
        with DataLog(path, readonly=True) as log:
            run = killed["items"][0]["run"]
            return log.run_info(run), {k: [repr(x) for x in v] for k, v in log.trials(run).items()}  # nan == nan

    info_before, trials_before = item1(first_h5)
    assert info_before["outcome"] == "finished" and len(trials_before["participant"]) == 3
    out = subprocess.run(
        _cmd(plan, "--exp-info", "participant=k9", "--data-dir", data, "--resume"),
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(tmp_path),
    )
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("plan item ")]
    assert [line.split(":")[0] for line in lines] == ["plan item 2 of 3 (simple)", "plan item 3 of 3 (simple)"]
    done = json.loads(state_file.read_text())
    assert [i["state"] for i in done["items"]] == ["finished"] * 3
    assert done["items"][0] == killed["items"][0]  # item 1's record as it was
    # item 1's run and trials are unchanged; items 2 and 3 went into the resumed session file
    assert item1(first_h5) == (info_before, trials_before)
    (second_h5,) = [p for p in data.glob("session_*.h5") if p != first_h5]
    with DataLog(second_h5, readonly=True) as log:
        runs = log.runs()
        assert [log.run_info(r)["n_trials"] for r in runs] == [150, 2]
        assert log.metadata("plan")["data_logs"] == [str(first_h5), str(second_h5)]
    again = subprocess.run(
        _cmd(plan, "--exp-info", "participant=k9", "--data-dir", data, "--resume"),
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(tmp_path),
    )
    assert again.returncode == 0 and "has run already" in again.stderr


def test_bad_plan_input_is_one_line_and_exit_2(tmp_path, exp_root):
    plan = tmp_path / "p.yaml"
    plan.write_text(f"items:\n  - experiment: {exp_root / 'simple' / 'simple.py'}\n    mode: fast\n")
    out = subprocess.run(
        _cmd(plan, "--exp-info", "participant=x"), capture_output=True, text=True, timeout=60, env=_env(tmp_path)
    )
    assert (
        out.returncode == 2
        and out.stderr.strip() == f"rigconsole: {plan}:3: items.0.mode: Input should be 'run', 'pilot' or 'dry run'"
    )
    plan.write_text(f"items:\n  - experiment: {exp_root / 'simple' / 'simple.py'}\n")
    out = subprocess.run(_cmd(plan), capture_output=True, text=True, timeout=60, env=_env(tmp_path))
    assert out.returncode == 2 and "give the participant" in out.stderr and len(out.stderr.splitlines()) == 1
    out = subprocess.run(
        _cmd(plan, "--exp-info", "participant=x", "--exp-info", "nTrials=3"),
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(tmp_path),
    )
    assert out.returncode == 2 and "no field 'nTrials'" in out.stderr


def test_the_worst_outcome_is_the_exit_status_and_a_psyrun_runs(tmp_path, exp_root):
    runner = [
        {"path": str(exp_root / "simple"), "file": "simple.py", "runMode": "run"},
        {"path": str(exp_root / "failing"), "file": "raises.py", "runMode": "run"},
        {"path": str(exp_root / "simple"), "file": "simple.py", "runMode": "pilot"},
    ]
    psyrun = tmp_path / "tasks.psyrun"
    psyrun.write_text(json.dumps(runner))
    out = subprocess.run(
        _cmd(psyrun, "--exp-info", "participant=w1", "--data-dir", tmp_path / "d"),
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(tmp_path),
    )
    assert out.returncode == 1, out.stderr  # one failed item: the plan's worst outcome
    lines = [line for line in out.stderr.splitlines() if line.startswith("plan item ")]
    assert len(lines) == 3 and "run failed at " in lines[1] and ": run finished: " in lines[2]


def test_simulate_participant_dry_runs_a_whole_plan(tmp_path, exp_root):
    plan = tmp_path / "p.yaml"
    plan.write_text(f"""fields: {{participant: ""}}
items:
  - experiment: {exp_root / "simple" / "simple.py"}
    expInfo: {{nTrials: 2}}
    after: {{break: "Rest"}}
  - experiment: {exp_root / "simple" / "simple.py"}
    expInfo: {{nTrials: 1}}
""")
    data = tmp_path / "d"
    out = subprocess.run(
        _cmd(plan, "--exp-info", "participant=sim", "--data-dir", data, "--simulate-participant"),
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(tmp_path),
    )
    assert out.returncode == 0, out.stderr
    reports = [line for line in out.stdout.splitlines() if line.startswith("QA report: ")]
    assert len(reports) == 2 and all(line.endswith("simple.py: completed") for line in reports), reports
    files = [f for f in out.stdout.split() if f.endswith((".csv", ".h5"))]
    assert files and all(Path(f).is_relative_to(data / "dry-runs") for f in files), files
