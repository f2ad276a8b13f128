"""Widgets of the data browser: the lazy trial-table model, its key/value and plain tables,
and a worker-thread helper that hands a result back to the GUI thread."""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

__all__ = ["TrialTableModel", "cell_text", "fill_kv", "kv_table", "plain_table", "run_in_thread"]


def cell_text(v: Any) -> str:
    """A trial value as the tables show it: NaN (missing) empty, floats to 10 significant digits."""
    if isinstance(v, (float, np.floating)):
        return "" if math.isnan(v) else f"{float(v):.10g}"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    return str(v)


class TrialTableModel(QAbstractTableModel):
    """A read-only table over a trial table ``{column: ndarray (n,)}`` (``DataLog.trials(run)``).

    Lazy: a cell is formatted only when the view asks for it. Numbers are
    right-aligned; NaN (missing) shows empty. Rows are numbered from 0 (the
    plot's trial axis).
    """

    def __init__(self, table: dict[str, np.ndarray] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cols: list[str] = []
        self._data: list[np.ndarray] = []
        self._n = 0
        self.set_table(table or {})

    def set_table(self, table: dict[str, np.ndarray]) -> None:
        self.beginResetModel()
        self._cols = list(table)
        self._data = [table[c] for c in self._cols]
        self._n = min((len(a) for a in self._data), default=0)
        self.endResetModel()

    def columns(self) -> list[str]:
        return list(self._cols)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt
        return 0 if parent.isValid() else self._n

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt
        return 0 if parent.isValid() else len(self._cols)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        a = self._data[index.column()]
        if role == Qt.ItemDataRole.DisplayRole or role == Qt.ItemDataRole.ToolTipRole:
            return cell_text(a[index.row()])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if a.dtype.kind == "f":
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self._cols[section] if section < len(self._cols) else None
        return str(section)


class _Relay(QObject):
    """Carries a worker thread's result to the GUI thread (queued connection)."""

    done = Signal(object, object)  # (result, exception)


def run_in_thread(fn, on_done) -> _Relay:
    """Run ``fn()`` in a daemon thread; ``on_done(result, exception)`` is called in the GUI thread."""
    relay = _Relay()
    relay.done.connect(on_done, Qt.ConnectionType.QueuedConnection)

    def work() -> None:
        try:
            res, err = fn(), None
        except BaseException as exc:  # noqa: BLE001 - handed to the GUI thread
            res, err = None, exc
        relay.done.emit(res, err)

    threading.Thread(target=work, name="DataBrowser worker", daemon=True).start()
    return relay


def kv_table(parent: QWidget) -> QTableWidget:
    t = QTableWidget(0, 2, parent)
    t.setHorizontalHeaderLabels(["name", "value"])
    t.verticalHeader().setVisible(False)
    t.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    t.horizontalHeader().setStretchLastSection(True)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setAlternatingRowColors(True)
    t.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    t.verticalHeader().setDefaultSectionSize(t.fontMetrics().height() + 8)
    return t


def plain_table(parent: QWidget, headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers), parent)
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().setVisible(False)
    t.horizontalHeader().setStretchLastSection(True)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    return t


def fill_kv(t: QTableWidget, items: list[tuple[str, Any]]) -> None:
    t.setRowCount(len(items))
    for i, (k, v) in enumerate(items):
        t.setItem(i, 0, QTableWidgetItem(str(k)))
        t.setItem(i, 1, QTableWidgetItem(cell_text(v) if not isinstance(v, (list, dict)) else repr(v)))
