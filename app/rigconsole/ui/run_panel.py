"""Run status at a glance: state pill, trial progress, elapsed time, frame timing, last run.

Fed by the main window from ``SessionBridge`` signals; every slot here is
cheap (label text only) because it may run between two stimulus frames.
"""

from __future__ import annotations

import collections
import html
import math
import os
import time
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QBoxLayout, QFormLayout, QFrame, QGroupBox, QLabel, QProgressBar, QWidget

from ..session.frames import frame_stats
from ..session.outcomes import RunOutcome
from ..session.runs import RunState
from ..views.palette import ERROR, WARNING, run_look
from .elided_label import ElidedLabel

__all__ = ["StatePill", "RunStatusPanel", "format_duration"]

#: what the pill shows for each run state: a finished or stopped run leaves the console idle
#: (its outcome is on the "Last run" line); colours and words from :mod:`rigconsole.views.palette`
PILL_STATE = {RunState.FINISHED: "idle", RunState.STOPPED: "idle"}


def format_duration(seconds: float) -> str:
    """``75.2`` → ``"01:15"``; ``3725`` → ``"1:02:05"``."""
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def fix_size(label: QLabel, template: str) -> None:
    """Give ``label`` a fixed size that fits ``template`` (so setText never triggers a relayout);
    a template with ``"\n"`` gives it one line per line of the template."""
    fm = label.fontMetrics()
    lines = template.split("\n")
    label.setFixedSize(
        max(fm.horizontalAdvance(line) for line in lines) + 8,
        max(label.sizeHint().height(), fm.lineSpacing() * len(lines) + 4),
    )


class StatePill(QLabel):
    """A rounded coloured label: Idle grey, Running green, Paused amber, Failed red,
    Finished with errors orange.

    Attributes:
        state: the current state key (``"idle"`` or a :class:`RunState` value).
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumWidth(96)
        self.state = ""
        self.set_state("idle")

    def set_state(self, state: str) -> None:
        if state == self.state:
            return
        self.state = state
        look = run_look(PILL_STATE.get(state, state))
        self.setText(look.word)
        self.setStyleSheet(
            f"QLabel {{ background: {look.colour}; color: white; border-radius: 11px; padding: 3px 14px;"
            f" font-weight: 600; }}"
        )
        self.setToolTip(f"Run state: {self.text()}")


class RunStatusPanel(QWidget):
    """What the current run is doing and how the last one ended.

    Attributes (tests read them):
        experiment_label, participant_label, trial_label, elapsed_label,
        frames_label, dropped_label, outcome_label, files_label: ``QLabel``.
        progress: ``QProgressBar`` (visible when the run's total trials are known).
        record: the run shown (current or last), or ``None``.
        dropped_frames: dropped frames counted so far in the current run.

    Signals:
        openFolderRequested(str): a data file link was clicked (the folder to open).
    """

    openFolderRequested = Signal(str)

    def __init__(self, refresh_hz=lambda: 60.0, parent: QWidget | None = None):
        super().__init__(parent)
        self._refresh_hz = refresh_hz
        self.record = None
        #: the last run whose end this panel shows (``None`` before the first ends)
        self.last_record = None
        self.dropped_frames = 0
        self._recent: collections.deque[float] = collections.deque()
        self._recent_sum = 0.0

        run_box = QGroupBox("Current run", self)
        form = QFormLayout(run_box)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # narrow: each value under its label
        self.experiment_label = QLabel("—")
        self.participant_label = ElidedLabel("—", mode=Qt.TextElideMode.ElideRight)
        self.trial_label = QLabel("—")
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v / %m")
        self.progress.setMaximumHeight(18)
        self.progress.hide()
        self.elapsed_label = QLabel("—")
        self.frames_label = QLabel("—")
        self.frames_label.setToolTip(
            "Flip-to-flip frame intervals over the last second: median and longest.\n"
            "At the end of a run: over the whole run."
        )
        self.dropped_label = QLabel("—")
        self.dropped_label.setToolTip(
            "Dropped frames counted so far in this run\n"
            "(an interval longer than 1.5 refresh periods drops one frame per missed refresh)."
        )
        for lbl in (
            self.experiment_label,
            self.participant_label,
            self.trial_label,
            self.elapsed_label,
            self.frames_label,
            self.dropped_label,
        ):
            lbl.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # labels that change during a run get a fixed size: a label whose size can
        # change makes every setText re-lay-out the whole main window (8-20 ms on a
        # software-rendered screen, measured), which costs stimulus frames
        for lbl, template in (
            (self.trial_label, "waiting for the first trial"),
            (self.elapsed_label, "00:00:00"),
            (self.frames_label, "000.0 ms median, 000.0 ms max\n(000000 frames)"),
            (self.dropped_label, "000000"),
        ):
            fix_size(lbl, template)
        self.progress.setFixedSize(self.progress.sizeHint().width(), 18)
        form.addRow("Experiment:", self.experiment_label)
        form.addRow("Participant:", self.participant_label)
        form.addRow("Trial:", self.trial_label)
        form.addRow("", self.progress)
        form.addRow("Elapsed:", self.elapsed_label)
        form.addRow("Frame interval:", self.frames_label)
        form.addRow("Dropped frames:", self.dropped_label)

        last_box = QGroupBox("Last run", self)
        last = QFormLayout(last_box)
        last.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.outcome_label = QLabel("No run yet in this session.")
        self.outcome_label.setWordWrap(True)
        self.outcome_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.files_label = QLabel("—")
        self.files_label.setWordWrap(True)
        self.files_label.setTextFormat(Qt.TextFormat.RichText)
        self.files_label.setOpenExternalLinks(False)
        self.files_label.setToolTip("Click a data file to open its folder")
        self.files_label.linkActivated.connect(self._link)
        last.addRow("Outcome:", self.outcome_label)
        last.addRow("Data files:", self.files_label)

        # side by side where the console is wide, one above the other where it is narrow (one screen,
        # the stimulus window beside it): the panel asks only for the wider box's width
        self._boxes = (run_box, last_box)
        self._row = lay = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(run_box, 3)
        lay.addWidget(last_box, 2)
        self.frames_label.setTextFormat(Qt.TextFormat.RichText)
        last.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self.tick)

    def _side_by_side_width(self) -> int:
        return sum(box.minimumSizeHint().width() for box in self._boxes) + self._row.spacing()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt)
        """The wider box's width (stacked), and the height of the two boxes stacked."""
        boxes = [box.minimumSizeHint() for box in self._boxes]
        return QSize(max(b.width() for b in boxes), sum(b.height() for b in boxes) + self._row.spacing())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        wide = event.size().width() >= self._side_by_side_width()
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self._row.direction() != direction:
            self._row.setDirection(direction)
        super().resizeEvent(event)

    # ------------------------------------------------------------ slots
    def run_started(self, rec) -> None:
        self.record = rec
        self.dropped_frames = 0
        self._recent.clear()
        self._recent_sum = 0.0
        self.experiment_label.setText(
            f"<b>{_esc(_shorten(Path(rec.key).stem))}</b> &nbsp;<span style='color:#666'>run {rec.index}</span>"
        )
        participant = rec.exp_info.get("participant")
        self.participant_label.setText(str(participant) if participant not in (None, "") else "—")
        self.frames_label.setText("—")
        self._set_dropped(0)
        self.update_trials(rec)
        self.tick()
        self._clock.start()

    def update_trials(self, rec) -> None:
        total = rec.total_trials
        if total:
            self.trial_label.setText(f"trial {rec.n_trials} of {total}")
            self.progress.setMaximum(int(total))
            self.progress.setValue(min(int(rec.n_trials), int(total)))
            self.progress.show()
        else:
            self.trial_label.setText(f"trial {rec.n_trials}" if rec.n_trials else "waiting for the first trial")
            self.progress.hide()

    def frame_intervals(self, rec, intervals: list) -> None:
        """Add a batch of flip intervals (s): last-second median/longest, dropped frames so far."""
        if not intervals:
            return
        hz = self._refresh_hz() or 60.0
        self.dropped_frames += frame_stats(intervals, hz)["dropped_frames"]
        for dt in intervals:
            self._recent.append(dt)
            self._recent_sum += dt
        while len(self._recent) > 1 and self._recent_sum - self._recent[0] >= 1.0:
            self._recent_sum -= self._recent.popleft()
        recent = sorted(self._recent)
        p50 = recent[len(recent) // 2] * 1e3
        mx = recent[-1] * 1e3
        self.frames_label.setText(f"{p50:.1f} ms median, {mx:.1f} ms max<br>(last second)")
        self._set_dropped(self.dropped_frames)

    def _set_dropped(self, n: int) -> None:
        self.dropped_label.setText(str(n))
        style = f"color: {WARNING}; font-weight: 600;" if n else ""
        if self.dropped_label.styleSheet() != style:  # a style change re-polishes the label: only on change
            self.dropped_label.setStyleSheet(style)

    def tick(self) -> None:
        rec = self.record
        if rec is None:
            return
        end = rec.ended or time.time()
        self.elapsed_label.setText(format_duration(end - rec.started))
        if rec.ended:
            self._clock.stop()

    def run_ended(self, rec) -> None:
        self.record = rec
        self.last_record = rec
        self.update_trials(rec)
        self.tick()
        self._clock.stop()
        fs = rec.frame_stats or {}
        if fs.get("n_frames"):
            p50, mx = fs.get("p50_ms", math.nan), fs.get("max_ms", math.nan)
            self.frames_label.setText(f"{p50:.1f} ms median, {mx:.1f} ms max<br>({fs['n_frames']} frames)")
            self._set_dropped(int(fs.get("dropped_frames", 0)))
        name = Path(rec.key).stem
        trials = f"{rec.n_trials} trial{'s' if rec.n_trials != 1 else ''}"
        took = format_duration((rec.ended or time.time()) - rec.started)
        # the outcome's one sentence (rigconsole.session.outcomes.RunOutcome) under the headline
        said = _esc(RunOutcome.from_record(rec).sentence(traceback_hint=False))
        if rec.state == RunState.FAILED:
            red = run_look(RunState.FAILED).colour
            self.outcome_label.setText(
                f"<span style='color:{red}'><b>failed</b></span> — {name}, {trials}, {took}"
                f"<br><span style='color:{red}'>{said}</span>"
            )
        elif rec.state == RunState.FINISHED_WITH_ERRORS:
            amber = run_look(RunState.FINISHED_WITH_ERRORS).colour
            self.outcome_label.setText(
                f"<span style='color:{amber}'><b>finished with errors</b></span> — {name}, "
                f"{trials} (every trial kept), {took}"
                f"<br><span style='color:{amber}'>{said}</span>"
            )
        else:
            colour = run_look(rec.state).colour
            self.outcome_label.setText(
                f"<span style='color:{colour}'><b>{rec.state}</b></span> — {name}, {trials}, {took}"
            )
        self.outcome_label.setToolTip(f"Raised at {rec.error_at}" if rec.error_at else "")
        if rec.data_files:
            links = [
                f"<a href='{_esc(QUrl.fromLocalFile(f).toString())}'>{_esc(_shorten(os.path.basename(f)))}</a>"
                for f in rec.data_files
            ]
            self.files_label.setText("<br>".join(links))
            self.files_label.setToolTip("Click a data file to open its folder\n" + "\n".join(rec.data_files))
        else:
            self.files_label.setText("none written")

    def _link(self, href: str) -> None:
        path = QUrl(href).toLocalFile() or href
        self.openFolderRequested.emit(str(Path(path).parent))

    @staticmethod
    def open_folder(folder: str) -> bool:
        """Open a folder in the platform's file manager."""
        return QDesktopServices.openUrl(QUrl.fromLocalFile(folder))


def _esc(text: str) -> str:
    return html.escape(text)


def _shorten(text: str, most: int = 36) -> str:
    """``text`` cut in the middle to at most ``most`` characters (``"P01_units…12h05.csv"``): a file
    name or an experiment's name in a rich-text label, which cannot elide by itself; the whole is
    in the label's tooltip."""
    if len(text) <= most:
        return text
    tail = (most - 1) // 2
    return text[: most - 1 - tail] + "…" + text[-tail:]


def _tint(colour: str, alpha: float) -> str:
    """A palette colour (``#rrggbb``) as a light background: ``rgba(r, g, b, alpha)`` for a style sheet."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


class Banner(QFrame):
    """A red inline message line with a dismiss button (for run errors)."""

    def __init__(self, parent: QWidget | None = None):
        from PySide6.QtWidgets import QHBoxLayout, QToolButton

        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setStyleSheet(
            f"#errorBanner {{ background: {_tint(ERROR, 0.08)}; border: 1px solid {ERROR}; border-radius: 4px; }}"
            f" #errorBanner QLabel {{ color: {ERROR}; }}"
        )
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 4, 4)
        lay.addWidget(self.label, 1)
        lay.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, text: str) -> None:
        self.label.setText(text)
        self.show()

    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()
