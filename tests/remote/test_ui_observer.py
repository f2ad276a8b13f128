"""The Qt observer window against a real rig server during a real run (full suite; needs Qt):
status, trial count, live plots, controls for operators, a refused control shown. (The docs'
screenshots of it come from a real run: docs/screenshots/make_screenshots.py.)"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

pytest.importorskip("PySide6", reason="the Qt suite (the core suite blocks Qt)")


def test_observer_window_mirrors_a_rig(qtbot, rig, tmp_path):
    from rigconsole.remote import RemoteObserver
    from rigconsole.ui.remote_observer import AttachDialog, ObserverWindow

    dl = rig.data_log
    stop = threading.Event()

    def log_values():
        i = 0
        while not stop.is_set():
            dl.add_entry(pupil_mm=3.0 + 0.01 * (i % 50), luminance=40.0 + (i % 7))
            i += 1
            time.sleep(0.02)

    from PySide6.QtCore import QTimer

    drain = QTimer()  # the rig's main loop serving its command queue, as the console does
    drain.timeout.connect(rig.session.commands.drain)
    drain.start(10)
    dlg = AttachDialog()
    qtbot.addWidget(dlg)
    dlg.port.setValue(rig.port)
    dlg.token.setText(rig.operator_token)
    dlg._accept()
    assert dlg.result() == dlg.DialogCode.Accepted
    win = ObserverWindow(dlg.observer())
    qtbot.addWidget(win)
    win.resize(1100, 600)
    win.show()
    th = threading.Thread(target=log_values)
    th.start()
    try:
        try:
            qtbot.waitUntil(lambda: win.conn.text() == "live", timeout=20000)
        except Exception:
            raise AssertionError(f"connection line: {win.conn.text()!r}, state {win.state.text()!r}") from None
        qtbot.waitUntil(lambda: {"pupil_mm", "luminance"} <= set(win._plots), timeout=20000)
        # the plots are the console's one live-plot class, fed by the stream, against clock time
        from rigconsole.ui.plots import LivePlot

        plots = [win._plots[n] for n in ("pupil_mm", "luminance")]
        assert all(isinstance(p, LivePlot) for p in plots)
        qtbot.waitUntil(
            lambda: all(len(p.series(n)[0]) >= 3 for n, p in zip(("pupil_mm", "luminance"), plots)), timeout=20000
        )
        t, v = plots[0].series("pupil_mm")
        assert np.all(np.diff(t) >= 0) and abs(t[-1] - time.time()) < 30 and 3.0 <= v[-1] <= 3.5
        assert "<b>" in plots[0].getPlotItem().titleLabel.text  # the latest value in the title
        assert win.state.text() == "Idle" and win.buttons["pause"].isVisible()
        assert not any(b.isEnabled() for b in win.buttons.values())  # nothing to pause, resume or stop
        win._control("pause")  # sent anyway (a stale window): the rig answers 409, shown under the buttons
        qtbot.waitUntil(lambda: "no run in progress" in win.control_error.text(), timeout=20000)
        win.show_status(
            {
                "rig": "rig-test",
                "state": "running",
                "locked": False,
                "you": {"name": "second tech", "role": "operator"},
                "run": {"key": "gonogo/gonogo.psyexp", "trial": 12, "of": 40, "expInfo": {"participant": "p42"}},
            }
        )
        qtbot.wait(500)
        shot = tmp_path / "remote-observer.png"
        assert win.grab().save(str(shot)) and shot.stat().st_size > 10_000
        assert win.trial.text() == "trial 12 of 40" and win.progress.value() == 12
        assert win.buttons["pause"].isEnabled() and not win.buttons["resume"].isEnabled()
        assert win.buttons["stop"].isEnabled() and win.who.text() == "second tech (operator)"
    finally:
        stop.set()
        th.join()
        win.close()
        drain.stop()
    observer_win = ObserverWindow(RemoteObserver("127.0.0.1", rig.port, token=rig.observer_token))
    qtbot.addWidget(observer_win)
    observer_win.show()
    qtbot.waitUntil(lambda: "observer" in observer_win.who.text(), timeout=20000)
    assert not observer_win.buttons["pause"].isVisible()
    observer_win.close()


def test_dashboard_tiles_two_rigs_one_unreachable(qtbot, rig):
    from rigconsole.remote import RemoteObserver
    from rigconsole.ui.remote_dashboard import DashboardWindow

    dash = DashboardWindow(
        [
            RemoteObserver("127.0.0.1", rig.port, token=rig.observer_token),
            RemoteObserver("127.0.0.1", 1, token="x", timeout=1),
        ]
    )
    qtbot.addWidget(dash)
    dash.show()
    good, gone = dash.tiles
    qtbot.waitUntil(lambda: good.name.text() == "rig-test" and good.conn.text() == "live", timeout=20000)
    assert good.state.text() == "Idle" and good.detail.text() == "no run"
    qtbot.waitUntil(lambda: "cannot reach" in gone.conn.text(), timeout=20000)
    dash.close()


def _attach(dlg):
    from PySide6.QtWidgets import QDialogButtonBox

    dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()


def test_settings_tokens_lock_and_revoke_against_the_server(qtbot, rig, exp_root, tmp_path):
    """Settings → Remote attach: a token added there works at once; the lock answers 423; revoked → 401."""
    from rigconsole.settings import Settings
    from rigconsole.ui.settings_dialog import SettingsDialog

    applied = []
    dlg = SettingsDialog(
        rig.session,
        Settings(root=exp_root, data_dir=tmp_path / "data"),
        applied.append,
        tokens=rig.tokens,
        set_remote_locked=rig.server.set_locked,
    )
    qtbot.addWidget(dlg)
    dlg.show()
    tab = dlg.remote_tab
    dlg.tabs.setCurrentWidget(tab)
    assert [tab.token_table.item(r, 0).text() for r in range(tab.token_table.rowCount())] == [
        "PI office",
        "second tech",
    ]
    tab.token_name_edit.setText("visitor")
    tab.token_role_combo.setCurrentIndex(tab.token_role_combo.findData("operator"))
    tab.add_token_button.click()
    token = tab.new_token_edit.text()
    assert len(token) >= 40 and "shown only once" in tab.token_message.text()
    assert tab.token_table.item(2, 0).text() == "visitor" and tab.token_table.item(2, 1).text() == "operator"
    status, body = rig.request("GET", "/api/v1/status", token=token)
    assert status == 200 and body["you"] == {"name": "visitor", "role": "operator"}
    tab.token_name_edit.setText("visitor")  # a name in use: refused with a message, nothing changes
    tab.add_token_button.click()
    assert "exists" in tab.token_message.text() and tab.token_table.rowCount() == 3

    tab.lock_check.setChecked(True)  # at once, through the server's public set_locked
    assert rig.server.locked and dlg.settings.remote.locked
    status, body = rig.request("POST", "/api/v1/session/pause", token=token, body={})
    assert status == 423, body
    tab.lock_check.setChecked(False)
    assert not rig.server.locked

    tab.token_table.selectRow(2)
    tab.revoke_button.click()
    assert "revoked" in tab.token_message.text() and tab.token_table.rowCount() == 2
    assert tab.new_token_edit.text() == ""
    status, _ = rig.request("GET", "/api/v1/status", token=token)
    assert status == 401

    # Apply: the remote and email fields reach apply_settings (the Rig restarts the server from them)
    tab.enabled_check.setChecked(True)
    tab.tls_combo.setCurrentIndex(tab.tls_combo.findData("files"))
    tab.cert_edit.setText(str(tmp_path / "no-such-cert.pem"))
    tab.key_edit.setText(str(tmp_path / "no-such-key.pem"))
    assert not dlg.apply() and "certificate file does not exist" in dlg.error_label.text() and not applied
    tab.port_spin.setValue(7013)
    tab.tls_combo.setCurrentIndex(tab.tls_combo.findData("off"))
    dlg.email_tab.host_edit.setText("smtp.lab.example")
    dlg.email_tab.to_edit.setText("pi@lab.example; tech@lab.example")
    dlg.email_tab.report_spin.setValue(30)
    dlg.email_tab.report_variables_edit.setText("pupil, luminance")
    assert dlg.apply(), dlg.error_label.text()
    new = applied[-1]
    assert (new.remote.enabled, new.remote.port, new.remote.tls, new.remote.locked) == (True, 7013, "off", False)
    assert new.remote.email.host == "smtp.lab.example"
    assert new.remote.email.to_addrs == ["pi@lab.example", "tech@lab.example"]
    assert (new.remote.email.report_minutes, new.remote.email.report_variables) == (30, ["pupil", "luminance"])
    assert dlg.settings.remote.port == 7013  # adopted and saved
    dlg.close()


def test_smtp_password_goes_to_the_keyring_not_the_settings(qtbot, rig, exp_root, tmp_path):
    from remote.keyring_backends import MemoryKeyring, no_keyring, using
    from rigconsole.remote import secrets
    from rigconsole.settings import Settings, settings_path
    from rigconsole.ui.settings_dialog import SettingsDialog

    with using(MemoryKeyring()) as kr:
        dlg = SettingsDialog(rig.session, Settings(root=exp_root, data_dir=tmp_path / "data"), lambda s: None)
        qtbot.addWidget(dlg)
        em = dlg.email_tab
        em.enabled_check.setChecked(True)
        em.host_edit.setText("smtp.lab.example")
        em.user_edit.setText("rig2")
        em.password_edit.setText("hunter2-smtp")
        assert dlg.apply(), dlg.error_label.text()
        assert kr.store[("rigconsole", secrets.smtp_password_key("rig2", "smtp.lab.example"))] == "hunter2-smtp"
        assert "hunter2-smtp" not in settings_path().read_text(encoding="utf-8")
        assert em.password_edit.text() == "" and "keyring" in em.password_edit.placeholderText()
        dlg.close()
    with no_keyring():
        dlg = SettingsDialog(rig.session, Settings(root=exp_root, data_dir=tmp_path / "data"), lambda s: None)
        qtbot.addWidget(dlg)
        em = dlg.email_tab
        assert "cannot be kept" in em.keyring_note.text()
        em.user_edit.setText("rig2")
        em.host_edit.setText("smtp.lab.example")
        em.password_edit.setText("hunter2-smtp")
        assert dlg.apply()  # applied, with a line saying the password is not kept
        assert "not kept" in dlg.error_label.text()
        assert "hunter2-smtp" not in settings_path().read_text(encoding="utf-8")
        dlg.close()


def test_attach_dialog_keeps_the_token_in_the_keyring_only(qtbot, rig):
    from remote.keyring_backends import MemoryKeyring, no_keyring, using
    from rigconsole.remote import secrets
    from rigconsole.ui.remote_observer import AttachDialog, recent_rigs_path

    with using(MemoryKeyring()) as kr:
        dlg = AttachDialog()
        qtbot.addWidget(dlg)
        dlg.port.setValue(rig.port)
        dlg.token.setText(rig.observer_token)
        _attach(dlg)
        assert dlg.result() == dlg.DialogCode.Accepted
        text = recent_rigs_path().read_text(encoding="utf-8")
        assert rig.observer_token not in text and f'"port": {rig.port}' in text
        assert kr.store[("rigconsole", secrets.rig_token_key("127.0.0.1", rig.port))] == rig.observer_token
        again = AttachDialog()  # the recent rig is picked, its token back from the keyring
        qtbot.addWidget(again)
        assert again.port.value() == rig.port and again.token.text() == rig.observer_token
        assert "keyring" in again.note.text()
        assert again.observer().status()["you"]["name"] == "PI office"
    with no_keyring():
        dlg = AttachDialog()
        qtbot.addWidget(dlg)
        assert dlg.port.value() == rig.port and dlg.token.text() == ""
        assert "Give the token again" in dlg.note.text() and "no OS keyring" in dlg.note.text()
        _attach(dlg)
        assert dlg.result() != dlg.DialogCode.Accepted and "token" in dlg.error.text()
        dlg.token.setText(rig.operator_token)
        _attach(dlg)
        assert dlg.result() == dlg.DialogCode.Accepted
        assert rig.operator_token not in recent_rigs_path().read_text(encoding="utf-8")


def test_attach_pins_the_certificate_on_first_use_and_refuses_a_changed_one(qtbot, rig, tmp_path):
    from rigconsole.remote import RemoteServer, RigView, TlsConfig
    from rigconsole.ui.remote_observer import AttachDialog, load_recent

    def tls_server(folder, port=0):
        s = RemoteServer(
            RigView(rig.session, rig.data_log, rig_name="rig-tls"),
            port=port,
            tokens=rig.tokens,
            tls=TlsConfig.self_signed(tmp_path / folder),
        )
        s.start()
        return s

    server = tls_server("first")
    port = server.port
    asked = []
    try:
        dlg = AttachDialog(trust=lambda h, p, fp: asked.append(fp) or False)  # first: not trusted
        qtbot.addWidget(dlg)
        dlg.port.setValue(port)
        dlg.token.setText(rig.observer_token)
        dlg.tls.setChecked(True)
        _attach(dlg)
        assert asked == [server.fingerprint] and dlg.result() != dlg.DialogCode.Accepted
        assert "not trusted" in dlg.error.text() and load_recent() == []
        dlg = AttachDialog(trust=lambda h, p, fp: asked.append(fp) or True)  # then trusted: pinned
        qtbot.addWidget(dlg)
        dlg.port.setValue(port)
        dlg.token.setText(rig.observer_token)
        dlg.tls.setChecked(True)
        _attach(dlg)
        assert dlg.result() == dlg.DialogCode.Accepted and dlg.fingerprint.text() == server.fingerprint
        assert load_recent()[0]["fingerprint"] == server.fingerprint
        assert dlg.observer().status()["rig"] == "rig-tls"
    finally:
        server.close()
    server = tls_server("second", port)  # the same address, another certificate
    try:
        assert server.fingerprint != asked[-1]
        dlg = AttachDialog(trust=lambda h, p, fp: asked.append(fp) or True)
        qtbot.addWidget(dlg)
        assert dlg.fingerprint.text() == asked[-1]  # the recent rig, pinned
        dlg.token.setText(rig.observer_token)
        n = len(asked)
        _attach(dlg)
        assert dlg.result() != dlg.DialogCode.Accepted and len(asked) == n  # refused, not asked
        assert "another certificate than the one pinned" in dlg.error.text()
        assert load_recent()[0]["fingerprint"] == asked[-1]  # the pin is kept
        dlg.forget_button.click()  # the technician confirmed the new fingerprint: forget, attach again
        _attach(dlg)
        assert dlg.result() == dlg.DialogCode.Accepted and asked[-1] == server.fingerprint
    finally:
        server.close()


def test_file_menu_attach_opens_an_observer_window_and_the_dashboard(qtbot, rig):
    """What File → Attach to rig… and File → Rig dashboard… run (ui/main_window.py calls these)."""
    from remote.keyring_backends import MemoryKeyring, using
    from rigconsole.ui.remote_dashboard import DashboardWindow, open_dashboard_dialog
    from rigconsole.ui.remote_observer import ObserverWindow, open_attach_dialog

    windows: list = []
    with using(MemoryKeyring()):
        dlg = open_attach_dialog(None, windows)
        qtbot.waitUntil(dlg.isVisible)
        dlg.port.setValue(rig.port)
        dlg.token.setText(rig.observer_token)
        _attach(dlg)
        assert len(windows) == 1 and isinstance(windows[0], ObserverWindow)
        qtbot.waitUntil(lambda: windows[0].conn.text() == "live", timeout=20000)
        windows[0].close()
        qtbot.waitUntil(lambda: windows == [], timeout=5000)  # deleted on close, forgotten
        choose = open_dashboard_dialog(None, windows)
        qtbot.waitUntil(choose.isVisible)
        ((check, edit, entry),) = choose.rows  # the recent rig, its token from the keyring
        assert entry["port"] == rig.port and check.isChecked() and edit.text() == rig.observer_token
        from PySide6.QtWidgets import QDialogButtonBox

        choose.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
        dash = windows[0]
        assert isinstance(dash, DashboardWindow)
        qtbot.waitUntil(lambda: dash.tiles[0].conn.text() == "live", timeout=20000)
        dash.close()


def test_an_unreadable_token_file_leaves_settings_usable(qtbot, rig, exp_root, tmp_path):
    from rigconsole.remote.tokens import default_tokens_path
    from rigconsole.settings import Settings
    from rigconsole.ui.settings_dialog import SettingsDialog

    default_tokens_path().parent.mkdir(parents=True, exist_ok=True)
    default_tokens_path().write_text("{not json", encoding="utf-8")
    dlg = SettingsDialog(rig.session, Settings(root=exp_root, data_dir=tmp_path / "data"), lambda s: None)
    qtbot.addWidget(dlg)
    tab = dlg.remote_tab
    assert "unreadable" in tab.token_message.text() and not tab.add_token_button.isEnabled()
    assert dlg.apply(), dlg.error_label.text()
