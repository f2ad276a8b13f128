"""One palette: every state colour and word comes from rigconsole.views.palette.

The browser page's palette block is the table's CSS; no view module spells a state colour of
its own (the three tables of before had "failed" as #b42318, #c62828 and #B00020)."""

from __future__ import annotations

import re
from pathlib import Path

from rigconsole.views import palette

APP = Path(__file__).resolve().parents[2] / "app" / "rigconsole"

#: the views that colour run, instrument or connection states
STATE_VIEWS = [
    "ui/run_panel.py",
    "ui/instruments_dock.py",
    "ui/remote_observer.py",
    "ui/remote_dashboard.py",
    "ui/data_browser.py",
    "ui/trial_plot.py",
    "ui/variable_plots.py",
    "ui/plots.py",
    "remote/static/index.html",
    # errors and warnings outside the run states: the log, the settings tabs, the expInfo form,
    # the error banner (in run_panel.py) and the error dialog
    "ui/log_panel.py",
    "ui/settings_dialog.py",
    "ui/settings_remote.py",
    "ui/settings_widgets.py",
    "ui/expinfo_form.py",
    "ui/error_dialog.py",
]
#: state colours of the old tables, gone everywhere under app/
OLD_STATE_COLOURS = {
    "#c62828",
    "#b00020",
    "#2e7d32",
    "#1b7f3b",
    "#a15c00",
    "#f9a825",
    "#e65100",
    "#43a047",
    "#9a6700",
    "#b58900",
    "#1565c0",
    "#b26a00",
    "#b71c1c",
    "#e57373",
}
#: views whose only colours are errors, warnings and hints: they spell no colour at all
NO_COLOUR_VIEWS = [
    "ui/log_panel.py",
    "ui/settings_dialog.py",
    "ui/settings_remote.py",
    "ui/settings_widgets.py",
    "ui/expinfo_form.py",
    "ui/error_dialog.py",
]


def _table_colours() -> set[str]:
    looks = [*palette.RUN_STATES.values(), *palette.INSTRUMENT_STATES.values(), *palette.CONNECTION_STATES.values()]
    return {look.colour.lower() for look in looks}


def test_the_browser_page_carries_the_palette_block():
    page = (APP / "remote" / "static" / "index.html").read_text(encoding="utf-8")
    m = re.search(r"/\* palette:[^*]*\*/\n(.*?)\n\s*/\* end palette \*/", page, re.S)
    assert m, "index.html has no /* palette */ ... /* end palette */ block"
    assert m.group(1) == palette.css(), "regenerate the block with: python -m rigconsole.views.palette"
    # the page's script sets exactly the classes the block styles
    assert 'className = "state " + String(st.state).replace(/ /g, "-")' in page
    for cls in ("live", "lost", "refused"):
        assert f'"{cls}"' in page and f"#conn.{cls} " in page


def test_no_view_spells_a_state_colour_of_its_own():
    table = _table_colours()
    found = {}
    for rel in STATE_VIEWS:
        text = (APP / rel).read_text(encoding="utf-8")
        if rel.endswith(".html"):  # the generated block is the palette itself
            text = re.sub(r"/\* palette:.*?/\* end palette \*/", "", text, flags=re.S)
        hexes = {h.lower() for h in re.findall(r"#[0-9a-fA-F]{6}\b", text)}
        bad = hexes & (table | OLD_STATE_COLOURS)
        if bad:
            found[rel] = sorted(bad)
        assert not re.search(r"^\s*[A-Z_]*COLOURS\s*=", text, re.M), f"{rel} keeps its own colour table"
    assert not found, f"state colours spelled outside rigconsole/views/palette.py: {found}"


def test_error_and_warning_views_take_their_colours_from_the_palette():
    found = {
        rel: re.findall(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b(?!\w)", (APP / rel).read_text(encoding="utf-8"))
        for rel in NO_COLOUR_VIEWS
    }
    assert not {rel: hexes for rel, hexes in found.items() if hexes}, found
    banner = (APP / "ui" / "run_panel.py").read_text(encoding="utf-8")
    assert "{ERROR}" in banner.split("class Banner", 1)[1].split("def show_message", 1)[0]


def test_old_state_tables_are_gone_from_the_whole_app():
    for path in APP.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for name in ("PILL_COLOURS", "OUTCOME_COLOURS", "STATE_COLOURS", "WITH_ERRORS_COLOUR"):
            assert name not in text, f"{path.relative_to(APP)} still has {name}"


def test_failed_is_one_red_and_states_are_told_apart():
    assert palette.run_look("failed").colour == palette.ERROR == palette.instrument_look("down").colour
    assert palette.connection_look("lost: timed out").colour == palette.ERROR
    assert palette.connection_look("live").colour == palette.run_look("running").colour
    distinct = ("running", "paused", "failed", "finished with errors", "stopped", "idle")
    assert len({palette.run_look(s).colour for s in distinct}) == len(distinct)
    assert palette.run_look("finished with errors").word == "Finished with errors"
    assert palette.run_look("no such state").colour == palette.NEUTRAL


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_every_state_colour_reads_on_white_and_under_white_text():
    for colour in _table_colours():
        ratio = 1.05 / (_luminance(colour) + 0.05)
        assert ratio >= 4.5, f"{colour} has contrast {ratio:.2f} against white (WCAG AA wants 4.5)"
