"""Console work that cannot be split waits for a frame pump with time for it.

While a run is in progress the console is served between stimulus frames
(the Session's frame pump), and
:meth:`rigconsole.frame_budget.FrameBudget.time_left` says how long it may
still take before it costs the experiment a frame. Work that cannot be cut
short once started (a plot redraw, a window repaint) compares that with what
it is expected to cost and waits for a pump with room when it does not fit.

- :class:`CostEstimate`: the expected cost of one kind of such work, from its
  measured costs.
- :class:`PaintGate`: holds a top-level window's repaint (Qt's
  ``UpdateRequest``: every dirty widget painted, then the backing store put on
  the screen) back until it fits.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

__all__ = ["CostEstimate", "PaintGate"]


class CostEstimate:
    """Expected cost of one kind of indivisible console work, from its measured costs.

    The estimate is the largest of the last ``keep`` measured costs
    (``first_s`` before any was measured): pessimistic on purpose, since
    running over costs a stimulus frame while waiting costs only latency.
    While the work is being put off for lack of time, the largest measured
    cost is forgotten every ``stale_s`` seconds: one slow instance (a plot's
    first redraw, which creates its items: 13 ms against 1-3 ms later) must
    not hold the work back for the rest of a run.

    Args:
        first_s: cost assumed before any was measured, seconds.
        keep: how many measured costs are kept.
        stale_s: seconds of putting off after which the largest cost is forgotten.

    Attributes:
        costs: the last ``keep`` measured costs, seconds (a ``deque``).
        first_s, stale_s: as given (may be changed).
    """

    def __init__(self, first_s: float = 0.0, keep: int = 8, stale_s: float = 1.0):
        self.first_s = first_s
        self.stale_s = stale_s
        self.costs: deque[float] = deque(maxlen=keep)
        self._put_off_since: float | None = None

    def expected(self) -> float:
        """The cost to plan for, seconds."""
        return max(self.costs) if self.costs else self.first_s

    def add(self, seconds: float) -> None:
        """Record a measured cost (the work ran: it is no longer being put off)."""
        self.costs.append(seconds)
        self._put_off_since = None

    def put_off(self) -> None:
        """The work was put off for lack of time (call on every refusal)."""
        now = time.perf_counter()
        if self._put_off_since is None:
            self._put_off_since = now
        elif now - self._put_off_since > self.stale_s and self.costs:
            self.costs.remove(max(self.costs))
            self._put_off_since = now

    def ran(self) -> None:
        """The work ran (its cost is measured elsewhere): it is no longer being put off."""
        self._put_off_since = None


class PaintGate(QObject):
    """Holds a top-level window's repaint back until the frame pump has time for it.

    Qt paints a window in one ``UpdateRequest`` event: every dirty widget's
    ``paintEvent``, then the backing store is put on the screen. During runs
    here (software-rendered X server) that took 0.7 ms median but 4-11 ms at
    the 99th percentile and above (a plot whose axes changed, the first paint
    of new plot items), and a single such event overran the pump's room before
    a vertical blank and cost the experiment a frame (docs/performance.md).

    The gate is an event filter on ``window``. An ``UpdateRequest`` that
    arrives while ``time_left()`` is less than :attr:`estimate`'s expected
    cost is eaten and posted again ``RETRY_MS`` later (in practice: at a later
    pump); one that fits is delivered at once and timed. Costs are only
    measured while a pump is running (``time_left()`` finite): repaints of an
    idle console (a resize, the first show) say nothing about the small
    repaints of a run. Outside runs ``time_left()`` is ``inf`` and nothing is
    held back.

    Args:
        window: a top-level ``QWidget`` (the main window, a floating dock).
        time_left: ``() -> seconds`` (``FrameBudget.time_left``, e.g. ``session.frame_budget.time_left``).
        first_s: cost assumed before one was measured, seconds.

    Attributes:
        estimate: the :class:`CostEstimate` of a repaint.
        deferred: repaints put off so far (a count).
        painted: repaints delivered while a pump was running (a count).
    """

    #: how soon a repaint that was put off is posted again, ms
    RETRY_MS = 2

    def __init__(self, window: QWidget, time_left: Callable[[], float], first_s: float = 0.002):
        super().__init__(window)
        self.window = window
        self.time_left = time_left
        self.estimate = CostEstimate(first_s)
        self.deferred = 0
        self.painted = 0
        self._retry = QTimer(self)
        self._retry.setSingleShot(True)
        self._retry.setInterval(self.RETRY_MS)
        self._retry.timeout.connect(self._post)
        window.installEventFilter(self)

    def _post(self) -> None:
        # Qt posts one UpdateRequest at a time (it sets a flag until the request is
        # handled): the one eaten must be replaced, update() would not post another
        QCoreApplication.postEvent(self.window, QEvent(QEvent.Type.UpdateRequest))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt)
        if event.type() != QEvent.Type.UpdateRequest or obj is not self.window:
            return False
        left = self.time_left()
        if math.isinf(left):
            return False
        if left < self.estimate.expected():
            self.deferred += 1
            self.estimate.put_off()
            if not self._retry.isActive():
                self._retry.start()
            return True
        self._retry.stop()
        t0 = time.perf_counter()
        type(obj).event(obj, event)
        self.estimate.add(time.perf_counter() - t0)
        self.painted += 1
        return True

    def close(self) -> None:
        """Stop gating (the window repaints whenever Qt asks again)."""
        self._retry.stop()
        self.window.removeEventFilter(self)
