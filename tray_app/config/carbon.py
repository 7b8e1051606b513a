"""Reference figures that turn watt-hours into grams of CO₂e and money, by country.

Every figure records its source and year so the UI can say which one it uses ("56 g CO₂e/kWh,
France, Our World in Data 2023"); the user can always override it in the settings. A country we
have no figure for gets the world average (carbon) or a labelled placeholder (price): never 0.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class GridFigure:
    """Average carbon intensity of a country's electricity."""

    country: str | None  # ISO 3166-1 alpha-2, None for the world average
    name: str  # English country name (a msgid for the UI)
    g_per_kwh: float  # grams of CO₂-equivalent per kWh
    source: str
    year: int


@dataclass(frozen=True)
class PriceFigure:
    """Household electricity price, taxes included."""

    country: str | None
    price_per_kwh: float  # in `currency` per kWh
    currency: str  # ISO 4217
    source: str
    year: int | None  # None: not a sourced figure


# Our World in Data, 2023, as shipped by CodeCarbon
# (codecarbon/data/private_infra/global_energy_mix.json, field carbon_intensity), rounded to 0.1.
_OWID = "Our World in Data 2023 (via CodeCarbon)"
GRID_INTENSITY: dict[str, GridFigure] = {
    f.country: f  # type: ignore[misc]  # every entry below has a country
    for f in (
        GridFigure("FR", "France", 56.0, _OWID, 2023),
        GridFigure("GB", "United Kingdom", 237.6, _OWID, 2023),
        GridFigure("US", "United States", 369.5, _OWID, 2023),
        GridFigure("DE", "Germany", 381.0, _OWID, 2023),
        GridFigure("BE", "Belgium", 138.1, _OWID, 2023),
        GridFigure("CA", "Canada", 170.0, _OWID, 2023),
        GridFigure("CH", "Switzerland", 34.8, _OWID, 2023),
        GridFigure("ES", "Spain", 174.1, _OWID, 2023),
        GridFigure("IT", "Italy", 330.7, _OWID, 2023),
        GridFigure("NL", "Netherlands", 267.6, _OWID, 2023),
        GridFigure("PL", "Poland", 661.9, _OWID, 2023),
        GridFigure("SE", "Sweden", 40.7, _OWID, 2023),
        GridFigure("JP", "Japan", 485.4, _OWID, 2023),
    )
}

# CodeCarbon's world average (carbon_intensity_per_source.json, "world_average"). Its source is
# the IEA Global Energy & CO2 Status Report 2019, not Our World in Data: we say so.
WORLD_GRID = GridFigure(None, "World average", 475.0, "IEA Global Energy & CO2 Status Report", 2019)

_EUROSTAT = "Eurostat household prices, 2nd half 2024"
PRICES: dict[str, PriceFigure] = {
    f.country: f  # type: ignore[misc]
    for f in (
        PriceFigure("DE", 0.3943, "EUR", _EUROSTAT, 2024),
        PriceFigure("IE", 0.3699, "EUR", _EUROSTAT, 2024),
        PriceFigure("BE", 0.3313, "EUR", _EUROSTAT, 2024),
        PriceFigure("IT", 0.3111, "EUR", _EUROSTAT, 2024),
        PriceFigure("FR", 0.2926, "EUR", _EUROSTAT, 2024),
        PriceFigure("PT", 0.2626, "EUR", _EUROSTAT, 2024),
        # Ofgem price cap, 1 July - 30 September 2024, direct debit unit rate (22.36 p/kWh).
        PriceFigure("GB", 0.2236, "GBP", "Ofgem price cap, Q3 2024", 2024),
        # EIA: U.S. average residential price, about 16 cents/kWh in 2023.
        PriceFigure("US", 0.16, "USD", "EIA residential average", 2023),
    )
}

# Euro-area members (Bulgaria since 2026) without a figure above get the EU average (same release).
_EURO_AREA = frozenset("AT BE BG CY DE EE ES FI FR GR HR IE IT LT LU LV MT NL PT SI SK".split())
EU_AVERAGE_PRICE = PriceFigure(None, 0.2872, "EUR", "Eurostat EU average, 2nd half 2024", 2024)
# Anywhere else: a round placeholder, labelled as such, until the user sets their own.
PLACEHOLDER_PRICE = PriceFigure(None, 0.25, "EUR", "placeholder: set your own price", None)

_LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}_([A-Za-z]{2})(?:[.@]|$)")


def country_from_locale(environ: dict[str, str] | None = None) -> str | None:
    """The ISO country of the user's locale (LC_ALL, LC_MONETARY, LANG), e.g. 'FR', or None.

    A locale is only a hint (plenty of people everywhere run en_US), so the settings let the user
    name the country explicitly.
    """
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MONETARY", "LANG"):
        value = env.get(var, "")
        if not value or value.split(".")[0] in ("C", "POSIX"):
            continue
        match = _LOCALE_RE.match(value)
        return match.group(1).upper() if match else None
    return None


def grid_figure(country: str | None) -> GridFigure:
    """The carbon intensity for `country`; the world average when we have no figure."""
    return GRID_INTENSITY.get((country or "").upper(), WORLD_GRID)


def price_figure(country: str | None) -> PriceFigure:
    """The electricity price for `country`, with its currency; a labelled fallback otherwise."""
    code = (country or "").upper()
    if code in PRICES:
        return PRICES[code]
    if code in _EURO_AREA:
        return EU_AVERAGE_PRICE
    return PLACEHOLDER_PRICE
