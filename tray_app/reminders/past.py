"""What a reminder threshold would have meant on the user's own history. Qt-free.

The Settings window reads the store once (`load`, one indexed SELECT over a year of sessions)
and then answers, as the user moves a threshold, without touching the store again:

- `would_have`: "would have reminded you in 12 of your last 40 sessions (last: Tuesday)";
- `suggest`: a threshold from the user's recent habits (the 75th percentile of the last 30
  days: a reminder on roughly one occasion in four), shown before it is applied.

Each rule says which series its threshold is compared with (`Rule.past` in rules.py): energy
per session, per day or per budget period, images per session, generating time per session.
Values are in the rule's own unit; an occasion whose value is unknown is left out, never 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import TYPE_CHECKING, Literal

from tray_app.store.codec import known_total
from tray_app.system import days

Kind = Literal["session", "day", "week"]

LOOKBACK_DAYS = 365  # how far back the history is read
LAST_N = 40  # "in 12 of your last 40 sessions"
SUGGEST_DAYS = 30  # the suggestion follows recent habits
SUGGEST_PERCENTILE = 75  # remind on about one occasion in four
MIN_FOR_SUGGESTION = 5  # below this, a percentile is noise


if TYPE_CHECKING:
    from tray_app.store import Store


@dataclass(frozen=True, slots=True)
class PastSession:
    start_ts: float
    wh: float | None  # GPU + CPU, None when neither was known
    images: int | None  # None when the tool's images were not counted
    active_s: float | None
    tool: str | None = None


@dataclass(frozen=True, slots=True)
class Occasion:
    ts: float  # a session's start, or the start of a day or week
    value: float  # in the rule's unit


@dataclass(frozen=True, slots=True)
class Series:
    kind: Kind
    occasions: tuple[Occasion, ...]  # oldest first


@dataclass(frozen=True, slots=True)
class Past:
    """A year of the user's sessions, oldest first, and how to cut it into days and weeks."""

    now: float
    sessions: tuple[PastSession, ...]
    day_start_hour: int = 0
    tz: tzinfo | None = None  # None: the system's local time
    # Series already cut, by what they were cut with: the window re-counts on every keystroke,
    # and cutting 10 000 sessions into days is the costly part (local dates).
    _cache: dict[object, Series] = field(default_factory=dict, compare=False, repr=False)

    def per_session(self, value: Callable[[PastSession], float | None]) -> Series:
        key = ("session", getattr(value, "__code__", value))
        if key not in self._cache:
            found = ((s.start_ts, value(s)) for s in self.sessions)
            occasions = tuple(Occasion(ts, v) for ts, v in found if v is not None)
            self._cache[key] = Series("session", occasions)
        return self._cache[key]

    def per_period(self, week: bool) -> Series:
        """Energy per day (or week) with at least one session of known energy, by start day.

        A session that crosses the day start counts for the day it began: the History window's
        day view splits it by samples, but a threshold comparison needs no such precision."""
        key = ("week" if week else "day", self.day_start_hour)
        if key in self._cache:
            return self._cache[key]
        totals: dict[float, float] = {}
        start, end = 0.0, -1.0  # the period holding the previous session: most share one
        for s in self.sessions:
            if s.wh is None:
                continue
            if not start <= s.start_ts < end:
                start = days.period_start(s.start_ts, self.day_start_hour, week, self.tz)
                end = days.period_start(start + (8.5 if week else 1.5) * 86400.0,
                                        self.day_start_hour, week, self.tz)  # fmt: skip
            totals[start] = totals.get(start, 0.0) + s.wh
        occasions = tuple(Occasion(ts, wh) for ts, wh in sorted(totals.items()))
        self._cache[key] = Series("week" if week else "day", occasions)
        return self._cache[key]


def load(store: Store, now: float, day_start_hour: int, tz: tzinfo | None = None) -> Past:
    """The last year of sessions, in one query served by the start_ts index."""
    from tray_app.store.queries import past_sessions

    return from_rows(past_sessions(store, now - LOOKBACK_DAYS * 86400.0, now), now,
                     day_start_hour, tz)  # fmt: skip


def from_rows(rows: Sequence[Sequence[object]], now: float, day_start_hour: int,
              tz: tzinfo | None = None) -> Past:  # fmt: skip
    """(start_ts, gpu_wh, cpu_wh, images, active_s, tool) rows, oldest first."""
    sessions = tuple(
        PastSession(
            float(start),  # type: ignore[arg-type]
            known_total(_num(gpu), _num(cpu)),
            int(images) if isinstance(images, (int, float)) else None,
            _num(active),
            str(tool) if tool else None,
        )
        for start, gpu, cpu, images, active, tool in rows
    )
    return Past(now, sessions, day_start_hour, tz)


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class WouldHave:
    kind: Kind
    hits: int  # occasions at or past the threshold
    of: int  # occasions looked at (the last LAST_N)
    last_ts: float | None  # the latest occasion at or past it


def would_have(series: Series, threshold: float) -> WouldHave:
    """How often the last LAST_N occasions reached `threshold` (a rule speaks once per
    occasion, however far past it goes: the follow-up is not counted as a second reminder)."""
    recent = series.occasions[-LAST_N:]
    hits = [o for o in recent if o.value >= threshold]
    return WouldHave(series.kind, len(hits), len(recent), hits[-1].ts if hits else None)


@dataclass(frozen=True, slots=True)
class Suggestion:
    kind: Kind
    value: float  # rounded to a figure a person would type, within the setting's range
    of: int  # occasions of the last SUGGEST_DAYS it was drawn from
    hits: int  # of those, how many would have been reminded with it
    days: int = SUGGEST_DAYS
    percentile: int = SUGGEST_PERCENTILE


@dataclass(frozen=True, slots=True)
class TooFew:
    kind: Kind
    of: int  # occasions in the last SUGGEST_DAYS: fewer than MIN_FOR_SUGGESTION
    needed: int = MIN_FOR_SUGGESTION
    days: int = SUGGEST_DAYS


def suggest(
    series: Series, now: float, minimum: float, maximum: float, whole: bool = False
) -> Suggestion | TooFew:
    """The SUGGEST_PERCENTILE-th percentile of the last SUGGEST_DAYS, rounded to two
    significant figures (64 Wh, 1 300 Wh, 45 min) and kept within the setting's range."""
    since = now - SUGGEST_DAYS * 86400.0
    values = sorted(o.value for o in series.occasions if o.ts >= since)
    if len(values) < MIN_FOR_SUGGESTION:
        return TooFew(series.kind, len(values))
    value = min(max(nice(percentile(values, SUGGEST_PERCENTILE), whole), minimum), maximum)
    hits = sum(1 for v in values if v >= value)
    return Suggestion(series.kind, value, len(values), hits)


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, without numpy)."""
    if not sorted_values:
        raise ValueError("no values")
    rank = (len(sorted_values) - 1) * pct / 100
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def nice(value: float, whole: bool = False) -> float:
    """Two significant figures: 63.7 -> 64, 1 287 -> 1 300, 0.456 -> 0.46 (whole: at least 1)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0 if whole else 0.0
    step = 10 ** (math.floor(math.log10(value)) - 1)
    rounded = round(value / step) * step
    if whole:
        return float(max(1, round(rounded)))
    return round(rounded, max(0, -math.floor(math.log10(step))))
