"""The Settings dialog's "Remote attach" and "Email" tabs.

Remote attach: the server (off until enabled; 127.0.0.1 unless told otherwise;
port 6913; TLS from a certificate and key or a self-signed certificate the
console makes, with its fingerprint shown), the lock, and the access tokens
(added with a name and a role, the token shown once to copy; revoked at once).
Email: the SMTP server (STARTTLS, SSL or none), the login (the password goes
to the OS keyring, :mod:`rigconsole.remote.secrets`), recipients and which
events mail. Both only *read* settings: :meth:`values` returns the fields for
the dialog's candidate :class:`~rigconsole.settings.Settings`; tokens are the
exception (the token store is changed at once, like ``rigconsole remote token``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..remote import DEFAULT_PORT, ROLES, TokenError, TokenStore, secrets
from ..remote.settings import EmailSettings, RemoteSettings
from ..remote.tls import cert_fingerprint
from ..views.palette import ERROR, NEUTRAL, OK, WARNING
from .settings_widgets import host_port_row, path_row

__all__ = ["RemoteTab", "EmailTab"]

log = logging.getLogger(__name__)

TLS_CHOICES = (
    ("self-signed", "Self-signed certificate (made by this console)"),
    ("files", "Certificate and key files"),
    ("off", "Off: plain HTTP (this computer or a closed lab network only)"),
)
SECURITY_CHOICES = (("starttls", "STARTTLS (port 587)"), ("ssl", "SSL/TLS (port 465)"), ("none", "None (port 25)"))


class RemoteTab(QWidget):
    """Remote attach settings and the access tokens.

    Args:
        settings: the :class:`RemoteSettings` in force (read only).
        tokens: the :class:`TokenStore` the rig's server checks (default: the user's token file).
        config_dir: where the self-signed certificate is made (next to the settings).

    Attributes: enabled_check, host_edit, port_spin, rig_name_edit, tls_combo, cert_edit, key_edit,
    fingerprint_edit, lock_check, token_table, token_name_edit, token_role_combo, add_token_button,
    revoke_button, new_token_edit, copy_button, token_message.
    """

    def __init__(
        self,
        settings: RemoteSettings,
        *,
        tokens: TokenStore | None = None,
        config_dir: Path | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        from ..settings import settings_path

        self._token_error = ""
        try:
            self.tokens = tokens if tokens is not None else TokenStore.default()
        except TokenError as err:  # an unreadable token file: say so, keep the rest of Settings usable
            self._token_error = str(err)
            self.tokens = TokenStore(None)
        self.config_dir = Path(config_dir) if config_dir is not None else settings_path().parent
        self.enabled_check = QCheckBox("Let other computers attach to this rig (observe; operators also control)")
        self.enabled_check.setChecked(settings.enabled)
        self.host_edit = QLineEdit(settings.host)
        self.host_edit.setPlaceholderText("127.0.0.1")
        self.host_edit.setToolTip(
            "127.0.0.1: this computer only; 0.0.0.0: every network interface; or one interface's address"
        )
        self.port_spin = QSpinBox()
        self.port_spin.setRange(1, 65535)
        self.port_spin.setValue(settings.port or DEFAULT_PORT)
        self.rig_name_edit = QLineEdit(settings.rig_name)
        self.rig_name_edit.setPlaceholderText("this computer's name")
        self.tls_combo = QComboBox()
        for value, text in TLS_CHOICES:
            self.tls_combo.addItem(text, value)
        self.tls_combo.setCurrentIndex(self.tls_combo.findData(settings.tls))
        self.cert_edit = QLineEdit(str(settings.tls_cert) if settings.tls_cert else "")
        self.key_edit = QLineEdit(str(settings.tls_key) if settings.tls_key else "")
        self.fingerprint_edit = QLabel()
        self.fingerprint_edit.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fingerprint_edit.setStyleSheet("font-family: monospace")
        self.fingerprint_edit.setToolTip(
            "SHA-256 of the rig's certificate: the attach dialog on the other "
            "computer shows it on first use; compare the two"
        )
        self.lock_check = QCheckBox(
            "Lock remote control (pause, resume, stop and runs from other computers are refused until unlocked)"
        )
        self.lock_check.setChecked(settings.locked)
        self.tls_combo.currentIndexChanged.connect(self._tls_changed)
        self.cert_edit.textChanged.connect(self._tls_changed)

        server = QFormLayout()
        server.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        server.addRow("", self.enabled_check)
        server.addRow("Listen on:", host_port_row(self.host_edit, self.port_spin))
        hint = QLabel("127.0.0.1 = this computer only; 0.0.0.0 = every network interface")
        hint.setStyleSheet(f"color: {NEUTRAL}")
        server.addRow("", hint)
        server.addRow("Rig name:", self.rig_name_edit)
        server.addRow("TLS (HTTPS):", self.tls_combo)
        server.addRow("Certificate:", path_row(self, self.cert_edit, "TLS certificate", "PEM (*.pem *.crt)"))
        server.addRow("Key:", path_row(self, self.key_edit, "TLS key", "PEM (*.pem *.key)"))
        server.addRow("Fingerprint:", self.fingerprint_edit)
        server.addRow("", self.lock_check)

        # tokens: changed at once in the token store (a running server sees them at its next request)
        self.token_table = QTableWidget(0, 3)
        self.token_table.setHorizontalHeaderLabels(["Name", "Role", "Created"])
        self.token_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.token_table.verticalHeader().hide()
        self.token_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.token_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.token_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.token_table.setMinimumHeight(110)
        self.token_name_edit = QLineEdit()
        self.token_name_edit.setPlaceholderText("who it is for, e.g. PI office")
        self.token_role_combo = QComboBox()
        for role in ROLES:
            self.token_role_combo.addItem(
                {"observer": "observer (watch only)", "operator": "operator (watch and control)"}[role], role
            )
        self.add_token_button = QPushButton("Add token")
        self.add_token_button.clicked.connect(self.add_token)
        self.revoke_button = QPushButton("Revoke")
        self.revoke_button.setToolTip("The selected token stops working at once")
        self.revoke_button.clicked.connect(self.revoke_selected)
        self.new_token_edit = QLineEdit()
        self.new_token_edit.setReadOnly(True)
        self.new_token_edit.setPlaceholderText("a new token is shown here once")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self._copy)
        self.token_message = QLabel()
        self.token_message.setWordWrap(True)
        add_row = QHBoxLayout()
        add_row.addWidget(self.token_name_edit, 1)
        add_row.addWidget(self.token_role_combo)
        add_row.addWidget(self.add_token_button)
        add_row.addWidget(self.revoke_button)
        new_row = QHBoxLayout()
        new_row.addWidget(self.new_token_edit, 1)
        new_row.addWidget(self.copy_button)

        lay = QVBoxLayout(self)
        lay.addLayout(server)
        lay.addWidget(QLabel("<b>Access tokens</b> (give one to each person or computer that attaches)"))
        lay.addWidget(self.token_table, 1)
        lay.addLayout(add_row)
        lay.addLayout(new_row)
        lay.addWidget(self.token_message)
        self.refresh_tokens()
        self._tls_changed()
        if self._token_error:
            for w in (self.token_name_edit, self.token_role_combo, self.add_token_button, self.revoke_button):
                w.setEnabled(False)
            self._message(self._token_error, error=True)

    # ------------------------------------------------------------------ TLS
    def _tls_changed(self, *_args) -> None:
        mode = self.tls_combo.currentData()
        for w in (self.cert_edit, self.key_edit):
            w.setEnabled(mode == "files")
        from .remote_observer import fingerprint_lines

        fp = self.fingerprint()
        self.fingerprint_edit.setText(
            fingerprint_lines(fp)
            if fp
            else "(made when the server first starts: Apply)"
            if mode == "self-signed"
            else "(no TLS: nothing to pin)"
            if mode == "off"
            else "(choose the certificate file)"
        )

    def refresh_fingerprint(self) -> None:
        """Show the certificate's fingerprint again (the server made its certificate on Apply)."""
        self._tls_changed()

    def fingerprint(self) -> str | None:
        """The certificate's fingerprint the server will present (``AB:CD:...``), or ``None`` (none yet, no TLS)."""
        mode = self.tls_combo.currentData()
        cert = (
            self.config_dir / "remote-cert.pem"
            if mode == "self-signed"
            else Path(self.cert_edit.text().strip())
            if mode == "files" and self.cert_edit.text().strip()
            else None
        )
        if cert is None:
            return None
        try:
            return cert_fingerprint(cert.read_bytes())
        except (OSError, ValueError):
            return None

    def problem(self) -> str | None:
        """What would stop the server from starting with these values (one line), or ``None``."""
        if not self.enabled_check.isChecked() or self.tls_combo.currentData() != "files":
            return None
        for what, edit in (("certificate", self.cert_edit), ("key", self.key_edit)):
            path = edit.text().strip()
            if not path:
                return f"TLS from files: choose the {what} file (or pick the self-signed certificate)"
            if not Path(path).is_file():
                return f"TLS {what} file does not exist: {path}"
        return None

    def values(self) -> dict:
        """The remote fields for the candidate settings (``email`` is the Email tab's)."""
        return {
            "enabled": self.enabled_check.isChecked(),
            "host": self.host_edit.text().strip() or "127.0.0.1",
            "port": self.port_spin.value(),
            "rig_name": self.rig_name_edit.text().strip(),
            "tls": self.tls_combo.currentData(),
            "tls_cert": self.cert_edit.text().strip() or None,
            "tls_key": self.key_edit.text().strip() or None,
            "locked": self.lock_check.isChecked(),
        }

    # ------------------------------------------------------------------ tokens
    def refresh_tokens(self) -> None:
        try:
            infos = self.tokens.list()
        except TokenError as err:
            self._message(str(err), error=True)
            infos = []
        self.token_table.setRowCount(len(infos))
        for row, info in enumerate(infos):
            for col, text in enumerate(
                (info.name, info.role, time.strftime("%Y-%m-%d %H:%M", time.localtime(info.created)))
            ):
                self.token_table.setItem(row, col, QTableWidgetItem(text))
        self.token_table.resizeColumnsToContents()
        self.token_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.revoke_button.setEnabled(bool(infos))

    def _message(self, text: str, *, error: bool = False) -> None:
        self.token_message.setStyleSheet(f"color: {ERROR if error else OK}")
        self.token_message.setText(text)

    def add_token(self) -> str | None:
        """Make a token with the name and role given; shows it once. Returns it (``None`` when refused)."""
        role = self.token_role_combo.currentData()
        try:
            token = self.tokens.add(self.token_name_edit.text(), role)
        except TokenError as err:
            self._message(str(err), error=True)
            return None
        name = self.token_name_edit.text().strip()
        self.new_token_edit.setText(token)
        self.copy_button.setEnabled(True)
        self.token_name_edit.clear()
        self._message(f"Token for {name!r} ({role}): copy it now, it is shown only once.")
        self.refresh_tokens()
        return token

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.new_token_edit.text())
        self._message("Copied to the clipboard.")

    def revoke_selected(self) -> bool:
        """Revoke the selected token (it is refused from the next request; its live streams close)."""
        row = self.token_table.currentRow()
        item = self.token_table.item(row, 0) if row >= 0 else None
        if item is None:
            self._message("Select the token to revoke.", error=True)
            return False
        name = item.text()
        try:
            done = self.tokens.revoke(name)
        except TokenError as err:
            self._message(str(err), error=True)
            return False
        self.new_token_edit.clear()
        self.copy_button.setEnabled(False)
        self._message(f"Token {name!r} revoked." if done else f"No token named {name!r}.", error=not done)
        self.refresh_tokens()
        return done


class EmailTab(QWidget):
    """SMTP notifications: server, security, login (password to the OS keyring), recipients, events.

    Attributes: enabled_check, host_edit, port_spin, security_combo, user_edit, password_edit,
    from_edit, to_edit, run_finished_check, run_failed_check, instrument_down_check, disk_spin,
    report_spin (minutes), report_variables_edit (comma-separated names), keyring_note.
    """

    def __init__(self, settings: EmailSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self._settings = settings
        self.enabled_check = QCheckBox("Send email notifications")
        self.enabled_check.setChecked(settings.enabled)
        self.host_edit = QLineEdit(settings.host)
        self.host_edit.setPlaceholderText("smtp.university.edu")
        self.port_spin = QSpinBox()
        self.port_spin.setRange(0, 65535)
        self.port_spin.setSpecialValueText("default")
        self.port_spin.setValue(settings.port)
        self.security_combo = QComboBox()
        for value, text in SECURITY_CHOICES:
            self.security_combo.addItem(text, value)
        self.security_combo.setCurrentIndex(self.security_combo.findData(settings.security))
        self.user_edit = QLineEdit(settings.user)
        self.user_edit.setPlaceholderText("empty: no login")
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        reason = secrets.unavailable_reason()
        kept = bool(settings.user) and secrets.get(secrets.smtp_password_key(settings.user, settings.host))
        self.password_edit.setPlaceholderText(
            "kept in the OS keyring (unchanged)"
            if kept
            else "not kept: type it"
            if not reason
            else "cannot be kept here"
        )
        self.keyring_note = QLabel(
            f"The password cannot be kept: {reason}."
            if reason
            else "The password goes to this computer's keyring, never to the settings file."
        )
        self.keyring_note.setWordWrap(True)
        self.keyring_note.setStyleSheet(f"color: {WARNING if reason else NEUTRAL}")
        self.from_edit = QLineEdit(settings.from_addr)
        self.from_edit.setPlaceholderText("rig-2@university.edu (empty: the login)")
        self.to_edit = QLineEdit(", ".join(settings.to_addrs))
        self.to_edit.setPlaceholderText("pi@university.edu, tech@university.edu")
        self.run_finished_check = QCheckBox("a run finished or was stopped")
        self.run_finished_check.setChecked(settings.on_run_finished)
        self.run_failed_check = QCheckBox("a run failed (with its error)")
        self.run_failed_check.setChecked(settings.on_run_failed)
        self.instrument_down_check = QCheckBox("an instrument is down")
        self.instrument_down_check.setChecked(settings.on_instrument_down)
        self.disk_spin = QDoubleSpinBox()
        self.disk_spin.setRange(0, 100000)
        self.disk_spin.setSuffix(" GB")
        self.disk_spin.setSpecialValueText("never")
        self.disk_spin.setValue(settings.disk_low_gb)
        self.report_spin = QDoubleSpinBox()
        self.report_spin.setRange(0, 7 * 24 * 60)
        self.report_spin.setDecimals(0)
        self.report_spin.setSuffix(" min")
        self.report_spin.setSpecialValueText("none")
        self.report_spin.setValue(settings.report_minutes)
        self.report_variables_edit = QLineEdit(", ".join(settings.report_variables))
        self.report_variables_edit.setPlaceholderText("logged variables to plot, e.g. pupil, luminance (empty: all)")

        form = QFormLayout(self)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("", self.enabled_check)
        form.addRow("SMTP server:", host_port_row(self.host_edit, self.port_spin))
        form.addRow("Security:", self.security_combo)
        form.addRow("User:", self.user_edit)
        form.addRow("Password:", self.password_edit)
        form.addRow("", self.keyring_note)
        form.addRow("From:", self.from_edit)
        form.addRow("To:", self.to_edit)
        form.addRow(QLabel("<b>Mail when</b>"))
        form.addRow("", self.run_finished_check)
        form.addRow("", self.run_failed_check)
        form.addRow("", self.instrument_down_check)
        form.addRow("Data disk under:", self.disk_spin)
        form.addRow("Report every:", self.report_spin)
        form.addRow("Report plots:", self.report_variables_edit)

    def values(self) -> dict:
        """The email fields for the candidate settings (fields this tab does not show are kept)."""
        data = self._settings.model_dump()
        data.update(
            enabled=self.enabled_check.isChecked(),
            host=self.host_edit.text().strip(),
            port=self.port_spin.value(),
            security=self.security_combo.currentData(),
            user=self.user_edit.text().strip(),
            from_addr=self.from_edit.text().strip(),
            to_addrs=[a.strip() for a in self.to_edit.text().replace(";", ",").split(",") if a.strip()],
            on_run_finished=self.run_finished_check.isChecked(),
            on_run_failed=self.run_failed_check.isChecked(),
            on_instrument_down=self.instrument_down_check.isChecked(),
            disk_low_gb=self.disk_spin.value(),
            report_minutes=self.report_spin.value(),
            report_variables=[v.strip() for v in self.report_variables_edit.text().split(",") if v.strip()],
        )
        return data

    def store_password(self) -> str | None:
        """Put a typed password in the OS keyring (before the settings are applied).

        Returns ``None`` when done or nothing was typed, else why it could not be kept (one line)."""
        password = self.password_edit.text()
        user, host = self.user_edit.text().strip(), self.host_edit.text().strip()
        if not password:
            return None
        if not user:
            return "a password needs a user name"
        if not secrets.store(secrets.smtp_password_key(user, host), password):
            return f"the SMTP password is not kept: {secrets.unavailable_reason() or 'the keyring refused it'}"
        self.password_edit.clear()
        self.password_edit.setPlaceholderText("kept in the OS keyring (unchanged)")
        return None
