"""The one table of state colours and words: runs, instruments and remote connections.

Every view that colours a state reads it here: the run panel's pill and last-run
line, the data browser's run list, the instruments dock, the remote observer
window, the lab dashboard, and the browser page served by the rig
(``remote/static/index.html``, whose ``/* palette */`` block is :func:`css`,
checked by ``tests/views/test_palette.py``). No other module spells a state's
colour.

The states are the strings the core uses: :class:`rigconsole.session.runs.RunState`
values (and ``"idle"``, ``"stopping"``, as the remote API's ``/api/status``
gives them), :class:`rigconsole.instruments.instrument.ConnectionState` values,
and the remote feed's connection words (``"live"``, ``"lost"``, ``"refused"``).
Colours are ``#rrggbb`` text, dark enough for white text on them (a pill) and
for text on white (WCAG AA, 4.5:1 or more).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "SERIES",
    "StateLook",
    "RUN_STATES",
    "INSTRUMENT_STATES",
    "CONNECTION_STATES",
    "NEUTRAL",
    "ERROR",
    "OK",
    "WARNING",
    "PILOT",
    "run_look",
    "instrument_look",
    "connection_look",
    "css",
]

#: colours of a plot's series, in the order series are drawn (Okabe-Ito: colour-blind safe)
SERIES = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#7f7f7f"]

#: text colour for errors that are not a state (a refused request, a file that will not open): the "failed" red
ERROR = "#b42318"
#: a good outcome: the "running" green
OK = "#12805c"
#: attention without failure: the "paused" amber
WARNING = "#b54708"
#: a state without a colour of its own (idle, unknown, not connected)
NEUTRAL = "#667085"
#: a pilot run (PsychoPy's pilot mode): PsychoPy's own piloting orange (``Window.showPilotingIndicator``'s
#: border, ``#EC9703``), as a badge behind dark text (black on it: 9:1) or as a border; not a run state
PILOT = "#EC9703"
_WITH_ERRORS = "#c2410c"
_STOPPED = "#a15c00"
_BLUE = "#175cd3"


@dataclass(frozen=True)
class StateLook:
    """How a state is shown: ``colour`` (``#rrggbb``, for text on white or as a pill behind white text)
    and ``word`` (what the technician reads, capitalised as a label)."""

    colour: str
    word: str


#: run states (``RunState`` values, plus ``"idle"`` and the remote API's ``"stopping"``)
RUN_STATES: dict[str, StateLook] = {
    "idle": StateLook(NEUTRAL, "Idle"),
    "starting": StateLook(OK, "Starting"),
    "running": StateLook(OK, "Running"),
    "paused": StateLook(WARNING, "Paused"),
    "stopping": StateLook(WARNING, "Stopping"),
    "finished": StateLook(OK, "Finished"),
    "finished with errors": StateLook(_WITH_ERRORS, "Finished with errors"),
    "stopped": StateLook(_STOPPED, "Stopped"),
    "failed": StateLook(ERROR, "Failed"),
}

#: instrument connection states (``ConnectionState`` values)
INSTRUMENT_STATES: dict[str, StateLook] = {
    "connected": StateLook(OK, "connected"),
    "degraded": StateLook(WARNING, "degraded"),
    "down": StateLook(ERROR, "down"),
    "reconnecting": StateLook(_WITH_ERRORS, "reconnecting"),
    "connecting": StateLook(_BLUE, "connecting"),
    "disconnected": StateLook(NEUTRAL, "disconnected"),
}

#: a remote observer's link to a rig (``RemoteFeed.connection``: "live", "lost: ...", "refused: ...")
CONNECTION_STATES: dict[str, StateLook] = {
    "live": StateLook(OK, "live"),
    "connecting": StateLook(NEUTRAL, "connecting..."),
    "lost": StateLook(ERROR, "connection lost"),
    "refused": StateLook(ERROR, "refused"),
}


def _look(table: dict[str, StateLook], state: str) -> StateLook:
    return table.get(str(state)) or StateLook(NEUTRAL, str(state).capitalize() if table is RUN_STATES else str(state))


def run_look(state: str) -> StateLook:
    """The look of a run state (``"running"``, ``"finished with errors"``...); unknown ones neutral grey."""
    return _look(RUN_STATES, state)


def instrument_look(state: str) -> StateLook:
    """The look of an instrument connection state (``"connected"``, ``"down"``...); unknown ones neutral grey."""
    return _look(INSTRUMENT_STATES, state)


def connection_look(what: str) -> StateLook:
    """The look of a remote connection message: its first word (``"lost: timed out"`` → ``"lost"``)."""
    return _look(CONNECTION_STATES, what.split(":", 1)[0].strip())


def css() -> str:
    """The browser page's palette block: CSS custom properties (``--series``: its plots' line, as the
    console's first series) and one ``.state.<state>`` rule per run state.

    A state's class is its value with spaces as dashes (``.state.finished-with-errors``), as the
    page's script sets it. ``remote/static/index.html`` holds this text between ``/* palette */``
    and ``/* end palette */``.
    """
    lines = [
        f":root {{ --ok:{OK}; --warn:{WARNING}; --bad:{ERROR}; --muted:{NEUTRAL}; --series:{SERIES[0]};"
        f" --pilot:{PILOT}; }}"
    ]
    for state, look in RUN_STATES.items():
        lines.append(f".state.{state.replace(' ', '-')} {{ color:{look.colour}; }}")
    for state, look in CONNECTION_STATES.items():
        lines.append(f"#conn.{state} {{ background:{look.colour}; }}")
    return "\n".join("  " + line for line in lines)


if __name__ == "__main__":  # python -m rigconsole.views.palette: the block to paste into index.html
    print(css())
