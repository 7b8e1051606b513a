"""The reminder rules, one entry each in `RULES`, and when each one has something to say.

Pure functions of an `ActivityState`, the settings and what was already said: no clock, no I/O.
The engine (`engine.py`) owns time, gentleness (cooldown, snooze, quiet hours) and memory.

Adding a rule (IDLE_WASTE below was added this way):
1. the schema (`tray_app/config/schema.py`): its threshold option, e.g. `reminders.<name>_min`
   (type, range, default, unit, description, applies=LIVE) and, if it can be switched off, a
   `reminders.<name>.enabled` Bool named by the threshold's `enabled_by`; then
   `python -m tray_app.config.codegen` (the typed view gains `settings.reminders.<name>_min`);
2. one `Rule(...)` entry in `RULES` below: its id, the threshold setting (and its switch), unit,
   label, how to read the measured value from a `Reading`, and its scope; optionally `past`,
   the same value on the user's history (past.py), for the Settings window's "would have
   reminded you in 12 of your last 40 sessions" and "Suggest from my history". Its place in
   `RULES` is its precedence; the switch's `sentence` (schema) is how the Settings window says it;
3. its wording: one `RuleWording` in `phrasing.WORDINGS` (and the French in
   resources/i18n/fr/reminders.json).
`due_triggers`, `still_due`, the CLI's labels and units (`raison-garder reminders`) and the
Settings window all read the table; tests/reminders/test_rule_table.py checks each of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta, tzinfo
from datetime import time as dtime
from typing import Any, Literal

from tray_app.config.schema import N_
from tray_app.config.settings import TypedSettings, key_of, typed
from tray_app.reminders.past import Occasion, Past, Series
from tray_app.system import days

SESSION_ENERGY = "session_energy"
DAILY_ENERGY = "daily_energy"
CONTINUOUS = "continuous"
IMAGES = "images"
POWER_LIMIT = "power_limit"
BUDGET_80 = "budget_80"
BUDGET_100 = "budget_100"
IDLE_WASTE = "idle_waste"

MINUTES = N_("min")  # the unit of rules about time: their wording's {duration} is the value

# Levels recorded per rule and scope: nothing said, first reminder said, follow-up said.
SAID_NOTHING, SAID_FIRST, SAID_FOLLOW_UP = 0, 1, 2


@dataclass(frozen=True, slots=True)
class ActivityState:
    """What the monitor knows right now. None means unknown, never zero."""

    session_id: str | int | None = None  # the store's session id; None outside a session
    tool: str | None = None  # "comfyui", "a1111", … (for values/tips only)
    session_wh: float | None = None
    session_active_s: float = 0.0
    continuous_active_s: float = 0.0  # active time since the last pause of 10 minutes or more
    session_images: int | None = None  # None when the tool's images are not counted
    session_idle_wh: float | None = None  # drawn while the tool sat idle with a model loaded
    idle_minutes_with_model: float | None = None
    today_wh: float | None = None  # since today's day_start_hour
    period_wh: float | None = None  # in the budget period (day or week) in progress
    gpu_power_pct_of_limit: float | None = None  # now, % of the board's power limit
    gpu_power_w: float | None = None  # now, for tips
    energy_estimated: bool = False  # figures come from a model, not a measurement: say so
    # The tool keeping the GPU awake longest with nothing to do (idle.waste.IdleWaste), if any.
    idle_waste: Any = None
    # The user's own clearest cost difference between two settings of one model (a
    # sessions.generation_tips.StepsContrast), from their recent generations; None when none.
    generation_contrast: Any = None


# --- the table ------------------------------------------------------------------------------

# Where "once" is counted: per session, per day, per budget period, or per session when one is
# open and else per day (a GPU pinned by an undetected script still deserves a word).
# "idle": per idle stretch of one tool (it speaks again only after the tool has worked again).
Scope = Literal["session", "day", "period", "session_or_day", "idle"]


@dataclass(frozen=True, slots=True)
class Reading:
    """What a rule's measured value is computed from."""

    state: ActivityState
    config: ReminderConfig
    power_held_s: float  # seconds the GPU has been held near its power limit (engine-tracked)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str  # stable: stored with each reminder, keys the wording and the French catalogue
    setting: Callable[[TypedSettings], float]  # the threshold's setting
    unit: str  # msgid of the unit of the value and the threshold: "Wh", "min", "images", "%"
    label: str  # msgid naming the rule (CLI table, Settings window)
    measure: Callable[[Reading], float | None]  # the measured value; None: unknown, say nothing
    scope: Scope
    switch: Callable[[TypedSettings], bool] | None = None  # its on/off setting, if any
    follow_up: bool = True  # one softer follow-up at twice the threshold
    # A fixed threshold in `unit` (budget steps: % of the budget setting) instead of the
    # setting's value; the rule is then off while the setting is 0.
    step: float | None = None
    supersedes: tuple[str, ...] = ()  # rules it makes moot once said (100 % -> 80 %)
    # What the measured value was on the user's history (past.py), in `unit`, for the Settings
    # window's "would have reminded you in 12 of your last 40 sessions"; None: not recorded.
    past: Callable[[Past, TypedSettings], Series | None] | None = None

    @property
    def setting_key(self) -> str:
        return key_of(self.setting)

    @property
    def switch_key(self) -> str | None:
        return key_of(self.switch) if self.switch is not None else None

    def threshold(self, settings: TypedSettings) -> float | None:
        """The threshold in effect, or None when the rule is switched off."""
        if self.switch is not None and not self.switch(settings):
            return None
        value = float(self.setting(settings))
        if self.step is not None:
            return self.step if value > 0 else None
        return value


def _idle_waste_min(m: Reading) -> float | None:
    waste = m.state.idle_waste
    if waste is None or m.config.settings.reminders.idle_waste_auto_free:
        return None  # freed without asking: the outcome is said instead
    return waste.idle_s / 60


def _budget_pct(m: Reading) -> float | None:
    budget, used = m.config.budget_wh, m.state.period_wh
    return 100 * used / budget if budget and used is not None else None


def _past_budget(p: Past, s: TypedSettings) -> Series | None:
    period, budget = s.reminders.budget_period, s.reminders.budget_wh
    if period == "off" or budget <= 0:
        return None
    series = p.per_period(week=period == "week")
    return Series(series.kind, tuple(Occasion(o.ts, 100 * o.value / budget)
                                     for o in series.occasions))  # fmt: skip


def _active_min(s: Any) -> float | None:
    # A session ends after a pause of idle_split_min, so its active time is the generating
    # time without a long break that the continuous rule measures, near enough for a preview.
    return s.active_s / 60 if s.active_s is not None else None


# Order is precedence when several rules are due at once: only one may speak per cooldown, so the
# most pressing fact goes first; the others stay unsaid and may speak once the cooldown is over.
RULES: tuple[Rule, ...] = (
    Rule(BUDGET_100, lambda s: s.reminders.budget_wh, "%", N_("Budget reached"),
         _budget_pct, "period", follow_up=False, step=100.0, supersedes=(BUDGET_80,),
         past=_past_budget),
    Rule(BUDGET_80, lambda s: s.reminders.budget_wh, "%", N_("80 % of the budget"),
         _budget_pct, "period", follow_up=False, step=80.0),
    Rule(POWER_LIMIT, lambda s: s.reminders.power_limit_min, MINUTES,
         N_("GPU near its power limit"),
         lambda m: m.power_held_s / 60 if m.power_held_s > 0 else None, "session_or_day",
         switch=lambda s: s.reminders.power_limit.enabled),
    Rule(IDLE_WASTE, lambda s: s.reminders.idle_waste_min, MINUTES,
         N_("Tool idle, holding the GPU"), _idle_waste_min, "idle",
         switch=lambda s: s.reminders.idle_waste.enabled, follow_up=False),
    Rule(DAILY_ENERGY, lambda s: s.reminders.daily_wh, "Wh", N_("Energy today"),
         lambda m: m.state.today_wh, "day", switch=lambda s: s.reminders.daily_wh_enabled,
         past=lambda p, _s: p.per_period(week=False)),
    Rule(SESSION_ENERGY, lambda s: s.reminders.session_wh, "Wh", N_("Session energy"),
         lambda m: m.state.session_wh, "session", switch=lambda s: s.reminders.session_wh_enabled,
         past=lambda p, _s: p.per_session(lambda x: x.wh)),
    Rule(CONTINUOUS, lambda s: s.reminders.continuous_min, MINUTES,
         N_("Generating without a break"), lambda m: m.state.continuous_active_s / 60, "session",
         switch=lambda s: s.reminders.continuous_min_enabled,
         past=lambda p, _s: p.per_session(_active_min)),
    Rule(IMAGES, lambda s: s.reminders.images, N_("images"), N_("Images"),
         lambda m: m.state.session_images, "session", switch=lambda s: s.reminders.images_enabled,
         past=lambda p, _s: p.per_session(lambda x: x.images)),
)  # fmt: skip

RULE_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
RULE_IDS: tuple[str, ...] = tuple(rule.id for rule in RULES)


def rule_switched_by(key: str) -> Rule | None:
    """The rule whose on/off setting is `key` (the Settings window names it there)."""
    return next((rule for rule in RULES if rule.switch_key == key), None)


@dataclass(frozen=True, slots=True)
class ReminderConfig:
    """What the reminder engine needs from the settings, in the units it computes with."""

    settings: TypedSettings
    thresholds: Mapping[str, float | None] = field(default_factory=dict)  # None: rule off

    @classmethod
    def from_settings(cls, s: TypedSettings | Mapping[str, Any]) -> ReminderConfig:
        """From the typed settings (or a mapping of dotted keys, the rest at their defaults)."""
        settings = s if isinstance(s, TypedSettings) else typed(s)
        return cls(settings, {rule.id: rule.threshold(settings) for rule in RULES})

    def threshold(self, rule: str) -> float | None:
        return self.thresholds.get(rule)

    @property
    def enabled(self) -> bool:
        return self.settings.reminders.enabled

    @property
    def power_limit_pct(self) -> float | None:
        """The share of the power limit that counts as full power; None with the rule off."""
        if self.threshold(POWER_LIMIT) is None:
            return None
        return float(self.settings.reminders.power_limit_pct)

    @property
    def budget_period(self) -> str:
        return self.settings.reminders.budget_period

    @property
    def budget_wh(self) -> float | None:
        return self.settings.reminders.budget_wh or None

    @property
    def cooldown_s(self) -> float:
        return 60.0 * self.settings.reminders.cooldown_min

    @property
    def quiet_enabled(self) -> bool:
        return self.settings.reminders.quiet_hours.enabled

    @property
    def quiet_start(self) -> dtime:
        return _hhmm(self.settings.reminders.quiet_hours.start)

    @property
    def quiet_end(self) -> dtime:
        return _hhmm(self.settings.reminders.quiet_hours.end)

    @property
    def day_start_hour(self) -> int:
        return self.settings.day_start_hour

    @property
    def carbon_g_per_kwh(self) -> float:
        return self.settings.carbon_g_per_kwh

    @property
    def price_per_kwh(self) -> float:
        return self.settings.price_per_kwh

    @property
    def currency(self) -> str:
        return self.settings.currency

    @property
    def phone_charge_wh(self) -> float:
        return self.settings.phone_charge_wh


def _hhmm(text: str) -> dtime:
    hours, minutes = text.split(":")  # validated by the schema's TimeOfDay: "HH:MM"
    return dtime(int(hours), int(minutes))


# --- Time windows ---------------------------------------------------------------------------
# tz None means the system's local time (naive datetimes), so DST follows the OS like a wall clock.


def day_of(ts: float, tz: tzinfo | None, day_start_hour: int) -> date:
    return days.day_of(ts, day_start_hour, tz)


def next_day_start(ts: float, tz: tzinfo | None, day_start_hour: int) -> float:
    return days.day_start(day_of(ts, tz, day_start_hour) + timedelta(days=1), day_start_hour, tz)


def day_key(ts: float, tz: tzinfo | None, day_start_hour: int) -> str:
    return "day:" + day_of(ts, tz, day_start_hour).isoformat()


def period_key(ts: float, tz: tzinfo | None, day_start_hour: int, period: str) -> str:
    day = day_of(ts, tz, day_start_hour)
    if period == "week":  # ISO weeks: Monday at day_start_hour to the next Monday
        year, week, _weekday = day.isocalendar()
        return f"period:week:{year}-W{week:02d}"
    return f"period:day:{day.isoformat()}"


def idle_key(waste: Any) -> str | None:
    """The scope of one idle stretch of one tool: "idle:<tool>:<pid>:<start>"."""
    if waste is None:
        return None
    return f"idle:{waste.tool}:{waste.pid}:{int(waste.since)}"


def in_quiet_hours(ts: float, tz: tzinfo | None, start: dtime, end: dtime) -> bool:
    """Quiet from `start` (included) to `end` (excluded), crossing midnight when start > end."""
    if start == end:
        return False  # an empty window, not a 24-hour one
    now = days.local_dt(ts, tz).time()
    if start < end:
        return start <= now < end
    return now >= start or now < end


# --- Rules ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trigger:
    """A rule with something to say, before gentleness decides whether it may."""

    rule: str
    scope: str  # "session:<id>", "day:<date>", "period:<…>": where "once" is counted
    level: int  # level to record once said (SAID_FOLLOW_UP when 2x is already passed)
    follow_up: bool
    value: float  # the measured figure the rule compares (Wh, minutes, images, %)
    threshold: float


def _stepped(
    rule: Rule, scope: str, value: float | None, threshold: float, said: int
) -> Trigger | None:
    """First reminder at the threshold, one softer follow-up at twice it, then silence."""
    if value is None or said >= SAID_FOLLOW_UP:
        return None
    if said == SAID_NOTHING and value >= threshold:
        # Noticed only past 2x (e.g. the app just started)? Say it once with the real number.
        past_twice = rule.follow_up and value >= 2 * threshold
        level = SAID_FOLLOW_UP if past_twice else SAID_FIRST
        return Trigger(rule.id, scope, level, False, value, threshold)
    if rule.follow_up and said == SAID_FIRST and value >= 2 * threshold:
        return Trigger(rule.id, scope, SAID_FOLLOW_UP, True, value, threshold)
    return None


@dataclass(frozen=True, slots=True)
class Scopes:
    session: str | None  # None outside a session: session rules stay silent
    day: str
    period: str | None  # None when no budget is set
    idle: str | None = None  # the idle stretch of the tool wasting longest, None when none

    def of(self, scope: Scope) -> str | None:
        if scope == "session_or_day":
            return self.session or self.day
        return {"session": self.session, "day": self.day, "period": self.period,
                "idle": self.idle}[scope]


def due_triggers(
    state: ActivityState,
    cfg: ReminderConfig,
    scopes: Scopes,
    said: Mapping[str, Mapping[str, int]],
    power_held_s: float,
) -> list[Trigger]:
    """Every rule that has something new to say, most pressing first."""
    reading = Reading(state, cfg, power_held_s)
    out: list[Trigger] = []
    moot: set[str] = set()
    for rule in RULES:
        scope, threshold = scopes.of(rule.scope), cfg.threshold(rule.id)
        if rule.id in moot or scope is None or threshold is None:
            continue
        level = said.get(scope, {}).get(rule.id, SAID_NOTHING)
        trigger = _stepped(rule, scope, rule.measure(reading), threshold, level)
        if trigger:
            out.append(trigger)
            moot.update(rule.supersedes)
    return out


def still_due(
    trigger: Trigger, state: ActivityState, cfg: ReminderConfig, scopes: Scopes, power_held_s: float
) -> bool:
    """Is a reminder held back by snooze/quiet hours still true and current now?"""
    if trigger.scope not in (scopes.session, scopes.day, scopes.period, scopes.idle):
        return False  # its session ended or its day/period is over: stale, drop it
    rule = RULE_BY_ID.get(trigger.rule)
    threshold = cfg.threshold(trigger.rule) if rule else None
    if rule is None or threshold is None:
        return False  # switched off meanwhile (or a rule this version no longer has)
    value = rule.measure(Reading(state, cfg, power_held_s))
    return value is not None and value >= threshold * (2 if trigger.follow_up else 1)
