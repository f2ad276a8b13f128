"""Frame timing: the same stimulus loop bare (PsychoPy alone) and inside the console.

Both run under a simulated 60 Hz vsync (Xvfb has none): ``flip`` returns on the
next tick of a 1/60 s grid. Reports dropped frames, frame-interval p50/p99 and,
in the console, the longest stall of a Qt heartbeat timer (5 ms interval)
while the run is in progress, with the live trial plot updating.

Run (needs a display; on a server under Xvfb):

    xvfb-run -a -s "-screen 0 1920x1080x24" uv run python benchmarks/bench_frames.py --frames 3600 --repeats 3

Each mode runs in its own fresh process; ``--repeats`` bare/console pairs run
interleaved, because this machine's background noise moves both modes (bare
PsychoPy alone has dropped 2 to 46 frames per 3,600 here). Prints a table,
totals and JSON. *Slow frames* are frame intervals of 2.5 refresh periods
or more (the frame missed two blanks or more), in both modes. For each
console run it also gives the longest frame that the longest stall lies
within (the frame covers all of the stall but at most one period: "its
frame"), and how many stalls over 50 ms lie within no slow frame ("of them
beyond"): the console is served between frames, never inside one (the
experiment is drawing, or its swap blocks in C), so a stall within a slow
frame (three periods: 50 ms at 60 Hz) could not have been under 50 ms.
The frames a stall may lie within are all the stimulus window's frames
while the run is in progress, the experiment's first included (it begins
at the session's last flip before ``run()``, before the frame record starts;
until session 7 it was left out, so a stall within it counted as beyond).
*w/o steal* counts the slow frames, and the console's stalls over 50 ms,
during which the machine's steal counter (``/proc/stat``, in ticks of
10 ms of one vCPU) did not move: the hypervisor took less than a tick
from the whole machine in them, so they were not its doing; next to the
longest Qt stall it gives the longest stall with no steal in it.
``overruns`` counts the console's own misses: frames where
the pump before the flip ran past the vertical blank. ``steal %`` is the
share of the machine's CPU time the hypervisor took during the run (from
``/proc/stat``): when it is above ~1 %, both modes drop frames for reasons
of their own. Before the runs it measures the machine's floor (how late a
2 ms sleep wakes in an idle process); after them, the console-minus-bare
difference in dropped frames per pair with a 95 % confidence interval, and
the same difference at equal steal (a least-squares fit over all runs).

``--instruments`` runs console / *instruments* pairs instead: the same
console plus three instruments polled at 10 Hz by an InstrumentManager, one
of them hung (SCPI socket simulators in their own processes on 127.0.0.1),
and reports the same differences (instruments minus console), the readings
each instrument gave during the run and how soon the hung one was shown
down (its I/O timeout is 0.5 s)::

    xvfb-run -a -s "-screen 0 1920x1080x24" uv run python benchmarks/bench_frames.py --instruments --frames 3600 --repeats 3

``--observers [N]`` (N = 10 when not given) runs console / *observers* pairs:
in both, the experiment also logs two variables every frame from its frame
loop (``logEvery`` = 1: ``thisSession.data_log.add_entry``) beside its trial
rows; in *observers* the console's remote server is enabled on 127.0.0.1
(the settings' ``remote.enabled``, plain HTTP, or ``--tls`` for the default
self-signed TLS) and N observers stream the WebSocket from another process
(benchmarks/stream_observers.py: raw aiohttp clients that decode every
batch). It reports the same differences (observers minus console), what the
observers received during the run (messages, events by type, gaps), the
server thread's CPU time per second of the run (``pthread_getcpuclockid``)
and the observers' process CPU per second. On one machine the observers'
process still shares the CPUs with the console (on this 2-vCPU VM it
competes with it): an observer on another computer costs the rig less::

    xvfb-run -a -s "-screen 0 1920x1080x24" uv run python benchmarks/bench_frames.py --observers 10 --frames 3600 --repeats 3

``--observers N --preview`` runs observers / *preview* pairs instead: both as
*observers* above, and in *preview* the subject-screen preview is on
(``Settings.preview``: a 320-pixel JPEG at most once a second, read back only
when the frame budget says it fits) and every observer also fetches each
thumbnail (``GET /api/v1/preview.jpg`` at each ``preview`` event). It reports
the same differences (preview minus observers) and the preview's read-backs:
how many, the frames let go for want of room, and the cost per read-back on
the main thread (median, p95, max, ms)::

    xvfb-run -a -s "-screen 0 1920x1080x24" uv run python benchmarks/bench_frames.py --observers 10 --preview --frames 3600 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE / "experiments"
KEY = "frameloop/frameloop.py"
WINDOW = {"size": [1024, 768], "fullscr": False, "units": "height"}


def run_bare(frames: int, data_dir: Path) -> dict:
    """PsychoPy alone: the experiment module's run() on a plain Window; flips timed the same way."""
    import importlib.util

    from psychopy import core, visual

    from rigconsole.session.frames import frame_stats

    spec = importlib.util.spec_from_file_location("frameloop", ROOT / KEY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    win = visual.Window(checkTiming=False, **WINDOW)
    period = 1 / 60
    orig = win.flip
    stamps = []
    steal_at: list[int] = []  # the machine's steal counter at each flip (see steal_ticks)
    tick0 = [None]

    def flip(*a, **k):  # simulated vsync on the same grid as FrameHook's (ticks from the first flip)
        r = orig(*a, **k)
        now = time.perf_counter()
        if tick0[0] is None:
            tick0[0] = now
        else:
            import math

            target = tick0[0] + math.ceil((now - tick0[0]) / period) * period
            if target > now:
                time.sleep(target - now)
        stamps.append(time.perf_counter())
        steal_at.append(steal_ticks())
        return r

    win.flip = flip
    info = dict(mod.expInfo, nFrames=frames, date="x")
    this_exp = mod.setupData(info, dataDir=str(data_dir))
    mod.run(expInfo=info, thisExp=this_exp, win=win, globalClock=core.Clock())
    win.close()
    import numpy as np

    stats = frame_stats(np.diff(stamps), 60.0)
    return {
        "mode": "bare",
        **stats,
        "slow_frames": slow_frames(stamps),
        "slow_frames_without_steal": slow_frames(stamps, steal_at=steal_at),
    }


def run_console(
    frames: int, data_dir: Path, setup=None, remote=None, log_every: int = 0, preview: bool = False
) -> dict:
    """The real console (main window, live trial plot) running the same experiment.

    ``setup(console)``, when given, runs right after the console is built and
    returns a function called after the run, whose dict joins the result (the
    ``instruments`` and ``observers`` modes add their parts this way).
    ``remote``: the console's :class:`rigconsole.remote.settings.RemoteSettings`
    (default: off). ``log_every``: the experiment's ``logEvery`` (log two
    variables every N frames; 0 = none). ``preview``: the subject-screen preview on.
    """
    # rigconsole.ui before PySide6, as the console's own entry point does: importing
    # PySide6.QtCore first leaves shiboken's import hook in place (every ``import``
    # statement ~15x slower, PsychoPy's drawing 25-45 % slower: see rigconsole.ui);
    # before session 5 this benchmark imported QTimer first and measured that console
    import builtins

    from rigconsole.settings import Settings, WindowSettings
    from rigconsole.ui.app import build_console

    # isort: split
    from PySide6.QtCore import QTimer  # (order matters, see above)

    assert builtins.__import__.__name__ == "__import__", "PySide6's import hook is in place"

    settings = Settings(root=ROOT, data_dir=data_dir, window=WindowSettings(size=tuple(WINDOW["size"])))
    if remote is not None:
        settings = settings.model_copy(update={"remote": remote})
    if preview:
        from rigconsole.session.preview import PreviewSettings

        settings = settings.model_copy(update={"preview": PreviewSettings(enabled=True)})
    # no instruments here: the instruments mode adds its own (the comparison is console with vs without)
    console = build_console(settings=settings, simulated_vsync_hz=60, show=True, instruments=False)
    app, session = console.app, console.session
    after_run = setup(console) if setup is not None else None
    beats: list[float] = []
    beat_steal: list[int] = []  # the machine's steal counter at each beat (see steal_ticks)

    def beat() -> None:
        beats.append(time.perf_counter())
        beat_steal.append(steal_ticks())

    heartbeat = QTimer()
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(beat)
    heartbeat.start()
    window = {}
    session.events.run_started.connect(lambda rec: window.setdefault("start", time.perf_counter()))
    session.events.run_ended.connect(lambda rec: window.setdefault("end", time.perf_counter()))
    # a stall is measured while the experiment runs: from its start to its end (run_ended)
    trials = []
    console.bridge.trialAdded.connect(lambda rec, row: trials.append(row))
    # the live trial plot's redraws while the run is in progress (it must keep up, not wait for the end)
    plot = console.window.trial_plot.plot  # the LivePlot: its timer calls its flush
    redraws: list[float] = []
    plot_flush = plot.flush

    def flush() -> None:
        redraws.append(time.perf_counter())
        plot_flush()

    plot.flush = flush
    # the experiment's frames (when each flip returned): a stall that spans a frame that
    # missed two blanks or more (2.5 refresh periods or longer: the experiment took over
    # two periods to draw and swap it) could not be under 50 ms at 60 Hz, the console is
    # served between frames, never inside one (drawing, or the swap blocking in C)
    hook = session.frame_hook
    frame_done = hook.on_frame
    flips: list[float] = []
    flip_steal: list[int] = []
    # every flip from the run's start to its end, the session's own flips before the
    # experiment's run() included: the experiment's first frame (its stimuli's textures
    # are made at their first draw) begins at the last of those, before the run's frame
    # record starts (the first recorded interval is the experiment's second frame)
    frame_edges: list[float] = []

    def on_frame(now: float) -> None:
        if hook.recording:  # the run's frames (not the stimulus window's rest screen after it)
            flips.append(now)
            flip_steal.append(steal_ticks())
        if "start" in window and "end" not in window:
            frame_edges.append(now)
        frame_done(now)

    hook.on_frame = on_frame
    # let the window settle, then run through the UI path (controller)
    t_end = time.perf_counter() + 1.0
    while time.perf_counter() < t_end:
        app.processEvents()
        time.sleep(0.005)
    assert console.controller.run(KEY, {"participant": "bench", "nFrames": frames, "logEvery": log_every})
    while "end" not in window:
        app.processEvents()
        time.sleep(0.002)
    heartbeat.stop()
    rec = session.run_records[-1]
    inside = [i for i, b in enumerate(beats) if window["start"] <= b <= window["end"]]
    during = [beats[i] for i in inside]
    during_steal = [beat_steal[i] for i in inside]
    gaps = [b - a for a, b in zip(during, during[1:])]
    worst = max(range(len(gaps)), key=gaps.__getitem__) if gaps else None
    long_stalls = [(a, b) for a, b in zip(during, during[1:]) if b - a > 0.05]
    # the heartbeat gaps during which the hypervisor took no measurable CPU time from the
    # machine (its steal counter did not move), and those of them over 50 ms
    no_steal = [gaps[i] for i in range(len(gaps)) if during_steal[i + 1] == during_steal[i]]
    quiet = [g for g in no_steal if g > 0.05]
    beyond = [b - a for a, b in long_stalls if slowest_frame_inside(frame_edges, a, b) < SLOW_FRAME_PERIODS / 60]
    extra = after_run() if after_run is not None else {}
    shots = console.rig.component("preview")
    if shots is not None and shots.enabled:  # the frames that had a read-back in them: late or not
        extra["preview_frames"] = frames_with(flips, list(shots.taken_at))
    console.close()
    return {
        "mode": "console",
        **extra,
        **rec.frame_stats,
        "max_stall_ms": max(gaps) * 1e3 if gaps else None,
        "max_stall_at_s": (during[worst] - window["start"]) if worst is not None else None,
        "run_s": window["end"] - window["start"],
        "stalls_over_50ms": len(long_stalls),
        # stalls over 50 ms with no frame inside that missed two blanks: the console's to avoid
        "stalls_over_50ms_beyond_slow_frames": len(beyond),
        "max_stall_beyond_slow_frames_ms": max(beyond) * 1e3 if beyond else None,
        "slow_frames": slow_frames(flips),
        "slow_frames_without_steal": slow_frames(flips, steal_at=flip_steal),
        "stalls_over_50ms_without_steal": len(quiet),
        "max_stall_without_steal_ms": max(no_steal) * 1e3 if no_steal else None,
        "max_stall_frame_ms": slowest_frame_inside(frame_edges, during[worst], during[worst + 1]) * 1e3
        if worst is not None
        else None,
        "heartbeats": len(during),
        "trials_plotted": len(trials),
        "state": rec.state,
        "run_error": rec.error,  # why a run failed (its one line), else None
        "log_every": log_every,
        "plot_redraws_during_run": sum(window["start"] <= t <= window["end"] for t in redraws),
    }


def frames_with(flips: list[float], times: list[float], period: float = 1 / 60) -> dict:
    """The frames in which something happened at ``times`` (perf_counter s; a read-back inside a
    flip belongs to the frame that flip ends): how many, how many of them were late (over 1.5
    refresh periods, a dropped frame), and the share of late frames among all the run's frames."""
    import bisect

    late = [b - a > 1.5 * period for a, b in zip(flips, flips[1:])]
    hit = [bisect.bisect_left(flips, t) for t in times]
    mine = [late[i - 1] for i in hit if 0 < i < len(flips)]
    return {
        "frames": len(mine),
        "late": int(sum(mine)),
        "late_share_all_frames": sum(late) / len(late) if late else None,
    }


#: the instruments mode: three instruments polled at 10 Hz, the last one hung (it never replies)
BENCH_INSTRUMENTS = (("sensor_a", "normal"), ("sensor_b", "normal"), ("hung", "hang"))
BENCH_TIMEOUT_S = 0.5


def run_instruments(frames: int, data_dir: Path) -> dict:
    """The console as in ``console`` mode, plus three instruments polling at 10 Hz, one of them hung.

    Each instrument is a SCPI socket simulator in its own process on 127.0.0.1
    (``python -m rigconsole.instruments.simulator``), as a real instrument is
    another device: the console process does only its side of the I/O. The
    instruments are polled by an InstrumentManager into the console's data log,
    with the session's frame budget when it has one. Adds: readings per
    instrument during the run, each worker thread's CPU time per second of the
    run (what it may hold the GIL for), how long the hung one took to be shown down
    (from its first attempt to open it: open, then ``*IDN?`` unanswered), its
    I/O timeout.
    """
    import socket

    ports = []
    for _ in BENCH_INSTRUMENTS:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    sims = [
        subprocess.Popen(
            [sys.executable, "-m", "rigconsole.instruments.simulator", "--port", str(port), "--mode", mode],
            stdout=subprocess.PIPE,
            text=True,
        )
        for port, (_, mode) in zip(ports, BENCH_INSTRUMENTS)
    ]
    try:
        for p in sims:  # each prints one line once it listens
            p.stdout.readline()

        def setup(console):
            from rigconsole.frame_budget import IDLE
            from rigconsole.instruments import ConnectionState, InstrumentManager, parse_rig_text

            text = "rig: bench\ninstruments:\n" + "".join(
                f"  {name}:\n    resource: TCPIP0::127.0.0.1::{port}::SOCKET\n    timeout_s: {BENCH_TIMEOUT_S}\n"
                f"    open_timeout_s: 1.0\n    channels:\n      temperature: {{query: 'MEAS:TEMP?', unit: degC, period_s: 0.1}}\n"
                for (name, _), port in zip(BENCH_INSTRUMENTS, ports)
            )
            budget = getattr(console.session, "frame_budget", None)
            manager = InstrumentManager(parse_rig_text(text), data_log=console.data_log, budget=budget or IDLE)
            counts = {name: 0 for name, _ in BENCH_INSTRUMENTS}
            down = {}
            opening = {}

            def on_state(name, state, message):  # from the instrument's first attempt to open it
                if state == ConnectionState.CONNECTING.value:
                    opening.setdefault(name, time.perf_counter())
                elif state in (ConnectionState.DOWN.value, ConnectionState.RECONNECTING.value) and name in opening:
                    down.setdefault(name, time.perf_counter() - opening[name])

            manager.events.state_changed.connect(on_state)
            manager.events.reading.connect(lambda name, ch, t, v, unit: counts.__setitem__(name, counts[name] + 1))
            manager.start()
            c0 = dict(counts)
            cpu0 = {name: manager[name].cpu_time_s for name, _ in BENCH_INSTRUMENTS}
            w0 = time.perf_counter()

            def after_run():
                wall = time.perf_counter() - w0
                result = {
                    "instruments": {
                        name: {
                            "state": manager[name].state.value,
                            "readings": counts[name] - c0[name],
                            "cpu_ms_per_s": 1e3 * (manager[name].cpu_time_s - cpu0[name]) / wall,
                            "down_after_s": down.get(name),
                        }
                        for name, _ in BENCH_INSTRUMENTS
                    },
                    "instrument_timeout_s": BENCH_TIMEOUT_S,
                    "instrument_budget": "session" if budget is not None else "IDLE (no frame budget in this Session)",
                }
                manager.close()
                return result

            return after_run

        result = run_console(frames, data_dir, setup=setup)
    finally:
        for p in sims:
            p.terminate()
            p.wait(5)
    result["mode"] = "instruments"
    return result


#: the observers mode's default number of observers (issue 14: "10 observers streaming")
BENCH_OBSERVERS = 10
SERVER_THREAD = "rigconsole remote server"


def thread_cpu_s(thread) -> float | None:
    """CPU time a thread of this process has used so far, seconds (``pthread_getcpuclockid``;
    ``None`` where the platform has no per-thread clock)."""
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
    except (AttributeError, OSError):
        return None


def run_observers(
    frames: int, data_dir: Path, observers: int = BENCH_OBSERVERS, tls: bool = False, preview: bool = False
) -> dict:
    """The console as in ``console`` mode with the remote server enabled and ``observers`` streaming.

    The server is the console's own (``remote.enabled`` in its settings, on
    127.0.0.1, a free port, an observer token in a token file of this run);
    the observers are benchmarks/stream_observers.py in a child process. The
    experiment logs two variables every frame (``logEvery`` = 1), as in the
    console runs of this comparison. Adds: what the observers received from
    their connection to the run's end (``observer_totals``) and per second,
    their process's CPU per second, the server thread's CPU per second and
    the stream's time per batch (``stream.flush_stats``: its wait for the frame's
    quiet window, the encoding and the offer to every client). ``preview``: the
    subject-screen preview on, the observers fetching each thumbnail; adds the
    preview's read-back figures (``preview``: :meth:`SubjectPreview.stats`).
    """
    import threading

    from rigconsole.remote import TokenStore
    from rigconsole.remote.settings import RemoteSettings

    tokens_path = data_dir / "remote-tokens.json"
    token = TokenStore(tokens_path).add("bench", "observer")
    # the console reads its token store (and, with TLS, makes its certificate) next to these
    os.environ["RIGCONSOLE_REMOTE_TOKENS"] = str(tokens_path)
    os.environ["RIGCONSOLE_SETTINGS"] = str(data_dir / "settings.json")
    remote = RemoteSettings(
        enabled=True, host="127.0.0.1", port=0, tls="self-signed" if tls else "off", rig_name="bench"
    )
    children = []

    def setup(console):
        server = console.rig.component("remote")
        assert server is not None and server.port, "the console did not start its remote server"
        cmd = [
            sys.executable,
            str(HERE / "stream_observers.py"),
            "--port",
            str(server.port),
            "--token",
            token,
            "--observers",
            str(observers),
        ]
        cmd += (["--tls"] if tls else []) + (["--fetch-preview"] if preview else [])
        child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        children.append(child)
        line = child.stdout.readline().strip()
        assert line == "READY", f"the observers did not start: {line!r}"
        thread = next(t for t in threading.enumerate() if t.name == SERVER_THREAD)
        cpu0 = thread_cpu_s(thread)
        flush0 = dict(server.stream.flush_stats)
        child.stdin.write("count\n")
        child.stdin.flush()
        obs0 = json.loads(child.stdout.readline())
        w0 = time.perf_counter()
        shots = console.rig.component("preview")
        shots0 = shots.stats() if shots is not None else {}

        def after_run():
            wall = time.perf_counter() - w0
            cpu1 = thread_cpu_s(thread)
            shots1 = shots.stats() if shots is not None else {}
            flush1 = dict(server.stream.flush_stats)
            child.stdin.write("stop\n")
            child.stdin.flush()
            obs1 = json.loads(child.stdout.readline())
            child.wait(10)
            batches = flush1["batches"] - flush0["batches"]
            return {
                "observers": observers,
                "observer_tls": tls,
                "observer_span_s": wall,
                "observer_totals": {k: obs1[k] - obs0[k] for k in ("messages", "batches", "bytes", "gaps")}
                | {
                    "events": {k: v - obs0["events"].get(k, 0) for k, v in obs1["events"].items()},
                    "still_open": obs1["open"],
                },
                "observer_messages_per_s": (obs1["messages"] - obs0["messages"]) / wall,
                "observer_cpu_ms_per_s": 1e3 * (obs1["cpu_s"] - obs0["cpu_s"]) / wall,
                "server_thread_cpu_ms_per_s": 1e3 * (cpu1 - cpu0) / wall if cpu0 is not None else None,
                "server_batches": batches,
                # the stream's flush: its wait for the frame's quiet window, encoding, offering to clients
                "stream_flush_us_per_batch": 1e6 * (flush1["seconds"] - flush0["seconds"]) / max(batches, 1),
                # the preview's read-backs, this run's (its figures over the whole process: the run's
                # are nearly all of them; the first come from the flips before the run)
                "preview": shots1 | {k: shots1[k] - shots0.get(k, 0) for k in ("taken", "skipped_no_room", "failed")}
                if preview
                else None,
                "preview_fetches": obs1.get("preview_fetches", 0) - obs0.get("preview_fetches", 0),
                "preview_bytes": obs1.get("preview_bytes", 0) - obs0.get("preview_bytes", 0),
            }

        return after_run

    try:
        result = run_console(frames, data_dir, setup=setup, remote=remote, log_every=1, preview=preview)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    result["mode"] = "preview" if preview else "observers"
    return result


#: a frame interval this many refresh periods long or longer missed two blanks or more
SLOW_FRAME_PERIODS = 2.5


def slow_frames(flips: list[float], period: float = 1 / 60, steal_at: list[int] | None = None) -> int:
    """How many frame intervals missed two blanks or more (:data:`SLOW_FRAME_PERIODS` periods or longer).

    ``flips``: the times the flips returned, seconds (sorted). With ``steal_at``
    (the machine's steal counter at each flip, :func:`steal_ticks`, same length),
    only the frames during which the counter did not move: less than one tick
    (10 ms of one vCPU) was taken by the hypervisor in them.
    """
    return sum(
        b - a >= SLOW_FRAME_PERIODS * period and (steal_at is None or steal_at[i + 1] == steal_at[i])
        for i, (a, b) in enumerate(zip(flips, flips[1:]))
    )


def slowest_frame_inside(flips: list[float], start: float, end: float, period: float = 1 / 60) -> float:
    """The longest frame interval that a heartbeat gap lies within, up to one refresh period; seconds.

    ``flips`` are the times the experiment's flips returned (sorted). A frame
    counts when it covers all of the gap ``[start, end]`` but at most one
    period: the heartbeat fires in a pump just before or just after a flip,
    or, in a frame that runs long, in the stall guard's serve inside it.
    0.0 when no frame does (the gap spans several frames).
    """
    import bisect

    i = max(0, bisect.bisect_left(flips, start) - 1)
    longest = 0.0
    while i + 1 < len(flips) and flips[i] < end:
        a, b = flips[i], flips[i + 1]
        if min(b, end) - max(a, start) >= (end - start) - period:
            longest = max(longest, b - a)
        i += 1
    return longest


_stat_fd: int | None = None


def _cpu_line() -> list[bytes]:
    """The fields of ``/proc/stat``'s first line (``cpu user nice system idle iowait irq
    softirq steal ...``, clock ticks of the whole machine); ``[]`` when it cannot be read.

    ``/proc/stat`` stays open and only its first line is read: 12 us here, against
    45 us for opening the file and reading it afresh (it is read at every flip and
    every heartbeat).
    """
    global _stat_fd
    try:
        if _stat_fd is None:
            _stat_fd = os.open("/proc/stat", os.O_RDONLY)
        return os.pread(_stat_fd, 256, 0).split(b"\n", 1)[0].split()
    except OSError:
        return []


def steal_ticks() -> int:
    """The machine's steal counter so far, clock ticks (10 ms of one vCPU; ``/proc/stat``).

    0 when there is no ``/proc/stat`` (then every slow frame counts as "w/o steal").
    """
    try:
        return int(_cpu_line()[8])
    except (ValueError, IndexError):
        return 0


def cpu_steal() -> tuple[float, float]:
    """(steal, total) CPU time of the whole machine so far, in clock ticks (Linux ``/proc/stat``).

    Steal is time the hypervisor gave this VM's virtual CPUs to someone else:
    a frame loop drops frames then whatever it does.
    """
    try:
        fields = [float(x) for x in _cpu_line()[1:]]
    except ValueError:
        return 0.0, 0.0
    return (fields[7] if len(fields) > 7 else 0.0), sum(fields)


def sleep_jitter(seconds: float = 10.0, sleep_s: float = 0.002) -> dict:
    """How late this machine wakes a thread that asked to sleep ``sleep_s`` seconds.

    Measured in an otherwise idle process before the runs: the floor under
    every frame time here. Returns oversleep percentiles in ms.
    """
    import numpy as np

    late = []
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        t = time.perf_counter()
        time.sleep(sleep_s)
        late.append(time.perf_counter() - t - sleep_s)
    a = np.array(late) * 1e3
    return {
        "n": int(a.size),
        "p50_ms": float(np.median(a)),
        "p99_ms": float(np.percentile(a, 99)),
        "p999_ms": float(np.percentile(a, 99.9)),
        "max_ms": float(a.max()),
    }


def _ci95(estimate: float, standard_error: float, dof: int) -> list[float]:
    """Two-sided 95 % confidence interval from Student's t with ``dof`` degrees of freedom."""
    from scipy import stats

    half = float(stats.t.ppf(0.975, dof)) * standard_error
    return [estimate - half, estimate + half]


def paired_difference(results: list[dict], base: str = "bare", other: str = "console") -> dict:
    """``other`` minus ``base`` dropped frames per pair (default console minus bare): mean and its
    95 % confidence interval (Student's t)."""
    import numpy as np

    bare = {r["pair"]: r["dropped_frames"] for r in results if r["mode"] == base}
    cons = {r["pair"]: r["dropped_frames"] for r in results if r["mode"] == other}
    d = np.array([cons[k] - bare[k] for k in sorted(bare) if k in cons], dtype=float)
    if d.size < 2:
        return {"pairs": int(d.size), "mean": float(d.mean()) if d.size else None, "ci95": None}
    mean = float(d.mean())
    return {"pairs": int(d.size), "mean": mean, "ci95": _ci95(mean, float(d.std(ddof=1) / np.sqrt(d.size)), d.size - 1)}


def steal_adjusted_difference(results: list[dict], other: str = "console") -> dict | None:
    """Console (``other``) minus bare (the other mode) dropped frames at equal hypervisor steal
    (least squares, 95 % CI).

    Fits ``dropped = a + b * steal_pct + c * console`` over all runs and
    returns ``c``. Caveat: the console's own threads can raise the steal it
    sees (steal is counted only while a vCPU wants to run), which makes ``c``
    lean low; read it beside the plain paired difference.
    """
    import numpy as np

    rs = [r for r in results if r.get("steal_pct") is not None]
    if len(rs) < 5:
        return None
    x = np.array([[1.0, r["steal_pct"], 1.0 if r["mode"] == other else 0.0] for r in rs])
    y = np.array([float(r["dropped_frames"]) for r in rs])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    dof = len(y) - 3
    resid = y - x @ coef
    cov = (resid @ resid / dof) * np.linalg.inv(x.T @ x)
    return {
        "runs": len(rs),
        "per_steal_pct": float(coef[1]),
        "difference": float(coef[2]),
        "ci95": _ci95(float(coef[2]), float(np.sqrt(cov[2, 2])), dof),
    }


def run_mode(mode: str, frames: int, extra: list[str] | tuple[str, ...] = ()) -> dict:
    steal0, total0 = cpu_steal()
    out = subprocess.run(
        [sys.executable, __file__, "--mode", mode, "--frames", str(frames), *extra], capture_output=True, text=True
    )
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    if not line:
        print(out.stdout[-2000:], out.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"the {mode} run failed")
    result = json.loads(line[0][7:])
    steal1, total1 = cpu_steal()
    result["steal_pct"] = 100.0 * (steal1 - steal0) / (total1 - total0) if total1 > total0 else None
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=3600)
    ap.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="bare/console pairs, interleaved (this machine's noise moves both; compare totals)",
    )
    ap.add_argument("--mode", choices=["bare", "console", "instruments", "observers", "preview"])
    ap.add_argument(
        "--instruments",
        action="store_true",
        help="pairs of console / instruments (three instruments polling at 10 Hz, one hung) instead of bare / console",
    )
    ap.add_argument(
        "--observers",
        type=int,
        nargs="?",
        const=BENCH_OBSERVERS,
        default=None,
        metavar="N",
        help=f"pairs of console / observers (the remote server on 127.0.0.1 and N observers, "
        f"default {BENCH_OBSERVERS}, streaming from another process; the experiment logs "
        f"two variables every frame in both) instead of bare / console",
    )
    ap.add_argument(
        "--tls",
        action="store_true",
        help="with --observers: the server's default self-signed TLS (wss://) instead of plain HTTP",
    )
    ap.add_argument(
        "--preview",
        action="store_true",
        help="with --observers: pairs of observers / preview (the subject-screen preview on, "
        "the observers fetching each thumbnail) instead of console / observers",
    )
    ap.add_argument("--log-every", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.preview and args.observers is None:
        ap.error("--preview compares with the observers mode: give --observers N too")
    if args.instruments and args.observers is not None:
        ap.error("--instruments and --observers are separate comparisons: give one")
    if args.observers is not None and args.observers < 1:
        ap.error("--observers N needs N >= 1")
    if args.mode:
        with tempfile.TemporaryDirectory() as d:
            if args.mode in ("observers", "preview"):
                result = run_observers(
                    args.frames,
                    Path(d),
                    args.observers or BENCH_OBSERVERS,
                    tls=args.tls,
                    preview=args.mode == "preview",
                )
            elif args.mode == "console":
                result = run_console(args.frames, Path(d), log_every=args.log_every)
            else:
                result = {"bare": run_bare, "instruments": run_instruments}[args.mode](args.frames, Path(d))
        print("RESULT " + json.dumps(result))
        return 0
    results = []
    j = sleep_jitter()
    print(
        f"machine floor: a 2 ms sleep wakes late by p50 {j['p50_ms']:.2f} / p99 {j['p99_ms']:.2f} / "
        f"p99.9 {j['p999_ms']:.2f} / max {j['max_ms']:.1f} ms ({j['n']} sleeps, idle process)",
        flush=True,
    )
    print(
        f"{'pair':>4} {'mode':8} {'frames':>7} {'dropped':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'slow frames':>12} {'w/o steal':>10} {'overruns':>9} {'max Qt stall ms':>16} {'w/o steal':>10} {'its frame ms':>13} {'stalls>50ms':>12} "
        f"{'of them beyond':>15} {'w/o steal':>10} {'steal %':>8} {'plot redraws':>13}",
        flush=True,
    )
    if args.instruments:
        modes = ("console", "instruments")
    elif args.preview:
        modes = ("observers", "preview")
    elif args.observers is not None:
        modes = ("console", "observers")
    else:
        modes = ("bare", "console")
    extra = (
        {
            "console": ["--log-every", "1"],
            "observers": ["--observers", str(args.observers)] + (["--tls"] if args.tls else []),
            "preview": ["--observers", str(args.observers)] + (["--tls"] if args.tls else []),
        }
        if args.observers is not None
        else {}
    )
    for pair in range(1, args.repeats + 1):
        for mode in modes:
            r = run_mode(mode, args.frames, extra.get(mode, ()))
            r["pair"] = pair
            results.append(r)
            stall = f"{r['max_stall_ms']:.1f}" if r.get("max_stall_ms") is not None else "-"
            quiet_stall = (
                f"{r['max_stall_without_steal_ms']:.1f}" if r.get("max_stall_without_steal_ms") is not None else "-"
            )
            its_frame = f"{r['max_stall_frame_ms']:.1f}" if r.get("max_stall_frame_ms") is not None else "-"
            print(
                f"{pair:>4} {r['mode']:8} {r['n_frames']:>7} {r['dropped_frames']:>8} {r['p50_ms']:>8.2f} "
                f"{r['p99_ms']:>8.2f} {r['max_ms']:>8.2f} {r.get('slow_frames', '-'):>12} {r.get('slow_frames_without_steal', '-'):>10} "
                f"{r.get('console_overruns', '-'):>9} {stall:>16} {quiet_stall:>10} {its_frame:>13} "
                f"{r.get('stalls_over_50ms', '-'):>12} {r.get('stalls_over_50ms_beyond_slow_frames', '-'):>15} "
                f"{r.get('stalls_over_50ms_without_steal', '-'):>10} {r['steal_pct'] if r['steal_pct'] is None else round(r['steal_pct'], 1):>8} "
                f"{r.get('plot_redraws_during_run', '-'):>13}",
                flush=True,
            )
            if r.get("run_error"):
                print(f"     the run {r['state']}: {r['run_error']}", flush=True)
            if r.get("instruments"):
                print(
                    "     instruments: "
                    + "; ".join(
                        f"{n} {i['state']}, {i['readings']} readings, worker CPU {i['cpu_ms_per_s']:.2f} ms/s"
                        + (
                            f", shown down {i['down_after_s']:.2f} s after it was first opened"
                            if i["down_after_s"] is not None
                            else ""
                        )
                        for n, i in r["instruments"].items()
                    )
                    + f" (I/O timeout {r['instrument_timeout_s']} s, budget {r['instrument_budget']})",
                    flush=True,
                )
            if r.get("observer_totals"):
                o = r["observer_totals"]
                ev = ", ".join(f"{k} {v}" for k, v in sorted(o["events"].items()))
                srv = r["server_thread_cpu_ms_per_s"]
                print(
                    f"     {r['observers']} observers{' (TLS)' if r['observer_tls'] else ''}: {o['messages']} messages "
                    f"({r['observer_messages_per_s']:.0f}/s, {o['bytes'] / 1e6:.1f} MB), events: {ev}; gaps {o['gaps']}, "
                    f"{o['still_open']} still open at the end; observers' process CPU "
                    f"{r['observer_cpu_ms_per_s']:.0f} ms/s (same machine); server thread CPU "
                    + (f"{srv:.1f} ms/s" if srv is not None else "-")
                    + f"; {r['server_batches']} batches, {r['stream_flush_us_per_batch']:.0f} us each from the "
                    f"stream's wait for the quiet window to offered",
                    flush=True,
                )
            if r.get("preview"):
                pv = r["preview"]
                print(
                    f"     preview: {pv['taken']} read-backs, {pv['skipped_no_room']} frames let go for want of room, "
                    f"{pv['failed']} failed; read-back on the main thread median {pv['readback_ms_median']:.2f} / "
                    f"p95 {pv['readback_ms_p95']:.2f} / max {pv['readback_ms_max']:.2f} ms; observers fetched "
                    f"{r['preview_fetches']} thumbnails ({r['preview_bytes'] / 1e3:.0f} kB)",
                    flush=True,
                )
            if r.get("preview_frames"):
                pf = r["preview_frames"]
                share = pf["late_share_all_frames"]
                print(
                    f"     frames with a read-back in them: {pf['frames']}, {pf['late']} of them late "
                    f"(late frames in the whole run: {100 * share:.1f} %)"
                    if share is not None
                    else "",
                    flush=True,
                )
    for mode in modes:
        rs = [r for r in results if r["mode"] == mode]
        print(
            f"total {mode:8} dropped {sum(r['dropped_frames'] for r in rs)} in {sum(r['n_frames'] for r in rs)} frames; "
            f"{sum(r.get('slow_frames', 0) for r in rs)} slow frames (missed two blanks or more), "
            f"{sum(r.get('slow_frames_without_steal', 0) for r in rs)} of them with no steal"
        )
    for cmode in [m for m in modes if m != "bare"]:  # the console's stalls, per console mode
        label = "" if cmode == "console" else f" ({cmode})"
        stalls = [r["max_stall_ms"] for r in results if r["mode"] == cmode]
        print(f"longest console stall{label}: {max(stalls):.1f} ms")
        beyond = [
            r["max_stall_beyond_slow_frames_ms"]
            for r in results
            if r["mode"] == cmode and r.get("max_stall_beyond_slow_frames_ms") is not None
        ]
        print(
            f"stalls over 50 ms with no experiment frame inside that missed two blanks or more{label}: "
            f"{sum(r['stalls_over_50ms_beyond_slow_frames'] for r in results if r['mode'] == cmode)}"
            + (f", longest {max(beyond):.1f} ms" if beyond else "")
        )
        quiet = [
            r["max_stall_without_steal_ms"]
            for r in results
            if r["mode"] == cmode and r.get("max_stall_without_steal_ms") is not None
        ]
        print(
            f"stalls over 50 ms during which the hypervisor took no CPU time{label}: "
            f"{sum(r['stalls_over_50ms_without_steal'] for r in results if r['mode'] == cmode)}"
            + (f"; the longest stall with none: {max(quiet):.1f} ms" if quiet else "")
        )
    diff = paired_difference(results, *modes)
    if diff["ci95"] is not None:
        lo, hi = diff["ci95"]
        print(
            f"{modes[1]} - {modes[0]} dropped frames per pair: mean {diff['mean']:+.1f}, 95 % CI [{lo:+.1f}, {hi:+.1f}] "
            f"({diff['pairs']} pairs; an interval wholly above 0 means {modes[1]} drops more than {modes[0]})"
        )
    adj = steal_adjusted_difference(results, modes[1])
    if adj is not None:
        lo, hi = adj["ci95"]
        print(
            f"at equal steal: {modes[1]} - {modes[0]} {adj['difference']:+.1f} dropped frames per run, 95 % CI [{lo:+.1f}, {hi:+.1f}]; "
            f"{adj['per_steal_pct']:+.1f} per 1 % of steal ({adj['runs']} runs)"
        )
    print(json.dumps({"sleep_jitter": j, "paired_difference": diff, "steal_adjusted": adj, "runs": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
