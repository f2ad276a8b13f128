"""ElidedLabel: a long text elides to the label's width (middle for paths), the whole text stays
in text() and the tooltip, and the label asks for a few characters, not the whole text."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from rigconsole.ui.elided_label import ElidedLabel

PATH = "/home/lab/" + "a_long_folder_of_the_lab/" * 20 + "participant_P01_data.csv"


def test_a_long_path_elides_in_the_middle_and_keeps_the_whole_in_its_tooltip(qtbot):
    host = QWidget()
    qtbot.addWidget(host)
    label = ElidedLabel(PATH)
    QHBoxLayout(host).addWidget(label)
    host.resize(300, 40)
    host.show()
    qtbot.waitExposed(host)
    assert label.text() == PATH and label.toolTip() == PATH
    shown = label.elided_text()
    assert "…" in shown and shown.startswith("/home/lab/") and shown.endswith("data.csv")
    assert label.fontMetrics().horizontalAdvance(shown) <= label.contentsRect().width()
    # a plain label asks for the whole text; this one for a dozen characters
    assert QLabel(PATH).minimumSizeHint().width() > 2000
    assert label.minimumSizeHint().width() < 150 and host.minimumSizeHint().width() < 200
    # wide enough: the whole text, no "…"
    host.resize(label.sizeHint().width() + 40, 40)
    qtbot.waitUntil(lambda: label.elided_text() == PATH)


def test_a_new_text_moves_the_tooltip_unless_one_was_set(qtbot):
    label = ElidedLabel("first", mode=Qt.TextElideMode.ElideRight)
    qtbot.addWidget(label)
    label.setText("second")
    assert label.toolTip() == "second"
    label.setToolTip("why it is here")
    label.setText("third")
    assert label.text() == "third" and label.toolTip() == "why it is here"
