"""Time windows and settings parsing behind the reminder rules."""

from __future__ import annotations

from datetime import UTC, datetime
from datetime import time as dtime
from zoneinfo import ZoneInfo

import pytest

from tray_app.reminders.rules import (
    CONTINUOUS,
    DAILY_ENERGY,
    IMAGES,
    POWER_LIMIT,
    SESSION_ENERGY,
    ReminderConfig,
    day_key,
    in_quiet_hours,
    next_day_start,
    period_key,
)

UTC = UTC


def ts(*args: int, tz=UTC) -> float:
    return datetime(*args, tzinfo=tz).timestamp()


@pytest.mark.parametrize(
    ("hour", "minute", "quiet"),
    [
        (21, 59, False),
        (22, 0, True),
        (23, 59, True),
        (0, 0, True),
        (7, 59, True),
        (8, 0, False),
        (13, 0, False),
    ],
)
def test_quiet_hours_cross_midnight(hour, minute, quiet):
    assert in_quiet_hours(ts(2025, 3, 10, hour, minute), UTC, dtime(22), dtime(8)) is quiet


def test_quiet_hours_within_a_day_and_empty_window():
    assert in_quiet_hours(ts(2025, 3, 10, 13, 30), UTC, dtime(13), dtime(14))
    assert not in_quiet_hours(ts(2025, 3, 10, 14, 0), UTC, dtime(13), dtime(14))
    assert not in_quiet_hours(ts(2025, 3, 10, 3, 0), UTC, dtime(8), dtime(8))


def test_day_begins_at_day_start_hour():
    # At 03:59 a night owl with day_start_hour=4 is still in "yesterday".
    assert day_key(ts(2025, 3, 11, 3, 59), UTC, 4) == "day:2025-03-10"
    assert day_key(ts(2025, 3, 11, 4, 0), UTC, 4) == "day:2025-03-11"
    assert day_key(ts(2025, 3, 11, 0, 30), UTC, 0) == "day:2025-03-11"


def test_next_day_start():
    assert next_day_start(ts(2025, 3, 10, 15, 0), UTC, 4) == ts(2025, 3, 11, 4, 0)
    assert next_day_start(ts(2025, 3, 11, 2, 0), UTC, 4) == ts(2025, 3, 11, 4, 0)
    assert next_day_start(ts(2025, 3, 10, 23, 0), UTC, 0) == ts(2025, 3, 11, 0, 0)


def test_next_day_start_across_a_dst_change_is_a_wall_clock_hour():
    paris = ZoneInfo("Europe/Paris")  # clocks go forward on 2025-03-30 at 02:00
    assert next_day_start(ts(2025, 3, 29, 20, 0, tz=paris), paris, 4) == ts(
        2025, 3, 30, 4, 0, tz=paris
    )


def test_budget_week_runs_monday_to_monday_at_day_start():
    sunday_late = ts(2025, 3, 17, 3, 0)  # Monday 03:00 with day_start 4 is still Sunday's week
    assert period_key(sunday_late, UTC, 4, "week") == period_key(
        ts(2025, 3, 10, 12), UTC, 4, "week"
    )
    assert period_key(ts(2025, 3, 17, 4, 0), UTC, 4, "week") == "period:week:2025-W12"
    assert period_key(ts(2025, 3, 17, 4, 0), UTC, 4, "day") == "period:day:2025-03-17"


def test_config_defaults_and_switches():
    cfg = ReminderConfig.from_settings({})
    rules = (SESSION_ENERGY, DAILY_ENERGY, CONTINUOUS, IMAGES)
    assert tuple(cfg.threshold(rule) for rule in rules) == (50, 250, 60, 100)
    assert cfg.threshold(POWER_LIMIT) is None and cfg.power_limit_pct is None  # off by default
    assert cfg.cooldown_s == 30 * 60 and cfg.budget_period == "off"
    off = ReminderConfig.from_settings(
        {"reminders.images.enabled": False, "reminders.session_wh": 80}
    )
    assert off.threshold(IMAGES) is None and off.threshold(SESSION_ENERGY) == 80


def test_bad_settings_fall_back_to_defaults_instead_of_crashing():
    cfg = ReminderConfig.from_settings(
        {
            "reminders.session_wh": "lots",
            "reminders.daily_wh": -5,
            "reminders.budget_period": "fortnight",
            "reminders.quiet_hours.start": "late",
            "day_start_hour": 31,
            "reminders.continuous_min": True,
        }
    )
    assert cfg.threshold(SESSION_ENERGY) == 50 and cfg.threshold(DAILY_ENERGY) == 250
    assert cfg.threshold(CONTINUOUS) == 60
    assert cfg.budget_period == "off" and cfg.quiet_start == dtime(22) and cfg.day_start_hour == 0


def test_the_real_settings_defaults_are_understood():
    from tray_app.config import file as settings

    values = settings.load_settings().values
    cfg = ReminderConfig.from_settings(values)
    assert cfg.threshold(SESSION_ENERGY) == values["reminders.session_wh"]
    assert cfg.cooldown_s == 60 * values["reminders.cooldown_min"]
    assert cfg.quiet_enabled is values["reminders.quiet_hours.enabled"]
    assert (cfg.power_limit_pct is None) is (not values["reminders.power_limit.enabled"])
    assert cfg.phone_charge_wh == values["phone_charge_wh"]
