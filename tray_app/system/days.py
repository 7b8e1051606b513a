"""The user's day: it begins at `day_start_hour` local time, not at midnight.

A night owl with day_start_hour=4 still works "today" at 3 a.m. One definition serves the store
(daily totals, History), the reminders (daily rule, snooze until tomorrow, budget periods) and
the engine (today's energy in the tray). `tz` None means the system's local time, so daylight
saving follows the OS like a wall clock; tests pass a zone.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from datetime import time as dtime


def local_dt(ts: float, tz: tzinfo | None = None) -> datetime:
    return datetime.fromtimestamp(ts, tz) if tz is not None else datetime.fromtimestamp(ts)


def day_of(ts: float, day_start_hour: int, tz: tzinfo | None = None) -> date:
    """The user's day that epoch time `ts` belongs to."""
    return (local_dt(ts, tz) - timedelta(hours=int(day_start_hour))).date()


def day_start(day: date, day_start_hour: int, tz: tzinfo | None = None) -> float:
    """Epoch seconds at which the user's `day` begins."""
    start = datetime.combine(day, dtime(int(day_start_hour)))
    return (start.replace(tzinfo=tz) if tz is not None else start).timestamp()


def period_start(ts: float, day_start_hour: int, week: bool = False,
                 tz: tzinfo | None = None) -> float:
    """Start of the user's day (or ISO week, from Monday) containing `ts`."""
    day = day_of(ts, day_start_hour, tz)
    if week:
        day -= timedelta(days=day.weekday())
    return day_start(day, day_start_hour, tz)
