"""Under a reminder rule's sentence, what its threshold means for this user:

    That is about 4 phone charges (13 Wh each), 7 g CO₂e (…) and €0.01 (at €0.25/kWh).
    Would have reminded you in 12 of your last 40 sessions (last: Tuesday).   [Suggest from my history]
    Suggested: 64 Wh, the 75th percentile of your 23 sessions in the last 30 days (…).   [Use 64 Wh]

Everything follows the values on screen (threshold, price, grid, phone charge) as they change;
the history was read once when the window opened. A suggestion is only shown: the field changes
when "Use" is pressed, and the file when the user presses OK or Apply."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from tray_app.config.schema import Option, SettingError
from tray_app.config.settings import TypedSettings, typed
from tray_app.reminders import past as p
from tray_app.reminders.equivalents import equivalents
from tray_app.reminders.past_text import (
    no_history_text,
    sources_text,
    suggestion_text,
    would_have_text,
)
from tray_app.reminders.rules import Rule
from tray_app.system import fmt
from tray_app.system.i18n import _
from tray_app.ui.settings import style
from tray_app.ui.settings.widgets import Field


@dataclass(frozen=True, slots=True)
class History:
    """The user's history as the Settings window read it: `past`, or why it could not."""

    past: p.Past | None
    problem: str | None = None


class RuleNotes(QWidget):
    def __init__(self, rule: Rule, field: Field, history: History,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        super().__init__()
        self.rule = rule
        self.field = field  # the threshold's editor ("Use" fills it)
        self.option: Option = field.option
        self.history = history
        self.clock = clock
        self.energy = rule.unit == "Wh" or self.option.unit == "Wh"
        self.suggested: p.Suggestion | p.TooFew | None = None
        self._settings: TypedSettings = typed({})  # the values on screen, from refresh()

        self.equivalents = style.hint_label()
        self.past = style.hint_label()
        self.suggest_button = QPushButton(_("Suggest from my history"))
        self.suggest_button.clicked.connect(self.suggest)
        self.proposal = QLabel()
        self.proposal.setWordWrap(True)
        self.use_button = QPushButton()
        self.use_button.clicked.connect(self.use)

        box = QVBoxLayout(self)
        box.setContentsMargins(style.indent(self), 0, 0, 6)
        box.setSpacing(3)
        box.addWidget(self.equivalents)
        row = QHBoxLayout()
        row.addWidget(self.past, 1)
        row.addWidget(self.suggest_button)
        box.addLayout(row)
        offer = QHBoxLayout()
        offer.addWidget(self.proposal, 1)
        offer.addWidget(self.use_button)
        box.addLayout(offer)
        self.equivalents.setVisible(self.energy)
        self.suggest_button.setVisible(self.can_suggest)
        self._hide_proposal()

    @property
    def can_suggest(self) -> bool:
        """A rule whose threshold is its setting's value, with a history to draw it from."""
        return self.rule.step is None and self.rule.past is not None

    def _series(self) -> p.Series | None:
        if self.history.past is None or self.rule.past is None:
            return None
        return self.rule.past(self.history.past, self._settings)

    def refresh(self, values: dict[str, Any]) -> None:
        """Re-word everything for the values now on screen (cheap: no store access)."""
        try:
            setting = float(self.field.value())
        except SettingError:
            return  # a field being typed in: keep the last words
        threshold = self.rule.step if self.rule.step is not None else setting
        self._settings = on_screen = typed(values)
        if self.energy:
            eq = equivalents(setting, on_screen.phone_charge_wh, on_screen.carbon_g_per_kwh,
                             on_screen.price_per_kwh, on_screen.currency)  # fmt: skip
            text = _("That is {equivalents}.").format(equivalents=eq.text)
            # "€0.25/kWh" and "13 Wh" stay whole when the line wraps
            self.equivalents.setText(fmt.keep_units(text.replace("/", "/\u2060")))
        series = self._series()
        self.past.setText(fmt.keep_units(self._past_text(series, threshold, setting)))
        self.past.setVisible(bool(self.past.text()))
        self.suggest_button.setVisible(self.can_suggest and bool(series and series.occasions))
        self.past.setToolTip("" if series and series.occasions else sources_text())
        if isinstance(self.suggested, p.Suggestion) and self.suggested.value == setting:
            self._hide_proposal()  # applied (by "Use" or by hand): nothing left to offer

    def _past_text(self, series: p.Series | None, threshold: float, setting: float) -> str:
        if self.rule.past is None:
            return ""
        if self.history.problem:
            return _("Your history could not be read: {problem}").format(
                problem=self.history.problem
            )
        if series is None:
            return ""
        if not series.occasions:
            return no_history_text(setting if self.energy else None)
        now = self.history.past.now if self.history.past else self.clock()
        return would_have_text(p.would_have(series, threshold), now, self._settings.day_start_hour)

    # -- suggestion -----------------------------------------------------------------------------
    def suggest(self) -> None:
        series = self._series()
        if series is None:
            self.proposal.setText(_("Your history could not be read: {problem}").format(
                problem=self.history.problem or "?"))  # fmt: skip
            self.proposal.setVisible(True)
            return
        t = self.option.type
        now = self.history.past.now if self.history.past else self.clock()
        self.suggested = p.suggest(series, now, float(t.minimum), float(t.maximum),  # type: ignore[attr-defined]
                                   whole=t.kind == "int")  # fmt: skip
        shown = self.value_text(self.suggested.value) if isinstance(self.suggested, p.Suggestion) else ""
        self.proposal.setText(fmt.keep_units(suggestion_text(self.suggested, shown)))
        self.proposal.setVisible(True)
        if isinstance(self.suggested, p.Suggestion):
            self.use_button.setText(_("Use {value}").format(value=shown))
            self.use_button.setVisible(True)
            self.use_button.setFocus()
        else:
            self.use_button.setVisible(False)

    def value_text(self, value: float) -> str:
        return fmt.with_unit(fmt.flexible(value), self.option.unit_text())

    def use(self) -> None:
        if isinstance(self.suggested, p.Suggestion):
            value: float | int = self.suggested.value
            if self.option.type.kind == "int":
                value = int(value)
            self.field.set_value(value)  # the dialog hears `changed`; the file waits for OK
            self.field.widget.setFocus()

    def _hide_proposal(self) -> None:
        self.proposal.setVisible(False)
        self.use_button.setVisible(False)
