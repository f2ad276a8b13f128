"""The stall guard's rule: where console code may be served from an interruption
(the experiment's own code, PsychoPy's data handling and waiting functions, up to the
session's run step) and where it is not (any other library, Rig Console's own code)."""

from __future__ import annotations

import dis
import os
import sys
import time

import pytest

from rigconsole.session.stall import StallGuard


def _compiled(path, source):
    """Functions of ``source`` as if defined in the file ``path`` (their frames carry it)."""
    namespace: dict = {}
    exec(compile(source, str(path), "exec"), namespace)
    return namespace


def _driver(fn, *args):  # stands for the session's run step (the boundary)
    return fn(*args)


def test_the_rule_walks_the_stack_up_to_the_run_step(tmp_path):
    exp = _compiled(tmp_path / "exp" / "exp.py", "def run(f, *a):\n    return f(*a)\n")
    lib = _compiled(tmp_path / "lib" / "lib.py", "import sys\ndef helper():\n    return sys._getframe()\n")
    import psychopy.data

    data_dir = os.path.dirname(psychopy.data.__file__)
    pdata = _compiled(os.path.join(data_dir, "not_a_real_module.py"), "def save(f):\n    return f()\n")
    guard = StallGuard(lambda: None)
    guard.configure({_driver.__code__}, experiment_folders=[tmp_path / "exp"])

    in_experiment = _driver(exp["run"], sys._getframe)  # the experiment's own frame
    assert guard.may_serve(in_experiment)
    in_library = _driver(exp["run"], lib["helper"])  # a library called by the experiment
    assert not guard.may_serve(in_library)
    assert guard.may_serve(in_library.f_back)  # ... once it has returned into the experiment
    in_psychopy_data = _driver(exp["run"], pdata["save"], sys._getframe)
    assert guard.may_serve(in_psychopy_data)
    assert not guard.may_serve(exp["run"](sys._getframe))  # not below a run step: never

    from psychopy import clock, event
    from psychopy.hardware import keyboard

    for fn in (clock.wait, event.waitKeys, keyboard.Keyboard.waitKeys):
        assert guard._code_allowed(fn.__code__), fn  # PsychoPy's waiting functions
    from rigconsole.datalog import DataLog

    assert not guard._code_allowed(DataLog.add_entry.__code__)  # Rig Console's own code may hold its locks


def _served_session(tmp_path, make_session, name, source, lib_source=None):
    """A session (60 Hz simulated) with one experiment ``name/name.py`` and, optionally, a
    library ``lib/slowlib.py`` outside its folder; the console pump records when it ran and
    the stack it ran on. Returns ``(session, served)``, served ``[(t, [(file, opname)])]``:
    each frame's file and the instruction it is at."""

    root = tmp_path / "root"
    (root / name).mkdir(parents=True)
    (root / name / f"{name}.py").write_text(source.replace("LIBDIR", repr(str(tmp_path / "lib"))))
    if lib_source is not None:
        (tmp_path / "lib").mkdir()
        (tmp_path / "lib" / "slowlib.py").write_text(lib_source)
    s = make_session(root, scan=True, simulated_vsync_hz=60)
    served: list = []

    def pump(budget_s):
        files, f = [], sys._getframe(1)
        while f is not None:
            files.append((f.f_code.co_filename, dis.opname[f.f_code.co_code[f.f_lasti]]))
            f = f.f_back
        served.append((time.perf_counter(), files))

    s.connect_console(pump)
    return s, served


def _running_in(served, prefix):
    """Serves during which code from ``prefix`` was running: a frame of it on the stack that
    is not at its return (a frame at RETURN_VALUE has finished its body: its ``with``
    blocks and ``finally`` clauses have run; the guard serves as it returns into allowed code)."""
    return [stack for _, stack in served if any(f.startswith(prefix) and op != "RETURN_VALUE" for f, op in stack)]


_CALLS_A_LIBRARY = """
import sys, time
sys.path.insert(0, LIBDIR)
import slowlib
from psychopy import data
from psychopy.constants import STARTED

expInfo = {"participant": "p"}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name="lib", extraInfo=expInfo, savePickle=False, saveWideText=False,
                                  dataFileName=f"{dataDir}/data/lib")


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    thisExp.status = STARTED
    t0 = time.perf_counter()
    for _ in range(25):  # like Builder making its components: one library call after another
        slowlib.make(0.02)
    thisExp.addData("lib_start", t0)
    thisExp.addData("lib_end", time.perf_counter())
    thisExp.nextEntry()
    for _ in range(3):
        win.flip()
"""

_SLOWLIB = """
import time

def make(seconds):
    t_end = time.perf_counter() + seconds
    total = 0
    while time.perf_counter() < t_end:
        total += sum(i * i for i in range(100))
    return total
"""


@pytest.mark.timing
def test_library_calls_are_never_interrupted_and_the_console_is_served_between_them(tmp_path, make_session):
    s, served = _served_session(tmp_path, make_session, "lib", _CALLS_A_LIBRARY, _SLOWLIB)
    rows = []
    s.events.trial_added.connect(lambda rec, row: rows.append(row))
    assert s.runExperiment("lib/lib.py", {"participant": "p"})
    start, end = rows[0]["lib_start"], rows[0]["lib_end"]
    slowlib = str(tmp_path / "lib" / "slowlib.py")
    inside = _running_in(served, slowlib)
    assert not inside, inside[0]
    during = [t for t, _ in served if start < t < end]
    gaps = [b - a for a, b in zip([start, *during], [*during, end])]
    assert len(during) >= 5, (end - start, len(during))
    assert max(gaps) < 0.1, gaps  # 20 ms calls: served at the returns, within a call or so of the limit
    assert s.frame_hook.guard.deferrals >= 5


_WAITS = """
import time
from psychopy import core, data
from psychopy.constants import STARTED

expInfo = {"participant": "p"}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name="waits", extraInfo=expInfo, savePickle=False, saveWideText=False,
                                  dataFileName=f"{dataDir}/data/waits")


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    thisExp.status = STARTED
    t0 = time.perf_counter()
    core.wait(0.5, hogCPUperiod=0)
    thisExp.addData("wait_start", t0)
    thisExp.addData("wait_end", time.perf_counter())
    thisExp.nextEntry()
    for _ in range(3):
        win.flip()
"""


@pytest.mark.timing
def test_the_console_is_served_inside_core_wait(tmp_path, make_session):
    s, served = _served_session(tmp_path, make_session, "waits", _WAITS)
    rows = []
    s.events.trial_added.connect(lambda rec, row: rows.append(row))
    assert s.runExperiment("waits/waits.py", {"participant": "p"})
    start, end = rows[0]["wait_start"], rows[0]["wait_end"]
    during = [t for t, _ in served if start < t < end]
    gaps = [b - a for a, b in zip([start, *during], [*during, end])]
    assert len(during) >= 6 and max(gaps) < 0.1, gaps


_LOGS_A_LOT = """
import time
from psychopy import data
from psychopy.constants import STARTED

expInfo = {"participant": "p"}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name="logs", extraInfo=expInfo, savePickle=False, saveWideText=False,
                                  dataFileName=f"{dataDir}/data/logs")


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    thisExp.status = STARTED
    t_end = time.perf_counter() + 0.4
    n = 0
    while time.perf_counter() < t_end:
        thisSession.data_log.add_entry(x=float(n))
        n += 1
    thisExp.addData("n", n)
    thisExp.nextEntry()
    for _ in range(3):
        win.flip()
"""


@pytest.mark.timing
def test_console_code_never_runs_inside_the_data_log(tmp_path, make_session):
    """The data log's locks are re-entrant: console code on the same thread must never run while
    the experiment is inside ``add_entry`` (it would see a half-made update)."""
    import rigconsole.datalog
    from rigconsole.datalog import DataLog, new_session_path

    s, served = _served_session(tmp_path, make_session, "logs", _LOGS_A_LOT)
    log = DataLog(new_session_path(tmp_path / "h5"))
    try:
        s.use_data_log(log)
        t0 = time.perf_counter()
        assert s.runExperiment("logs/logs.py", {"participant": "p"})
    finally:
        s.use_data_log(None)
        log.close()
    package = os.path.dirname(rigconsole.datalog.__file__)
    inside = _running_in(served, package)
    assert not inside, inside[0]
    assert len([t for t, _ in served if t > t0]) >= 6  # served between the calls


_LOGS_FOR_PSYCHOPY = """
from psychopy import data, logging
from psychopy.constants import STARTED

expInfo = {"participant": "p"}


def setupData(expInfo, dataDir=None):
    return data.ExperimentHandler(name="plog", extraInfo=expInfo, savePickle=False, saveWideText=False,
                                  dataFileName=f"{dataDir}/data/plog")


def run(expInfo, thisExp, win, globalClock=None, thisSession=None):
    thisExp.status = STARTED
    win.flip()
    for i in range(60000):  # PsychoPy keeps them until logging.flush(): the session's, at the run's end
        logging.data(f"a line of the experiment's log, number {i}")
    thisExp.nextEntry()
"""


@pytest.mark.timing
def test_the_console_is_served_while_psychopys_log_is_written_at_the_runs_end(tmp_path, make_session):
    """The wrap-up's ``logging.flush()`` writes every line the run logged (35-100 ms for a
    typical run, longer here): the guard serves inside PsychoPy's log writing."""
    import psychopy.logging

    s, served = _served_session(tmp_path, make_session, "plog", _LOGS_FOR_PSYCHOPY)
    assert s.runExperiment("plog/plog.py", {"participant": "p"})
    inside = _running_in(served, psychopy.logging.__file__)
    assert inside, "never served while PsychoPy's log was written"
