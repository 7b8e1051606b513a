"""What the reminder rules look at, and when each one has something to say.

Pure functions of an `ActivityState`, the settings and what was already said: no clock, no I/O.
The engine (`engine.py`) owns time, gentleness (cooldown, snooze, quiet hours) and memory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from datetime import time as dtime
from typing import Any

from tray_app.system import days

SESSION_ENERGY = "session_energy"
DAILY_ENERGY = "daily_energy"
CONTINUOUS = "continuous"
IMAGES = "images"
POWER_LIMIT = "power_limit"
BUDGET_80 = "budget_80"
BUDGET_100 = "budget_100"

# Order of precedence when several rules are due at once: only one may speak per cooldown, so the
# most pressing fact goes first; the others stay unsaid and may speak once the cooldown is over.
RULE_IDS = (BUDGET_100, BUDGET_80, POWER_LIMIT, DAILY_ENERGY, SESSION_ENERGY, CONTINUOUS, IMAGES)

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


def _num(
    settings: Mapping[str, Any], key: str, default: float | None, lo: float, hi: float
) -> float | None:
    # Settings are validated by tray_app.config.file; this only keeps a bad value from crashing us.
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return default
    return float(value) if lo <= value <= hi else default


def _flag(settings: Mapping[str, Any], key: str, default: bool) -> bool:
    value = settings.get(key, default)
    return value if isinstance(value, bool) else default


def _hhmm(settings: Mapping[str, Any], key: str, default: str) -> dtime:
    value = settings.get(key, default)
    for text in (value, default):
        try:
            hours, minutes = str(text).split(":")
            return dtime(int(hours), int(minutes))
        except ValueError:
            continue
    return dtime(0, 0)


@dataclass(frozen=True, slots=True)
class ReminderConfig:
    """A typed view of the `reminders.*` settings, with the documented defaults."""

    enabled: bool = True
    session_wh: float | None = 50.0  # None: rule switched off
    daily_wh: float | None = 250.0
    continuous_min: float | None = 60.0
    images: float | None = 100.0
    power_limit_pct: float | None = 90.0
    power_limit_min: float = 15.0
    budget_period: str = "off"  # off | day | week
    budget_wh: float | None = None
    cooldown_s: float = 30 * 60.0
    quiet_enabled: bool = False
    quiet_start: dtime = dtime(22, 0)
    quiet_end: dtime = dtime(8, 0)
    day_start_hour: int = 0
    carbon_g_per_kwh: float | None = None
    price_per_kwh: float | None = None
    currency: str = "EUR"
    phone_charge_wh: float = 13.0

    @classmethod
    def from_settings(cls, s: Mapping[str, Any]) -> ReminderConfig:
        def rule(name: str, key: str, default: float) -> float | None:
            if not _flag(s, f"reminders.{name}.enabled", True):
                return None
            return _num(s, key, default, 1e-9, 1e9)

        period = s.get("reminders.budget_period", "off")
        currency = s.get("currency", "EUR")
        return cls(
            enabled=_flag(s, "reminders.enabled", True),
            session_wh=rule("session_wh", "reminders.session_wh", 50.0),
            daily_wh=rule("daily_wh", "reminders.daily_wh", 250.0),
            continuous_min=rule("continuous_min", "reminders.continuous_min", 60.0),
            images=rule("images", "reminders.images", 100.0),
            power_limit_pct=rule("power_limit", "reminders.power_limit_pct", 90.0),
            power_limit_min=_num(s, "reminders.power_limit_min", 15.0, 1e-9, 1e6) or 15.0,
            budget_period=period if period in ("off", "day", "week") else "off",
            budget_wh=_num(s, "reminders.budget_wh", None, 1e-9, 1e9),
            cooldown_s=60 * (_num(s, "reminders.cooldown_min", 30.0, 0, 1e6) or 0.0),
            quiet_enabled=_flag(s, "reminders.quiet_hours.enabled", False),
            quiet_start=_hhmm(s, "reminders.quiet_hours.start", "22:00"),
            quiet_end=_hhmm(s, "reminders.quiet_hours.end", "08:00"),
            day_start_hour=int(_num(s, "day_start_hour", 0, 0, 23) or 0),
            carbon_g_per_kwh=_num(s, "carbon_g_per_kwh", None, 0, 1e5),
            price_per_kwh=_num(s, "price_per_kwh", None, 0, 1e5),
            currency=currency if isinstance(currency, str) and currency else "EUR",
            phone_charge_wh=_num(s, "phone_charge_wh", 13.0, 1e-6, 1e6) or 13.0,
        )


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
    rule: str, scope: str, value: float | None, threshold: float | None, said: int
) -> Trigger | None:
    """First reminder at the threshold, one softer follow-up at twice it, then silence."""
    if value is None or threshold is None or said >= SAID_FOLLOW_UP:
        return None
    if said == SAID_NOTHING and value >= threshold:
        # Noticed only past 2x (e.g. the app just started)? Say it once with the real number.
        level = SAID_FOLLOW_UP if value >= 2 * threshold else SAID_FIRST
        return Trigger(rule, scope, level, False, value, threshold)
    if said == SAID_FIRST and value >= 2 * threshold:
        return Trigger(rule, scope, SAID_FOLLOW_UP, True, value, threshold)
    return None


@dataclass(frozen=True, slots=True)
class Scopes:
    session: str | None  # None outside a session: session rules stay silent
    day: str
    period: str | None  # None when no budget is set


def due_triggers(
    state: ActivityState,
    cfg: ReminderConfig,
    scopes: Scopes,
    said: Mapping[str, Mapping[str, int]],
    power_held_s: float,
) -> list[Trigger]:
    """Every rule that has something new to say, most pressing first."""

    def level(scope: str | None, rule: str) -> int:
        return said.get(scope, {}).get(rule, SAID_NOTHING) if scope else SAID_FOLLOW_UP

    out: list[Trigger] = []
    if scopes.period and cfg.budget_wh and state.period_wh is not None:
        pct = 100 * state.period_wh / cfg.budget_wh
        for rule, step in ((BUDGET_100, 100.0), (BUDGET_80, 80.0)):
            if pct >= step and level(scopes.period, rule) == SAID_NOTHING:
                out.append(Trigger(rule, scopes.period, SAID_FIRST, False, pct, step))
                break  # 100 % supersedes 80 %: the engine marks both said
    if cfg.power_limit_pct is not None and power_held_s > 0:
        # Outside a detected session the GPU can still be pinned (an unknown script): count per day.
        trigger = _stepped(
            POWER_LIMIT,
            scopes.session or scopes.day,
            power_held_s / 60,
            cfg.power_limit_min,
            level(scopes.session or scopes.day, POWER_LIMIT),
        )
        if trigger:
            out.append(trigger)
    candidates = (
        (DAILY_ENERGY, scopes.day, state.today_wh, cfg.daily_wh),
        (SESSION_ENERGY, scopes.session, state.session_wh, cfg.session_wh),
        (CONTINUOUS, scopes.session, state.continuous_active_s / 60, cfg.continuous_min),
        (IMAGES, scopes.session, state.session_images, cfg.images),
    )
    for rule, scope, value, threshold in candidates:
        if scope is None:
            continue
        trigger = _stepped(rule, scope, value, threshold, level(scope, rule))
        if trigger:
            out.append(trigger)
    return out


def still_due(
    trigger: Trigger, state: ActivityState, cfg: ReminderConfig, scopes: Scopes, power_held_s: float
) -> bool:
    """Is a reminder held back by snooze/quiet hours still true and current now?"""
    if trigger.scope not in (scopes.session, scopes.day, scopes.period):
        return False  # its session ended or its day/period is over: stale, drop it
    value: float | None
    if trigger.rule in (BUDGET_80, BUDGET_100):
        if not cfg.budget_wh or state.period_wh is None:
            return False
        value, threshold = 100 * state.period_wh / cfg.budget_wh, trigger.threshold
    else:
        threshold_now = {
            POWER_LIMIT: cfg.power_limit_min if cfg.power_limit_pct is not None else None,
            DAILY_ENERGY: cfg.daily_wh,
            SESSION_ENERGY: cfg.session_wh,
            CONTINUOUS: cfg.continuous_min,
            IMAGES: cfg.images,
        }[trigger.rule]
        if threshold_now is None:
            return False  # switched off meanwhile
        value = {
            POWER_LIMIT: power_held_s / 60,
            DAILY_ENERGY: state.today_wh,
            SESSION_ENERGY: state.session_wh,
            CONTINUOUS: state.continuous_active_s / 60,
            IMAGES: state.session_images,
        }[trigger.rule]
        threshold = threshold_now * (2 if trigger.follow_up else 1)
    return value is not None and value >= threshold
