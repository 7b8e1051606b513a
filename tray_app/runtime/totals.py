"""Today's energy and the budget period's, kept up to date every tick without re-querying.

The store is asked once, at start (what earlier runs recorded since the boundary); after that
closed sessions are added as they close and open ones are read live. Crossing a boundary
(the user's day start, or Monday for a week) restarts the count, keeping the part of each open
session drawn before it out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from tray_app.config.settings import TypedSettings
from tray_app.sessions.tracker import OpenSession
from tray_app.system.days import period_start

log = logging.getLogger(__name__)


class EnergyHistory(Protocol):
    def energy_since(self, ts: float) -> float: ...


class RunningTotal:
    """Energy since a moving boundary (today, this week)."""

    def __init__(self, week: bool = False) -> None:
        self.week = week
        self.since: float | None = None
        self.until = 0.0  # the next boundary: nothing to compute per tick before it
        self.hour: int | None = None
        self.base_wh = 0.0  # closed sessions (and, at start, what the store already holds)
        self.offsets: dict[int, float] = {}  # open sessions' energy before the boundary

    def roll(self, now: float, hour: int, store: EnergyHistory | None,
             open_sessions: Sequence[OpenSession]) -> None:  # fmt: skip
        if self.since is not None and hour == self.hour and self.since <= now < self.until:
            return
        start = period_start(now, hour, self.week)
        self.hour = hour
        # The next boundary is the start of the period holding a moment well inside the next
        # one: 1.5 days on (10.5 for a week), whatever a DST change does to a day's length.
        self.until = period_start(start + (10.5 if self.week else 1.5) * 86400.0, hour, self.week)
        if start == self.since:
            return
        first = self.since is None
        self.since = start
        self.base_wh = 0.0
        if first and store is not None:
            try:
                self.base_wh = store.energy_since(start)
            except Exception as exc:  # noqa: BLE001 - a history figure must not stop monitoring
                log.warning("could not read today's energy: %s", exc)
        self.offsets = {s.id: s.total_wh for s in open_sessions}

    def closed(self, sid: int, total_wh: float | None) -> None:
        self.base_wh += max(0.0, (total_wh or 0.0) - self.offsets.pop(sid, 0.0))

    def value(self, open_sessions: Sequence[OpenSession]) -> float:
        return self.base_wh + sum(s.total_wh - self.offsets.get(s.id, 0.0) for s in open_sessions)


class Totals:
    """Today's energy and the budget period's (day or week), for the tray and the reminders."""

    def __init__(self, store: EnergyHistory | None) -> None:
        self._store = store
        self._today = RunningTotal()
        self._week = RunningTotal(week=True)
        self.today_wh = 0.0
        self.period_wh: float | None = None  # None: no budget set
        self.budget_fraction: float | None = None  # share of the budget used

    @property
    def day_start(self) -> float | None:
        """When the user's day (day_start_hour) began; None before the first tick."""
        return self._today.since

    def session_closed(self, sid: int, total_wh: float | None) -> None:
        self._today.closed(sid, total_wh)
        self._week.closed(sid, total_wh)

    def update(self, now: float, settings: TypedSettings,
               open_sessions: Sequence[OpenSession]) -> None:  # fmt: skip
        hour = settings.day_start_hour
        self._today.roll(now, hour, self._store, open_sessions)
        self._week.roll(now, hour, self._store, open_sessions)
        self.today_wh = self._today.value(open_sessions)
        period, budget = settings.reminders.budget_period, settings.reminders.budget_wh
        if period == "off" or budget <= 0:
            self.period_wh = self.budget_fraction = None
            return
        self.period_wh = self.today_wh if period == "day" else self._week.value(open_sessions)
        self.budget_fraction = self.period_wh / budget
