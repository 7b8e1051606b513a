"""Turn watt-hours into things a person can picture: phone charges, grams of CO₂e, money.

Honesty rules: every equivalent states its assumption (Wh per charge, grid intensity, price),
nothing is rounded down to zero ("a third of a phone charge", "less than 0.1 g"), and an
equivalent whose figure is not configured is left out rather than invented.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tray_app.system import fmt
from tray_app.system.i18n import _, current_language

DEFAULT_PHONE_CHARGE_WH = 13.0

# Display symbols for the commonest ISO 4217 codes; anything else is shown as its code.
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "KRW": "₩"}
_PREFIX_SYMBOLS = frozenset("$£¥₹₩€")


def fmt_number(value: float, decimals: int = 0) -> str:
    """A number in the current language's style: 1,234.5 in English, 1 234,5 in French."""
    return fmt.number(value, decimals)


def fmt_flexible(value: float) -> str:
    """A setting echoed back to the user: 13 stays "13", 12.5 stays "12.5" (no fake precision)."""
    return fmt_number(value, 0 if float(value).is_integer() else 1)


def fmt_energy(wh: float, estimated: bool = False) -> str:
    """52 Wh, 4.2 Wh, 1.25 kWh. Rounds first, then picks the unit, so 999.7 Wh reads 1.00 kWh."""
    if round(wh, 1) < 10:
        text = fmt.with_unit(fmt_number(wh, 1), "Wh")
    elif round(wh) < 1000:
        text = fmt.with_unit(fmt_number(wh), "Wh")
    else:
        kwh = wh / 1000
        text = fmt.with_unit(fmt_number(kwh, 2 if round(kwh, 2) < 10 else 1), "kWh")
    return _("{energy} (estimated)").format(energy=text) if estimated else text


def fmt_power(watts: float) -> str:
    return fmt.with_unit(fmt_number(watts), "W")


def fmt_duration(seconds: float) -> str:
    """45 min, 1 h 05 min. Never "0 min": anything under a minute reads "1 min"."""
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return _("{minutes} min").format(minutes=minutes)
    return _("{hours} h {minutes:02d} min").format(hours=minutes // 60, minutes=minutes % 60)


def fmt_mass(grams: float) -> str:
    """CO₂e mass: 2.8 g, 42 g, 1.3 kg, 12 kg; below 0.1 g it says so instead of "0.0 g"."""
    if grams < 0.05:
        return _("less than {mass}").format(mass=fmt.with_unit(fmt_number(0.1, 1), "g"))
    if round(grams, 1) < 10:
        return fmt.with_unit(fmt_number(grams, 1), "g")
    if round(grams) < 1000:
        return fmt.with_unit(fmt_number(grams), "g")
    kg = grams / 1000
    return fmt.with_unit(fmt_number(kg, 1 if round(kg, 1) < 10 else 0), "kg")


def fmt_money(amount: float, currency: str) -> str:
    """€0.12 / 0,12 € / 0.12 CHF (a no-break space: fmt.py's rule); under a cent, "less than
    €0.01"."""
    code = (currency or "").strip()
    symbol = _SYMBOLS.get(code.upper(), code)
    tiny = 0 < amount < 0.005
    number = fmt_number(0.01 if tiny else amount, 2)
    if current_language() == "fr" or symbol not in _PREFIX_SYMBOLS:
        text = fmt.with_unit(number, symbol)  # French writes the symbol after the amount
    else:
        text = f"{symbol}{number}"
    return _("less than {money}").format(money=text) if tiny else text


@dataclass(frozen=True, slots=True)
class PhoneCharges:
    count: float  # exact quotient, for `Reminder.values`
    text: str  # "about 4 phone charges (13 Wh each)"


# Fractions of a charge are named, never printed as "0 phone charges".
def _fraction_texts() -> tuple[tuple[float, str], ...]:
    return (
        (1 / 10, _("about a tenth of a phone charge ({per_charge} Wh per charge)")),
        (1 / 5, _("about a fifth of a phone charge ({per_charge} Wh per charge)")),
        (1 / 4, _("about a quarter of a phone charge ({per_charge} Wh per charge)")),
        (1 / 3, _("about a third of a phone charge ({per_charge} Wh per charge)")),
        (1 / 2, _("about half a phone charge ({per_charge} Wh per charge)")),
        (2 / 3, _("about two thirds of a phone charge ({per_charge} Wh per charge)")),
        (3 / 4, _("about three quarters of a phone charge ({per_charge} Wh per charge)")),
    )


def phone_charges(wh: float, per_charge_wh: float = DEFAULT_PHONE_CHARGE_WH) -> PhoneCharges:
    """How many smartphone charges `wh` would fill, worded the way a person would say it."""
    if not (
        isinstance(per_charge_wh, (int, float))
        and math.isfinite(per_charge_wh)
        and per_charge_wh > 0
    ):
        per_charge_wh = DEFAULT_PHONE_CHARGE_WH
    per = fmt_flexible(per_charge_wh)
    count = max(0.0, wh) / per_charge_wh
    text: str
    if count < 0.075:
        text = _("less than a tenth of a phone charge ({per_charge} Wh per charge)")
    elif count < 0.875:
        text = min(_fraction_texts(), key=lambda item: abs(item[0] - count))[1]
    elif count < 1.25:
        text = _("about one phone charge ({per_charge} Wh per charge)")
    elif count < 1.75:
        text = _("about one and a half phone charges ({per_charge} Wh each)")
    else:
        # Half steps while small (2.5 is honest, "3" would be a 20 % stretch); whole numbers after.
        n = round(count * 2) / 2 if count < 9.75 else float(round(count))
        return PhoneCharges(
            count,
            _("about {n} phone charges ({per_charge} Wh each)").format(
                n=fmt_number(n, 0 if n.is_integer() else 1), per_charge=per
            ),
        )
    return PhoneCharges(count, text.format(per_charge=per))


def co2_grams(wh: float, g_per_kwh: float) -> float:
    return wh / 1000 * g_per_kwh


def cost(wh: float, price_per_kwh: float) -> float:
    return wh / 1000 * price_per_kwh


def _join(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return _("{first} and {last}").format(first=", ".join(parts[:-1]), last=parts[-1])


@dataclass(frozen=True, slots=True)
class Equivalents:
    text: str  # "about 4 phone charges (13 Wh each), 2.8 g CO₂e (grid at 56 g/kWh) and €0.01 (…)"
    values: dict[str, float | str]


def _positive(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value > 0 else None


def equivalents(
    wh: float,
    phone_charge_wh: float = DEFAULT_PHONE_CHARGE_WH,
    carbon_g_per_kwh: float | None = None,
    price_per_kwh: float | None = None,
    currency: str = "EUR",
) -> Equivalents:
    """All the equivalents we can state honestly for `wh`, as one phrase plus the raw numbers."""
    phones = phone_charges(wh, phone_charge_wh)
    parts = [phones.text]
    values: dict[str, float | str] = {"phone_charges": round(phones.count, 3)}
    intensity = _positive(carbon_g_per_kwh)
    if intensity is not None:
        grams = co2_grams(wh, intensity)
        values.update(co2_g=round(grams, 2), carbon_g_per_kwh=intensity)
        parts.append(
            _("{mass} CO₂e (grid at {intensity} g/kWh)").format(
                mass=fmt_mass(grams), intensity=fmt_flexible(intensity)
            )
        )
    price = _positive(price_per_kwh)
    if price is not None:
        amount = cost(wh, price)
        values.update(cost=round(amount, 4), price_per_kwh=price, currency=currency)
        price_text = fmt_money(price, currency)
        parts.append(
            _("{money} (at {price}/kWh)").format(
                money=fmt_money(amount, currency), price=price_text
            )
        )
    return Equivalents(_join(parts), values)
