"""Rows the Settings dialog's tabs share (General, Remote attach, Email): a path with
Browse…, a host with its port. Imported by :mod:`.settings_dialog` and
:mod:`.settings_remote`; it imports neither."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QWidget

__all__ = ["path_row", "host_port_row"]


def path_row(parent: QWidget, edit: QLineEdit, caption: str, file_filter: str | None = None) -> QHBoxLayout:
    """An edit with a Browse… button: a folder, or a file when ``file_filter`` is given
    (Qt's filter syntax, e.g. ``"Rig files (*.yaml *.yml)"``)."""
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    browse = QPushButton("Browse…", parent)

    def pick() -> None:
        if file_filter is None:
            chosen = QFileDialog.getExistingDirectory(parent, caption, edit.text())
        else:
            chosen, _ = QFileDialog.getOpenFileName(parent, caption, edit.text(), file_filter)
        if chosen:
            edit.setText(chosen)

    browse.clicked.connect(pick)
    row.addWidget(browse)
    return row


def host_port_row(host_edit: QLineEdit, port_spin: QSpinBox) -> QHBoxLayout:
    """The host field, stretching, then "port" and the port box (the server's and the SMTP server's)."""
    row = QHBoxLayout()
    row.addWidget(host_edit, 1)
    row.addWidget(QLabel("port"))
    row.addWidget(port_spin)
    return row
