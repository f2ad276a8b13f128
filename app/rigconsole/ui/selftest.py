"""``rigconsole --self-test``: does this installation work? One line per check, exit 0 when all pass.

It starts the real console with Qt offscreen (``QT_QPA_PLATFORM=offscreen``:
no console window appears) and its PsychoPy stimulus window hidden (pyglet
still needs an X display on Linux: the desktop's, or ``xvfb-run`` on a
server), loads the bundled demos, opens the simulated VISA rig (pyvisa-sim),
runs the go/no-go demo for :data:`N_TRIALS` trials through the console's own
Run action, closes the console, then re-reads the session's HDF5 data file and
the run's CSV. The frozen build and CI run it.

Output (stdout)::

    ok    qt: PySide6 6.10.1, Qt platform 'offscreen'
    ...
    self-test passed: 8 checks in 9.4 s (data in /home/tech/.cache/rigconsole/self-test/2026-12-01_221503)

On a failure the line reads ``FAIL  <check>: <one-line reason>``, the checks
after it are not run (each builds on the ones before), and the exit status is 1
with ``self-test FAILED at check '<check>'`` as the last line.

Nothing the technician has is touched: the settings file, data and log of the
self-test live in their own folder (kept, so the data file can be inspected).

Adding a check is one line in :data:`CHECKS`: a ``(name, function)`` pair whose
function takes the :class:`SelfTestContext`, returns a short detail string, and
raises (any exception; its first line is shown) when the check fails.
"""

from __future__ import annotations

import csv
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..notifications import one_line

__all__ = ["run_self_test", "SelfTestContext", "CHECKS", "N_TRIALS", "DEMO_KEY", "SelfTestFailure"]

#: go/no-go trials the self-test runs (0.5 s fixation + up to 0.8 s stimulus each)
N_TRIALS = 3
#: the bundled demo the self-test runs (key in the session's experiment registry)
DEMO_KEY = "gonogo/gonogo.py"
#: seconds the demo run may take before the check fails
RUN_TIMEOUT_S = 60.0
PARTICIPANT = "selftest"
OTHER_QT_BINDINGS = ("PyQt5", "PyQt6", "PySide2")


class SelfTestFailure(Exception):
    """A check failed; the message is the one line shown."""


@dataclass
class SelfTestContext:
    """What the checks share: the working folder and what earlier checks made.

    Attributes:
        work: the self-test's folder (settings file, data folder, log).
        console: the running :class:`rigconsole.ui.app.Console` (from the ``console`` check).
        record: the demo run's :class:`RunRecord` (from the ``run`` check).
        data_log_path: the session's HDF5 file.
        extras: free room for further checks (instruments, remote API).
    """

    work: Path
    console: Any = None
    record: Any = None
    data_log_path: Path | None = None
    extras: dict = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.work / "data"


# ---------------------------------------------------------------------------- checks
def check_qt(ctx: SelfTestContext) -> str:
    import rigconsole.ui  # noqa: F401  (pins PySide6, blocks the other bindings)

    # isort: split
    import PySide6
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    ctx.extras["app"] = app
    return f"PySide6 {PySide6.__version__}, Qt platform {app.platformName()!r}"


def check_display(ctx: SelfTestContext) -> str:
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise SelfTestFailure(
            "no display for the stimulus window: run it on the rig's desktop, or under xvfb-run on a server"
        )
    return os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform


def check_console(ctx: SelfTestContext) -> str:
    from rigconsole.settings import Settings, WindowSettings, default_root
    from rigconsole.ui.app import build_console

    # isort: split
    from psychopy import logging as pslogging

    pslogging.console.setLevel(pslogging.ERROR)  # one line per check on stdout; PsychoPy's go to the log
    root = default_root()
    if not (root / "gonogo" / "gonogo.py").is_file():
        raise SelfTestFailure(f"the bundled demos are missing: no {root / 'gonogo' / 'gonogo.py'}")
    settings = Settings(root=root, data_dir=ctx.data_dir, window=WindowSettings(size=(320, 240), fullscr=False))
    ctx.console = build_console(settings=settings, simulated_vsync_hz=60.0, show=True)
    win = ctx.console.session.win
    try:  # the subject screen stays dark: the stimulus window is hidden while the demo runs
        win.winHandle.set_visible(False)
    except Exception:
        pass
    ctx.data_log_path = Path(ctx.console.data_log.path)
    ctx.console.app.processEvents()
    w = ctx.console.window
    if not w.isVisible():
        raise SelfTestFailure("the console window did not show")
    return f"window {w.windowTitle()!r}, stimulus window {win.size[0]}x{win.size[1]} (hidden)"


def check_demos(ctx: SelfTestContext) -> str:
    session = ctx.console.session
    files = session.experiment_files
    if DEMO_KEY not in files:
        raise SelfTestFailure(
            f"{DEMO_KEY} is not listed (found: {', '.join(sorted(files)) or 'none'}) in {session.root}"
        )
    if files[DEMO_KEY].broken:
        raise SelfTestFailure(f"{DEMO_KEY} does not load: {files[DEMO_KEY].error}")
    if DEMO_KEY not in ctx.console.window.experiments.keys():
        raise SelfTestFailure(f"{DEMO_KEY} is not in the console's experiment list")
    return f"{len(files)} experiment(s) in {session.root}"


def check_instruments(ctx: SelfTestContext) -> str:
    """The console's rig (the bundled simulated rig, pyvisa-sim): every instrument connected
    and one polled reading of each, with its unit, in the session data log."""
    c = ctx.console
    manager = c.rig.instruments
    if manager is None:
        raise SelfTestFailure(f"no instruments: {c.rig.rig_file_error or 'the rig file gave none'}")
    names = list(manager.instruments)
    if not names:
        raise SelfTestFailure("the rig file declares no instruments")

    def polled() -> bool:
        last = c.data_log.logged_last_values()
        return all(manager[n].state.value == "connected" and any(k.startswith(n + ".") for k in last) for n in names)

    _spin(c, polled, 15.0, "every instrument connected with a reading")
    last = c.data_log.logged_last_values()
    shown = []
    for name in names:
        var = next(k for k in sorted(last) if k.startswith(name + "."))
        unit = c.data_log.variable_info(var).get("unit", "")
        shown.append(f"{var} = {last[var][1]:g} {unit}".rstrip())
    return f"{len(names)} connected: " + "; ".join(shown)


def check_status_api(ctx: SelfTestContext) -> str:
    """The remote attach server on 127.0.0.1 (a free port, a token made for the test):
    ``GET /api/v1/status`` answers with the rig's status, and refuses a request without a token."""
    import json
    import urllib.error
    import urllib.request

    from rigconsole.remote import OBSERVER, RemoteServer, TokenStore

    tokens = TokenStore(ctx.work / "remote-tokens.json")
    token = tokens.add("self-test", OBSERVER)
    server = RemoteServer(host="127.0.0.1", port=0, tokens=tokens)
    ctx.console.rig.add_component("remote", server)
    url = f"http://127.0.0.1:{server.port}/api/v1/status"
    try:
        urllib.request.urlopen(url, timeout=5)
        raise SelfTestFailure("the status API answered a request without a token")
    except urllib.error.HTTPError as err:
        if err.code != 401:
            raise SelfTestFailure(f"a request without a token got {err.code}, not 401") from None
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        status = json.loads(resp.read().decode("utf-8"))
    # the browser page and the API description ship with the app (a frozen bundle must hold them)
    base = f"http://127.0.0.1:{server.port}"
    for path, needle in (("/", b"<html"), ("/api/v1/openapi.yaml", b"openapi:")):
        req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            if needle not in resp.read(4096).lower():
                raise SelfTestFailure(f"{base + path} does not serve what it should")
    return f"{url}: state {status.get('state')!r}, {len(status)} fields; 401 without a token; page and API description served"


def check_run(ctx: SelfTestContext) -> str:
    c = ctx.console
    w = c.window
    if not w.experiments.select(DEMO_KEY):
        raise SelfTestFailure(f"could not select {DEMO_KEY} in the experiment list")
    _spin(c, lambda: w.current_key() == DEMO_KEY, 5.0, "selecting the demo")
    w.form.set_values({"participant": PARTICIPANT, "nTrials": N_TRIALS, "feedback": False})
    n = len(c.session.run_records)
    if not w.run_action.isEnabled():
        raise SelfTestFailure("the Run button is disabled")
    w.run_action.trigger()
    _spin(
        c,
        lambda: len(c.session.run_records) > n and c.session.run_records[-1].ended is not None,
        RUN_TIMEOUT_S,
        "the demo run",
    )
    rec = c.session.run_records[-1]
    ctx.record = rec
    if rec.state != "finished":
        raise SelfTestFailure(f"the run ended {rec.state}: {rec.error}")
    if rec.n_trials != N_TRIALS:
        raise SelfTestFailure(f"{rec.n_trials} trials recorded, expected {N_TRIALS}")
    return f"{DEMO_KEY}: {rec.n_trials} trials, {rec.state}"


def check_close(ctx: SelfTestContext) -> str:
    c, ctx.console = ctx.console, None
    t0 = time.perf_counter()
    c.data_log.flush()
    c.close()
    return f"console closed in {time.perf_counter() - t0:.2f} s"


def check_data_file(ctx: SelfTestContext) -> str:
    from rigconsole.datalog import DataLog

    rec = ctx.record
    path = ctx.data_log_path
    if path is None or not path.is_file():
        raise SelfTestFailure(f"no session data file at {path}")
    with DataLog(path, readonly=True) as log:
        runs = log.runs()
        if len(runs) != 1:
            raise SelfTestFailure(f"{path.name} holds {len(runs)} runs, expected 1")
        trials = log.trials(runs[0])
        n = len(trials.get("trial", []))
        parts = {str(p) for p in trials.get("participant", [])}
    if n != N_TRIALS or parts != {PARTICIPANT}:
        raise SelfTestFailure(f"{path.name}: {n} trials for {sorted(parts)}, expected {N_TRIALS} for {PARTICIPANT!r}")
    csv_files = [Path(f) for f in rec.data_files if str(f).endswith(".csv")]
    if not csv_files:
        raise SelfTestFailure("the run wrote no CSV file")
    with open(csv_files[0], newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != N_TRIALS:
        raise SelfTestFailure(f"{csv_files[0].name} has {len(rows)} rows, expected {N_TRIALS}")
    return f"{path} ({n} trials re-read; CSV {csv_files[0].name}: {len(rows)} rows)"


def check_import_hook(ctx: SelfTestContext) -> str:
    """Python's own ``__import__`` is in place (shiboken's hook slows PsychoPy's drawing; see rigconsole.ui)."""
    import builtins

    name = getattr(builtins.__import__, "__name__", "?")
    if name != "__import__":
        raise SelfTestFailure(
            f"builtins.__import__ is {name!r}, not Python's own: PySide6 was imported "
            "before rigconsole (frozen app: packaging/pyi_rth_rigconsole.py missing?)"
        )
    return "Python's own __import__ (shiboken's hook removed)"


def check_one_qt_binding(ctx: SelfTestContext) -> str:
    loaded = sorted({m.split(".")[0] for m in sys.modules} & set(OTHER_QT_BINDINGS))
    if loaded:
        raise SelfTestFailure(f"a second Qt binding is loaded: {', '.join(loaded)}")
    libs = _loaded_qt_libraries()
    folders = {str(Path(p).parent) for p in libs}
    if any("PyQt" in p or "libQt5" in Path(p).name for p in libs) or len(folders) > 1:
        raise SelfTestFailure(f"Qt libraries from more than one place are loaded: {sorted(folders)}")
    where = f"{len(libs)} Qt libraries from {folders.pop()}" if folders else "no Qt library map on this OS"
    return f"PySide6 only; {where}"


def _loaded_qt_libraries() -> list[str]:
    """Paths of the Qt shared libraries mapped into this process (Linux: /proc/self/maps)."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return []
    out = set()
    for line in maps.read_text(errors="replace").splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and "libQt" in parts[5]:
            out.add(parts[5].strip())
    return sorted(out)


def _spin(console, done: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Serve the Qt event loop until ``done()``; a run blocks inside one event and serves Qt on each flip."""
    app = console.app
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise SelfTestFailure(f"{what} did not finish within {timeout_s:.0f} s")
        app.processEvents()
        time.sleep(0.005)


#: the checks, in order: (name, function). Each builds on the ones before it.
CHECKS: list[tuple[str, Callable[[SelfTestContext], str]]] = [
    ("qt", check_qt),
    ("display", check_display),
    ("console", check_console),
    ("demos", check_demos),
    ("instruments", check_instruments),
    ("status API", check_status_api),
    ("run", check_run),
    ("close", check_close),
    ("data file", check_data_file),
    ("import hook", check_import_hook),
    ("one Qt binding", check_one_qt_binding),
]


def default_work_dir() -> Path:
    """``<user cache>/rigconsole/self-test/<timestamp>``: a new folder for each self-test."""
    import platformdirs

    stamp = time.strftime("%Y-%m-%d_%H%M%S")
    base = Path(platformdirs.user_cache_dir("rigconsole", appauthor=False)) / "self-test"
    work = base / stamp
    i = 1
    while work.exists():
        i += 1
        work = base / f"{stamp}_{i}"
    return work


def run_self_test(work_dir: Path | None = None, *, out=None) -> int:
    """Run every check in :data:`CHECKS`, printing one line each; returns the exit status.

    Args:
        work_dir: the self-test's folder (default :func:`default_work_dir`); created.
        out: where the lines go (default ``sys.stdout``).

    Returns:
        0 when every check passed, 1 when one failed (the last line names it).
    """
    out = out or sys.stdout
    work = Path(work_dir) if work_dir is not None else default_work_dir()
    work.mkdir(parents=True, exist_ok=True)
    # the console saves its settings on close: never over the technician's own
    saved_env = {k: os.environ.get(k) for k in ("RIGCONSOLE_SETTINGS", "QT_QPA_PLATFORM")}
    os.environ["RIGCONSOLE_SETTINGS"] = str(work / "settings.json")
    from PySide6.QtWidgets import QApplication

    import rigconsole.ui  # noqa: F401  (before PySide6: pins the binding, restores Python's import)

    if QApplication.instance() is None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    ctx = SelfTestContext(work=work)
    t0 = time.perf_counter()
    failed = None
    try:
        for name, check in CHECKS:
            try:
                detail = check(ctx)
            except Exception as err:  # SelfTestFailure or anything the check hit
                failed = name
                reason = one_line(err, with_type=not isinstance(err, SelfTestFailure))
                print(f"FAIL  {name}: {reason}", file=out, flush=True)
                if not isinstance(err, SelfTestFailure):
                    (work / "self-test-error.txt").write_text(traceback.format_exc(), encoding="utf-8")
                break
            print(f"ok    {name}: {detail}", file=out, flush=True)
    finally:
        if ctx.console is not None:
            try:
                ctx.console.close()
            except Exception:
                pass
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    dt = time.perf_counter() - t0
    if failed is not None:
        print(f"self-test FAILED at check {failed!r} after {dt:.1f} s (details in {work})", file=out, flush=True)
        return 1
    print(f"self-test passed: {len(CHECKS)} checks in {dt:.1f} s (data in {work})", file=out, flush=True)
    return 0
