"""The settings as typed, read-only attributes: `settings.reminders.session_wh`.

GENERATED from tray_app/config/schema.py by `python -m tray_app.config.codegen`: do not
edit by hand. Defaults, ranges and descriptions live in the schema only; this file knows
names and types. Build one with `tray_app.config.settings.typed(values)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class RemindersPowerLimit:
    enabled: bool  # reminders.power_limit.enabled


@dataclass(frozen=True, slots=True)
class RemindersIdleWaste:
    enabled: bool  # reminders.idle_waste.enabled


@dataclass(frozen=True, slots=True)
class RemindersQuietHours:
    enabled: bool  # reminders.quiet_hours.enabled
    start: str  # reminders.quiet_hours.start
    end: str  # reminders.quiet_hours.end


@dataclass(frozen=True, slots=True)
class Retention:
    full_rate_days: int  # retention.full_rate_days


@dataclass(frozen=True, slots=True)
class Tools:
    extra_patterns: list[dict[str, str]]  # tools.extra_patterns


@dataclass(frozen=True, slots=True)
class Images:
    output_dirs: list[str]  # images.output_dirs


@dataclass(frozen=True, slots=True)
class Reminders:
    enabled: bool  # reminders.enabled
    session_wh_enabled: bool  # reminders.session_wh.enabled
    session_wh: float  # reminders.session_wh
    daily_wh_enabled: bool  # reminders.daily_wh.enabled
    daily_wh: float  # reminders.daily_wh
    continuous_min_enabled: bool  # reminders.continuous_min.enabled
    continuous_min: int  # reminders.continuous_min
    images_enabled: bool  # reminders.images.enabled
    images: int  # reminders.images
    power_limit: RemindersPowerLimit
    power_limit_pct: int  # reminders.power_limit_pct
    power_limit_min: int  # reminders.power_limit_min
    idle_waste: RemindersIdleWaste
    idle_waste_min: int  # reminders.idle_waste_min
    idle_waste_auto_free: bool  # reminders.idle_waste_auto_free
    budget_period: Literal["off", "day", "week"]  # reminders.budget_period
    budget_wh: float  # reminders.budget_wh
    cooldown_min: int  # reminders.cooldown_min
    quiet_hours: RemindersQuietHours


@dataclass(frozen=True, slots=True)
class Metrics:
    enabled: bool  # metrics.enabled
    port: int  # metrics.port
    bind: str  # metrics.bind
    token: str  # metrics.token


@dataclass(frozen=True, slots=True)
class TypedSettings:
    language: Literal["auto", "en", "fr"]  # language
    country: str  # country
    start_at_login: bool  # start_at_login
    sample_interval_s: float  # sample_interval_s
    idle_split_min: int  # idle_split_min
    idle_power_w: float  # idle_power_w
    day_start_hour: int  # day_start_hour
    cpu_tdp_w: int  # cpu_tdp_w
    per_process_attribution: bool  # per_process_attribution
    carbon_g_per_kwh: float  # carbon_g_per_kwh
    price_per_kwh: float  # price_per_kwh
    currency: str  # currency
    phone_charge_wh: float  # phone_charge_wh
    retention: Retention
    tools: Tools
    images: Images
    reminders: Reminders
    metrics: Metrics


# Attribute path -> schema key, for every value (what `key_of` and `value_of` use).
KEYS: dict[str, str] = {
    "language": "language",
    "country": "country",
    "start_at_login": "start_at_login",
    "sample_interval_s": "sample_interval_s",
    "idle_split_min": "idle_split_min",
    "idle_power_w": "idle_power_w",
    "day_start_hour": "day_start_hour",
    "cpu_tdp_w": "cpu_tdp_w",
    "per_process_attribution": "per_process_attribution",
    "carbon_g_per_kwh": "carbon_g_per_kwh",
    "price_per_kwh": "price_per_kwh",
    "currency": "currency",
    "phone_charge_wh": "phone_charge_wh",
    "retention.full_rate_days": "retention.full_rate_days",
    "tools.extra_patterns": "tools.extra_patterns",
    "images.output_dirs": "images.output_dirs",
    "reminders.enabled": "reminders.enabled",
    "reminders.session_wh_enabled": "reminders.session_wh.enabled",
    "reminders.session_wh": "reminders.session_wh",
    "reminders.daily_wh_enabled": "reminders.daily_wh.enabled",
    "reminders.daily_wh": "reminders.daily_wh",
    "reminders.continuous_min_enabled": "reminders.continuous_min.enabled",
    "reminders.continuous_min": "reminders.continuous_min",
    "reminders.images_enabled": "reminders.images.enabled",
    "reminders.images": "reminders.images",
    "reminders.power_limit.enabled": "reminders.power_limit.enabled",
    "reminders.power_limit_pct": "reminders.power_limit_pct",
    "reminders.power_limit_min": "reminders.power_limit_min",
    "reminders.idle_waste.enabled": "reminders.idle_waste.enabled",
    "reminders.idle_waste_min": "reminders.idle_waste_min",
    "reminders.idle_waste_auto_free": "reminders.idle_waste_auto_free",
    "reminders.budget_period": "reminders.budget_period",
    "reminders.budget_wh": "reminders.budget_wh",
    "reminders.cooldown_min": "reminders.cooldown_min",
    "reminders.quiet_hours.enabled": "reminders.quiet_hours.enabled",
    "reminders.quiet_hours.start": "reminders.quiet_hours.start",
    "reminders.quiet_hours.end": "reminders.quiet_hours.end",
    "metrics.enabled": "metrics.enabled",
    "metrics.port": "metrics.port",
    "metrics.bind": "metrics.bind",
    "metrics.token": "metrics.token",
}


def build(v: Mapping[str, Any]) -> TypedSettings:
    """From a complete mapping of valid values (every key of the schema)."""
    return TypedSettings(
        language=v["language"],
        country=v["country"],
        start_at_login=v["start_at_login"],
        sample_interval_s=v["sample_interval_s"],
        idle_split_min=v["idle_split_min"],
        idle_power_w=v["idle_power_w"],
        day_start_hour=v["day_start_hour"],
        cpu_tdp_w=v["cpu_tdp_w"],
        per_process_attribution=v["per_process_attribution"],
        carbon_g_per_kwh=v["carbon_g_per_kwh"],
        price_per_kwh=v["price_per_kwh"],
        currency=v["currency"],
        phone_charge_wh=v["phone_charge_wh"],
        retention=Retention(
            full_rate_days=v["retention.full_rate_days"],
        ),
        tools=Tools(
            extra_patterns=v["tools.extra_patterns"],
        ),
        images=Images(
            output_dirs=v["images.output_dirs"],
        ),
        reminders=Reminders(
            enabled=v["reminders.enabled"],
            session_wh_enabled=v["reminders.session_wh.enabled"],
            session_wh=v["reminders.session_wh"],
            daily_wh_enabled=v["reminders.daily_wh.enabled"],
            daily_wh=v["reminders.daily_wh"],
            continuous_min_enabled=v["reminders.continuous_min.enabled"],
            continuous_min=v["reminders.continuous_min"],
            images_enabled=v["reminders.images.enabled"],
            images=v["reminders.images"],
            power_limit=RemindersPowerLimit(
                enabled=v["reminders.power_limit.enabled"],
            ),
            power_limit_pct=v["reminders.power_limit_pct"],
            power_limit_min=v["reminders.power_limit_min"],
            idle_waste=RemindersIdleWaste(
                enabled=v["reminders.idle_waste.enabled"],
            ),
            idle_waste_min=v["reminders.idle_waste_min"],
            idle_waste_auto_free=v["reminders.idle_waste_auto_free"],
            budget_period=v["reminders.budget_period"],
            budget_wh=v["reminders.budget_wh"],
            cooldown_min=v["reminders.cooldown_min"],
            quiet_hours=RemindersQuietHours(
                enabled=v["reminders.quiet_hours.enabled"],
                start=v["reminders.quiet_hours.start"],
                end=v["reminders.quiet_hours.end"],
            ),
        ),
        metrics=Metrics(
            enabled=v["metrics.enabled"],
            port=v["metrics.port"],
            bind=v["metrics.bind"],
            token=v["metrics.token"],
        ),
    )
