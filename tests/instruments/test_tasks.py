"""Monitoring tasks (pymanip style) on an asyncio loop: sleep returns early on stop, add_entry,
awaitable queries, a raising task is logged and restarted."""

from __future__ import annotations

import asyncio
import time

from rigconsole.instruments import load_rig_file
from rigconsole.instruments.tasks import load_tasks


def test_the_bundled_rig_tasks_load(rig_dir):
    fns = load_tasks(rig_dir / "monitoring.py")
    assert [f.__name__ for f in fns] == ["psu_power"]


def test_tasks_log_query_restart_after_raising_and_stop_early(rig_dir, make_manager, make_log):
    (rig_dir / "tasks.py").write_text("""
calls = {"flaky": 0}

async def luminance_twice(rig):
    v = await rig["photometer"].aread("luminance")      # in the instrument's worker
    idn = await rig.query("photometer", "*IDN?")
    rig.add_entry(luminance_again=v, idn_len=len(idn))
    await rig.sleep(0.05)

async def flaky(rig):
    calls["flaky"] += 1
    if calls["flaky"] <= 2:
        raise RuntimeError("sensor said no")
    rig.add_entry(flaky_ok=calls["flaky"])
    await rig.sleep(0.05)

async def sleeper(rig):
    if await rig.sleep(3600):
        rig.add_entry(slept_an_hour=1)
    else:
        rig.add_entry(woke_on_stop=1)

def not_a_task(rig):
    pass
""")
    text = (rig_dir / "simulated.yaml").read_text().replace("file: monitoring.py", "file: tasks.py")
    (rig_dir / "simulated.yaml").write_text(text)
    log = make_log()
    m = make_manager(load_rig_file(rig_dir / "simulated.yaml"), data_log=log)
    failed = []
    m.events.task_failed.connect(lambda name, msg: failed.append((name, msg)))
    m.start()
    assert m.wait_connected(5)

    async def main():
        loop = asyncio.get_running_loop()
        mon = m.start_monitoring(loop)
        assert sorted(mon.task_names) == ["flaky", "luminance_twice", "sleeper"]
        t_end = time.monotonic() + 8
        while time.monotonic() < t_end and "flaky_ok" not in log.logged_variables():
            await asyncio.sleep(0.05)
        t0 = time.monotonic()
        m.stop_monitoring()
        await asyncio.sleep(0.2)
        return mon, time.monotonic() - t0

    mon, _ = asyncio.run(main())
    assert len(log.logged_variable("luminance_again")[0]) >= 3
    assert log.logged_last_values()["idn_len"][1] == len("Rig Console,SIM-LM-100,LM0001,1.0")
    assert "flaky_ok" in log.logged_variables()  # restarted after raising twice
    assert mon.failures == {"flaky": 2}
    assert failed == [("flaky", "RuntimeError: sensor said no")] * 2
    errors = [a for a in log.annotations() if a["kind"] == "error"]
    assert [a["source"] for a in errors] == ["monitoring:flaky"] * 2
    assert "woke_on_stop" in log.logged_variables() and "slept_an_hour" not in log.logged_variables()


def test_a_task_file_that_does_not_load_is_reported_not_raised(rig_dir, make_manager):
    (rig_dir / "monitoring.py").write_text("import no_such_module_here\n")
    m = make_manager(load_rig_file(rig_dir / "simulated.yaml"))
    failed = []
    m.events.task_failed.connect(lambda name, msg: failed.append((name, msg)))

    async def main():
        m.start_monitoring(asyncio.get_running_loop())
        await asyncio.sleep(0.05)

    asyncio.run(main())
    assert failed and failed[0][0] == "monitoring.py" and "no_such_module_here" in failed[0][1]


def test_the_bundled_task_logs_the_psu_power_with_its_unit(rig_dir, make_manager, make_log):
    from instrument_helpers import wait_for

    log = make_log()
    m = make_manager(load_rig_file(rig_dir / "simulated.yaml"), data_log=log)
    m.start()
    assert m.wait_connected(5)
    psu = m["psu"]
    assert wait_for(lambda: psu.value("voltage") is not None and psu.value("current") is not None, 5)

    async def main():
        m.start_monitoring(asyncio.get_running_loop())
        t_end = time.monotonic() + 5
        while time.monotonic() < t_end and "psu.power" not in log.logged_variables():
            await asyncio.sleep(0.05)
        m.stop_monitoring()
        await asyncio.sleep(0.1)

    asyncio.run(main())
    assert log.variable_info("psu.power")["unit"] == "W"
    _, p = log.logged_variable("psu.power")
    assert len(p) >= 1 and 5.0 * 0.10 <= p[0] <= 5.0 * 0.12  # 5 V x 0.10-0.12 A from the profile
