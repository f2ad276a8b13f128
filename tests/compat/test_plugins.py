"""PsychoPy plugins: installed plugins' Builder components compile; a component no installed
plugin provides makes the experiment broken, naming it and the plugin (never dropped)."""

from __future__ import annotations

import re


def _entry(make_session, root, key):
    s = make_session(root, win=None)
    s.addExperiment(key)
    return s.experiment_files[key]


def test_plugin_component_compiles(demo_root, make_session):
    root = demo_root("Feature Demos/noise")
    entry = _entry(make_session, root, "noise/noise.psyexp")
    assert not entry.broken, entry.error
    script = entry.script_path.read_text()
    assert "Unknown component ignored" not in script
    assert re.search(r"NoiseStim\(", script)  # psychopy-visionscience's noise stimulus, compiled


def test_unknown_plugin_component_is_broken_naming_plugin(demo_root, make_session):
    root = demo_root("Feature Demos/noise")
    path = root / "noise" / "noise.psyexp"
    text = path.read_text()
    assert text.count("<NoiseStimComponent") >= 1
    text = text.replace("<NoiseStimComponent", "<FooNoiseComponent").replace(
        "</NoiseStimComponent>", "</FooNoiseComponent>"
    )
    text = re.sub(r'(<FooNoiseComponent[^>]*plugin=")[^"]*"', r'\1psychopy-foonoise"', text)
    path.write_text(text)
    entry = _entry(make_session, root, "noise/noise.psyexp")
    assert entry.broken
    assert "FooNoiseComponent" in entry.error and "psychopy-foonoise" in entry.error
    assert "install it (pip install psychopy-foonoise)" in entry.error
    assert "\n" not in entry.error


def test_unknown_component_without_plugin_is_broken(demo_root, make_session):
    root = demo_root("Feature Demos/noise")
    path = root / "noise" / "noise.psyexp"
    text = path.read_text()
    text = text.replace("<NoiseStimComponent", "<MadeUpComponent").replace(
        "</NoiseStimComponent>", "</MadeUpComponent>"
    )
    text = re.sub(r'(<MadeUpComponent[^>]*plugin=")[^"]*"', r'\1None"', text)
    path.write_text(text)
    entry = _entry(make_session, root, "noise/noise.psyexp")
    assert entry.broken and "MadeUpComponent" in entry.error
    assert "not provided by PsychoPy or any installed plugin" in entry.error


def test_installed_plugins_listed():
    from rigconsole.session.loader import activate_plugins

    assert "psychopy-visionscience" in activate_plugins()
