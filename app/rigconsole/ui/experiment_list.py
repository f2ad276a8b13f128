"""The experiment list: every experiment the session knows, broken ones included.

Shows ``session.experiment_files`` (refreshed on ``experimentsChanged``): the
experiment's name, its kind (Builder ``.psyexp`` or Python script) and, for a
broken file, a warning icon, greyed text and the reason (tooltip and the
details line under the list).
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStyle,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

__all__ = ["ExperimentListPanel"]

KEY_ROLE = Qt.ItemDataRole.UserRole
KIND_LABELS = {"builder": "Builder", "script": "script"}


class ExperimentListPanel(QWidget):
    """List of registered experiments with Add…/Remove/Refresh buttons and a details line.

    Args:
        session: the :class:`rigconsole.session.Session` (read only here).
        actions: ``(add, remove, refresh)`` QActions shown as buttons.

    Attributes:
        tree: the ``QTreeWidget`` (columns: experiment, type); item data
            ``Qt.UserRole`` holds the experiment key.
        details: ``QLabel`` describing the selected experiment (path, or why it is broken).

    Signals:
        currentKeyChanged(str): the selected experiment's key ("" when none).
    """

    currentKeyChanged = Signal(str)

    def __init__(self, session, actions: tuple[QAction, ...] = (), parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Experiment", "Type"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(False)
        self.tree.currentItemChanged.connect(self._current_changed)

        self.details = QLabel(self)
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setMinimumHeight(40)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        for act in actions:
            b = QToolButton(self)
            b.setDefaultAction(act)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            buttons.addWidget(b)
        buttons.addStretch(1)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tree, 1)
        lay.addLayout(buttons)
        lay.addWidget(self.details)
        self._warn_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        self.refresh()

    def use_session(self, session) -> None:
        """Show ``session``'s experiments from now on (the console's start-up: the list
        exists before the rig's session does) and refresh."""
        self.session = session
        self.refresh()

    def show_message(self, text: str) -> None:
        """Show ``text`` in the details line (e.g. "Loading PsychoPy…" while the list is
        not filled yet); the next :meth:`refresh` or selection replaces it."""
        self.details.setText(_esc(text))
        self.details.setStyleSheet("color: palette(mid);")

    # ------------------------------------------------------------ contents
    @staticmethod
    def display_name(key: str) -> str:
        """``"GoNoGo/gng.psyexp"`` → ``"gng"``; keys that are absolute paths too."""
        return Path(key).stem

    def refresh(self) -> None:
        """Rebuild from ``session.experiment_files``, keeping the selection."""
        current = self.current_key()
        blocker = self.tree.blockSignals(True)
        self.tree.clear()
        grey = QBrush(QColor("#8a8a8a"))
        names = [self.display_name(k) for k in self.session.experiment_files]
        for key, entry in sorted(self.session.experiment_files.items(), key=lambda kv: kv[0].lower()):
            name = self.display_name(key)
            if names.count(name) > 1:  # same stem in two folders: say which
                name = f"{name}  ({Path(key).parent.as_posix()})"
            item = QTreeWidgetItem([name, KIND_LABELS.get(entry.kind, entry.kind)])
            item.setData(0, KEY_ROLE, key)
            if entry.broken:
                item.setIcon(0, self._warn_icon)
                for col in (0, 1):
                    item.setForeground(col, grey)
                    item.setToolTip(col, f"{key}\nbroken: {entry.error}")
            else:
                for col in (0, 1):
                    item.setToolTip(col, f"{key}\n{entry.path}")
            self.tree.addTopLevelItem(item)
        self.tree.blockSignals(blocker)
        if current and self.select(current):
            self._show_details(current)
            return
        if self.tree.topLevelItemCount():
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        else:
            self._current_changed(None, None)

    def keys(self) -> list[str]:
        """Experiment keys in display order."""
        return [self.tree.topLevelItem(i).data(0, KEY_ROLE) for i in range(self.tree.topLevelItemCount())]

    def item_for(self, key: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, KEY_ROLE) == key:
                return item
        return None

    def select(self, key: str) -> bool:
        """Select an experiment by key; ``False`` if it is not listed."""
        item = self.item_for(key)
        if item is None:
            return False
        self.tree.setCurrentItem(item)
        return True

    def current_key(self) -> str:
        item = self.tree.currentItem()
        return item.data(0, KEY_ROLE) if item is not None else ""

    # ------------------------------------------------------------ details
    def _current_changed(self, current, _previous) -> None:
        key = current.data(0, KEY_ROLE) if current is not None else ""
        self._show_details(key)
        self.currentKeyChanged.emit(key)

    def _show_details(self, key: str) -> None:
        entry = self.session.experiment_files.get(key) if key else None
        if entry is None:
            self.details.setText(
                "No experiment selected."
                if self.session.experiment_files
                else "No experiments in the root folder. Use Add… to register one."
            )
            self.details.setStyleSheet("color: palette(mid);")
            return
        if entry.broken:
            self.details.setText(
                f"<b>Cannot run {self.display_name(key)}</b>: {_esc(entry.error or 'unknown reason')}"
                f"<br><span style='color:#666'>{_esc(str(entry.path))}</span>"
            )
            self.details.setStyleSheet("color: #b26a00;")
        else:
            kind = "Builder experiment" if entry.kind == "builder" else "Python script"
            self.details.setText(f"{kind}<br><span style='color:#666'>{_esc(str(entry.path))}</span>")
            self.details.setStyleSheet("")


def _esc(text: str) -> str:
    return html.escape(text)
