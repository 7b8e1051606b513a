"""Numbers, dates and durations as each language writes them (tray_app/system/fmt.py)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tray_app.system import fmt, i18n

NNBSP = "\u202f"


@pytest.mark.parametrize(
    "value,decimals,en,fr",
    [
        (1234.5, 1, "1,234.5", f"1{NNBSP}234,5"),
        (0.073, 3, "0.073", "0,073"),
        (-1234567.891, 2, "-1,234,567.89", f"-1{NNBSP}234{NNBSP}567,89"),
        (12, 0, "12", "12"),
        (None, 1, "?", "?"),  # unknown is never 0
    ],
)
def test_number(value, decimals, en, fr):
    assert fmt.number(value, decimals, "en") == en
    assert fmt.number(value, decimals, "fr") == fr


def test_templates_format_their_numbers_in_the_current_language():
    i18n.set_language("fr")
    try:
        assert i18n._("{wh:.1f} Wh").format(wh=1234.5) == f"1{NNBSP}234,5\u00a0Wh"
        assert i18n._("{w:5.1f} W").format(w=3.25) == "  3,2\u00a0W"  # widths still line up
        assert i18n._("{year}").format(year=2026) == "2026"  # integers: no grouping…
        assert i18n._("{n} images").format(n=12345) == f"12{NNBSP}345\u00a0images"  # …but counts
        assert i18n._("{pct:.0%}").format(pct=0.4) == f"40{NNBSP}%"
        assert i18n._("{name}").format(name="v1.2.3") == "v1.2.3"  # text is left alone
    finally:
        i18n.set_language("en")
    assert i18n._("{wh:.1f} Wh").format(wh=1234.5) == "1,234.5\u00a0Wh"


def test_counts_are_grouped_where_people_read_them():
    assert fmt.count(44291, "fr") == f"44{NNBSP}291" and fmt.count(44291, "en") == "44,291"
    assert fmt.count(7, "fr") == "7"


@pytest.mark.parametrize("field", sorted(fmt.COUNT_FIELDS))
def test_count_fields_group_a_bare_integer_in_both_languages(field):
    template = "{" + field + "} / {" + field + ":02d} / {port} / {pid} / {id}"
    values = {field: 12345, "port": 8188, "pid": 123456, "id": 10001}
    fr = i18n.translate(template, "fr").format(**values)
    assert fr == f"12{NNBSP}345 / 12345 / 8188 / 123456 / 10001"
    en = i18n.translate(template, "en").format(**values)
    assert en == "12,345 / 12345 / 8188 / 123456 / 10001"
    bare = i18n.translate("{" + field + "}", "en")
    assert bare.format(**{field: "12345"}) == "12345"  # text stays text
    assert bare.format(**{field: True}) == "True"


def test_flexible_echoes_a_setting_without_fake_precision():
    assert fmt.flexible(0.5, "fr") == "0,5"
    assert fmt.flexible(60.0, "fr") == "60"
    assert fmt.flexible(1_000_000, "fr") == f"1{NNBSP}000{NNBSP}000"
    assert fmt.flexible(1_000_000, "fr", group=False) == "1000000"
    assert fmt.flexible(0.1, "en") == "0.1"


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_french_numbers_read_back(value):
    text = fmt.number(value, 2, "fr")
    assert "." not in text
    assert float(text.replace(NNBSP, "").replace(",", ".")) == pytest.approx(round(value, 2))


def test_dates_are_spelled_out_in_each_language():
    assert fmt.long_date(date(2026, 12, 1), "fr") == "mardi 1er décembre 2026"
    assert fmt.long_date(date(2026, 8, 15), "fr") == "samedi 15 août 2026"
    assert fmt.long_date(date(2026, 12, 1), "en") == "Tuesday 1 December 2026"
    assert fmt.day_month(date(2026, 12, 1), "fr") == "1er décembre"


def test_durations():
    i18n.set_language("fr")
    try:
        assert fmt.duration(42) == "42\u00a0s"
        assert fmt.duration(125) == "2\u00a0min"
        assert fmt.duration(3900) == "1\u00a0h 05\u00a0min"
    finally:
        i18n.set_language("en")
    assert fmt.clock_duration(3725) == "1:02:05" and fmt.clock_duration(None) == "?"


NBSP = "\u00a0"


@pytest.mark.parametrize(
    "text,lang,expected",
    [
        ("2,9 Wh", "fr", f"2,9{NBSP}Wh"),
        ("1 h 05 min", "fr", f"1{NBSP}h 05{NBSP}min"),  # only the unit is held to its number
        ("80 % du budget", "fr", f"80{NNBSP}% du budget"),  # French: narrow before %, as CLDR
        ("80 % of budget", "en", f"80{NBSP}% of budget"),
        ("0,25 €, 12 images, 8,2 Go", "fr", f"0,25{NBSP}€, 12{NBSP}images, 8,2{NBSP}Go"),
        ("{wh:.1f} Wh / {value} {unit} / {price:g} {currency}/kWh", "en",
         f"{{wh:.1f}}{NBSP}Wh / {{value}}{NBSP}{{unit}} / {{price:g}}{NBSP}{{currency}}/kWh"),
        ("{n} images, per {model} image", "en", f"{{n}}{NBSP}images, per {{model}} image"),
        # Words that only start like a unit, a name before "s’", and text without numbers: left.
        ("5 minutes, 3 secondes, {tool} s’est arrêté, 2 heures, Wh per image", "fr",
         "5 minutes, 3 secondes, {tool} s’est arrêté, 2 heures, Wh per image"),
    ],
)
def test_a_number_and_its_unit_are_never_parted(text, lang, expected):
    assert fmt.keep_units(text, lang) == expected
    assert fmt.keep_units(expected, lang) == expected  # once is enough


def test_with_unit_and_the_templates_follow_the_same_rule():
    assert fmt.with_unit("2,9", "Wh", "fr") == f"2,9{NBSP}Wh"
    assert fmt.with_unit("80", "%", "fr") == f"80{NNBSP}%"
    assert fmt.with_unit("12", "", "fr") == "12"
    assert i18n.translate("{w:.0f} W", "en").format(w=250) == f"250{NBSP}W"  # English source too
    assert i18n.translate("{w:.0f} W", "fr").format(w=1250.0) == f"1{NNBSP}250{NBSP}W"
    assert i18n.translate("Snooze 1 h", "fr") == f"Reporter d’1{NBSP}h"
