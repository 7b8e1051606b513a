"""Numbers, dates and durations the way a reader of each language writes them. Qt-free.

Every human-facing figure goes through here (directly, or through `i18n._()`, whose templates
format their numeric fields with `LocaleFormatter`): the CLI, the tray, History, the settings
dialog, reminders and doctor. Machine formats (`--json`, `--csv`, exports) never do: they keep
Python's `repr`-style numbers so scripts can read them back.

French: decimal comma, U+202F NARROW NO-BREAK SPACE between thousands (`1 234,5 Wh`), dates spelled
out as `mardi 1er décembre 2026`. English: `1,234.5 Wh`, `Tuesday 1 December 2026`.

A number and its unit never part at a line break, in either language: U+00A0 NO-BREAK SPACE
before a unit or a currency written after the amount (`2,9 Wh`, `0,25 €`, `0.50 CHF`, `12 min`),
and in French U+202F before `%` (`80 %`); CLDR writes them the same way. English uses the no-break
space too: a reminder wrapping between "2.9" and "Wh" reads as badly in English as in French, and
the SI brochure asks the same of both; it looks exactly like the space it replaces. U+00A0 rather
than U+202F before units: every font and terminal has it (and Latin-1 can encode it), and the
narrow space stays the mark of digit grouping. `with_unit()` joins a number and its unit;
`keep_units()` fixes text already written; `i18n` applies it to every template, so
`_("{wh:.1f} Wh")` cannot break either.

Why hand-written rather than Babel: we speak two languages, and for them the rules fit on this
page. Babel 2.x is 36 MB on disk (the CLDR data for every locale), which PyInstaller would have
to collect into a bundle whose brief is to be frugal; its import plus a first format costs ~18 ms
(measured here, Python 3.11). Babel and this module agree on French (`1\u202f234,5`). The stdlib
`locale` module is no alternative: it depends on which locales the OS has generated (often only
C.UTF-8) and is process-global. If the app ever speaks a third language with other rules (Indian
grouping, other plural forms), that is the moment to adopt Babel. The UI may use `QLocale` for
what Qt draws itself (day and month names in the charts, spin boxes); `tests/ui/test_fmt_qt.py`
checks that both agree.
"""

from __future__ import annotations

import math
import re
import string
from datetime import date, datetime
from typing import Any

NNBSP = "\u202f"  # narrow no-break space: French thousands separator and space before ; ! ? %
UNIT_SPACE = "\u00a0"  # no-break space between a number and its unit or currency, both languages

# decimal mark, thousands separator
_SEPARATORS = {"en": (".", ","), "fr": (",", NNBSP)}

_FR_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_FR_MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)
_EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)

# [[fill]align][sign][z][#][0][width][grouping][.precision][type] (the format mini-language)
_SPEC = re.compile(
    r"^(?P<head>(?:.?[<>=^])?[-+ ]?z?#?0?\d*)(?P<group>[,_]?)(?P<tail>(?:\.\d+)?)(?P<type>[a-zA-Z%]?)$"
)


def _lang(lang: str | None) -> str:
    if lang is None:
        from tray_app.system.i18n import current_language

        lang = current_language()
    return lang if lang in _SEPARATORS else "en"


def localize(text: str, lang: str | None = None) -> str:
    """Swap the separators of a number Python formatted (`1,234.5`) into the language's own."""
    decimal, thousands = _SEPARATORS[_lang(lang)]
    return text.translate({ord("."): decimal, ord(","): thousands})


def format_number(value: float, spec: str = "", lang: str | None = None) -> str:
    """`format(value, spec)` in the language's style, with thousands grouped for floats.

    Integers are left ungrouped unless the spec asks (`{n:,}`): years, IDs and ports are integers
    too, and "2 026" would be wrong; in templates, count fields group themselves (COUNT_FIELDS).
    Specs we do not understand are honoured as Python would.
    """
    match = _SPEC.match(spec)
    if match is None or match["type"] in ("c", "b", "o", "x", "X", "s"):
        return format(value, spec)
    group = match["group"]
    if isinstance(value, float) and not group and math.isfinite(value):
        group = ","
    if group == "_":
        group = ","
    text = format(value, f"{match['head']}{group}{match['tail']}{match['type']}")
    if match["type"] == "%":
        text = text[:-1] + (NNBSP + "%" if _lang(lang) == "fr" else "%")
    return localize(text, lang)


def number(value: float | None, decimals: int = 1, lang: str | None = None) -> str:
    """`value` with a fixed number of decimals: 1,234.5 / 1 234,5. None reads "?" (never 0)."""
    if value is None:
        return "?"
    return format_number(float(value), f",.{decimals}f", lang)


def count(n: int, lang: str | None = None) -> str:
    """A count a person reads: 44,291 images / 44 291 images (IDs, years and ports stay bare)."""
    return format_number(int(n), ",d", lang)


def flexible(value: float, lang: str | None = None, group: bool = True) -> str:
    """A figure without fake precision: 13, 12.5, 0.073, 1,000,000 (1 000 000 in French).

    `group=False` keeps a setting as the user types it (5000), so what `config get` prints can be
    pasted back into `config set`.
    """
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int):
        return format_number(value, ",d" if group else "d", lang)
    text = f"{value:,.10g}" if group else f"{value:.10g}"
    return localize(text, lang)


def unit_space(unit: str, lang: str | None = None) -> str:
    """The no-break space that goes before `unit`: U+202F before % in French, else U+00A0."""
    return NNBSP if unit.startswith("%") and _lang(lang) == "fr" else UNIT_SPACE


def with_unit(number_text: str, unit: str, lang: str | None = None) -> str:
    """`2,9` + `Wh` → `2,9 Wh`, the two never parted by a line break."""
    return f"{number_text}{unit_space(unit, lang)}{unit}" if unit else number_text


# A unit after a digit (or, in a template, after a field): ours (Wh, W, g, min, h, s, MB/Mo),
# currency symbols and %, and a template's `{unit}` / `{currency}` field; "images", the unit of
# the image reminders, only after a digit or `{n}` ("per {model} image" is no quantity). Never
# before a letter or an apostrophe, so "{tool} s’est arrêté" and "5 minutes" are left alone.
_BEFORE_UNIT = re.compile(
    r"(?<=[\d}]) (?=(?P<unit>k?Wh|k?W|k?g|min|ms|h|s|[kMG]B|[kMG]o|[€$£¥₹₩%]"
    r"|\{unit\}|\{currency\})(?![\w'’]))"
    r"|(?:(?<=\d)|(?<=\{n\})) (?=images?(?![\w'’]))"
)


def keep_units(text: str, lang: str | None = None) -> str:
    """Every plain space between a number and its unit made no-break (see the module's rule):
    "2.9 Wh", "80 %", "0,25 €", "1 h 05 min" never wrap between the figure and what it counts."""
    return _BEFORE_UNIT.sub(lambda m: unit_space(m["unit"] or "", lang), text)


def long_date(day: date, lang: str | None = None, weekday: bool = True) -> str:
    """Tuesday 1 December 2026 / mardi 1er décembre 2026."""
    if _lang(lang) == "fr":
        d = "1er" if day.day == 1 else str(day.day)  # French writes the first of the month 1er
        text = f"{d} {_FR_MONTHS[day.month - 1]} {day.year}"
        return f"{_FR_DAYS[day.weekday()]} {text}" if weekday else text
    text = f"{day.day} {_EN_MONTHS[day.month - 1]} {day.year}"
    return f"{_EN_DAYS[day.weekday()]} {text}" if weekday else text


def weekday(day: date, lang: str | None = None) -> str:
    """Tuesday / mardi."""
    return (_FR_DAYS if _lang(lang) == "fr" else _EN_DAYS)[day.weekday()]


def day_month(day: date, lang: str | None = None) -> str:
    """1 December / 1er décembre (chart labels, short references to a day of this year)."""
    return long_date(day, lang, weekday=False).rsplit(" ", 1)[0]


def clock(ts: float, seconds: bool = False) -> str:
    """14:05 (both languages use the 24-hour clock here, as the rest of the app does)."""
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S" if seconds else "%H:%M")


def date_time(ts: float) -> str:
    """2026-12-01 14:05: the sortable form, for table columns in both languages."""
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def duration(seconds: float, lang: str | None = None) -> str:
    """45 s, 12 min, 1 h 05 min, 26 h 00 min: the largest unit that still says something."""
    from tray_app.system.i18n import _

    s = max(0, int(round(seconds)))
    if s < 60:
        return _("{n} s").format(n=s)
    minutes = int(round(s / 60)) if s < 3600 else s // 60
    if minutes < 60:
        return _("{n} min").format(n=minutes)
    return _("{h} h {m:02d} min").format(h=minutes // 60, m=minutes % 60)


def clock_duration(seconds: float | None) -> str:
    """H:MM:SS for table columns (same in every language)."""
    if seconds is None:
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


# Template fields that hold a count a person reads ("{n} sessions", "Showing {shown} of {total}"):
# a bare integer there is grouped as `count()` writes it (12 345 / 12,345), so a call site cannot
# forget. Any other integer field (a year, an ID, a port, a PID, an index) stays bare unless its
# spec asks (`{x:,}`).
COUNT_FIELDS = frozenset({"n", "images", "total", "shown", "added", "skipped", "limit"})


class _Count(int):
    """An int read from a COUNT_FIELDS field: grouped when its field has no format spec."""


class LocaleFormatter(string.Formatter):
    """`str.format` whose numeric fields come out in the language's style (`{wh:.1f}` → 1 234,5).

    Strings, including numbers already formatted as text, pass through untouched.
    """

    def __init__(self, lang: str | None = None) -> None:
        self.lang = lang

    def get_value(self, key: int | str, args: Any, kwargs: Any) -> Any:
        value = super().get_value(key, args, kwargs)
        if key in COUNT_FIELDS and type(value) is int:
            return _Count(value)
        return value

    def format_field(self, value: Any, format_spec: str) -> Any:
        if isinstance(value, _Count) and not format_spec:
            return count(value, self.lang)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return format_number(value, format_spec, self.lang)
        return super().format_field(value, format_spec)
