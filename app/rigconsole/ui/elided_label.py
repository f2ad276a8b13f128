"""A one-line label that shortens its text to fit, instead of widening the window.

A plain ``QLabel`` asks for the width of its whole text: one long path in a status
bar or a subtitle sets the console's minimum width, and on a one-screen computer
that squeezes the stimulus window beside it (:mod:`rigconsole.ui.placement`).
:class:`ElidedLabel` asks only for a few characters, draws its text elided to the
width it gets ("…" in the middle for paths, so both the root and the file name stay
readable), and gives the whole text as its tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QStyle, QStyleOption, QWidget

__all__ = ["ElidedLabel"]


class ElidedLabel(QLabel):
    """A plain-text, one-line ``QLabel`` whose text elides to the width it is given.

    ``text()`` is the whole text; what is drawn is that text elided with ``mode``
    (``Qt.TextElideMode.ElideMiddle`` by default: paths). The tooltip is the whole
    text unless ``tooltip=False`` or :meth:`setToolTip` sets another. Its size hint is
    the whole text's width; its minimum width is ``min_chars`` average characters, so
    a layout shortens it before it widens the window.

    Args:
        text: the text (plain; no rich text: it could not be elided).
        parent: the parent widget.
        mode: where "…" goes (``Qt.TextElideMode``).
        min_chars: minimum width in average character widths (default 12).
        tooltip: whether the tooltip follows the text.
    """

    def __init__(
        self,
        text: str = "",
        parent: QWidget | None = None,
        *,
        mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle,
        min_chars: int = 12,
        tooltip: bool = True,
    ):
        super().__init__(parent)
        self._mode = mode
        self._min_chars = min_chars
        self._auto_tooltip = tooltip
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(False)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt)
        """Show ``text`` (elided to fit); the tooltip becomes the whole text."""
        if text == self.text():
            return
        super().setText(text)
        if self._auto_tooltip:
            super().setToolTip(text)

    def setToolTip(self, tip: str) -> None:  # noqa: N802 (Qt)
        """A tooltip of one's own: it no longer follows the text."""
        self._auto_tooltip = False
        super().setToolTip(tip)

    def elided_text(self) -> str:
        """The text as drawn now: elided to the label's contents width."""
        return self.fontMetrics().elidedText(self.text(), self._mode, max(0, self.contentsRect().width()))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt)
        hint = super().minimumSizeHint()
        m = self.contentsMargins()
        return QSize(self.fontMetrics().averageCharWidth() * self._min_chars + m.left() + m.right(), hint.height())

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt)
        painter = QPainter(self)
        opt = QStyleOption()
        opt.initFrom(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_Widget, opt, painter, self)
        self.style().drawItemText(
            painter,
            self.contentsRect(),
            int(self.alignment()),
            self.palette(),
            self.isEnabled(),
            self.elided_text(),
            self.foregroundRole(),
        )
