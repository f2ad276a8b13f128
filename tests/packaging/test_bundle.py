"""The installer end to end, as a technician gets it (slow: builds the PyInstaller bundle).

Builds the Linux artifacts with ``packaging/linux/build.sh`` (``RIGCONSOLE_REUSE_BUNDLE=1``
repackages an existing bundle instead of running PyInstaller again), installs the
``.deb`` into this machine with ``dpkg -i`` (root), then starts the installed app
the way the applications menu does: the ``Exec`` command of
``/usr/share/applications/rigconsole.desktop``, under the test's X display.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DESKTOP = Path("/usr/share/applications/rigconsole.desktop")
OPT = Path("/opt/rigconsole")
TITLE = "Rig Console"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(3600),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the .deb is the Linux installer"),
    pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg -i needs a Debian-family system"),
    pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() != 0, reason="dpkg -i into /opt needs root"),
]


_ARTIFACTS: dict[str, Path] = {}


@pytest.fixture(scope="module")
def deb() -> Path:
    """Build the artifacts and install the .deb; removed again afterwards unless it was installed before."""
    cmd = [str(REPO / "packaging" / "linux" / "build.sh")]
    if os.environ.get("RIGCONSOLE_REUSE_BUNDLE") == "1":
        cmd.append("--reuse-bundle")
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=3000)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    path = Path(re.search(r"^build\.sh: deb\s+(\S+)", res.stdout, re.M).group(1))
    tarball = Path(re.search(r"^build\.sh: tarball\s+(\S+)", res.stdout, re.M).group(1))
    assert path.is_file() and tarball.is_file()
    _ARTIFACTS["tarball"] = tarball
    was_installed = subprocess.run(["dpkg", "-s", "rigconsole"], capture_output=True).returncode == 0
    inst = subprocess.run(["dpkg", "-i", str(path)], capture_output=True, text=True, timeout=600)
    assert inst.returncode == 0, inst.stdout + inst.stderr
    yield path
    if not was_installed:
        subprocess.run(["dpkg", "-r", "rigconsole"], capture_output=True, timeout=600)


def _exec_command() -> list[str]:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(DESKTOP, encoding="utf-8")
    return shlex.split(re.sub(r"\s%[fFuUdDnNickvm]", "", entry["Desktop Entry"]["Exec"]))


def _windows(name: str) -> list[str]:
    res = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", name], capture_output=True, text=True)
    return res.stdout.split()


def _stacking() -> list[int]:
    """The root window's children, top first (``xwininfo -root -children`` lists them so)."""
    out = subprocess.run(["xwininfo", "-root", "-children"], capture_output=True, text=True).stdout
    return [int(m.group(1), 16) for m in re.finditer(r"^\s+(0x[0-9a-f]+) ", out, re.M)]


def _top_level(wid: str) -> int:
    """The root's child that holds X window ``wid`` (a Qt window may sit in a parent frame)."""
    out = subprocess.run(["xwininfo", "-id", wid, "-tree"], capture_output=True, text=True).stdout
    m = re.search(r"Parent window id: (0x[0-9a-f]+)", out)
    root = subprocess.run(["xwininfo", "-root"], capture_output=True, text=True).stdout
    root_id = int(re.search(r"Window id: (0x[0-9a-f]+)", root).group(1), 16)
    if m is None or int(m.group(1), 16) == root_id:
        return int(wid)
    return _top_level(str(int(m.group(1), 16)))


def test_the_deb_installs_into_opt_with_a_menu_entry_and_an_icon(deb):
    files = subprocess.run(["dpkg", "-L", "rigconsole"], capture_output=True, text=True, check=True).stdout.split()
    assert str(OPT / "rigconsole") in files and str(DESKTOP) in files
    assert os.access(OPT / "rigconsole", os.X_OK)
    assert Path("/usr/bin/rigconsole").resolve() == (OPT / "rigconsole").resolve()
    text = DESKTOP.read_text()
    assert "Name=Rig Console" in text and "Icon=rigconsole" in text and "Terminal=false" in text
    assert Path(_exec_command()[0]) == OPT / "rigconsole"
    for n in (48, 256):
        assert Path(f"/usr/share/icons/hicolor/{n}x{n}/apps/rigconsole.png").stat().st_size > 200
    if shutil.which("desktop-file-validate"):
        res = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr


def test_the_bundle_holds_pyside6_alone_and_what_the_console_needs(deb):
    internal = OPT / "_internal"
    others = [p for p in internal.rglob("*") if re.match(r"(PyQt[56]|PySide2|libQt5)", p.name)]
    assert others == [], f"a second Qt in the bundle: {others[:5]}"
    plugins = internal / "PySide6" / "Qt" / "plugins" / "platforms"
    assert (plugins / "libqxcb.so").is_file() and (plugins / "libqoffscreen.so").is_file()
    assert (internal / "pyvisa_sim" / "default.yaml").is_file()  # the simulated instruments
    assert any(internal.glob("h5py/*.so")) and any(internal.glob("pyvisa_py-*.dist-info"))
    assert (internal / "resources" / "experiments" / "gonogo" / "gonogo.py").is_file()
    assert (internal / "resources" / "icons" / "rigconsole.png").is_file()


def test_the_menu_entry_command_passes_the_self_test_and_writes_its_data_file(deb, app_env):
    res = subprocess.run(_exec_command() + ["--self-test"], env=app_env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr[-3000:]
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith(("ok    ", "FAIL  "))]
    names = [ln[6:].split(":")[0] for ln in lines]
    assert {"console", "run", "data file", "import hook", "one Qt binding"} <= set(names)
    assert all(ln.startswith("ok    ") for ln in lines)
    assert "/opt/rigconsole/_internal/PySide6" in next(ln for ln in lines if "one Qt binding" in ln)
    data_line = next(ln for ln in lines if ln.startswith("ok    data file:"))
    h5 = Path(data_line.split(": ", 1)[1].split(" (")[0])
    assert h5.is_file() and str(h5).startswith(app_env["HOME"])
    from rigconsole.datalog import DataLog

    with DataLog(h5, readonly=True) as log:
        (run,) = log.runs()
        trials = log.trials(run)
        assert list(trials["participant"]) == ["selftest"] * 3
        assert set(trials["condition"]) <= {"go", "nogo"}


def test_a_second_launch_exits_at_once_and_brings_the_first_forward(deb, app_env):
    if shutil.which("xdotool") is None or shutil.which("xwininfo") is None:
        pytest.fail("xdotool and xwininfo are needed (scripts/setup installs them)")
    assert not _windows(f"^{TITLE}$"), "another Rig Console window is open on this display"
    cmd = _exec_command()
    t0 = time.monotonic()
    first = subprocess.Popen(cmd, env=app_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wid = None
        while wid is None:
            assert first.poll() is None, f"the console exited ({first.returncode}): {first.stdout.read()[-3000:]}"
            assert time.monotonic() - t0 < 120, "no console window within 120 s"
            found = _windows(f"^{TITLE}$")
            wid = found[0] if found else None
            time.sleep(0.05)
        # the console's window comes first, the subject screen's once PsychoPy and the rig are loaded
        stim = None
        while stim is None:
            assert first.poll() is None, f"the console exited ({first.returncode}): {first.stdout.read()[-3000:]}"
            assert time.monotonic() - t0 < 120, "no stimulus window within 120 s"
            found = _windows("^PsychoPy$")
            stim = found[0] if found else None
            time.sleep(0.05)
        first_s = time.monotonic() - t0
        # put the subject screen's window on top of the console, as after a run
        subprocess.run(["xdotool", "windowraise", stim], check=True)
        console_top, stim_top = _top_level(wid), _top_level(stim)
        time.sleep(0.3)
        order = _stacking()
        assert order.index(stim_top) < order.index(console_top)  # the stimulus window is above

        t1 = time.monotonic()
        second = subprocess.run(cmd, env=app_env, capture_output=True, text=True, timeout=60)
        second_s = time.monotonic() - t1
        assert second.returncode == 0, second.stdout + second.stderr
        assert "already running" in second.stdout
        # it exits before PsychoPy loads: sooner than the first took to load PsychoPy and the rig
        assert second_s < first_s, (second_s, first_s)
        assert len(_windows(f"^{TITLE}$")) == 1
        deadline = time.monotonic() + 10
        while True:
            order = _stacking()
            if order.index(console_top) < order.index(stim_top):
                break
            assert time.monotonic() < deadline, "the running console did not come forward"
            time.sleep(0.1)
        log_file = Path(app_env["XDG_STATE_HOME"]) / "rigconsole" / "log" / "rigconsole.log"
        assert "brought this console forward" in log_file.read_text()
        # the technician quits with Ctrl+Q: the console closes cleanly and remembers its layout
        subprocess.run(["xdotool", "windowfocus", "--sync", wid], capture_output=True, timeout=10)
        subprocess.run(["xdotool", "key", "ctrl+q"], capture_output=True, timeout=10)
        assert first.wait(30) == 0
        settings = Path(app_env["RIGCONSOLE_SETTINGS"])
        assert settings.is_file() and '"geometry": ""' not in settings.read_text()
    finally:
        if first.poll() is None:
            first.terminate()
            first.wait(30)


def test_the_tarball_installs_for_one_user_without_root(deb, app_env, tmp_path):
    """``./install.sh`` from the unpacked tarball: app, menu entry and command under the user's home."""
    tarball = _ARTIFACTS["tarball"]
    subprocess.run(["tar", "-xzf", str(tarball), "-C", str(tmp_path)], check=True, timeout=600)
    (unpacked,) = [p for p in tmp_path.iterdir() if p.name.startswith("rigconsole-")]
    home = Path(app_env["HOME"])
    res = subprocess.run([str(unpacked / "install.sh")], env=app_env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    app = home / ".local" / "opt" / "rigconsole" / "rigconsole"
    entry = Path(app_env["XDG_DATA_HOME"]) / "applications" / "rigconsole.desktop"
    assert os.access(app, os.X_OK) and entry.is_file()
    assert f"Exec={app}" in entry.read_text()
    assert (Path(app_env["XDG_DATA_HOME"]) / "icons/hicolor/256x256/apps/rigconsole.png").is_file()
    assert (home / ".local" / "bin" / "rigconsole").resolve() == app.resolve()
    ver = subprocess.run([str(app), "--version"], env=app_env, capture_output=True, text=True, timeout=120)
    assert ver.returncode == 0 and ver.stdout.startswith("rigconsole "), ver.stdout + ver.stderr
    res = subprocess.run([str(unpacked / "uninstall.sh")], env=app_env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and not app.exists() and not entry.exists()
