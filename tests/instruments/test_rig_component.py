"""The InstrumentManager as a Rig component, with a real stimulus window and a real session file:
experiments read instruments through thisSession.instruments while one instrument hangs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rigconsole.instruments import ConnectionState, InstrumentManager, parse_rig_text
from rigconsole.rig import Rig
from rigconsole.settings import Settings

from instrument_helpers import wait_for

HERE = Path(__file__).parent
WINDOW = {"size": [320, 240], "fullscr": False, "units": "height"}


@pytest.mark.slow
def test_experiments_read_instruments_through_the_session_while_one_hangs(tmp_path, rig_dir, sim):
    root = tmp_path / "root"
    shutil.copytree(HERE / "experiments", root)
    profile = rig_dir / "sim-instruments.yaml"
    cfg = parse_rig_text(f"""
rig: booth
instruments:
  photometer:
    resource: USB0::0x1AB1::0x0100::LM0001::INSTR
    backend: "@sim"
    profile: {profile}
    channels:
      luminance: {{query: "MEAS:LUM?", unit: cd/m^2, period_s: 0.1}}
  sensor:
    resource: "{sim.resource}"
    timeout_s: 1.0
    channels:
      temperature: {{query: "MEAS:TEMP?", unit: degC, period_s: 0.1}}
""")
    rig = Rig(Settings(root=root, data_dir=tmp_path / "data"), window_params=WINDOW, simulated_vsync_hz=60)
    try:
        manager = InstrumentManager(cfg)
        rig.add_component("instruments", manager)
        assert manager.budget is rig.frame_budget
        assert set(rig.session.instruments) == {"photometer", "sensor"}
        assert manager.wait_connected(5)
        sim.set_mode("hang")
        assert rig.session.runExperiment("photometry/photometry.py", {"participant": "p1", "nTrials": 4})
        rec = rig.session.run_records[-1]
        assert rec.state == "finished", rec
        intervals = rec.frame_stats
        assert intervals["n_frames"] >= 100
        # the hung instrument blocked its worker for whole timeouts (1 s); never the experiment
        assert intervals["max_ms"] < 500, intervals
        assert manager["sensor"].state in (ConnectionState.DOWN, ConnectionState.RECONNECTING, ConnectionState.DEGRADED)
        log = rig.data_log
        assert log.variable_info("photometer.luminance")["unit"] == "cd/m^2"
        assert len(log.logged_variable("photometer.luminance")[0]) >= 5
        notes = [a["fields"]["state"] for a in log.annotations() if a["source"] == "instrument:sensor"]
        assert "down" in notes or "degraded" in notes
        run = log.runs()[-1]
        lum = log.trials(run)["luminance"]
        assert len(lum) == 4 and all(98.0 <= x <= 102.0 for x in lum)
        # a new data folder: a new session file, described again, polled into
        rig.apply_settings(rig.settings.model_copy(update={"data_dir": tmp_path / "data2"}))
        assert rig.data_log is manager.data_log
        assert rig.data_log.metadata("instrument/photometer")["idn"].startswith("Rig Console,SIM-LM-100")
        assert wait_for(lambda: "photometer.luminance" in rig.data_log.logged_variables(), 5)
    finally:
        rig.close()
    assert not any(i.state == ConnectionState.CONNECTED for i in manager.instruments.values())
    assert rig.session.instruments == {} or len(rig.session.instruments) == 0
