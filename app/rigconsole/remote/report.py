"""The periodic report mail: a text summary of the rig and PNG plots of chosen logged variables.

pymanip's ``send_email`` report, for a rig. Qt-free: the plots are drawn by
matplotlib's Agg canvas directly (``matplotlib.figure.Figure`` +
``FigureCanvasAgg``, never pyplot, so no GUI backend is ever chosen) and
encoded as PNG by Pillow; both are imported lazily, on the notifier's worker
thread. Everything here reads public, thread-safe state only: the data log's
in-memory readers (``logged_last_values``, ``logged_data_fromtimestamp``,
``variable_info``), the session's ``current_run`` / ``run_records`` and the
instrument manager's ``instruments`` (each one's ``state`` and ``message``).
"""

from __future__ import annotations

import html
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import numpy as np

from .settings import MAX_REPORT_VARIABLES

__all__ = [
    "ReportData",
    "PlotSeries",
    "collect",
    "summary_text",
    "render_plot",
    "build_message",
    "decimate",
    "MAX_PLOTS",
    "MAX_POINTS",
]

#: variables plotted when the settings name none (all logged variables, sorted, up to this many)
MAX_PLOTS = MAX_REPORT_VARIABLES
#: points drawn per plot at most (min/max per time bucket beyond that: the peaks stay visible)
MAX_POINTS = 2000

#: how a GIL-heavy piece of work is run: ``run_step(name, fn)`` calls ``fn()`` and returns its result
StepRunner = Callable[[str, Callable[[], Any]], Any]


def _direct(name: str, fn: Callable[[], Any]) -> Any:
    return fn()


@dataclass
class PlotSeries:
    """One logged variable over the report's window: ``t`` epoch s and ``v``, float arrays of shape (N,)."""

    name: str
    unit: str
    description: str
    t: np.ndarray
    v: np.ndarray
    n_logged: int  # entries in the window before decimation


@dataclass
class ReportData:
    """What one report says; made by :func:`collect`."""

    rig: str
    t: float  # epoch s, the report's time (the plots' right edge)
    window_s: float
    period_min: float
    session: dict[str, Any]
    run: dict[str, Any] | None
    last_run: dict[str, Any] | None
    instruments: list[tuple[str, str, str]]  # (name, state, message)
    last_values: dict[str, tuple[float, float, str]]  # name -> (t, value, unit)
    series: list[PlotSeries] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # chosen, not logged (yet)
    left_out: list[str] = field(default_factory=list)  # not chosen, beyond MAX_PLOTS
    notes: list[str] = field(default_factory=list)


def decimate(t: np.ndarray, v: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points of ``(t, v)``: each of ``max_points // 2`` time buckets
    gives its minimum and its maximum (NaN ignored), so peaks stay visible. Shapes (M,), M <= max_points."""
    n = len(t)
    if n <= max_points:
        return t, v
    buckets = max(1, max_points // 2)
    edges = np.linspace(0, n, buckets + 1).astype(np.intp)
    starts = edges[:-1]
    with np.errstate(invalid="ignore"):
        lo = np.fmin.reduceat(v, starts)
        hi = np.fmax.reduceat(v, starts)
    t_start = t[starts]
    t_end = t[np.maximum(edges[1:] - 1, starts)]
    return np.column_stack([t_start, t_end]).ravel(), np.column_stack([lo, hi]).ravel()


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def _run(rec: Any) -> dict[str, Any] | None:
    if rec is None:
        return None
    return {
        "index": rec.index,
        "key": rec.key,
        "state": rec.state,
        "n_trials": rec.n_trials,
        "total_trials": rec.total_trials,
        "started": rec.started,
        "ended": rec.ended,
        "participant": dict(rec.exp_info).get("participant"),
    }


def collect(
    *,
    rig_name: str,
    data_log: Any,
    session: Any = None,
    instruments: Any = None,
    variables: list[str] | tuple[str, ...] = (),
    window_s: float = 3600.0,
    period_min: float = 0.0,
    now: float | None = None,
    with_series: bool = True,
) -> ReportData:
    """Read what a report shows, at ``now`` (epoch s, default the current time).

    ``variables``: the logged variables to plot (in this order); empty = every
    logged variable, sorted, at most :data:`MAX_PLOTS`. The plots cover
    ``window_s`` seconds up to ``now``, at most :data:`MAX_POINTS` points
    each (``with_series=False``: the variables are chosen, their points not read).
    Any part that cannot be read (no data log, no session) is left out.
    """
    now = time.time() if now is None else now
    sess: dict[str, Any] = {}
    run = last_run = None
    if session is not None:
        records = list(session.run_records)
        sess = {"root": str(session.root), "data_dir": str(getattr(session, "dataDir", "")), "n_runs": len(records)}
        run = _run(session.current_run)
        if run is None and records:
            last_run = _run(records[-1])
    insts: list[tuple[str, str, str]] = []
    if instruments is not None:
        for name, inst in sorted(dict(instruments.instruments).items()):
            state = getattr(inst.state, "value", inst.state)
            insts.append((name, str(state), inst.message))
    last: dict[str, tuple[float, float, str]] = {}
    series: list[PlotSeries] = []
    missing: list[str] = []
    left_out: list[str] = []
    if data_log is not None:
        sess["data_log"] = str(getattr(data_log, "path", ""))

        def unit_of(name: str) -> dict[str, str]:
            try:
                return data_log.variable_info(name)
            except Exception:
                return {"unit": "", "description": ""}

        values = data_log.logged_last_values()
        for name, tv in sorted(values.items()):
            if tv is not None:
                last[name] = (tv[0], tv[1], unit_of(name).get("unit", ""))
        if variables:
            chosen = [n for n in variables if n in values]
            missing = [n for n in variables if n not in values]
        else:
            names = sorted(values)
            chosen, left_out = names[:MAX_PLOTS], names[MAX_PLOTS:]
        for name in chosen if with_series else ():
            t, v = data_log.logged_data_fromtimestamp(name, now - window_s)
            keep = t <= now
            t, v = t[keep], v[keep]
            td, vd = decimate(t, v)
            info = unit_of(name)
            series.append(PlotSeries(name, info.get("unit", ""), info.get("description", ""), td, vd, len(t)))
    return ReportData(
        rig=rig_name,
        t=now,
        window_s=window_s,
        period_min=period_min,
        session=sess,
        run=run,
        last_run=last_run,
        instruments=insts,
        last_values=last,
        series=series,
        missing=missing,
        left_out=left_out,
    )


def _run_line(r: dict[str, Any]) -> str:
    trials = f"trial {r['n_trials']}" + (f" of {r['total_trials']}" if r.get("total_trials") else "")
    who = f", participant {r['participant']}" if r.get("participant") not in (None, "") else ""
    return f"run {r['index']} {r['key']}: {r['state']}, {trials}{who} (started {_clock(r['started'])})"


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def summary_text(d: ReportData) -> str:
    """The report's text: rig, session, current run (trial n of N), instruments, last values, plots."""
    every = f"every {d.period_min:g} min; " if d.period_min else ""
    lines = [
        f"Rig Console report from rig {d.rig}, {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(d.t))} "
        f"({every}plots of the last {d.window_s / 60:g} min)",
        "",
    ]
    s = d.session
    if s:
        lines.append(
            f"Session: runs so far {s.get('n_runs', 0)}; experiments from {s.get('root', '?')}; "
            f"data log {s.get('data_log', 'none')}"
        )
    if d.run is not None:
        lines.append("Current run: " + _run_line(d.run))
    else:
        lines.append("Current run: none (idle)" + (f"; last: {_run_line(d.last_run)}" if d.last_run else ""))
    lines += ["", "Instruments:" if d.instruments else "Instruments: none"]
    lines += [f"  {n}: {st}" + (f" ({msg})" if msg and st != "connected" else "") for n, st, msg in d.instruments]
    lines += ["", "Last values:" if d.last_values else "Last values: none logged"]
    lines += [f"  {n}: {_fmt(v)}{(' ' + u) if u else ''} at {_clock(t)}" for n, (t, v, u) in d.last_values.items()]
    if d.series:
        lines += ["", "Plots: " + ", ".join(f"{p.name} ({p.n_logged} entries)" for p in d.series)]
    if d.missing:
        lines.append("Not logged (yet), so not plotted: " + ", ".join(d.missing))
    if d.left_out:
        lines.append(
            f"Not plotted (only {MAX_PLOTS}; choose in the settings' report variables): " + ", ".join(d.left_out)
        )
    lines += d.notes
    return "\n".join(lines) + "\n"


def render_plot(
    p: PlotSeries,
    t_end: float,
    window_s: float,
    *,
    run_step: StepRunner = _direct,
    size_in: tuple[float, float] = (6.4, 2.4),
    dpi: int = 100,
) -> bytes:
    """One variable's plot over ``[t_end - window_s, t_end]`` as PNG bytes (``size_in`` x ``dpi`` pixels).

    The x axis is minutes before ``t_end``, the y axis the variable's unit.
    ``run_step(name, fn)`` runs each GIL-heavy piece (``"build"``, ``"draw"``,
    ``"encode"``), so the caller can put each one between frames.
    """

    def build():
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=size_in, dpi=dpi)
        canvas = FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        x = (p.t - t_end) / 60.0
        ax.plot(x, p.v, color="C0", linewidth=1.2, marker="." if len(x) < 50 else None)
        ax.set_xlim(-window_s / 60.0, 0.0)
        ax.set_xlabel(f"minutes before {_clock(t_end)}")
        ax.set_ylabel(p.unit or "value")
        ax.set_title(
            p.name + (f" ({p.unit})" if p.unit else "") + (f": {p.description}" if p.description else ""), fontsize=10
        )
        ax.grid(True, alpha=0.3)
        if not len(x):
            ax.text(0.5, 0.5, "no entries in this window", transform=ax.transAxes, ha="center", va="center")
        fig.subplots_adjust(left=0.12, right=0.98, bottom=0.2, top=0.86)
        return canvas

    canvas = run_step("build", build)
    run_step("draw", canvas.draw)

    def encode() -> bytes:
        from PIL import Image

        w, h = canvas.get_width_height()
        img = Image.frombuffer("RGBA", (w, h), bytes(canvas.buffer_rgba()), "raw", "RGBA", 0, 1).convert("RGB")
        out = io.BytesIO()
        img.save(out, "PNG")
        return out.getvalue()

    return run_step("encode", encode)


def build_message(
    d: ReportData, pngs: list[tuple[str, bytes]], *, subject: str, sender: str, to: list[str]
) -> EmailMessage:
    """The report mail: text/plain, and with plots an HTML alternative showing each PNG inline
    (``multipart/related``, ``cid:`` references; each image also named ``<variable>.png``)."""
    text = summary_text(d)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg.set_content(text)
    if not pngs:
        return msg
    cids = [f"plot{i}.{int(d.t)}@rigconsole" for i in range(len(pngs))]
    body = "".join(
        f'<h3>{html.escape(name)}</h3><img src="cid:{cid}" alt="{html.escape(name)}">'
        for (name, _), cid in zip(pngs, cids)
    )
    msg.add_alternative(f"<html><body><pre>{html.escape(text)}</pre>{body}</body></html>", subtype="html")
    html_part = msg.get_body(preferencelist=("html",))
    assert html_part is not None  # added just above
    for (name, png), cid in zip(pngs, cids):
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
        html_part.add_related(png, "image", "png", cid=f"<{cid}>", filename=f"{safe}.png")
    return msg
