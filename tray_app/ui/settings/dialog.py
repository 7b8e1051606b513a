"""The Settings window: every setting of the schema, in tabs, checked as you type.

Fields are generated from `tray_app.config.schema.SCHEMA`, so a new setting appears here
without UI code: as a labelled field (label above, so no language clips it), or, where the option
has a `sentence`, as that sentence with its controls inside. A reminder rule's sentence gets its
notes (`rule_notes.py`): equivalents, what it would have meant on the user's history, a suggestion. Values are saved through `save_settings`, the layer `raison-garder config` uses:
only values that differ from their (country's) defaults are written, so the carbon, price and
currency figures keep following the country for everyone who never changed them.

    open_settings(parent=None, on_saved=tray.settings_saved)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from tray_app import APP_NAME
from tray_app.config.file import load_settings, save_settings
from tray_app.config.schema import (
    N_,
    RESTART,
    SCHEMA,
    Option,
    SettingError,
    defaults,
    effective_country,
    rule_problems,
)
from tray_app.config.settings import key_of
from tray_app.reminders import ActivityState, Reminder, ReminderConfig
from tray_app.reminders import rules as rule_table
from tray_app.system import i18n
from tray_app.system.i18n import _
from tray_app.ui.settings import style
from tray_app.ui.settings.rule_notes import History, RuleNotes
from tray_app.ui.settings.sentence import SentenceRow, keys_in
from tray_app.ui.settings.widgets import BoolField, Field, make_field

log = logging.getLogger(__name__)

START_AT_LOGIN = key_of(lambda s: s.start_at_login)
COUNTRY = key_of(lambda s: s.country)
LANGUAGE = key_of(lambda s: s.language)
REMINDERS_ON = key_of(lambda s: s.reminders.enabled)
DAY_START = key_of(lambda s: s.day_start_hour)

# Tab of each setting: the one its Option names, else its section's, unknown sections Advanced.
# Money & carbon shares the General tab: three settings alone left most of a window empty.
_TAB_OF_SECTION = {
    "reminders": "reminders", "tools": "tools", "images": "tools",
    "retention": "privacy", "metrics": "advanced",
}  # fmt: skip
_SHARED_TAB = {"money": "general"}
TAB_ORDER = ("general", "reminders", "measurement", "tools", "privacy", "advanced")

# A heading before the first setting of a group that shares a tab.
HEADINGS = {
    COUNTRY: N_("Your electricity, for the comparisons"),
    key_of(lambda s: s.reminders.session_wh_enabled): N_("When to remind me"),
    key_of(lambda s: s.reminders.budget_period): N_("Budget"),
    key_of(lambda s: s.reminders.cooldown_min): N_("How often"),
}


def tab_titles() -> dict[str, str]:
    return {
        "general": _("General"),
        "reminders": _("Reminders"),
        "measurement": _("Measurement"),
        "tools": _("Tools"),
        "privacy": _("Privacy & data"),
        "advanced": _("Advanced"),
    }


def hint_of(field: Field) -> str:
    """What is allowed, and, for the few options a running app cannot change, when it applies
    (every other one applies within seconds of saving)."""
    parts = [field.hint()]
    if field.option.applies == RESTART:
        parts.append(_("Applies at the next start of the app."))
    return " ".join(p for p in parts if p)


def tab_of(option: Option) -> str:
    tab = option.tab or _TAB_OF_SECTION.get(option.section, "advanced")
    return _SHARED_TAB.get(tab, tab)


def rule_of_sentence(keys: list[str]) -> rule_table.Rule | None:
    """The reminder rule a sentence sets: the one it switches, else whose threshold it holds."""
    table = rule_table.RULES  # read now: a test may swap the table
    return next((r for r in table if r.switch_key in keys), None) or next(
        (r for r in table if r.setting_key in keys), None
    )


def read_history(now: float | None = None) -> History:
    """A year of the user's sessions, read once (one indexed query), for the rules' notes.
    A store that does not exist yet is an empty history; one that cannot be read says why."""
    from tray_app.reminders.past import Past, load
    from tray_app.store import Store, StoreError
    from tray_app.store.db import default_path

    now = time.time() if now is None else now
    hour = int(load_settings().values[DAY_START])
    try:
        path = default_path()
        if not path.is_file():
            return History(Past(now, (), hour))
        store = Store.open_for_reading(path)
        try:
            return History(load(store, now, hour))
        finally:
            store.close()
    except (StoreError, OSError) as exc:
        log.warning("history for the Settings window: %s", exc)
        return History(None, str(exc))


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Temporarily speak `language` (the preview shows the language chosen, not yet saved)."""
    before = i18n.current_language()
    i18n.set_language(language)
    try:
        yield
    finally:
        i18n.set_language(before)


def sample_reminder(values: dict[str, Any], history: History | None = None) -> Reminder:
    """A realistic reminder for the preview: the user's own latest session past the session
    threshold when the history has one (its energy, images and time), else a ComfyUI session
    just past it."""
    from tray_app.reminders import rules as r
    from tray_app.reminders.phrasing import render

    cfg = ReminderConfig.from_settings(values)
    threshold = cfg.settings.reminders.session_wh  # shown even while that rule is switched off
    mine = None
    if history is not None and history.past is not None:
        mine = next((s for s in reversed(history.past.sessions)
                     if s.wh is not None and s.wh >= threshold), None)  # fmt: skip
    if mine is not None and mine.wh is not None:
        session_wh, images = round(mine.wh, 1), mine.images
        active = mine.active_s if mine.active_s is not None else 38 * 60.0
    else:
        session_wh, images, active = round(threshold * 1.1, 1), 64, 38 * 60.0
    state = ActivityState(
        session_id="preview", tool=(mine.tool if mine else None) or "comfyui",
        session_wh=session_wh, session_active_s=active, continuous_active_s=active,
        session_images=images, today_wh=round(session_wh * 2.4, 1), gpu_power_w=310.0,
    )  # fmt: skip
    trigger = r.Trigger(r.SESSION_ENERGY, "session:preview", r.SAID_FIRST, False, session_wh,
                        threshold)  # fmt: skip
    wording = render(trigger, state, cfg, 0.0, int(time.time()) // 60, 0, 0)
    return Reminder(
        id="preview", ts=time.time(), rule=trigger.rule, follow_up=False, session_id=None,
        values=wording.values, title=wording.title, body=wording.body, tip=wording.tip,
    )  # fmt: skip


class SettingsDialog(QDialog):
    def __init__(
        self,
        parent: QWidget | None = None,
        on_saved: Callable[[], None] | None = None,
        presenter: Any = None,  # a ReminderPresenter for the preview; one is made if None
        autostart: Any = None,  # tray_app.system.autostart backend; None: this OS's, if available
        history: History | None = None,  # the user's sessions; None: read from the store now
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("{app} settings").format(app=APP_NAME))
        self.on_saved = on_saved
        self.presenter = presenter
        self.autostart = autostart if autostart is not None else _default_autostart()
        self.loaded = load_settings()
        self.fields: dict[str, Field] = {}
        self.labels: dict[str, QLabel] = {}  # a labelled field's label, greyed with it
        self.messages: dict[str, QLabel] = {}  # hint or error under each field
        self.inline: set[str] = set()  # keys edited inside a sentence: ranges in tooltips
        self.sentences: dict[str, SentenceRow] = {}  # by owner key
        self.notes: dict[str, RuleNotes] = {}  # by rule id
        self.notes_by_owner: dict[str, RuleNotes] = {}  # by the key owning the sentence
        self.history = history if history is not None else read_history()
        self.saves = 0

        for option in SCHEMA:
            self.fields[option.key] = make_field(option)
        self.tabs = QTabWidget()
        pages = self._build_tabs()
        placed: set[str] = set()
        # A tab's own settings first, then the group it shares the tab with (under a heading).
        for option in sorted(SCHEMA, key=lambda o: o.tab in _SHARED_TAB):
            if option.key not in placed:
                placed.update(self._add_row(pages[tab_of(option)], option))
        for page in pages.values():
            page.addStretch(1)
        self.problem_label = style.hint_label()
        style.set_error(self.problem_label, True)
        self.problem_label.setVisible(False)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.apply_button = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.restore_button = self.buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        self.ok_button.setText(_("OK"))
        self.apply_button.setText(_("Apply"))
        self.cancel_button.setText(_("Cancel"))
        self.restore_button.setText(_("Restore defaults"))
        self.preview_button = QPushButton(_("Preview reminder"))
        self.buttons.addButton(self.preview_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.ok_button.clicked.connect(self.accept_and_save)
        self.apply_button.clicked.connect(self.save)
        self.cancel_button.clicked.connect(self.reject)
        self.restore_button.clicked.connect(self.restore_defaults)
        self.preview_button.clicked.connect(self.preview)

        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.buttons)
        self.resize(self._initial_size())

        self._load(self.loaded.values)
        if self.autostart is not None and START_AT_LOGIN in self.fields:
            try:  # the OS entry is the truth: the user may have removed it by hand
                self.fields[START_AT_LOGIN].set_value(self.autostart.is_enabled())
            except OSError:
                pass
        self._country = effective_country(self.current_raw())
        for field in self.fields.values():
            field.changed.connect(self.revalidate)
        self.fields[COUNTRY].changed.connect(self._country_changed)
        self.revalidate()

    # ---- building -----------------------------------------------------------------------------
    def _build_tabs(self) -> dict[str, QVBoxLayout]:
        pages = {}
        titles = tab_titles()
        for key in TAB_ORDER:
            page = QWidget()
            box = QVBoxLayout(page)
            box.setSpacing(8)
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setWidget(page)
            self.tabs.addTab(scroll, titles[key].replace("&", "&&"))  # "&" is not a shortcut
            pages[key] = box
        return pages

    def _initial_size(self) -> QSize:
        """Wide enough for every tab's rows at this font and scale, within the screen."""
        hint = self.sizeHint()
        width = max(hint.width(), self.fontMetrics().averageCharWidth() * 112)
        height = max(hint.height(), self.fontMetrics().height() * 44)
        screen = self.screen().availableGeometry() if self.screen() else None
        if screen is not None:
            width, height = min(width, screen.width() - 40), min(height, screen.height() - 60)
        return QSize(width, height)

    def _heading(self, page: QVBoxLayout, key: str) -> None:
        if key not in HEADINGS:
            return
        label = QLabel(_(HEADINGS[key]))
        font = QFont(label.font())
        font.setBold(True)
        label.setFont(font)
        if page.count():
            page.addSpacing(8)
        page.addWidget(label)

    def _message(self, key: str) -> QLabel:
        message = style.hint_label()
        message.setContentsMargins(0, 0, 0, 2)
        self.messages[key] = message
        return message

    def _add_row(self, page: QVBoxLayout, option: Option) -> list[str]:
        """The option's row: its sentence, or a label above its field. Returns the keys shown."""
        self._heading(page, option.key)
        if option.sentence:
            keys = keys_in(option)
            row = SentenceRow(option, self.fields)
            self.sentences[option.key] = row
            page.addWidget(row)
            for key in keys:
                self.inline.add(key)
                field = self.fields[key]
                field.widget.setToolTip(" ".join(p for p in (key, field.hint()) if p))
                page.addWidget(self._message(key))
            rule = rule_of_sentence(keys)
            if rule is not None:  # the rule's name, as the CLI shows it, on hover
                row.setToolTip(_(rule.label))
                self.fields[option.key].widget.setToolTip(f"{_(rule.label)} ({option.key})")
            if rule is not None and rule.setting_key in keys:
                notes = RuleNotes(rule, self.fields[rule.setting_key], self.history)
                self.notes[rule.id] = self.notes_by_owner[option.key] = notes
                page.addWidget(notes)
            return keys
        field = self.fields[option.key]
        holder = field.widget
        if isinstance(field, BoolField):
            label = QLabel("")  # the checkbox carries its own text
            label.setVisible(False)
            if len(field.box.text()) > 70:  # a checkbox never wraps: long words go in a label
                holder = _wrapped_checkbox(field)
        else:
            label = QLabel(option.describe())
            label.setWordWrap(True)
            label.setBuddy(field.widget)
            page.addWidget(label)
            if option.type.kind != "list":  # a figure or a code, not a paragraph
                field.widget.setMaximumWidth(field.widget.fontMetrics().averageCharWidth() * 36)
        label.setToolTip(option.key)  # the name `raison-garder config` knows it by
        field.widget.setToolTip(option.key)
        self.labels[option.key] = label
        page.addWidget(holder)
        page.addWidget(self._message(option.key))
        return [option.key]

    # ---- values -------------------------------------------------------------------------------
    def _load(self, values: dict[str, Any]) -> None:
        for key, field in self.fields.items():
            field.blockSignals(True)
            field.set_value(values[key])
            field.blockSignals(False)

    def current_raw(self) -> dict[str, Any]:
        """Every value shown; a field that cannot be read keeps the loaded value (for rules)."""
        out = dict(self.loaded.values)
        for key, field in self.fields.items():
            try:
                out[key] = field.value()
            except SettingError:
                pass
        return out

    def errors(self) -> dict[str, str]:
        found = {}
        for key, field in self.fields.items():
            try:
                field.value()
            except SettingError as exc:
                found[key] = str(exc)
        return found

    def revalidate(self) -> bool:
        """Show each field's problem, the cross-setting ones, grey what is switched off."""
        errors = self.errors()
        for key, field in self.fields.items():
            message = self.messages[key]
            if key in errors:
                message.setText(errors[key])
                style.set_error(message, True)
                message.setVisible(True)
            else:
                # Inside a sentence the range is in the tooltip; a restart note still shows.
                hint = hint_of(field)
                if key in self.inline and field.option.applies != RESTART:
                    hint = ""
                message.setText(hint)
                style.set_error(message, False)
                message.setVisible(bool(hint))
        values = self.current_raw()
        reminders_on = bool(values.get(REMINDERS_ON))
        for option in SCHEMA:
            on = True
            if option.enabled_by:
                on = values.get(option.enabled_by) not in (False, None, "off")
            if option.section == "reminders" and option.key != REMINDERS_ON:
                on = on and reminders_on
            self.fields[option.key].widget.setEnabled(on)
            if option.key not in self.inline:
                self.labels[option.key].setEnabled(on)
        live: dict[str, bool] = {}
        for key, row in self.sentences.items():
            # A sentence is off while its owner is unticked, "off" or greyed: its words say so.
            live[key] = self.fields[key].widget.isEnabled() and values[key] not in (False, "off")
            for word in row.words:
                word.setEnabled(live[key])
        for owner, notes in self.notes_by_owner.items():
            notes.setEnabled(live[owner])
            notes.refresh(values)
        problems = [] if errors else [message for _rule, message in rule_problems(values)]
        if errors:
            names = ", ".join(self.fields[k].option.describe() for k in errors)
            problems = [_("Please correct: {fields}").format(fields=names)]
        self.problem_label.setText("\n".join(problems))
        self.problem_label.setVisible(bool(problems))
        ok = not problems
        self.ok_button.setEnabled(ok)
        self.apply_button.setEnabled(ok)
        return ok

    def _country_changed(self) -> None:
        """Figures still at the old country's defaults follow the new country."""
        values = self.current_raw()
        new = effective_country(values)
        if new == self._country:
            return
        for option in SCHEMA:
            if option.country_default is None:
                continue
            field = self.fields[option.key]
            try:
                if field.value() == option.default_for(self._country):
                    field.set_value(option.default_for(new))
            except SettingError:
                pass
        self._country = new

    def restore_defaults(self) -> None:
        base = defaults(effective_country({}))
        self._load(base)
        self._country = effective_country(base)
        self.revalidate()

    # ---- saving -------------------------------------------------------------------------------
    def save(self) -> bool:
        if not self.revalidate():
            return False
        values = self.current_raw()
        base = defaults(effective_country(values))
        # Values at their default are left out: they keep following the country and new versions.
        changed = {k: v for k, v in values.items() if v != base[k]}
        try:
            save_settings(changed, self.loaded.path)
        except (SettingError, OSError) as exc:
            self._show_problem(_("The settings could not be saved: {error}").format(error=exc))
            return False
        problem = self._apply_autostart(bool(values[START_AT_LOGIN]))
        self.loaded = load_settings(self.loaded.path)
        self.saves += 1
        from tray_app.config.boot import apply_language

        apply_language()  # the language applies now that it is saved
        if self.on_saved is not None:
            self.on_saved()
        if problem:
            self._show_problem(problem)
            return False
        return True

    def _apply_autostart(self, wanted: bool) -> str | None:
        if self.autostart is None:
            return None
        try:
            if wanted == bool(self.autostart.is_enabled()):
                return None
            if wanted:
                from tray_app.system.autostart import launch_command

                self.autostart.enable(launch_command())
            else:
                self.autostart.disable()
        except OSError as exc:
            return _("Could not change start at login ({place}): {error}").format(
                place=self.autostart.location(), error=exc
            )
        return None

    def _show_problem(self, text: str) -> None:
        self.problem_label.setText(text)
        self.problem_label.setVisible(True)

    def accept_and_save(self) -> None:
        if self.save():
            self.accept()

    # ---- preview ------------------------------------------------------------------------------
    def preview(self) -> None:
        values = self.current_raw()
        with speaking(values[LANGUAGE]):
            reminder = sample_reminder(values, self.history)
            if self.presenter is None:
                from tray_app.ui.reminders.presenter import ReminderPresenter

                def nothing() -> None:
                    pass

                self.presenter = ReminderPresenter(self, nothing, nothing, nothing, refresh_ms=0)
            self.presenter.show(reminder, preview=True)


class _ToggleLabel(QLabel):
    """The words of a checkbox that wrap; clicking them ticks it, as its own text would."""

    def __init__(self, text: str, box: QCheckBox) -> None:
        super().__init__(text)
        self.box = box
        self.setWordWrap(True)
        self.setBuddy(box)

    def mousePressEvent(self, event: Any) -> None:
        if self.box.isEnabled():
            self.box.toggle()
            self.box.setFocus()


def _wrapped_checkbox(field: BoolField) -> QWidget:
    text = field.box.text()
    field.box.setText("")
    field.box.setAccessibleName(text)
    holder = QWidget()
    row = QHBoxLayout(holder)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(field.box, 0, Qt.AlignmentFlag.AlignTop)
    row.addWidget(_ToggleLabel(text, field.box), 1)
    return holder


def _default_autostart() -> Any:
    from tray_app.system.autostart import backend_for

    try:
        return backend_for()
    except Exception:  # noqa: BLE001 - no start-at-login on this platform: hide nothing else
        return None


_open: SettingsDialog | None = None


def open_settings(
    parent: QWidget | None = None,
    on_saved: Callable[[], None] | None = None,
    presenter: Any = None,
    autostart: Any = None,
) -> SettingsDialog:
    """Show the Settings window (non-modal), or bring the open one forward."""
    global _open
    if _open is not None:
        try:
            _open.show()
            _open.raise_()
            _open.activateWindow()
            return _open
        except RuntimeError:  # deleted since
            _open = None
    dialog = SettingsDialog(parent, on_saved, presenter, autostart)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.finished.connect(lambda _result: _forget(dialog))
    _open = dialog
    dialog.show()
    return dialog


def _forget(dialog: SettingsDialog) -> None:
    global _open
    if _open is dialog:
        _open = None
