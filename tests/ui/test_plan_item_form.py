"""Each plan item's expInfo form shows which values the plan fills in: a real plan opened in the
Plan panel on a real rig (a PsychoPy window under Xvfb); the form of item 2 is read back."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QSpinBox


def test_an_items_expinfo_form_marks_the_plans_values(window, rig, ui_root, qtbot, tmp_path):
    from rigconsole.plans import load_plan
    from rigconsole.ui.plan_panel import attach_plan_panel

    plan_file = ui_root / "battery.yaml"
    plan_file.write_text(
        "name: Form battery\nfields: {participant: '', session: '001'}\nitems:\n"
        "  - experiment: simple/simple.py\n    expInfo: {nTrials: 2}\n"
        "  - experiment: simple/simple.py\n    expInfo: {nTrials: 7}\n    label: second\n"
    )
    panel = attach_plan_panel(window, rig)
    try:
        assert panel.open_plan(load_plan(plan_file), {"participant": "s11", "session": "002"}, start=False)
        assert [it.label for it in rig.queue.items] == ["simple", "second"]
        dialog = panel.show_item_form(1)
        qtbot.waitExposed(dialog)
        form = dialog.form
        # simple.py has participant, nTrials and color (session is not one of its fields)
        assert form.filled == {"participant": "from the plan", "nTrials": "from the plan"}
        assert form.values() == {"participant": "s11", "nTrials": 7, "color": "red"}
        participant, n_trials, colour = (form.editors[n] for n in ("participant", "nTrials", "color"))
        assert isinstance(participant, QLineEdit) and participant.isReadOnly() and participant.isEnabled()
        assert isinstance(n_trials, QSpinBox) and n_trials.isReadOnly()
        assert isinstance(colour, QComboBox) and not colour.isEnabled()  # not the plan's: the default, shown
        labels = {
            n: lab.text() for n, w in form.editors.items() for lab in form.findChildren(QLabel) if lab.buddy() is w
        }
        assert labels == {
            "participant": "participant * — from the plan",
            "nTrials": "nTrials — from the plan",
            "color": "color",
        }
        assert "from the plan: 's11'" in participant.toolTip()
        assert dialog.windowTitle() == "expInfo of second (plan item 2)"
        dialog.resize(420, 200)
        assert dialog.grab().save(str(tmp_path / "item-form.png"))
        assert panel.show_item_form(5) is None
    finally:
        rig.queue.clear()
        panel.close_panel()
