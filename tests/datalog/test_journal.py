"""The rollback journal: a kill at any write of a structural cycle loses nothing.

A child process opens an existing data log, adds a new variable and a new run
(a structural cycle, written outside SWMR mode through the journal) and is
SIGKILLed by its own hook at the k-th HDF5 write of that cycle, either before
the page is journaled or just after (journal written, file not yet). For every
kill point, recover() must give a readable file holding all the old data, and
either all or none of the cycle's new objects.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rigconsole.datalog import DataLog, recover
from rigconsole.datalog.journal import JournalBusyError, JournaledFile, journal_path, rollback

APP = str(Path(__file__).resolve().parents[2] / "app")

CHILD = """
import os, signal, sys
from rigconsole.datalog import DataLog
from rigconsole.datalog.journal import JournaledFile
path, k, when = sys.argv[1], int(sys.argv[2]), sys.argv[3]
count = 0
write, save = JournaledFile.write, JournaledFile._save
def hooked_write(self, b):
    global count
    count += 1
    if count == k:
        if when == "after-journal":
            save(self, self._pos, self._pos + len(b))
        os.kill(os.getpid(), signal.SIGKILL)
    return write(self, b)
JournaledFile.write = hooked_write
import time
log = DataLog(path, flush_interval=30.0)  # the writer cycles only when flush() wakes it...
time.sleep(0.2)  # ...after its first, empty cycle: so all of the below is one structural cycle
log.add_entry(seq=100.0, brand_new=1.0)
run = log.start_run("second", {"participant": "p2"})
log.add_trial(run, {"trials.thisN": 0, "key_resp.rt": 0.5})
log.flush()
print(count, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # a clean close would not test anything
"""


def _child(path: Path, k: int, when: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=APP + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(k), when], capture_output=True, text=True, env=env, timeout=60
    )


@pytest.fixture(scope="module")
def base_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("journal") / "base.h5"
    with DataLog(p) as log:
        for i in range(50):
            log.add_entry(seq=float(i))
        run = log.start_run("first", {"participant": "p1"})
        for i in range(5):
            log.add_trial(run, {"trials.thisN": i, "key_resp.rt": 0.1 * i})
    return p


def _check(path: Path) -> tuple[bool, str]:
    report = recover(path)
    with DataLog(path, readonly=True) as log:
        _, seq = log.logged_variable("seq")
        assert list(seq[:50]) == list(range(50)), "old entries damaged"
        runs = log.runs()
        assert len(log.trials(runs[0])["trials.thisN"]) == 5, "old trial rows damaged"
        new = "brand_new" in log.logged_variables()
    return new, str(report)


def test_a_clean_structural_cycle_leaves_no_journal(base_file, tmp_path):
    p = tmp_path / "s.h5"
    shutil.copy(base_file, p)
    res = _child(p, 10**9, "before")  # never killed by the hook
    writes = int(res.stdout.split()[0])
    assert writes > 5, res.stderr  # the cycle did go through the journal
    assert not journal_path(p).exists()
    new, report = _check(p)
    assert new and "rolled back" not in report


@pytest.mark.parametrize("when", ["before", "after-journal"])
def test_a_kill_at_any_write_of_a_structural_cycle_rolls_back(base_file, tmp_path, when):
    probe = tmp_path / "probe.h5"
    shutil.copy(base_file, probe)
    writes = int(_child(probe, 10**9, "before").stdout.split()[0])
    points = sorted({1, 2, 3, writes // 4, writes // 2, 3 * writes // 4, writes - 1, writes})
    rolled = 0
    for k in points:
        p = tmp_path / f"k{k}.h5"
        shutil.copy(base_file, p)
        res = _child(p, k, when)
        assert res.returncode == -signal.SIGKILL, res.stderr
        assert journal_path(p).exists(), f"kill at write {k}: no journal left"
        new, report = _check(p)
        assert not new, f"kill at write {k}: the cut-short cycle's variable survived ({report})"
        assert not journal_path(p).exists()
        rolled += "rolled back" in report
        # the log is writable again after recovery
        with DataLog(p) as log:
            log.add_entry(seq=200.0)
        with DataLog(p, readonly=True) as log:
            assert log.logged_variable("seq")[1][-1] == 200.0
    assert rolled >= len(points) - 1  # a kill before the first page is saved restores nothing


def _journaled(p: Path, content: bytes, writes: list[tuple[int, bytes]]) -> JournaledFile:
    """``p`` holding ``content``, then ``writes`` (offset, bytes) through a JournaledFile left open."""
    p.write_bytes(content)
    jf = JournaledFile(p)
    for off, b in writes:
        jf.seek(off)
        jf.write(b)
    return jf


def test_rollback_refuses_a_journal_a_live_writer_holds(tmp_path):
    p = tmp_path / "f.bin"
    jf = _journaled(p, b"a" * 10000, [(5000, b"b" * 10)])
    with pytest.raises(JournalBusyError, match="another process"):
        # flock is per open file description: a second open in this process conflicts too
        rollback(p)
    jf.abandon()
    assert rollback(p) == 1
    assert p.read_bytes() == b"a" * 10000


def test_rollback_restores_truncated_and_extended_bytes(tmp_path):
    p = tmp_path / "f.bin"
    data = np.random.default_rng(1).integers(0, 256, 3 * 4096 + 100, dtype=np.uint8).tobytes()
    # the first write straddles pages 0 and 1; the second lies beyond the old end: nothing to save
    jf = _journaled(p, data, [(4090, b"x" * 20), (len(data) + 5000, b"tail")])
    jf.truncate(2 * 4096 + 7)  # cuts into page 2 and 3
    assert jf.pages_saved == 4
    jf.abandon()
    assert rollback(p) == 4
    assert p.read_bytes() == data
    assert rollback(p) == 0  # the journal is gone


def test_a_torn_journal_record_is_ignored(tmp_path):
    p = tmp_path / "f.bin"
    jf = _journaled(p, b"a" * 8192, [(0, b"b" * 4), (4096, b"c" * 4)])
    jf.abandon()
    jp = journal_path(p)
    jp.write_bytes(jp.read_bytes()[:-100])  # the second record cut short, as by a kill
    # the torn record's page was never overwritten in a real kill; restore it to match
    with open(p, "r+b") as fh:
        fh.seek(4096)
        fh.write(b"a" * 4)
    assert rollback(p) == 1
    assert p.read_bytes() == b"a" * 8192


def test_the_journal_works_without_posix_locks_and_positioned_io(tmp_path, monkeypatch):
    """Windows has neither fcntl nor os.pread/os.pwrite: the same journal and rollback."""
    from rigconsole.datalog import journal

    monkeypatch.setattr(journal, "fcntl", None)
    monkeypatch.delattr(os, "pread", raising=False)
    monkeypatch.delattr(os, "pwrite", raising=False)
    p = tmp_path / "f.bin"
    data = bytes(range(256)) * 40
    jf = _journaled(p, data, [(100, b"z" * 5000), (len(data) + 10, b"tail")])
    jf.abandon()
    assert rollback(p) == 2
    assert p.read_bytes() == data
    jf = _journaled(p, data, [(0, b"y" * 10)])
    jf.commit()
    assert p.read_bytes()[:10] == b"y" * 10 and not journal_path(p).exists()


FAILING_CHILD = """
import errno, json, os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
from rigconsole.datalog.journal import JournaledFile, rollback
p = sys.argv[1]
data = bytes(range(256)) * 48  # 3 pages; pages 0 and 2 get journaled below
open(p, "wb").write(data)
resource.setrlimit(resource.RLIMIT_FSIZE, (len(data) + 100, resource.RLIM_INFINITY))
jf = JournaledFile(p)
out = {}
jf.seek(10); jf.write(b"A" * 10)  # fits: journaled, then written to the file
out["before"] = jf.error is None
jf.seek(len(data) - 50); out["n"] = jf.write(b"B" * 5000)  # past the limit: EFBIG, not raised
out["errno"] = getattr(jf.error, "errno", None)
on_disk = open(p, "rb").read()
jf.seek(20); jf.write(memoryview(b"C" * 4))  # after the error: only the copy in memory
jf.seek(0); copy = jf.read(len(data) + 4950)  # the end, 50 bytes past the old one + 5000
out["copy"] = copy == data[:10] + b"A" * 10 + b"C" * 4 + data[24:len(data) - 50] + b"B" * 5000
jf.truncate(100); jf.seek(200); jf.write(b"D")  # cut, then extended: the gap reads as zeros
jf.seek(0); copy = jf.read(-1)
out["cut"] = copy == data[:10] + b"A" * 10 + b"C" * 4 + data[24:100] + bytes(100) + b"D"
out["eof"] = jf.seek(0, 2)
out["disk_untouched"] = open(p, "rb").read() == on_disk
try:
    jf.commit()
    out["commit"] = "ok"
except OSError as exc:
    out["commit"] = exc.errno
jf.abandon()
out["restored"] = rollback(p)
out["original"] = open(p, "rb").read() == data
print(json.dumps(out))
"""


def test_a_failed_write_is_kept_and_the_rest_stays_in_memory(tmp_path):
    """A real EFBIG (RLIMIT_FSIZE in a child): the JournaledFile never raises it to HDF5.

    Later writes go to a copy in memory that reads see; the file on disk is not
    written again; commit() raises the kept error; rollback() restores the file.
    """
    import json

    env = dict(os.environ, PYTHONPATH=APP + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run(
        [sys.executable, "-c", FAILING_CHILD, str(tmp_path / "f.bin")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out == {
        "before": True,
        "n": 5000,
        "errno": errno.EFBIG,
        "copy": True,
        "cut": True,
        "eof": 201,
        "disk_untouched": True,
        "commit": errno.EFBIG,
        "restored": 2,
        "original": True,
    }
