"""Summaries and CSV export of a session file (``rigconsole data FILE [--csv DIR]``).

Both take a :class:`~.reader.SessionFile` (or any DataLog) and read only what
they print or write: the summary reads each variable's last row, not its data.
"""

from __future__ import annotations

import csv
import json
import math
import re
import time
from pathlib import Path
from typing import Any, TextIO

__all__ = ["summary", "export_csv"]


def _when(t: float | None) -> str:
    if t is None or (isinstance(t, float) and math.isnan(t)):
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _plan_summary(log: Any, w) -> None:
    """The session plan's progress, when the file records one (metadata section ``"plan"``)."""
    if "plan" not in log.metadata_sections():
        return
    plan = log.metadata("plan")
    items = plan.get("items") or []
    done = sum(1 for i in items if i.get("state") in ("finished", "finished with errors", "skipped"))
    name = plan.get("plan_name") or Path(plan.get("plan_file") or "plan").stem
    order = ", ".join(str(int(i) + 1) for i in plan.get("order") or [])
    w(
        f"\nPlan {name!r}: participant {plan.get('participant', '?')}, {done} of {len(items)} items done"
        f"{f' (order {order})' if order else ''}\n"
    )
    if plan.get("plan_file"):
        w(f"  file {plan['plan_file']}\n")
    for i in items:
        run = f"  {i['run']}" if i.get("run") else ""
        said = f"  {i['outcome']}" if i.get("outcome") else ""
        where = i.get("data_log")
        elsewhere = f"  (in {Path(where).name})" if where and str(where) != str(log.path) else ""
        w(f"  item {i.get('item')}  {i.get('experiment')}  {i.get('state')}{run}{said}{elsewhere}\n")


def summary(log: Any, out: TextIO) -> None:
    """Write a human-readable summary of ``log`` to ``out``."""
    w = out.write
    w(f"{log.path}  created {_when(log.t0)}\n")
    runs = log.runs()
    w(f"\nRuns ({len(runs)})\n")
    for r in runs:
        info = log.run_info(r)
        outcome = info["outcome"] or "not ended"
        who = info["expInfo"].get("participant", "")
        who = f"  participant {who}" if who != "" else ""
        pilot = "  PILOT" if info["attrs"].get("pilot") else ""  # PsychoPy's pilot mode (a try-out)
        w(f"  {r}  {info['n_trials']} trials  {outcome}  started {_when(info['started'])}{who}{pilot}\n")
    _plan_summary(log, w)
    last = log.logged_last_values()
    names = sorted(log.logged_variables())
    w(f"\nLogged variables ({len(names)})\n")
    for n in names:
        unit = log.variable_info(n)["unit"]
        lv = last.get(n)
        tail = f"  last {lv[1]:g}{' ' + unit if unit else ''} at {_when(lv[0])}" if lv else ""
        w(f"  {n}{f' [{unit}]' if unit else ''}  {log.variable_length(n)} values{tail}\n")
    params = log.parameters()
    w(f"\nParameters ({len(params)})\n")
    for k in sorted(params):
        w(f"  {k} = {params[k]!r}\n")
    ds = sorted(log.dataset_names())
    w(f"\nDatasets ({len(ds)})\n")
    for n in ds:
        shape, dtype, count = _dataset_shape(log, n)
        w(f"  {n}  {count} arrays of shape ({'x'.join(map(str, shape))}) {dtype}\n")
    notes = log.annotations()
    w(f"\nAnnotations ({len(notes)})\n")
    for a in notes[-10:]:
        w(f"  {_when(a['t'])}  {a['source']}  {a['kind']}  {a['text']}\n")
    if len(notes) > 10:
        w(f"  ... {len(notes) - 10} earlier (rigconsole data FILE --csv DIR writes them all)\n")
    sections = log.metadata_sections()
    w(f"\nMetadata ({len(sections)})\n")
    for sec in sections:
        w(f"  {sec}: {', '.join(f'{k}={v}' for k, v in log.metadata(sec).items())[:120]}\n")


def _dataset_shape(log: Any, name: str) -> tuple[tuple[int, ...], Any, int]:
    if hasattr(log, "dataset_shape"):  # the lazy reader: no array read
        return log.dataset_shape(name)
    times = log.dataset_times(name)
    _, last = log.dataset_last_data(name)
    return (last.shape, last.dtype, len(times)) if last is not None else ((), "?", len(times))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", name).strip(".") or "_"


def _write_csv(path: Path, header: list[str], rows) -> Path:
    """One CSV file (UTF-8, ``newline=""`` as the csv module wants): ``header`` then ``rows``."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        cw = csv.writer(fh)
        cw.writerow(header)
        cw.writerows(rows)
    return path


def _cell(v: Any) -> Any:
    """A trial cell as CSV text: NaN (a missing value) empty, floats at full precision."""
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(float(v))
    return v


def export_csv(log: Any, out_dir: Path) -> list[Path]:
    """Write ``<run>_trials.csv`` per run, ``var_<name>.csv`` (t,value) per variable, ``parameters.csv``,
    ``annotations.csv`` and ``notes.csv`` (the notebook notes: t, local time, run, trial numbered from 1 as
    the console shows it, marker code, who, text; run and trial empty for a session note).

    Returns the paths written. Times are epoch seconds.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for r in log.runs():
        table = log.trials(r)
        cols = list(table)
        n = len(next(iter(table.values()))) if table else 0
        written.append(
            _write_csv(
                out_dir / f"{_safe(r.split('/', 1)[1])}_trials.csv",
                cols,
                ([_cell(table[c][i]) for c in cols] for i in range(n)),
            )
        )
    for name in sorted(log.logged_variables()):
        t, v = log.logged_variable(name)
        unit = log.variable_info(name)["unit"]
        written.append(
            _write_csv(
                out_dir / f"var_{_safe(name)}.csv",
                ["t", f"{name} [{unit}]" if unit else name],
                zip(map(repr, t.tolist()), map(repr, v.tolist())),
            )
        )
    params = log.parameters()
    if params:
        written.append(_write_csv(out_dir / "parameters.csv", ["name", "value"], sorted(params.items())))
    notes = log.annotations()
    if notes:
        written.append(
            _write_csv(
                out_dir / "annotations.csv",
                ["t", "source", "kind", "text", "fields"],
                ([repr(a["t"]), a["source"], a["kind"], a["text"], json.dumps(a["fields"])] for a in notes),
            )
        )
    book = [a for a in notes if a["kind"] == "note"]
    if book:
        written.append(_write_csv(out_dir / "notes.csv", _NOTE_HEADER, (_note_row(a) for a in book)))
    return written


#: columns of ``notes.csv`` (the lab notebook; docs/data-format.md)
_NOTE_HEADER = ["t", "time", "run", "trial", "marker", "who", "text"]


def _note_row(a: dict[str, Any]) -> list[Any]:
    """A notebook note as a ``notes.csv`` row: run without ``runs/``, trial numbered from 1 (empty: a session note)."""
    f = a["fields"] if isinstance(a["fields"], dict) else {}
    run = f.get("run")
    run = run if isinstance(run, str) else ""
    trial = f.get("trial")
    return [
        repr(a["t"]),
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(a["t"])),
        run.split("/", 1)[-1],
        trial + 1 if isinstance(trial, int) else "",
        f.get("marker", "") or "",
        a["source"],
        a["text"],
    ]
