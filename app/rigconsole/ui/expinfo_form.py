"""The expInfo form: one editor per expInfo field of the selected experiment.

Generated from :class:`rigconsole.session.expinfo.ExpInfoField` (PsychoPy's
expInfo conventions): text → ``QLineEdit``, choice → ``QComboBox``, bool →
``QCheckBox``, int → ``QSpinBox``, float → ``QDoubleSpinBox``. Hidden fields
(``|hid``, ``date``, ``expName``) are not shown; fixed ones (``|fix``) are
read-only; config ones (``|cfg``) sit in a collapsible "Advanced" group;
required ones (``|req`` or ``*``) carry a ``*`` and are checked by
:meth:`ExpInfoForm.validate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..session.expinfo import ExpInfoError, ExpInfoField
from ..views.palette import ERROR

__all__ = ["ExpInfoForm"]

_INVALID_STYLE = f"border: 2px solid {ERROR}; border-radius: 3px;"


class ExpInfoForm(QWidget):
    """Editors for an experiment's expInfo.

    Attributes:
        editors: ``{field name: editor widget}`` of the shown fields.
        fields: ``{field name: ExpInfoField}`` of every field (hidden included).
        advanced: the collapsible group of config (``|cfg``) fields.
        message: one-line validation message under the form (hidden when empty).

    Signals:
        edited(): a value changed.
    """

    edited = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.fields: dict[str, ExpInfoField] = {}
        self.editors: dict[str, QWidget] = {}
        self._labels: dict[str, QLabel] = {}
        self._outer = QVBoxLayout(self)
        self._outer.setContentsMargins(0, 0, 0, 0)
        self._main = QFormLayout()
        self._main.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self._main.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._outer.addLayout(self._main)

        self._adv_toggle = QToolButton(self)
        self._adv_toggle.setText("Advanced")
        self._adv_toggle.setCheckable(True)
        self._adv_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._adv_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self._adv_toggle.setAutoRaise(True)
        self._adv_toggle.setToolTip("Configuration fields of this experiment (expInfo keys marked |cfg)")
        self._adv_toggle.toggled.connect(self.set_advanced_expanded)
        self.advanced = QGroupBox(self)
        self.advanced.setFlat(True)
        self._adv_form = QFormLayout(self.advanced)
        self._adv_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self._adv_form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._outer.addWidget(self._adv_toggle)
        self._outer.addWidget(self.advanced)

        self.message = QLabel(self)
        self.message.setStyleSheet(f"color: {ERROR};")
        self.message.setWordWrap(True)
        self.message.hide()
        self._outer.addWidget(self.message)
        self._outer.addStretch(1)
        self.set_fields([])

    # ------------------------------------------------------------ building
    def set_fields(self, fields: list[ExpInfoField], values: Mapping[str, Any] | None = None) -> None:
        """Rebuild the form for these fields, then apply ``values`` (e.g. the last run's)."""
        for form in (self._main, self._adv_form):
            while form.rowCount():
                form.removeRow(0)
        self.fields = {f.name: f for f in fields}
        self.editors = {}
        self._labels = {}
        self.filled: dict[str, str] = {}  # field name → who fills it in (mark_filled)
        n_adv = 0
        for f in fields:
            if f.hidden:
                continue
            editor = self._make_editor(f)
            label = QLabel(f"{f.name} *" if f.required else f.name)
            label.setBuddy(editor)
            tip = f"expInfo key {f.raw_key!r}"
            if f.required:
                tip += " — required"
            if f.fixed:
                tip += " — fixed by the experiment"
            label.setToolTip(tip)
            editor.setToolTip(tip)
            editor.setObjectName(f"expinfo_{f.name}")
            self.editors[f.name] = editor
            self._labels[f.name] = label
            if f.config:
                self._adv_form.addRow(label, editor)
                n_adv += 1
            else:
                self._main.addRow(label, editor)
        if not self.editors:
            note = QLabel(
                "Select an experiment to edit its expInfo." if not fields else "This experiment has no expInfo to edit."
            )
            note.setStyleSheet("color: palette(mid);")
            self._main.addRow(note)
        self._adv_toggle.setVisible(n_adv > 0)
        self._adv_toggle.setText(f"Advanced ({n_adv})")
        self.set_advanced_expanded(self._adv_toggle.isChecked())
        self.clear_error()
        if values:
            self.set_values(values)

    def set_advanced_expanded(self, expanded: bool) -> None:
        """Show or hide the Advanced (``|cfg``) fields."""
        if self._adv_toggle.isChecked() != expanded:
            self._adv_toggle.setChecked(expanded)
            return
        self._adv_toggle.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.advanced.setVisible(expanded and self._adv_toggle.isVisible() and self._adv_form.rowCount() > 0)

    def _make_editor(self, f: ExpInfoField) -> QWidget:
        if f.kind == "bool":
            w = QCheckBox(self)
            w.setChecked(bool(f.default))
            w.toggled.connect(self._changed)
            w.setEnabled(not f.fixed)
        elif f.kind == "int":
            w = QSpinBox(self)
            w.setRange(-2_000_000_000, 2_000_000_000)
            w.setValue(int(f.default))
            w.valueChanged.connect(self._changed)
            w.setReadOnly(f.fixed)
        elif f.kind == "float":
            w = QDoubleSpinBox(self)
            w.setRange(-1e12, 1e12)
            text = repr(float(f.default))
            decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 3
            w.setDecimals(max(2, min(decimals, 6)))
            w.setValue(float(f.default))
            w.valueChanged.connect(self._changed)
            w.setReadOnly(f.fixed)
        elif f.kind == "choice":
            w = QComboBox(self)
            for c in f.choices:
                w.addItem(str(c), c)
            w.currentIndexChanged.connect(self._changed)
            w.setEnabled(not f.fixed)
        else:
            w = QLineEdit(self)
            w.setText("" if f.default is None else str(f.default))
            w.textEdited.connect(self._changed)
            w.setReadOnly(f.fixed)
            if f.required:
                w.setPlaceholderText("required")
        if f.kind in ("int", "float"):
            w.setButtonSymbols(QSpinBox.ButtonSymbols.NoButtons if f.fixed else QSpinBox.ButtonSymbols.UpDownArrows)
        return w

    def _changed(self, *_):
        sender = self.sender()
        if sender is not None and sender.styleSheet():
            sender.setStyleSheet("")
            if not any(w.styleSheet() for w in self.editors.values()):
                self.clear_error()
        self.edited.emit()

    # ------------------------------------------------------------ values
    def values(self) -> dict[str, Any]:
        """The shown fields' values by clean name, typed (hidden fields are left to the session)."""
        out: dict[str, Any] = {}
        for name, w in self.editors.items():
            if isinstance(w, QCheckBox):
                out[name] = w.isChecked()
            elif isinstance(w, QSpinBox):
                out[name] = w.value()
            elif isinstance(w, QDoubleSpinBox):
                out[name] = w.value()
            elif isinstance(w, QComboBox):
                out[name] = w.currentData()
            elif isinstance(w, QLineEdit):
                out[name] = w.text()
        return out

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Put values into the editors; unknown names, fixed fields and unfit values are skipped."""
        for name, value in values.items():
            w = self.editors.get(name)
            f = self.fields.get(name)
            if w is None or f is None or f.fixed:
                continue
            try:
                if isinstance(w, QCheckBox):
                    w.setChecked(bool(f.coerce(value)))
                elif isinstance(w, QSpinBox):
                    w.setValue(int(f.coerce(value)))
                elif isinstance(w, QDoubleSpinBox):
                    w.setValue(float(f.coerce(value)))
                elif isinstance(w, QComboBox):
                    idx = w.findData(f.coerce(value))
                    if idx < 0:
                        idx = w.findText(str(value))
                    if idx >= 0:
                        w.setCurrentIndex(idx)
                elif isinstance(w, QLineEdit):
                    w.setText("" if value is None else str(value))
            except (ExpInfoError, TypeError, ValueError):
                continue

    def mark_filled(self, values: Mapping[str, Any], hint: str = "from the plan") -> list[str]:
        """Show ``values`` as filled in by someone else (e.g. a session plan): each shown field among
        them (not fixed by the experiment) gets the value, becomes read-only, and its label ends with ``— hint`` (its tooltip says
        so too). Names the form does not show are skipped. Returns the names marked (``self.filled``)."""
        marked = []
        for name, value in values.items():
            w, f = self.editors.get(name), self.fields.get(name)
            if w is None or f is None or f.fixed:  # not shown, or fixed by the experiment (shown as it is)
                continue
            self.set_values({name: value})
            if isinstance(w, (QLineEdit, QSpinBox, QDoubleSpinBox)):
                w.setReadOnly(True)
                if not isinstance(w, QLineEdit):
                    w.setButtonSymbols(QSpinBox.ButtonSymbols.NoButtons)
            else:
                w.setEnabled(False)
            label = self._labels[name]
            label.setText(f"{label.text()} — {hint}")
            for widget in (label, w):
                widget.setToolTip(f"{widget.toolTip()} — {hint}: {value!r}")
            self.filled[name] = hint
            marked.append(name)
        return marked

    # ------------------------------------------------------------ validation
    def validate(self) -> str | None:
        """Check every shown field; highlight the first bad one.

        Returns:
            ``None`` when all fit, else a one-line message (also shown under the form).
        """
        self.clear_error()
        values = self.values()
        for name in self.editors:
            try:
                self.fields[name].coerce(values[name])
            except ExpInfoError as err:
                self.show_error(name, str(err))
                return str(err)
        return None

    def show_error(self, name: str | None, message: str) -> None:
        """Highlight field ``name`` (if shown) and show ``message``."""
        w = self.editors.get(name) if name else None
        if w is not None:
            w.setStyleSheet(_INVALID_STYLE)
            if self.fields[name].config:
                self.set_advanced_expanded(True)
            w.setFocus(Qt.FocusReason.OtherFocusReason)
        self.message.setText(message)
        self.message.show()

    def invalid_fields(self) -> list[str]:
        """Names of the fields currently highlighted as invalid."""
        return [n for n, w in self.editors.items() if w.styleSheet()]

    def clear_error(self) -> None:
        for w in self.editors.values():
            if w.styleSheet():
                w.setStyleSheet("")
        self.message.clear()
        self.message.hide()
