"""The main window's File-menu actions: the experiment list (Add…, Remove, Refresh),
Settings…, Attach to rig…, Rig dashboard… and About (a mixin of
:class:`~rigconsole.ui.main_window.MainWindow`, kept apart so the window's
module stays readable)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

import rigconsole

from ..settings import save_settings
from .settings_dialog import SettingsDialog

__all__ = ["FileMenuActions"]

log = logging.getLogger("rigconsole.ui")


class FileMenuActions:
    """File-menu slots of the main window.

    Uses only the host window's public surface: ``session``, ``settings``,
    ``experiments``, ``statusBar()``, ``current_key()``, ``select_experiment(key)``
    and ``update_session_label()``. Its own state is made by :meth:`init_file_actions`,
    which the host calls first.
    """

    session: Any
    settings: Any
    experiments: Any

    def init_file_actions(
        self, apply_settings: Callable[[Any], None], set_remote_locked: Callable[[bool], object] | None = None
    ) -> None:
        """``apply_settings``: what Settings… Apply calls; ``set_remote_locked``: the lock check box."""
        self._apply_settings = apply_settings
        self._set_remote_locked = set_remote_locked
        self._settings_dialog: SettingsDialog | None = None
        self._remote_windows: list = []  # observer and dashboard windows opened from the File menu

    def close_remote_windows(self) -> None:
        """Close the observer and dashboard windows opened from the File menu."""
        for win in list(self._remote_windows):
            win.close()

    def add_experiment(self, path: str | None = None) -> bool:
        """Add… an experiment file (a file dialog when ``path`` is not given)."""
        if not path:
            path, _ = QFileDialog.getOpenFileName(
                self,
                "Add experiment",
                str(self.session.root),
                "PsychoPy experiments (*.psyexp *.py);;Builder experiments (*.psyexp);;Python scripts (*.py)",
            )
            if not path:
                return False
        file = Path(path).absolute()
        ok = self.session.addExperiment(file)
        try:
            file.relative_to(Path(self.session.root).absolute())
        except ValueError:
            if self.settings.add_extra_experiment(file):
                save_settings(self.settings)
        key = self.session.key_for(file)
        self.experiments.select(key)
        if not ok:
            self.statusBar().showMessage(f"{file.name} was added but cannot run: see its details", 10000)
        return ok

    def remove_experiment(self) -> bool:
        key = self.current_key()
        if not key:
            return False
        self.select_experiment("")  # remembers the form's values first: forgotten just below
        entry = self.session.experiment_files.get(key)
        if entry is not None:
            self.settings.remove_extra_experiment(entry.path)
        self.settings.last_exp_info.pop(key, None)
        ok = self.session.removeExperiment(key)
        save_settings(self.settings)
        return ok

    def refresh_experiments(self) -> None:
        self.session.scanRoot()
        self.experiments.refresh()
        self.select_experiment(self.experiments.current_key())
        self.statusBar().showMessage(f"{len(self.session.experiment_files)} experiments in {self.session.root}", 5000)

    def open_settings(self) -> SettingsDialog:
        """File → Settings… (window-modal, opened with ``open()``, never ``exec()``)."""
        dlg = SettingsDialog(
            self.session, self.settings, self._apply_settings, self, set_remote_locked=self._set_remote_locked
        )
        dlg.applied.connect(self._settings_applied)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._settings_dialog = dlg
        dlg.open()
        return dlg

    def attach_to_rig(self):
        """File → Attach to rig…: the attach dialog, then an observer window (see ui/remote_observer.py)."""
        from .remote_observer import open_attach_dialog

        return open_attach_dialog(self, self._remote_windows)

    def open_dashboard(self):
        """File → Rig dashboard…: pick recent rigs, then a dashboard of them (see ui/remote_dashboard.py)."""
        from .remote_dashboard import open_dashboard_dialog

        return open_dashboard_dialog(self, self._remote_windows)

    def _settings_applied(self) -> None:
        for extra in self.settings.extra_experiments:
            if Path(extra).exists() and not any(e.path == Path(extra) for e in self.session.experiment_files.values()):
                self.session.addExperiment(extra)
        self.update_session_label()
        self.experiments.refresh()
        self.statusBar().showMessage("Settings applied", 5000)

    def show_about(self) -> QMessageBox:
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "About Rig Console",
            f"<b>Rig Console</b> {rigconsole.__version__}<br>An experimenter console for PsychoPy rigs.",
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    # the host window's (MainWindow)
    def current_key(self) -> str:
        raise NotImplementedError

    def select_experiment(self, key: str) -> None:
        raise NotImplementedError

    def update_session_label(self) -> None:
        raise NotImplementedError
