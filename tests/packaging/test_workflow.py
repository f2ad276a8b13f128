"""The installer workflow cannot run here: actionlint checks it (and is shown to catch a broken one)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def _actionlint() -> str:
    exe = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("actionlint is not installed: it comes with the dev dependencies (uv sync)")
    return exe


def test_there_is_an_installer_workflow():
    names = [p.name for p in WORKFLOWS]
    assert "installers.yml" in names
    text = (WORKFLOWS[names.index("installers.yml")]).read_text()
    for job in ("linux:", "windows:", "macos:"):
        assert f"\n  {job}" in text
    assert "packaging/rigconsole.spec" in text and "--self-test" in text


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_passes_actionlint(workflow):
    res = subprocess.run([_actionlint(), "-no-color", str(workflow)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    good = (REPO / ".github" / "workflows" / "installers.yml").read_text()
    bad = good.replace("${{ steps.version.outputs.version }}", "${{ steps.versoin.outputs.version }}", 1)
    assert bad != good
    path = tmp_path / "broken.yml"
    path.write_text(bad)
    res = subprocess.run([_actionlint(), "-no-color", str(path)], capture_output=True, text=True, timeout=120)
    assert res.returncode != 0
    assert "versoin" in res.stdout
