"""The Settings window on the offscreen platform: every setting has an editor in its tab, wrong
input is refused with the reason, good input reaches settings.json (the file `raison-garder
config` reads), Cancel writes nothing, Restore defaults, start at login, and the preview."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QTime

from tray_app.config.file import load_settings, settings_path
from tray_app.config.schema import SCHEMA, defaults, effective_country
from tray_app.system import i18n
from tray_app.system.autostart import XdgAutostart
from tray_app.ui.settings.dialog import SettingsDialog, open_settings

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


class FakePresenter:
    def __init__(self) -> None:
        self.shown: list[tuple[object, bool]] = []

    def show(self, reminder, preview: bool = False):
        self.shown.append((reminder, preview))
        return "popup"


@pytest.fixture
def autostart(tmp_path) -> XdgAutostart:
    return XdgAutostart(tmp_path / "autostart")  # never the real ~/.config/autostart


@pytest.fixture
def dialog(qtbot, autostart):
    saved: list[int] = []
    dlg = SettingsDialog(None, on_saved=lambda: saved.append(1), presenter=FakePresenter(),
                         autostart=autostart)  # fmt: skip
    dlg.saved_calls = saved
    qtbot.addWidget(dlg)
    dlg.show()
    yield dlg
    i18n.set_language("en")


def spin(dlg, key):
    return dlg.fields[key].spin


def test_every_setting_has_an_editor_in_a_tab(dialog):
    assert set(dialog.fields) == {o.key for o in SCHEMA}
    tabs = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
    assert tabs == ["General", "Reminders", "Measurement", "Tools", "Privacy && data",
                    "Advanced"]  # fmt: skip
    # Numbers carry their unit and range; choices their translated labels; secrets are masked.
    assert spin(dialog, "reminders.session_wh").suffix() == " Wh"
    assert spin(dialog, "idle_split_min").maximum() == 240
    assert dialog.messages["idle_split_min"].text() == "from 1 to 240"
    # Inside a sentence, the range is on hover (grouped as the language writes numbers).
    assert "from 1 to 1,000,000" in dialog.fields["reminders.daily_wh"].widget.toolTip()
    assert dialog.messages["reminders.daily_wh"].isHidden()
    combo = dialog.fields["reminders.budget_period"].combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["off", "per day",
                                                                 "per week"]  # fmt: skip
    assert (
        dialog.fields["metrics.token"].edit.echoMode() != dialog.fields["currency"].edit.echoMode()
    )


def test_invalid_input_is_refused_with_the_reason(dialog):
    token = dialog.fields["metrics.token"].edit
    token.setText("short")
    message = dialog.messages["metrics.token"]
    assert not message.isHidden()
    assert message.text() == "must be empty or 16 to 256 characters without spaces"
    from tray_app.ui.settings import style

    assert style.error_colour().name() in message.styleSheet()
    assert not dialog.ok_button.isEnabled() and not dialog.apply_button.isEnabled()
    assert "Please correct" in dialog.problem_label.text()
    token.setText("")
    assert dialog.ok_button.isEnabled()

    dialog.fields["country"].edit.setText("France")
    assert "two-letter country code" in dialog.messages["country"].text()
    assert not dialog.ok_button.isEnabled()
    dialog.ok_button.click()  # disabled: nothing happens
    assert not settings_path().exists()


def test_an_empty_number_is_refused(dialog):
    box = spin(dialog, "idle_split_min")
    box.lineEdit().clear()
    box.lineEdit().textEdited.emit("")
    assert not dialog.ok_button.isEnabled()
    assert dialog.messages["idle_split_min"].text() == "must be a whole number between 1 and 240"


def test_rules_across_settings_are_shown(dialog):
    dialog.fields["reminders.quiet_hours.enabled"].box.setChecked(True)
    dialog.fields["reminders.quiet_hours.start"].edit.setTime(QTime(7, 0))
    dialog.fields["reminders.quiet_hours.end"].edit.setTime(QTime(7, 0))
    assert (
        "Quiet hours cannot start and end at the same time (07:00)" in dialog.problem_label.text()
    )
    assert not dialog.ok_button.isEnabled()
    dialog.fields["reminders.quiet_hours.end"].edit.setTime(QTime(8, 0))
    assert dialog.ok_button.isEnabled() and dialog.problem_label.isHidden()


def test_switched_off_settings_are_greyed(dialog):
    toggle = dialog.fields["reminders.session_wh.enabled"].box
    assert spin(dialog, "reminders.session_wh").isEnabled()
    toggle.setChecked(False)
    assert not spin(dialog, "reminders.session_wh").isEnabled()
    words = dialog.sentences["reminders.continuous_min.enabled"].words  # "without a break"
    assert words and all(w.isEnabled() for w in words)
    dialog.fields["reminders.continuous_min.enabled"].box.setChecked(False)
    assert not any(w.isEnabled() for w in words)
    # The master switch greys every rule, with its notes.
    dialog.fields["reminders.enabled"].box.setChecked(False)
    assert not spin(dialog, "reminders.images").isEnabled()
    assert not dialog.notes["images"].isEnabled()
    assert not dialog.fields["metrics.port"].widget.isEnabled()  # metrics are off by default


def test_valid_input_round_trips_to_disk(dialog):
    spin(dialog, "reminders.session_wh").setValue(80.0)
    dialog.fields["reminders.quiet_hours.enabled"].box.setChecked(True)
    dialog.fields["reminders.quiet_hours.start"].edit.setTime(QTime(23, 0))
    dialog.fields["reminders.budget_period"].combo.setCurrentIndex(2)
    tools = dialog.fields["tools.extra_patterns"]
    tools.add_row(["mytool", "*/my_sd_script.py"], edit=False)
    dialog.fields["images.output_dirs"].add_row(["~/ComfyUI/output"], edit=False)
    dialog.ok_button.click()
    assert dialog.saved_calls == [1]
    assert not dialog.isVisible()

    values = load_settings().values
    assert values["reminders.session_wh"] == 80.0
    assert values["reminders.quiet_hours.enabled"] is True
    assert values["reminders.quiet_hours.start"] == "23:00"
    assert values["reminders.budget_period"] == "week"
    assert values["tools.extra_patterns"] == [{"name": "mytool", "match": "*/my_sd_script.py"}]
    assert values["images.output_dirs"] == ["~/ComfyUI/output"]
    # Only what differs from the defaults is written: country-based figures keep following.
    document = json.loads(settings_path().read_text(encoding="utf-8"))
    assert "carbon_g_per_kwh" not in json.dumps(document)
    assert document["reminders"]["session_wh"] == 80.0


def test_a_bad_tool_entry_is_refused(dialog):
    dialog.fields["tools.extra_patterns"].add_row(["My Tool!", "*/x.py"], edit=False)
    assert "name must be 1 to 40 of a-z" in dialog.messages["tools.extra_patterns"].text()
    assert not dialog.ok_button.isEnabled()
    dialog.fields["tools.extra_patterns"].table.selectRow(0)
    dialog.fields["tools.extra_patterns"].remove_selected()
    assert dialog.ok_button.isEnabled()


def test_cancel_writes_nothing(dialog):
    spin(dialog, "reminders.session_wh").setValue(120.0)
    dialog.cancel_button.click()
    assert not settings_path().exists()
    assert dialog.saved_calls == []


def test_apply_saves_and_stays_open(dialog):
    spin(dialog, "idle_split_min").setValue(20)
    dialog.apply_button.click()
    assert load_settings().values["idle_split_min"] == 20
    assert dialog.isVisible() and dialog.saved_calls == [1]


def test_restore_defaults(dialog):
    spin(dialog, "reminders.session_wh").setValue(120.0)
    dialog.apply_button.click()
    assert load_settings().values["reminders.session_wh"] == 120.0
    dialog.restore_button.click()
    assert spin(dialog, "reminders.session_wh").value() == 50.0
    assert load_settings().values["reminders.session_wh"] == 120.0, "not saved before OK"
    dialog.ok_button.click()
    values = load_settings().values
    assert values == defaults(effective_country(values)) | {"start_at_login": True}
    assert set(json.loads(settings_path().read_text(encoding="utf-8"))) == {"version"}


def test_country_defaults_follow_a_new_country(dialog):
    carbon = spin(dialog, "carbon_g_per_kwh")
    dialog.fields["country"].edit.setText("FR")
    assert carbon.value() == pytest.approx(56.0, abs=1)
    dialog.fields["country"].edit.setText("DE")
    assert carbon.value() == pytest.approx(381.0, abs=1)
    dialog.ok_button.click()
    document = json.loads(settings_path().read_text(encoding="utf-8"))
    assert document.get("country") == "DE" and "carbon_g_per_kwh" not in document


def test_start_at_login_reads_and_writes_the_os_entry(dialog, autostart, qtbot):
    box = dialog.fields["start_at_login"].box
    assert box.isChecked() is False, "the OS entry is the truth: none yet"
    box.setChecked(True)
    dialog.apply_button.click()
    assert autostart.is_enabled()
    box.setChecked(False)
    dialog.apply_button.click()
    assert not autostart.is_enabled()


def test_language_change_applies_after_save(dialog):
    combo = dialog.fields["language"].combo
    combo.setCurrentIndex(combo.findData("fr"))
    assert i18n.current_language() == "en", "not before it is saved"
    dialog.ok_button.click()
    assert i18n.current_language() == "fr"


def test_preview_shows_a_realistic_reminder_in_the_chosen_language(dialog):
    presenter = dialog.presenter
    spin(dialog, "reminders.session_wh").setValue(80.0)
    dialog.preview_button.click()
    reminder, preview = presenter.shown[-1]
    assert preview is True
    assert "88\u00a0Wh" in reminder.body  # 10 % past the threshold the user is choosing
    assert reminder.title and reminder.tip
    combo = dialog.fields["language"].combo
    combo.setCurrentIndex(combo.findData("fr"))
    dialog.preview_button.click()
    french, _preview = presenter.shown[-1]
    assert french.body != reminder.body and "88\u00a0Wh" in french.body.replace("\u202f", " ")
    assert i18n.current_language() == "en", "the preview does not change the app's language"
    assert not settings_path().exists()


def test_open_settings_reuses_the_open_window(qtbot, autostart):
    first = open_settings(presenter=FakePresenter(), autostart=autostart)
    qtbot.addWidget(first)
    assert open_settings() is first
    first.cancel_button.click()
    qtbot.waitUntil(lambda: not first.isVisible())


def test_the_dialog_speaks_french(qtbot, autostart):
    i18n.set_language("fr")
    try:
        dlg = SettingsDialog(None, presenter=FakePresenter(), autostart=autostart)
        qtbot.addWidget(dlg)
        tabs = [dlg.tabs.tabText(i) for i in range(dlg.tabs.count())]
        assert tabs[1] == "Rappels" and dlg.preview_button.text() == "Aperçu d’un rappel"
    finally:
        i18n.set_language("en")


def test_each_reminder_rule_gets_its_notes_from_the_rule_table(qtbot, autostart, monkeypatch):
    from tests.reminders.test_rule_table import INVENTED, install_invented_rule
    from tray_app.reminders.rules import RULES

    real = SettingsDialog(None, presenter=FakePresenter(), autostart=autostart)
    qtbot.addWidget(real)
    # Every rule but 80 % of the budget (which shares the budget's sentence) has its notes.
    assert set(real.notes) == {r.id for r in RULES} - {"budget_80"}
    assert real.sentences["reminders.session_wh.enabled"].toolTip() == "Session energy"
    install_invented_rule(monkeypatch)  # a table whose only rule is switched by images.enabled
    invented = SettingsDialog(None, presenter=FakePresenter(), autostart=autostart)
    qtbot.addWidget(invented)
    assert set(invented.notes) == {INVENTED.id}
    assert invented.sentences["reminders.images.enabled"].toolTip() == INVENTED.label
    assert invented.sentences["reminders.session_wh.enabled"].toolTip() == ""
    # Its unit is Wh: the threshold (the images setting, 100) is given its equivalents.
    assert "phone charges" in invented.notes[INVENTED.id].equivalents.text()


def test_an_option_that_needs_a_restart_says_so_beside_its_field(dialog):
    from tray_app.config.schema import RESTART

    restart = [o.key for o in SCHEMA if o.applies == RESTART]
    assert restart
    for key in restart:
        assert "next start" in dialog.messages[key].text()
        assert not dialog.messages[key].isHidden()
    assert "next start" not in dialog.messages["reminders.session_wh"].text()
