"""Same calls on pymanip 0.4.4's AsyncSession and on DataLog: same return shapes."""

from __future__ import annotations

import time
import types

import numpy as np
import pytest

from rigconsole.datalog import new_session_path


def _drive(s):
    s.add_entry(a=0)
    s.add_entry({"a": 1}, b=2.5)
    s.save_parameter({"c": 3e8}, d=10)
    s.add_dataset(arr=np.array([1.0, 2.0, 3.0]))
    time.sleep(0.002)
    s.add_dataset(arr=np.array([4.0, 5.0, 6.0]))


def test_return_shapes_match_pymanip(log):
    asyncsession = pytest.importorskip("pymanip.asyncsession")
    with asyncsession.AsyncSession(verbose=False) as pm:  # in-memory SQLite
        _drive(pm)
        _drive(log)
        assert type(log.logged_variables()) is type(pm.logged_variables()) is set
        assert log.logged_variables() == pm.logged_variables()
        for name in ("a", "b"):
            (t1, v1), (t2, v2) = log[name], pm[name]
            assert isinstance(t1, np.ndarray) and isinstance(v1, np.ndarray)
            assert t1.shape == t2.shape and np.array_equal(v1, v2.astype(float))
        assert set(log.logged_data()) == set(pm.logged_data())
        for mine, theirs in (
            (log.logged_first_values(), pm.logged_first_values()),
            (log.logged_last_values(), pm.logged_last_values()),
        ):
            assert mine.keys() == theirs.keys()
            for k in mine:
                assert len(mine[k]) == 2 and mine[k][1] == theirs[k][1]
        assert log.parameters() == {
            k: v for k, v in pm.parameters().items() if not k.startswith("_")
        }  # pymanip adds _database_version...
        assert log.parameter("nope") is None and pm.parameter("nope") is None
        assert log.has_parameter("c") and pm.has_parameter("c")
        assert log.dataset_names() == pm.dataset_names() == {"arr"}
        assert isinstance(log.datasets("arr"), types.GeneratorType) and isinstance(
            pm.datasets("arr"), types.GeneratorType
        )
        assert [d.tolist() for _, d in log.datasets("arr")] == [d.tolist() for _, d in pm.datasets("arr")]
        assert np.array_equal(log.dataset("arr"), pm.dataset("arr"))
        assert np.array_equal(log.dataset_last_data("arr")[1], pm.dataset_last_data("arr")[1])
        assert log.dataset_times("arr").shape == pm.dataset_times("arr").shape == (2,)
        # deliberate difference: pymanip's fromtimestamp is >= (repeats the point), ours is strictly after
        t_last = log["a"][0][-1]
        assert log.logged_data_fromtimestamp("a", t_last)[0].size == 0
        assert pm.logged_data_fromtimestamp("a", pm["a"][0][-1])[0].size == 1


def test_new_session_path(tmp_path):
    now = time.mktime((2026, 11, 21, 11, 30, 0, 0, 0, -1))
    p = new_session_path(tmp_path / "data", now=now)
    assert p == tmp_path / "data" / "session_2026-11-21_113000.h5" and p.parent.is_dir()
    p.touch()
    assert new_session_path(tmp_path / "data", now=now).name == "session_2026-11-21_113000_2.h5"
