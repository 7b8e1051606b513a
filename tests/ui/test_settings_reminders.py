"""The Reminders tab as sentences, with the user's own history beside each threshold (issue 19):
equivalents and history counts follow the value as it is typed, "Suggest from my history"
proposes the percentile without applying it, nothing reaches the file before OK/Apply, the
keyboard alone gets there, and no label is clipped in English or French at either text size."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel

from tray_app.config.file import settings_path
from tray_app.reminders import past as p
from tray_app.system import i18n
from tray_app.system.autostart import XdgAutostart
from tray_app.ui.settings.dialog import SettingsDialog
from tray_app.ui.settings.rule_notes import History

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")

NOW = 1_796_148_000.0
DAY = 86400.0


def forty_sessions() -> History:
    """One session every 0.7 day (all in the last 30 days): 10, 20, … 400 Wh, newest biggest."""
    sessions = tuple(
        p.PastSession(NOW - (41 - i) * 0.7 * DAY, 10.0 * i, 2 * i, 20.0 * 60) for i in range(1, 41)
    )
    return History(p.Past(NOW, sessions))


@pytest.fixture
def make(qtbot, tmp_path):
    made: list[SettingsDialog] = []

    def build(history: History | None = None, lang: str = "en") -> SettingsDialog:
        i18n.set_language(lang)
        dlg = SettingsDialog(None, autostart=XdgAutostart(tmp_path / "autostart"),
                             history=history if history is not None else forty_sessions())  # fmt: skip
        qtbot.addWidget(dlg)
        dlg.show()
        dlg.tabs.setCurrentIndex(1)
        made.append(dlg)
        return dlg

    yield build
    i18n.set_language("en")


def session_spin(dlg):
    return dlg.fields["reminders.session_wh"].spin


def test_each_rule_reads_as_a_sentence_with_its_control_inside(make):
    dlg = make()
    box = dlg.fields["reminders.session_wh.enabled"].box
    assert box.text() == "Remind me when a session passes"
    row = dlg.sentences["reminders.continuous_min.enabled"]
    assert row.text() == "without a break"
    assert row.isAncestorOf(dlg.fields["reminders.continuous_min"].widget)
    power = dlg.sentences["reminders.power_limit.enabled"]
    assert power.isAncestorOf(dlg.fields["reminders.power_limit_pct"].widget)
    assert power.isAncestorOf(dlg.fields["reminders.power_limit_min"].widget)


def test_changing_the_threshold_updates_its_equivalents_and_history_count(make):
    dlg = make()
    notes = dlg.notes["session_energy"]
    session_spin(dlg).setValue(50.0)
    assert "in 36 of your last 40 sessions" in notes.past.text()
    assert "about 4 phone charges" in notes.equivalents.text()
    session_spin(dlg).setValue(300.0)
    assert "in 11 of your last 40 sessions" in notes.past.text()
    assert "about 23 phone charges" in notes.equivalents.text()
    session_spin(dlg).setValue(5000.0)
    assert "any of your last 40 sessions" in notes.past.text()


def test_equivalents_use_the_price_and_grid_on_screen_not_yet_saved(make):
    dlg = make()
    notes = dlg.notes["session_energy"]
    dlg.fields["currency"].edit.setText("EUR")
    dlg.fields["price_per_kwh"].spin.setValue(0.40)
    dlg.fields["carbon_g_per_kwh"].spin.setValue(100.0)
    session_spin(dlg).setValue(130.0)
    text = notes.equivalents.text()
    assert "€0.05" in text and "(at €0.40/\u2060kWh)" in text
    assert "13\u00a0g CO₂e" in text
    dlg.fields["price_per_kwh"].spin.setValue(1.0)
    assert "€0.13" in notes.equivalents.text()
    assert not settings_path().exists()


def test_suggest_proposes_the_percentile_and_applies_only_when_asked(make):
    dlg = make()
    notes = dlg.notes["session_energy"]
    assert notes.proposal.isHidden()
    notes.suggest_button.click()
    assert not notes.proposal.isHidden()
    assert notes.proposal.text().startswith("Suggested: 300\u00a0Wh, the 75th percentile of your 40")
    assert session_spin(dlg).value() == 50.0  # shown, not applied
    assert notes.use_button.text() == "Use 300\u00a0Wh"
    notes.use_button.click()
    assert session_spin(dlg).value() == 300.0
    assert notes.proposal.isHidden()
    assert "in 11 of your last 40 sessions" in notes.past.text()
    assert not settings_path().exists()  # nothing written before OK/Apply
    dlg.apply_button.click()
    saved = json.loads(settings_path().read_text())
    assert saved["reminders"]["session_wh"] == 300.0


def test_suggest_for_whole_numbers_and_with_too_little_history(make):
    dlg = make()
    images = dlg.notes["images"]
    images.suggest_button.click()
    assert images.use_button.text().replace("\u00a0", " ") == "Use 60 images"  # 2..80 images: 75th percentile 60.5
    images.use_button.click()
    assert dlg.fields["reminders.images"].spin.value() == 60

    few = History(p.Past(NOW, tuple(p.PastSession(NOW - i * DAY, 40.0, None, 600.0)
                                    for i in range(1, 4))))  # fmt: skip
    dlg2 = make(few)
    notes = dlg2.notes["session_energy"]
    notes.suggest_button.click()
    assert "3 sessions in the last 30 days, 5 needed" in notes.proposal.text()
    assert notes.use_button.isHidden()


def test_with_no_history_the_published_range_stands_in(make):
    dlg = make(History(p.Past(NOW, ())))
    notes = dlg.notes["session_energy"]
    text = notes.past.text().replace("\u00a0", " ")
    assert text.startswith("No history yet")
    assert "0.14 to 2.9 Wh" in text and "50 Wh is about 17 to 357 images" in text
    assert "arxiv.org" in notes.past.toolTip()  # the sources in full, on hover
    assert notes.suggest_button.isHidden()
    session_spin(dlg).setValue(100.0)
    assert "about 34 to 714\u00a0images" in notes.past.text()
    assert dlg.notes["images"].past.text() == "Nothing in your history to compare with yet."


def test_an_unreadable_history_says_so_and_the_window_still_works(make):
    dlg = make(History(None, "database disk image is malformed (/tmp/x.sqlite3)"))
    notes = dlg.notes["session_energy"]
    assert notes.past.text().startswith("Your history could not be read: database disk image")
    session_spin(dlg).setValue(70.0)
    assert dlg.ok_button.isEnabled()


def test_the_tab_speaks_french_with_french_numbers(make):
    dlg = make(lang="fr")
    assert dlg.fields["reminders.session_wh.enabled"].box.text() == (
        "Me le rappeler quand une session dépasse"
    )
    notes = dlg.notes["session_energy"]
    assert "dans 36 de vos 40 dernières sessions" in notes.past.text()
    notes.suggest_button.click()
    assert notes.use_button.text() == "Utiliser 300\u00a0Wh"
    budget = dlg.sentences["reminders.budget_period"]
    assert "(rappels à 80\u202f% et 100\u202f%)" in budget.text()  # French: narrow before %


def test_the_keyboard_alone_reaches_and_uses_a_suggestion(make, qtbot):
    dlg = make()
    box = dlg.fields["reminders.session_wh.enabled"].box
    box.setFocus()
    seen = []
    widget = box
    for _ in range(12):  # Tab through the rule as a keyboard user would
        qtbot.keyClick(widget, Qt.Key.Key_Tab)
        widget = dlg.focusWidget()
        seen.append(widget)
        if widget is dlg.notes["session_energy"].suggest_button:
            break
    assert session_spin(dlg).isAncestorOf(seen[0]) or seen[0] is session_spin(dlg)
    assert seen[-1] is dlg.notes["session_energy"].suggest_button
    qtbot.keyClick(seen[-1], Qt.Key.Key_Space)
    use = dlg.notes["session_energy"].use_button
    assert dlg.focusWidget() is use  # the proposal takes the focus, ready to accept
    qtbot.keyClick(use, Qt.Key.Key_Space)
    assert session_spin(dlg).value() == 300.0


def _clipped(dlg: SettingsDialog) -> list[str]:
    """Labels and buttons narrower than their text, or wrapped labels cut short."""
    out = []
    for index in range(dlg.tabs.count()):
        dlg.tabs.setCurrentIndex(index)
        scroll = dlg.tabs.currentWidget()
        page = scroll.widget()
        QApplication.processEvents()
        if page.width() > scroll.viewport().width():  # read only by scrolling sideways
            out.append(f"{index}: page {page.width()} wider than {scroll.viewport().width()}")
        for w in page.findChildren(QLabel) + page.findChildren(QAbstractButton):
            if w.isHidden() or not w.text():
                continue
            if isinstance(w, QLabel) and w.wordWrap():
                if w.height() < w.heightForWidth(w.width()):
                    out.append(f"{index}: {w.text()[:40]!r} {w.height()} < {w.heightForWidth(w.width())}")
            elif w.width() < w.sizeHint().width() - 1:
                out.append(f"{index}: {w.text()[:40]!r} {w.width()} < {w.sizeHint().width()}")
    return out


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("scale", [1.0, 1.5])
def test_nothing_is_clipped_in_either_language_at_either_size(make, qtbot, lang, scale):
    app = QApplication.instance()
    font = app.font()
    before = font.pointSizeF()
    font.setPointSizeF(before * scale)  # text 150 % larger, as QT_SCALE_FACTOR=1.5 draws it
    app.setFont(font)
    try:
        dlg = make(lang=lang)
        dlg.resize(dlg._initial_size())
        qtbot.wait(10)
        assert _clipped(dlg) == []
    finally:
        font.setPointSizeF(before)
        app.setFont(font)


def test_the_preview_speaks_of_the_users_own_latest_session_past_the_threshold(make):
    class Presenter:
        shown: list = []

        def show(self, reminder, preview=False):
            self.shown.append(reminder)

    sessions = (p.PastSession(NOW - 2 * DAY, 180.0, 42, 50 * 60.0, "a1111"),
                p.PastSession(NOW - DAY, 20.0, 5, 600.0, "comfyui"))  # fmt: skip
    dlg = make(History(p.Past(NOW, sessions)))
    dlg.presenter = Presenter()
    dlg.preview_button.click()
    reminder = dlg.presenter.shown[-1]
    assert reminder.values["session_wh"] == 180.0  # the user's session, not an invented one
    assert "180 Wh" in reminder.body.replace("\u00a0", " ")
