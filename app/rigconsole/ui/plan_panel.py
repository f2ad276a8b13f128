"""The Plan panel: a participant's battery on the rig's run queue, as the technician steers it.

It lists the queue's items (a plan's, and single runs) with their state (pending,
running, finished, finished with errors, failed, stopped, skipped), trial n of N
and the elapsed time of the running item, and the plan's estimated finish from
this rig's past durations of each experiment (:meth:`RunQueue.estimate`, the idea
of PyMeasure's estimator). Pending items reorder by drag. Its toolbar: Open plan…,
Start, Pause after this item, Skip, Retry, Stop, Pilot ⇄ Run (the selected pending
item becomes a pilot run in PsychoPy's pilot mode, or a real run again; a pilot item
shows ``[PILOT]``) (shortcuts in the tooltips). The first real run after pilot runs of
its experiment is asked once before the plan starts (:mod:`.pilot`). A
plan's participant fields are asked once (:class:`ParticipantDialog`).

Resume: a plan that a crash, kill -9 or power loss interrupted left its state file
(``<data folder>/plans/<participant>_<plan>.json``, :mod:`rigconsole.plans.progress`).
Once the rig has loaded, and when that plan is opened for that participant again,
the panel offers (a non-modal question) to go on at the first unfinished item; the
finished items' runs stay as they are in their session file.

The panel only calls the queue's control methods and subscribes to its events
(queued, so it redraws between frames); the queue starts the runs.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ..notifications import notifications, one_line
from ..plans import ItemState, PlanError, load_plan, read_state, state_path
from ..plans.progress import DONE
from ..plans.queue import PARTICIPANT_ALIASES
from ..views.palette import run_look

log = logging.getLogger(__name__)


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return (
        f"{seconds // 60}:{seconds % 60:02d}"
        if seconds < 3600
        else f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    )


class ParticipantDialog(QDialog):
    """Asks a plan's participant fields once (``participant``, ``session``, shared expInfo keys)."""

    def __init__(self, plan, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Participant for {plan.name or 'the plan'}")
        form = QFormLayout(self)
        form.addRow(QLabel(f"{len(plan.items)} experiments; these values go into every one that asks for them."))
        self.edits = {}
        for name, default in plan.fields.items():
            edit = QLineEdit("" if default is None else str(default))
            self.edits[name] = edit
            form.addRow(f"{name}:", edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _accept(self) -> None:
        if not self.edits["participant"].text().strip():
            self.edits["participant"].setFocus()
            self.edits["participant"].setPlaceholderText("required")
            return
        self.accept()

    def values(self) -> dict[str, str]:
        return {k: e.text().strip() for k, e in self.edits.items()}


def unfinished_item(state: dict) -> int | None:
    """The 0-based plan index of the first item of a plan state (``read_state``) not done
    (finished, finished with errors or skipped), in the order used; ``None`` when all are done."""
    records = {int(r["item"]) - 1: r for r in state.get("items", []) if isinstance(r, dict) and "item" in r}
    for i in state.get("order", sorted(records)):
        rec = records.get(int(i))
        if rec is None or rec.get("state") not in DONE:
            return int(i)
    return None


def unfinished_plans(data_dir: Path) -> list[tuple[Path, dict]]:
    """The interrupted plans under ``<data_dir>/plans/``: ``(state file, state)`` with an unfinished
    item and a plan file to go on from, the most recently changed first. Dry runs' and unreadable
    state files are left out (an unreadable one is logged)."""
    found = []
    for path in sorted(Path(data_dir, "plans").glob("*.json")):
        try:
            state = read_state(path)
        except ValueError as err:
            log.warning("%s", err)
            continue
        if state is None or state.get("dry_run") or not state.get("plan_file"):
            continue
        if unfinished_item(state) is not None:
            found.append((path, state))
    found.sort(key=lambda ps: -float(ps[1].get("updated") or 0))
    return found


class ItemFormDialog(QDialog):
    """A queue item's expInfo form, as its run gets it (a view: nothing is edited here).

    Attributes:
        form: the :class:`~rigconsole.ui.expinfo_form.ExpInfoForm`; the plan's values are in
            ``form.filled`` (read-only, labelled "— from the plan"); the other fields are disabled.
    """

    def __init__(self, item, fields, plan_values: dict, parent: QWidget | None = None):
        from .expinfo_form import ExpInfoForm

        super().__init__(parent)
        self.setWindowTitle(
            f"expInfo of {item.label}" + (f" (plan item {item.plan_index + 1})" if item.plan_index is not None else "")
        )
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        lay = QVBoxLayout(self)
        self.form = ExpInfoForm(self)
        self.form.set_fields(fields, item.exp_info)
        self.form.mark_filled(plan_values)
        for name, editor in self.form.editors.items():
            if name not in self.form.filled:
                editor.setEnabled(False)
        lay.addWidget(self.form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        lay.addWidget(buttons)


class _QueueRelay(QObject):
    """The queue's psygnal announcements as a queued Qt signal (handled between frames)."""

    changed = Signal()


class PlanPanel(QDockWidget):
    """The Plan dock (see the module docstring).

    Args:
        rig: the :class:`rigconsole.rig.Rig` (its ``queue`` and ``plan_run``).
        window: the main window.

    A bad plan file or a refused action is a one-line ``ERROR`` notification (source
    ``"plan"``); the queue's own refusals reach the technician through the run controller.
    """

    def __init__(self, rig, window: QMainWindow | None = None):
        super().__init__("Plan", window)
        self.setObjectName("planDock")
        self.rig, self.queue = rig, rig.queue
        self.plan_run = None
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        self.toolbar = QToolBar("Plan")
        self.open_action = self._action(
            "Open plan…",
            self.choose_plan,
            "Ctrl+Shift+O",
            "Open a session plan (.yaml) or a PsychoPy Runner list (.psyrun)",
        )
        self.start_action = self._action("Start", self.start, "Ctrl+Shift+F5", "Start (or go on with) the plan")
        self.pause_action = self._action(
            "Pause after this item", self.pause, "Ctrl+Shift+F6", "Let the running item end, then wait"
        )
        self.skip_action = self._action(
            "Skip", self.skip, "Ctrl+Shift+K", "Skip the selected pending item (or stop the running one and go on)"
        )
        self.retry_action = self._action(
            "Retry", self.retry, "Ctrl+Shift+T", "Run the selected ended item again (a new run; the old one is kept)"
        )
        self.stop_action = self._action(
            "Stop", self.stop, "Ctrl+Shift+S", "Stop the plan: the running item is stopped, its trials kept"
        )
        self.mode_action = self._action(
            "Pilot ⇄ Run",
            self.toggle_mode,
            "Ctrl+Shift+M",
            "Make the selected pending item a pilot run (PsychoPy's pilot mode: orange border, participant\n"
            '"pilot", data in the data folder\'s pilot/), or a real run again',
        )
        self.question: QMessageBox | None = None  # the last "real run after piloting?" box (ui/pilot.py)
        lay.addWidget(self.toolbar)
        self.header = QLabel("No plan: Open plan… (or Run an experiment).")
        self.header.setWordWrap(True)
        lay.addWidget(self.header)
        self.list = QListWidget()
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.list.model().rowsMoved.connect(self._rows_moved)
        self.list.setToolTip("Double-click an item for its expInfo form (the plan's values marked)")
        self.list.itemDoubleClicked.connect(lambda w: self.show_item_form(self.list.row(w)))
        lay.addWidget(self.list, 1)
        self.estimate_label = QLabel("")
        lay.addWidget(self.estimate_label)
        self.setWidget(body)
        self._relay = _QueueRelay(self)
        self._relay.changed.connect(self.refresh, Qt.ConnectionType.QueuedConnection)
        ev = self.queue.events
        self._links = [
            (ev.changed, self._relay.changed.emit),
        ]
        for sig, slot in self._links:
            sig.connect(slot)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self.refresh)
        self._tick.start()
        self._refreshing = False
        self.resume_box: QMessageBox | None = None
        self.item_form: QDialog | None = None  # the last item's expInfo form shown (show_item_form)
        self.refresh()

    def _action(self, text: str, slot, shortcut: str, tip: str) -> QAction:
        act = QAction(text, self)
        act.setShortcut(QKeySequence(shortcut))
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.setToolTip(f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})")
        act.triggered.connect(slot)
        self.toolbar.addAction(act)
        if self.parent() is not None:
            self.parent().addAction(act)  # the shortcut works wherever the focus is in the window
        return act

    # ---------------------------------------------------------------- actions
    def choose_plan(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a session plan", str(self.rig.settings.root), "Session plans (*.yaml *.yml *.psyrun)"
        )
        if not path:
            return
        try:
            plan = load_plan(path)
        except PlanError as err:
            _error(one_line(err, with_type=False))
            return
        dialog = ParticipantDialog(plan, self)
        dialog.accepted.connect(lambda: self.open_or_offer(plan, dialog.values()))
        dialog.open()

    def open_or_offer(self, plan, values: dict) -> QMessageBox | None:
        """Open ``plan`` for ``values``; when this participant's run of it was interrupted, ask first
        (returns the question box; ``None`` when it opened the plan or refused)."""
        path = state_path(self.rig.settings.data_dir, plan, values.get("participant", ""))
        try:
            state = read_state(path)
        except ValueError as err:
            _error(one_line(err, with_type=False))
            return None
        if state is not None and not state.get("dry_run") and unfinished_item(state) is not None:
            return self.offer_resume(path, state, plan=plan, values=values)
        self.open_plan(plan, values)
        return None

    # ---------------------------------------------------------------- resume
    def offer_resume_at_start(self) -> QMessageBox | None:
        """Once the rig has loaded: offer the most recently interrupted plan in the data folder
        (``None``: there is none)."""
        found = unfinished_plans(Path(self.rig.settings.data_dir).absolute())
        if not found:
            return None
        path, state = found[0]
        return self.offer_resume(path, state)

    def offer_resume(self, path: Path, state: dict, *, plan=None, values: dict | None = None) -> QMessageBox:
        """Ask (a non-modal box, no nested event loop) whether to go on with the interrupted plan of the
        state file ``path`` at its first unfinished item. "Resume" opens it with ``resume=True``;
        "Start over" (only when the plan was being opened anew, ``plan`` given) opens it from item 1;
        "Not now" leaves the state file as it is. Returns the box (``self.resume_box``)."""
        if self.resume_box is not None:
            self.resume_box.close()
        order = [int(i) for i in state.get("order", [])]
        first = unfinished_item(state)
        n = len(order) or len(state.get("items", []))
        k = order.index(first) + 1 if first in order else (first or 0) + 1
        name = state.get("plan_name") or Path(str(state.get("plan_file"))).stem
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(state.get("updated") or 0)))
        exp = next((r.get("experiment") for r in state.get("items", []) if r.get("item") == (first or 0) + 1), None)
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Resume the plan?",
            f'Participant {state.get("participant")}\'s plan "{name}" did not finish '
            f"(last saved {when}): {k - 1} of {n} item(s) done.",
            parent=self,
        )
        box.setInformativeText(
            f"Resume at item {k} of {n}"
            + (f" ({Path(str(exp)).name})" if exp else "")
            + "? The finished items' data stay as they are."
        )
        box.setWindowModality(Qt.WindowModality.NonModal)
        resume = box.addButton("Resume", QMessageBox.ButtonRole.AcceptRole)
        over = box.addButton("Start over", QMessageBox.ButtonRole.DestructiveRole) if plan is not None else None
        box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(resume)
        fields = dict(values or state.get("fields") or {"participant": state.get("participant")})

        def answered(button) -> None:
            self.resume_box = None
            if button is resume:
                self.open_plan(plan if plan is not None else state["plan_file"], fields, resume=True)
            elif over is not None and button is over:
                self.open_plan(plan, fields)

        box.buttonClicked.connect(answered)
        self.resume_box = box
        box.show()  # non-modal: the console stays usable while it asks (open() would block the window)
        return box

    def open_plan(self, plan, values: dict, *, resume: bool = False, start: bool = True) -> bool:
        """Put ``plan`` on the queue for the participant ``values`` (asked once) and start it.
        Returns ``False`` (and notifies why) when refused."""
        if self.queue.busy:
            _error("A run is in progress: open the plan when it has ended.")
            return False
        if isinstance(plan, (str, Path)):
            try:
                plan = load_plan(plan)
            except PlanError as err:
                _error(one_line(err, with_type=False))
                return False
        try:
            if self.plan_run is not None:
                self.plan_run.close()
            self.queue.clear()
            run = self.rig.plan_run(plan, values)
            run.start(resume=resume)
            if not start or self._real_after_pilot():
                self.queue.pause()  # nothing starts before the question is answered
        except (ValueError, OSError) as err:
            _error(one_line(err, with_type=False))
            return False
        self.plan_run = run
        self.refresh()
        if start and self._real_after_pilot():
            self.start()
        return True

    def start(self) -> None:
        """Start (or go on with) the plan; the first real run after pilot runs of its experiment, or
        with the participant "pilot", is asked once first (:func:`rigconsole.ui.pilot.ask_real_run`)."""
        if not self.queue.pending:
            _error("Nothing to start: open a plan first.")
            return
        asking = self._real_after_pilot()
        if not asking:
            self.queue.start()
            return
        from .pilot import ask_real_run

        first = asking[0]
        participant = next((str(first.exp_info[k]) for k in PARTICIPANT_ALIASES if k in first.exp_info), "")
        if self.question is not None:
            self.question.close()
        after = self.queue.after_pilot(first.key)
        planned = not after and any(it.key == first.key and it.mode == "pilot" for it in self.queue.pending)
        box = ask_real_run(self, first.key, participant, after_pilot=after, planned=planned)

        def answered(button) -> None:
            self.question = None
            if box.buttonRole(button) == QMessageBox.ButtonRole.AcceptRole:
                self.queue.start()

        box.buttonClicked.connect(answered)
        self.question = box

    def _real_after_pilot(self) -> list:
        """The pending real-run items to ask about: an experiment whose last run was a pilot run or that
        a pilot item before it pilots, or the participant "pilot" (:meth:`RunQueue.after_pilot`,
        :meth:`RunQueue.participant_is_pilot`)."""
        q = self.queue
        asking, piloted = [], set()
        for it in q.pending:  # in the order they run: a pilot item earlier in the plan counts too
            if it.mode == "pilot":
                piloted.add(it.key)
            elif it.mode == "run" and (
                it.key in piloted or q.after_pilot(it.key) or q.participant_is_pilot(it.exp_info)
            ):
                asking.append(it)
        return asking

    def toggle_mode(self) -> None:
        """The selected pending item becomes a pilot run, or a real run again (the Run / Pilot choice)."""
        item = self._selected()
        if item is None or item.state != ItemState.PENDING:
            _error("Select a pending item to make it a pilot run or a real run.")
            return
        if item.mode == "dry run":
            _error(f"{item.label} is a dry run (a simulated participant): it stays one.")
            return
        try:
            self.queue.set_mode(item.id, "run" if item.mode == "pilot" else "pilot")
        except (KeyError, ValueError) as err:
            _error(str(err).strip("'\""))

    def pause(self) -> None:
        self.queue.pause()

    def stop(self) -> None:
        self.queue.stop()

    def skip(self) -> None:
        item = self._selected()
        try:
            self.queue.skip(item.id if item is not None and item.state == ItemState.PENDING else None)
        except KeyError as err:
            _error(str(err).strip("'\""))

    def retry(self) -> None:
        item = self._selected()
        if item is None:
            ended = [it for it in self.queue.history if it.state in (ItemState.FAILED, ItemState.STOPPED)]
            item = ended[-1] if ended else None
        if item is None:
            _error("Select the item to retry.")
            return
        try:
            self.queue.retry(item.id)
        except (KeyError, ValueError) as err:
            _error(str(err).strip("'\""))

    def move_pending(self, item_id: int, position: int) -> None:
        """Move a pending item to ``position`` among the pending ones (what a drag does)."""
        try:
            self.queue.move(item_id, position)
        except KeyError as err:
            _error(str(err).strip("'\""))

    def plan_values(self, item) -> dict:
        """The values the plan fills in for a queue ``item`` of the open plan: its item's expInfo
        and the participant fields (asked once), as the run gets them (``{}``: not a plan item)."""
        run = self.plan_run
        if run is None or item.plan_index is None or not 0 <= item.plan_index < len(run.plan.items):
            return {}
        names = [*run.plan.items[item.plan_index].expInfo, *run.fields]
        return {k: item.exp_info[k] for k in names if k in item.exp_info}

    def show_item_form(self, row: int) -> ItemFormDialog | None:
        """The expInfo form of the queue's item at ``row`` (a non-modal view): every field of its
        experiment as the run gets it, the values the plan fills in read-only and marked "from the
        plan" (:meth:`plan_values`). ``None`` when there is no such item or its experiment is gone."""
        items = self.queue.items
        if not 0 <= row < len(items):
            return None
        item = items[row]
        try:
            fields = self.queue.session.expInfoFields(item.key)
        except (KeyError, ValueError) as err:
            _error(f"{item.label}: cannot show its expInfo ({one_line(err, with_type=False)})")
            return None
        dialog = ItemFormDialog(item, fields, self.plan_values(item), self)
        self.item_form = dialog
        dialog.show()
        return dialog

    # ---------------------------------------------------------------- view
    def _selected(self):
        row = self.list.currentRow()
        items = self.queue.items
        return items[row] if 0 <= row < len(items) else None

    def _rows_moved(self, _parent, start, _end, _dest, row) -> None:
        if self._refreshing:
            return
        items = self.queue.items
        if not 0 <= start < len(items):
            return
        moved = items[start]
        first_pending = len(items) - len(self.queue.pending)
        target = (row - 1 if row > start else row) - first_pending
        if moved.state != ItemState.PENDING or target < 0:
            _error("Only pending items move, and only among the pending ones.")
        else:
            self.move_pending(moved.id, target)
        QTimer.singleShot(0, self.refresh)

    def item_texts(self) -> list[str]:
        """The list's lines, as shown."""
        return [self.list.item(i).text() for i in range(self.list.count())]

    def refresh(self) -> None:
        """Redraw from the queue (its changes arrive queued; a 1 s tick keeps times and trials current)."""
        q = self.queue
        items = q.items
        now = time.time()
        plan = q.plan
        running = q.running
        self._refreshing = True
        try:
            if self.list.count() != len(items):
                self.list.clear()
                for _ in items:
                    QListWidgetItem(self.list)
            for row, it in enumerate(items):
                text = f"{row + 1}. {it.label}"
                if it.plan_index is not None and plan:
                    text += f"  (plan item {it.plan_index + 1})"
                text += f" — {it.state}"
                if it.mode == "pilot":
                    text += " [PILOT]"
                elif it.mode != "run":
                    text += f" [{it.mode}]"
                rec = it.record
                if it.state == ItemState.RUNNING and rec is not None:
                    text += f" — trial {rec.n_trials}" + (f" of {rec.total_trials}" if rec.total_trials else "")
                    text += f" — {_clock(now - (it.started or now))}"
                elif it.outcome is not None and it.outcome.duration_s:
                    text += f" — {_clock(it.outcome.duration_s)}"
                if it.outcome is not None and it.state not in (ItemState.FINISHED, ItemState.SKIPPED):
                    text += f"\n    {it.outcome.sentence(traceback_hint=False)}"
                if q.in_break is it:
                    text += "\n    break: the message is on the subject screen (a key or Skip ends it)"
                w = self.list.item(row)
                w.setText(text)
                w.setForeground(QColor(run_look(it.state).colour))  # the app's one palette
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                if it.state == ItemState.PENDING:
                    flags |= Qt.ItemFlag.ItemIsDragEnabled
                w.setFlags(flags)
            if plan:
                done = sum(1 for it in items if it.state in ItemState.ENDED)
                k = min(done + (1 if running is not None else 0), len(items))
                self.header.setText(
                    f"<b>{plan.get('name')}</b> — participant <b>{plan.get('participant')}</b> — "
                    f"item {k} of {len(items)}" + (" — paused" if q.holding else "")
                )
            elif items:
                self.header.setText("Runs" + (" — paused" if q.holding else ""))
            est = q.estimate(now)
            if running is not None or q.pending:
                finish = time.strftime("%H:%M", time.localtime(est["finish"]))
                unknown = f" ({est['unknown']} item(s) with no past duration left out)" if est["unknown"] else ""
                self.estimate_label.setText(f"Estimated finish {finish}, in {_clock(est['remaining_s'])}{unknown}")
            else:
                self.estimate_label.setText("")
            busy = running is not None
            self.start_action.setEnabled(bool(q.pending) and (q.holding or not busy))
            self.pause_action.setEnabled(not q.holding and (busy or bool(q.pending)))
            self.stop_action.setEnabled(busy or q.in_break is not None)
            self.skip_action.setEnabled(busy or bool(q.pending) or q.in_break is not None)
            self.retry_action.setEnabled(any(it.state in ItemState.ENDED for it in q.history))
            self.mode_action.setEnabled(bool(q.pending))
        finally:
            self._refreshing = False

    def close_panel(self) -> None:
        """Stop following the queue."""
        self._tick.stop()
        for sig, slot in self._links:
            try:
                sig.disconnect(slot)
            except Exception:
                pass
        self._links = []
        if self.plan_run is not None:
            self.plan_run.close()


def attach_plan_panel(window: QMainWindow, rig) -> PlanPanel:
    """The composition root's hook: a Plan dock on ``window`` for ``rig``'s queue; its errors go to
    the notifications."""
    panel = PlanPanel(rig, window)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, panel)
    QTimer.singleShot(0, panel.offer_resume_at_start)  # the rig has loaded: an interrupted plan?
    return panel


def _error(message: str) -> None:
    """A bad plan file or a refused plan action, for the technician: one ``ERROR`` notification."""
    notifications.notify(message, source="plan")
