"""File → Settings…: experiment root folder, data folder and the stimulus window (General),
remote attach (server, TLS, lock, tokens) and email notifications (see ui/settings_remote.py).

Apply validates with the pydantic :class:`rigconsole.settings.Settings` model
(one-line errors under the form), refuses while a run is in progress, applies
them to the rig (:meth:`rigconsole.rig.Rig.apply_settings`: a new data folder
opens a new data log, a new root rescans, the stimulus window follows) and
saves the settings file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..notifications import one_line
from ..settings import Settings, save_settings
from ..views.palette import ERROR
from .settings_remote import EmailTab, RemoteTab
from .settings_widgets import path_row

__all__ = ["SettingsDialog"]

log = logging.getLogger(__name__)


class SettingsDialog(QDialog):
    """Edit and apply the console settings.

    Args:
        session: the running :class:`rigconsole.session.Session` (read: is a run in progress?).
        settings: the :class:`Settings` to edit (updated in place on Apply).
        apply_settings: applies validated settings to the rig
            (:meth:`rigconsole.rig.Rig.apply_settings`: a new data folder opens a
            new data log, a new root rescans, the window follows); raises
            ``RunInProgressError``, ``NotADirectoryError`` or ``OSError`` to refuse.
        tokens: the remote :class:`~rigconsole.remote.TokenStore` (default: the user's token file,
            the one the rig's server checks).
        set_remote_locked: locks remote control at once, during a run too
            (:meth:`rigconsole.rig.Rig.set_remote_locked`); without it the lock is applied with the rest.

    Attributes:
        root_edit, data_edit: ``QLineEdit`` folders.
        rig_file_edit: ``QLineEdit``, the rig file (empty: the bundled simulated rig).
        screen_combo: ``QComboBox`` of screen indices.
        width_spin, height_spin: window size (pixels).
        fullscr_check: ``QCheckBox``.
        preview_check: ``QCheckBox``, the subject-screen preview (``Settings.preview.enabled``).
        error_label: one-line error shown when Apply is refused.
        tabs: ``QTabWidget`` (General, Remote attach, Email).
        remote_tab: :class:`~rigconsole.ui.settings_remote.RemoteTab`; email_tab: :class:`EmailTab`.

    Signals:
        applied(): settings were applied and saved.
    """

    applied = Signal()

    def __init__(
        self,
        session,
        settings: Settings,
        apply_settings: Callable[[Settings], None],
        parent: QWidget | None = None,
        *,
        tokens=None,
        set_remote_locked: Callable[[bool], object] | None = None,
    ):
        super().__init__(parent)
        self._apply_settings = apply_settings
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self.session = session
        self.settings = settings

        self.root_edit = QLineEdit(str(settings.root))
        self.data_edit = QLineEdit(str(settings.data_dir))
        self.rig_file_edit = QLineEdit(str(settings.rig_file) if settings.rig_file else "")
        self.rig_file_edit.setPlaceholderText("the bundled simulated rig")
        self.screen_combo = QComboBox()
        for i, screen in enumerate(QGuiApplication.screens()):
            g = screen.geometry()
            self.screen_combo.addItem(f"{i}: {screen.name() or 'screen'} ({g.width()} × {g.height()})", i)
        if settings.window.screen >= self.screen_combo.count():
            self.screen_combo.addItem(f"{settings.window.screen}: not connected", settings.window.screen)
        self.screen_combo.setCurrentIndex(self.screen_combo.findData(settings.window.screen))
        self.width_spin = QSpinBox()
        self.height_spin = QSpinBox()
        for spin, value in ((self.width_spin, settings.window.size[0]), (self.height_spin, settings.window.size[1])):
            spin.setRange(1, 16384)
            spin.setSuffix(" px")
            spin.setValue(int(value))
        self.fullscr_check = QCheckBox("Full screen")
        self.fullscr_check.setChecked(settings.window.fullscr)
        self.preview_check = QCheckBox("Show a preview of the subject screen (console and observers)")
        self.preview_check.setChecked(settings.preview.enabled)
        self.preview_check.setToolTip(
            "A small JPEG of the stimulus window, at most once a second, in the Subject screen dock and "
            "to remote observers. Taken only when the frame budget says it fits: it never costs a frame."
        )

        general = QWidget()
        form = QFormLayout(general)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("Experiment root folder:", path_row(self, self.root_edit, "Experiment root folder"))
        form.addRow("Data folder:", path_row(self, self.data_edit, "Data folder"))
        form.addRow(
            "Rig file (instruments):", path_row(self, self.rig_file_edit, "Rig file", "Rig files (*.yaml *.yml)")
        )
        form.addRow(QLabel("<b>Stimulus window</b>"))
        form.addRow("Screen:", self.screen_combo)
        size = QHBoxLayout()
        size.addWidget(self.width_spin)
        size.addWidget(QLabel("×"))
        size.addWidget(self.height_spin)
        size.addStretch(1)
        form.addRow("Size:", size)
        form.addRow("", self.fullscr_check)
        form.addRow("Preview:", self.preview_check)

        self.error_label = QLabel()
        self.error_label.setStyleSheet(f"color: {ERROR};")
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.Apply
        )
        self.buttons.accepted.connect(self._ok)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self.apply)

        self.remote_tab = RemoteTab(settings.remote, tokens=tokens)
        self._set_remote_locked = set_remote_locked
        if set_remote_locked is not None:
            self.remote_tab.lock_check.toggled.connect(self._lock_now)
        self.email_tab = EmailTab(settings.remote.email)
        self.tabs = QTabWidget()
        self.tabs.addTab(general, "General")
        self.tabs.addTab(self.remote_tab, "Remote attach")
        self.tabs.addTab(self.email_tab, "Email")
        lay = QVBoxLayout(self)
        lay.addWidget(self.tabs)
        lay.addWidget(self.error_label)
        lay.addWidget(self.buttons)

    # ------------------------------------------------------------ apply
    def _candidate(self) -> Settings:
        data = self.settings.model_dump()
        data["root"] = self.root_edit.text().strip()
        data["data_dir"] = self.data_edit.text().strip()
        data["rig_file"] = self.rig_file_edit.text().strip() or None
        data["window"] = dict(
            data["window"],
            screen=self.screen_combo.currentData(),
            size=(self.width_spin.value(), self.height_spin.value()),
            fullscr=self.fullscr_check.isChecked(),
        )
        data["remote"] = dict(data["remote"], **self.remote_tab.values(), email=self.email_tab.values())
        data["preview"] = dict(data["preview"], enabled=self.preview_check.isChecked())
        return Settings.model_validate(data)

    def _lock_now(self, locked: bool) -> None:
        self._set_remote_locked(locked)
        self.settings.adopt(
            self.settings.model_copy(update={"remote": self.settings.remote.model_copy(update={"locked": locked})}),
            ("remote",),
        )
        try:
            save_settings(self.settings)
        except OSError as err:
            self._refuse(f"Remote control {'locked' if locked else 'unlocked'} but not saved: {err}")
        log.info("remote control %s at the rig", "locked" if locked else "unlocked")

    def _refuse(self, message: str) -> bool:
        self.error_label.setText(message)
        self.error_label.show()
        return False

    def apply(self) -> bool:
        """Validate, apply to the rig and save. Returns ``False`` (with a message shown) when refused."""
        self.error_label.hide()
        if self.session.current_run is not None:
            return self._refuse("A run is in progress: stop it before changing settings.")
        try:
            new = self._candidate()
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"] if not isinstance(p, int)) or "value"
            return self._refuse(f"{where}: {first['msg']}")
        if not str(new.root) or not Path(new.root).is_dir():
            return self._refuse(f"Experiment root folder does not exist: {new.root}")
        if not str(self.data_edit.text().strip()):
            return self._refuse("Give a data folder.")
        if new.rig_file is not None and not Path(new.rig_file).is_file():
            return self._refuse(f"Rig file does not exist: {new.rig_file} (leave it empty for the simulated rig)")
        problem = self.remote_tab.problem()
        if problem:
            return self._refuse(f"Remote attach: {problem}")
        kept = self.email_tab.store_password()  # before applying: the rig's notifier reads the keyring
        old = self.settings
        try:
            self._apply_settings(new)
        except Exception as err:  # RunInProgressError, OSError, PsychoPy window errors
            return self._refuse(one_line(err))
        old.adopt(new, ("root", "data_dir", "window", "rig_file", "remote", "preview"))
        self.remote_tab.refresh_fingerprint()
        try:
            save_settings(old)
        except OSError as err:
            return self._refuse(f"Settings applied but not saved: {err}")
        if kept is not None:
            self._refuse(f"Settings applied; {kept}.")
        log.info(
            "settings applied: root %s, data folder %s, window %s", old.root, old.data_dir, old.window.window_params()
        )
        self.applied.emit()
        return True

    def _ok(self) -> None:
        if self.apply():
            self.accept()
