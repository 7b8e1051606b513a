"""Equivalents must be honest: stated assumptions, no "0 phone charges", sane units."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tray_app.reminders.equivalents import (
    equivalents,
    fmt_duration,
    fmt_energy,
    fmt_mass,
    fmt_money,
    fmt_number,
    phone_charges,
)
from tray_app.system import i18n


@pytest.mark.parametrize(
    ("wh", "expected"),
    [
        (52, "about 4 phone charges (13\u00a0Wh each)"),
        (4.3, "about a third of a phone charge (13\u00a0Wh per charge)"),
        (6.5, "about half a phone charge (13\u00a0Wh per charge)"),
        (0.5, "less than a tenth of a phone charge (13\u00a0Wh per charge)"),
        (13, "about one phone charge (13\u00a0Wh per charge)"),
        (19.5, "about one and a half phone charges (13\u00a0Wh each)"),
        (32.5, "about 2.5 phone charges (13\u00a0Wh each)"),
        (130, "about 10 phone charges (13\u00a0Wh each)"),
        (13_000, "about 1,000 phone charges (13\u00a0Wh each)"),
    ],
)
def test_phone_charges_are_worded_like_a_person_would(wh, expected):
    assert phone_charges(wh, 13).text == expected


def test_phone_charge_size_is_stated_as_configured():
    assert phone_charges(50, 12.5).text == "about 4 phone charges (12.5\u00a0Wh each)"
    # A nonsensical setting falls back to the documented 13 Wh instead of dividing by zero.
    assert "(13\u00a0Wh each)" in phone_charges(52, 0).text


@given(st.floats(min_value=0, max_value=1e7, allow_nan=False))
def test_never_zero_phone_charges(wh):
    text = phone_charges(wh, 13).text
    assert re.search(r"(?<![\d,.])0 phone charge", text) is None, text


@pytest.mark.parametrize(
    ("grams", "expected"),
    [
        (0.01, "less than 0.1\u00a0g"),
        (2.84, "2.8\u00a0g"),
        (9.96, "10\u00a0g"),
        (421.4, "421\u00a0g"),
        (999.6, "1.0\u00a0kg"),
        (1_340, "1.3\u00a0kg"),
        (12_345, "12\u00a0kg"),
    ],
)
def test_co2_mass_rounding_and_units(grams, expected):
    assert fmt_mass(grams) == expected


@pytest.mark.parametrize(
    ("wh", "expected"),
    [(4.23, "4.2\u00a0Wh"), (9.96, "10\u00a0Wh"), (52.4, "52\u00a0Wh"), (999.7, "1.00\u00a0kWh"), (12_340, "12.3\u00a0kWh")],
)
def test_energy_rounding(wh, expected):
    assert fmt_energy(wh) == expected


def test_estimated_energy_is_labelled():
    assert fmt_energy(52, estimated=True) == "52\u00a0Wh (estimated)"


def test_money_formats():
    assert fmt_money(0.126, "EUR") == "€0.13"
    assert fmt_money(0.5, "CHF") == "0.50\u00a0CHF"
    assert fmt_money(0.001, "USD") == "less than $0.01"
    i18n.set_language("fr")
    assert fmt_money(0.126, "EUR") == "0,13\u00a0€"
    assert fmt_money(0.001, "EUR") == "moins de 0,01\u00a0€"


def test_french_numbers_use_french_typography():
    i18n.set_language("fr")
    assert fmt_number(1234.5, 1) == "1\u202f234,5"
    assert fmt_energy(4.23) == "4,2\u00a0Wh"
    assert fmt_duration(65 * 60) == "1\u00a0h 05"


def test_durations_never_say_zero_minutes():
    assert fmt_duration(10) == "1\u00a0min"
    assert fmt_duration(45 * 60) == "45\u00a0min"
    assert fmt_duration(125 * 60) == "2\u00a0h 05\u00a0min"


def test_equivalents_state_their_assumptions_and_skip_unknown_figures():
    full = equivalents(52, 13, carbon_g_per_kwh=56, price_per_kwh=0.25, currency="EUR")
    assert full.text == (
        "about 4 phone charges (13\u00a0Wh each), 2.9\u00a0g CO₂e (grid at 56\u00a0g/kWh) and €0.01 (at €0.25/kWh)"
    )
    assert full.values["co2_g"] == pytest.approx(2.91, abs=0.01)
    assert full.values["cost"] == pytest.approx(0.013, abs=1e-3)
    bare = equivalents(52, 13, carbon_g_per_kwh=None, price_per_kwh=None)
    assert bare.text == "about 4 phone charges (13\u00a0Wh each)"  # no invented carbon figure or price
    assert "co2_g" not in bare.values and "cost" not in bare.values
    assert "and" in equivalents(52, 13, carbon_g_per_kwh=237.6).text
