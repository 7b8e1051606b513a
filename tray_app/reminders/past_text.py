"""The words beside a threshold in the Settings window: what it would have meant on the user's
history (`past.py`), a suggestion from it, or, with no history yet, the published range. Qt-free."""

from __future__ import annotations

from datetime import date

from tray_app.images.models import AVERAGE_REFERENCE, OTHER_REFERENCES, REFERENCES, Reference
from tray_app.reminders.past import Kind, Suggestion, TooFew, WouldHave
from tray_app.system import days, fmt
from tray_app.system.i18n import _, ngettext


def when(ts: float, now: float, day_start_hour: int = 0, week: bool = False) -> str:
    """today, yesterday, Tuesday (within the week), 3 November, 3 November 2025; for a week,
    "the week of 3 November"."""
    day = days.day_of(ts, day_start_hour)
    today = days.day_of(now, day_start_hour)
    if week:
        return _("the week of {day}").format(day=_day_text(day, today))
    gap = (today - day).days
    if gap == 0:
        return _("today")
    if gap == 1:
        return _("yesterday")
    if 1 < gap < 7:
        return fmt.weekday(day)
    return _day_text(day, today)


def _day_text(day: date, today: date) -> str:
    return fmt.day_month(day) if day.year == today.year else fmt.long_date(day, weekday=False)


def would_have_text(result: WouldHave, now: float, day_start_hour: int = 0) -> str:
    """"Would have reminded you in 12 of your last 40 sessions (last: Tuesday)."""
    n, hits = result.of, result.hits
    if n == 0:
        return ""
    if hits == 0:
        return _none_of(result.kind, n).format(n=fmt.count(n))
    last = when(result.last_ts or now, now, day_start_hour, week=result.kind == "week")
    return _some_of(result.kind, n).format(hits=fmt.count(hits), n=fmt.count(n), when=last)


def _none_of(kind: Kind, n: int) -> str:
    if kind == "day":
        return ngettext("Would not have reminded you on your last day with sessions.",
                        "Would not have reminded you on any of your last {n} days with sessions.",
                        n)  # fmt: skip
    if kind == "week":
        return ngettext("Would not have reminded you in your last week with sessions.",
                        "Would not have reminded you in any of your last {n} weeks with sessions.",
                        n)  # fmt: skip
    return ngettext("Would not have reminded you in your last session.",
                    "Would not have reminded you in any of your last {n} sessions.", n)  # fmt: skip


def _some_of(kind: Kind, n: int) -> str:
    if kind == "day":
        return ngettext("Would have reminded you on your last day with sessions ({when}).",
                        "Would have reminded you on {hits} of your last {n} days with sessions "
                        "(last: {when}).", n)  # fmt: skip
    if kind == "week":
        return ngettext("Would have reminded you in your last week with sessions ({when}).",
                        "Would have reminded you in {hits} of your last {n} weeks with sessions "
                        "(last: {when}).", n)  # fmt: skip
    return ngettext("Would have reminded you in your last session ({when}).",
                    "Would have reminded you in {hits} of your last {n} sessions (last: {when}).",
                    n)  # fmt: skip


def suggestion_text(result: Suggestion | TooFew, value_text: str) -> str:
    """What "Suggest from my history" proposes, and from what, before anything is applied."""
    if isinstance(result, TooFew):
        return _too_few(result.kind, result.of).format(
            n=fmt.count(result.of), days=fmt.count(result.days), needed=fmt.count(result.needed)
        )
    return _suggested(result.kind, result.of).format(
        value=value_text, n=fmt.count(result.of), days=fmt.count(result.days),
        pct=fmt.count(result.percentile), hits=fmt.count(result.hits),
    )  # fmt: skip


def _too_few(kind: Kind, n: int) -> str:
    if kind == "day":
        return ngettext("Not enough history for a suggestion yet: {n} day with sessions in the "
                        "last {days} days, {needed} needed.",
                        "Not enough history for a suggestion yet: {n} days with sessions in the "
                        "last {days} days, {needed} needed.", n)  # fmt: skip
    if kind == "week":
        return ngettext("Not enough history for a suggestion yet: {n} week with sessions in the "
                        "last {days} days, {needed} needed.",
                        "Not enough history for a suggestion yet: {n} weeks with sessions in the "
                        "last {days} days, {needed} needed.", n)  # fmt: skip
    return ngettext("Not enough history for a suggestion yet: {n} session in the last {days} "
                    "days, {needed} needed.",
                    "Not enough history for a suggestion yet: {n} sessions in the last {days} "
                    "days, {needed} needed.", n)  # fmt: skip


def _suggested(kind: Kind, n: int) -> str:
    # n >= MIN_FOR_SUGGESTION here, but the plural still goes through ngettext.
    if kind == "day":
        return ngettext("Suggested: {value}, the {pct}th percentile of your {n} day with sessions "
                        "in the last {days} days (a reminder on {hits} of them).",
                        "Suggested: {value}, the {pct}th percentile of your {n} days with sessions "
                        "in the last {days} days (a reminder on {hits} of them).", n)  # fmt: skip
    if kind == "week":
        return ngettext("Suggested: {value}, the {pct}th percentile of your {n} week with sessions "
                        "in the last {days} days (a reminder in {hits} of them).",
                        "Suggested: {value}, the {pct}th percentile of your {n} weeks with "
                        "sessions in the last {days} days (a reminder in {hits} of them).",
                        n)  # fmt: skip
    return ngettext("Suggested: {value}, the {pct}th percentile of your {n} session in the last "
                    "{days} days (a reminder in {hits} of them).",
                    "Suggested: {value}, the {pct}th percentile of your {n} sessions in the last "
                    "{days} days (a reminder in {hits} of them).", n)  # fmt: skip


def _references() -> list[Reference]:
    return [*REFERENCES.values(), *OTHER_REFERENCES, AVERAGE_REFERENCE]


def typical_range() -> tuple[Reference, Reference]:
    """The lowest and highest published Wh per image we know (images/models.py)."""
    refs = _references()
    return min(refs, key=lambda r: r.wh_per_image), max(refs, key=lambda r: r.wh_per_image)


def cite(ref: Reference) -> str:
    """A short citation: "ML.ENERGY leaderboard, 2024", "Luccioni et al., 2024" (the full
    source and address are in `images.models` and the Settings window's tooltip)."""
    authors = ref.source.split(",")
    name = f"{authors[0]} et al." if len(authors) > 2 else ref.source
    return f"{name}, {ref.published}" if ref.published else name


def sources_text() -> str:
    """The full sources of the typical range, one per line (tooltip)."""
    return "\n".join(f"{r.wh_per_image:g} Wh: {r.source} ({r.model}), {r.url}"
                     for r in typical_range())  # fmt: skip


def no_history_text(wh_threshold: float | None) -> str:
    """With nothing in the store yet: for an energy threshold, how many images it is by the
    published figures (with their sources); otherwise simply that there is nothing yet."""
    if wh_threshold is None or wh_threshold <= 0:
        return _("Nothing in your history to compare with yet.")
    low, high = typical_range()
    return _(
        "No history yet. Published figures put one image at {low} to {high} Wh ({low_source}; "
        "{high_source}), so {threshold} Wh is about {few} to {many} images."
    ).format(
        low=fmt.flexible(low.wh_per_image), high=fmt.flexible(round(high.wh_per_image, 1)),
        low_source=cite(low), high_source=cite(high),
        threshold=fmt.flexible(wh_threshold),
        few=fmt.count(max(1, round(wh_threshold / high.wh_per_image))),
        many=fmt.count(max(1, round(wh_threshold / low.wh_per_image))),
    )  # fmt: skip
