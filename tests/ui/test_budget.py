"""Repaints and other indivisible console work wait for a frame pump with time for them."""

from __future__ import annotations

import math
import time

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from rigconsole.ui.budget import CostEstimate, PaintGate


class _Counted(QLabel):
    def __init__(self, text: str):
        super().__init__(text)
        self.paints = 0

    def paintEvent(self, ev):  # noqa: N802 (Qt)
        self.paints += 1
        super().paintEvent(ev)


def _window(qtbot):
    win = QWidget()
    label = _Counted("0")
    QVBoxLayout(win).addWidget(label)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win, label


def test_cost_estimate_plans_for_the_largest_and_forgets_it_while_put_off():
    est = CostEstimate(first_s=0.006, keep=3, stale_s=0.05)
    assert est.expected() == 0.006  # nothing measured yet
    for c in (0.001, 0.004, 0.002):
        est.add(c)
    assert est.expected() == 0.004
    est.add(0.001)  # keeps the last 3
    assert sorted(est.costs) == [0.001, 0.002, 0.004]
    est.put_off()
    assert est.expected() == 0.004  # not stale yet
    time.sleep(0.06)
    est.put_off()
    assert est.expected() == 0.002  # the largest was forgotten
    est.add(0.003)  # ran: the next put-off starts a new wait
    est.put_off()
    assert est.expected() == 0.003


def test_repaint_waits_for_a_pump_with_time_then_is_measured(qtbot):
    win, label = _window(qtbot)
    left = {"s": math.inf}
    gate = PaintGate(win, lambda: left["s"], first_s=0.002)
    # outside runs (no pump: time_left is inf) repaints are neither held nor measured
    label.setText("1")
    qtbot.waitUntil(lambda: label.paints >= 1, timeout=2000)
    assert gate.deferred == 0 and not gate.estimate.costs
    # a pump with 1 ms left, a repaint expected to cost 2 ms: held back
    left["s"] = 0.001
    painted = label.paints
    label.setText("2")
    qtbot.waitUntil(lambda: gate.deferred >= 3, timeout=2000)
    qtbot.wait(50)
    assert label.paints == painted
    # a pump with room: the held repaint goes out and its cost is measured
    left["s"] = 0.010
    qtbot.waitUntil(lambda: label.paints > painted, timeout=2000)
    assert gate.painted >= 1 and 0 < gate.estimate.expected() < 0.5
    # later repaints are not held (Qt posts a new request after the replaced one)
    painted = label.paints
    label.setText("3")
    qtbot.waitUntil(lambda: label.paints > painted, timeout=2000)
    gate.close()
    left["s"] = 0.0
    painted = label.paints
    label.setText("4")  # no gate: painted whatever time_left says
    qtbot.waitUntil(lambda: label.paints > painted, timeout=2000)
