"""Every setting, declared once: key, type (with its range or choices), default, unit, a
one-line description, its Settings-window tab and whether a running app applies a change live
or at its next start. The CLI, load-time validation, the settings dialog and the typed view
(`config/typed.py`, generated) all read `SCHEMA`.

Adding a setting: one `Option` in `SCHEMA` below, then `python -m tray_app.config.codegen` to
regenerate the typed view, and read it as `settings.<section>.<name>`. Mark it `applies=LIVE`
only if the running app applies it (tests/test_live_settings.py has one test per live option).

Types validate JSON-like values and parse CLI text; both raise `SettingError` whose message says
what is allowed. Descriptions, units and choice labels are English msgids marked with `N_` and
translated when shown (`Option.describe()`), so a language change needs no re-import.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from tray_app.config import carbon
from tray_app.system.i18n import _


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext "mark only" name
    """Mark a string for translation without translating it yet (translated when displayed)."""
    return message


class SettingError(ValueError):
    """A value that a setting does not accept; the message says what is allowed."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def show_value(value: object, limit: int = 80) -> str:
    """A short, always-printable rendering of any value (for messages)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _num(value: float) -> str:
    """1000000, not 1e+06, in a message a person reads; 0,5 in French (`config set` reads both)."""
    from tray_app.system.fmt import flexible

    return flexible(value, group=False)


# --- types ----------------------------------------------------------------------------------
# Each raises SettingError(reason) where reason reads after the key: "must be between 0.1 and 60".


class SettingType:
    kind: ClassVar[str] = "text"  # what the dialog builds: bool/int/float/choice/text/time/list

    def validate(self, value: object) -> Any:
        raise NotImplementedError

    def parse(self, text: str) -> Any:
        """Turn CLI text into a valid value."""
        return self.validate(text)

    def to_text(self, value: Any) -> str:
        """The inverse of `parse`: what `config get` prints."""
        return str(value)

    def allowed(self) -> str:
        """What is allowed, in words (for help and problem messages)."""
        raise NotImplementedError

    def annotation(self) -> str:
        """The Python type of a valid value, as written in the generated `config/typed.py`."""
        return "str"


@dataclass(frozen=True)
class Bool(SettingType):
    kind: ClassVar[str] = "bool"
    # French words too: the app speaks French, so its users may type them.
    _TRUE: ClassVar[frozenset[str]] = frozenset({"true", "yes", "on", "1", "oui", "vrai"})
    _FALSE: ClassVar[frozenset[str]] = frozenset({"false", "no", "off", "0", "non", "faux"})

    def validate(self, value: object) -> bool:
        if isinstance(value, bool):
            return value
        raise SettingError(self.allowed())

    def parse(self, text: str) -> bool:
        word = text.strip().lower()
        if word in self._TRUE:
            return True
        if word in self._FALSE:
            return False
        raise SettingError(self.allowed())

    def to_text(self, value: Any) -> str:
        return "true" if value else "false"

    def allowed(self) -> str:
        return _("must be true or false (also yes/no, on/off, 1/0)")

    def annotation(self) -> str:
        return "bool"


@dataclass(frozen=True)
class Float(SettingType):
    minimum: float
    maximum: float
    decimals: int | None = None  # shown in the dialog where the range alone would choose badly
    kind: ClassVar[str] = "float"

    def validate(self, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingError(self.allowed())
        # Compare before converting: a huge int would overflow float().
        if isinstance(value, float) and not math.isfinite(value):
            raise SettingError(self.allowed())
        if not self.minimum <= value <= self.maximum:
            raise SettingError(self.allowed())
        return float(value)

    def parse(self, text: str) -> float:
        # What we print must parse back: "1 234,5" (French, narrow no-break spaces) and
        # "1,234.5" (English) as well as plain "1234.5".
        cleaned = "".join(text.split()).replace("\u202f", "")
        if "," in cleaned and "." in cleaned:
            cleaned = cleaned.replace(",", "")
        elif "," in cleaned:
            cleaned = cleaned.replace(",", ".", 1)  # French decimal comma: "0,5"
        try:
            return self.validate(float(cleaned))
        except ValueError as exc:
            if isinstance(exc, SettingError):
                raise
            raise SettingError(self.allowed()) from None

    def to_text(self, value: Any) -> str:
        return _num(value)

    def allowed(self) -> str:
        return _("must be between {min} and {max}").format(
            min=_num(self.minimum), max=_num(self.maximum)
        )

    def annotation(self) -> str:
        return "float"


@dataclass(frozen=True)
class Int(SettingType):
    minimum: int
    maximum: int
    kind: ClassVar[str] = "int"

    def validate(self, value: object) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 30.0 from a hand-edited file means 30
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingError(self.allowed())
        if not self.minimum <= value <= self.maximum:
            raise SettingError(self.allowed())
        return value

    def parse(self, text: str) -> int:
        cleaned = "".join(text.split())  # "10 000" as French writes it
        try:
            number: float = int(cleaned)
        except ValueError:
            try:
                number = float(cleaned.replace(",", "."))
            except ValueError:
                raise SettingError(self.allowed()) from None
        return self.validate(number)

    def allowed(self) -> str:
        return _("must be a whole number between {min} and {max}").format(
            min=self.minimum, max=self.maximum
        )

    def annotation(self) -> str:
        return "int"


@dataclass(frozen=True)
class Choice(SettingType):
    choices: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)  # value -> msgid, for the dialog
    kind: ClassVar[str] = "choice"

    def validate(self, value: object) -> str:
        if isinstance(value, str) and value in self.choices:
            return value
        raise SettingError(self.allowed())

    def parse(self, text: str) -> str:
        return self.validate(text.strip().lower())

    def allowed(self) -> str:
        return _("must be one of: {choices}").format(choices=", ".join(self.choices))

    def annotation(self) -> str:
        return "Literal[" + ", ".join(json.dumps(c) for c in self.choices) + "]"


@dataclass(frozen=True)
class Pattern(SettingType):
    """A string matching a regular expression, normalised by `normalise` (e.g. upper-casing)."""

    regex: str
    message: str  # msgid of the reason
    normalise: Callable[[str], str] = str
    kind: ClassVar[str] = "text"

    def validate(self, value: object) -> str:
        if isinstance(value, str):
            candidate = self.normalise(value)
            if re.fullmatch(self.regex, candidate):
                return candidate
        raise SettingError(self.allowed())

    def allowed(self) -> str:
        return _(self.message)


@dataclass(frozen=True)
class TimeOfDay(SettingType):
    kind: ClassVar[str] = "time"

    def validate(self, value: object) -> str:
        if isinstance(value, str):
            match = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", value.strip())
            if match and int(match.group(1)) < 24 and int(match.group(2)) < 60:
                return f"{int(match.group(1)):02d}:{match.group(2)}"
        raise SettingError(self.allowed())

    def allowed(self) -> str:
        return _("must be a time of day as HH:MM, from 00:00 to 23:59")


@dataclass(frozen=True)
class BindAddress(SettingType):
    kind: ClassVar[str] = "text"

    def validate(self, value: object) -> str:
        if isinstance(value, str):
            text = value.strip()
            if text == "localhost":
                return text
            try:
                return str(ipaddress.ip_address(text))
            except ValueError:
                pass
        raise SettingError(self.allowed())

    def allowed(self) -> str:
        return _("must be an IP address such as 127.0.0.1 or ::1, or localhost")


@dataclass(frozen=True)
class Secret(SettingType):
    """A token: empty (off) or 16 to 256 visible ASCII characters. Shown masked."""

    kind: ClassVar[str] = "secret"

    def validate(self, value: object) -> str:
        if isinstance(value, str) and (value == "" or re.fullmatch(r"[\x21-\x7e]{16,256}", value)):
            return value
        raise SettingError(self.allowed())

    def allowed(self) -> str:
        return _("must be empty or 16 to 256 characters without spaces")


class _JsonList(SettingType):
    kind: ClassVar[str] = "list"

    def parse(self, text: str) -> list[Any]:
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            raise SettingError(self.allowed()) from None
        return self.validate(value)

    def to_text(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    @staticmethod
    def _items(value: object, allowed: str) -> list[Any]:
        if not isinstance(value, list):
            raise SettingError(allowed)
        if len(value) > 100:  # a settings list this long is a mistake, not a configuration
            raise SettingError(_("must have at most 100 entries"))
        return value


@dataclass(frozen=True)
class ToolPatterns(_JsonList):
    """Extra tools to watch: [{"name": "mytool", "match": "*/my_sd_script.py"}]."""

    def validate(self, value: object) -> list[dict[str, str]]:
        result = []
        for index, item in enumerate(self._items(value, self.allowed()), start=1):
            if not isinstance(item, dict) or set(item) != {"name", "match"}:
                raise SettingError(
                    _("entry {n} must be an object with exactly the fields name and match").format(
                        n=index
                    )
                )
            name, match = item["name"], item["match"]
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_-]{1,40}", name):
                raise SettingError(
                    _("entry {n}: name must be 1 to 40 of a-z, 0-9, _ and -").format(n=index)
                )
            if (
                not isinstance(match, str)
                or not match.strip()
                or len(match) > 300
                or any(ord(c) < 32 for c in match)
            ):
                raise SettingError(
                    _(
                        "entry {n}: match must be part of a program path, or a glob such as */my_script.py (at most 300 characters)"
                    ).format(n=index)
                )
            result.append({"name": name, "match": match})
        return result

    def allowed(self) -> str:
        return _(
            'must be a JSON list of objects such as [{"name": "mytool", "match": "*/my_script.py"}]'
        )

    def annotation(self) -> str:
        return "list[dict[str, str]]"


@dataclass(frozen=True)
class FolderList(_JsonList):
    def validate(self, value: object) -> list[str]:
        result: list[str] = []
        for index, item in enumerate(self._items(value, self.allowed()), start=1):
            if (
                not isinstance(item, str)
                or not item.strip()
                or "\x00" in item
                or not os.path.isabs(os.path.expanduser(item))
            ):
                raise SettingError(
                    _("entry {n} must be a full folder path, such as ~/ComfyUI/output").format(
                        n=index
                    )
                )
            if item not in result:  # listing a folder twice would count its images twice
                result.append(item)
        return result

    def allowed(self) -> str:
        return _('must be a JSON list of folder paths, such as ["~/ComfyUI/output"]')

    def annotation(self) -> str:
        return "list[str]"


# --- the schema -----------------------------------------------------------------------------

# When a changed value takes effect in a running tray or headless monitor: at once (the running
# app re-reads settings.json within seconds), or at its next start.
Applies = Literal["live", "restart"]
LIVE: Applies = "live"
RESTART: Applies = "restart"


@dataclass(frozen=True)
class Option:
    key: str  # dotted: "reminders.session_wh"
    type: SettingType
    default: Any
    description: str  # msgid; use describe() for the translated text
    unit: str = ""  # msgid, e.g. "Wh"
    secret: bool = False  # masked when shown
    # The key that switches this one on (the dialog greys it out while that is False or "off").
    enabled_by: str | None = None
    # Defaults that follow the country (carbon, price, currency): country code -> default.
    country_default: Callable[[str | None], Any] | None = None
    # Settings-window tab (ui/settings/dialog.TAB_ORDER); "" means the tab of its section.
    tab: str = ""
    # Every option says it: live (applied by the running app) or restart (at its next start).
    applies: Applies = field(kw_only=True)
    # msgid of the sentence the Settings window shows instead of a label, with each control in
    # its place: "Remind me when a session passes {reminders.session_wh}". Every option named
    # in it is edited there; a Bool owner is the checkbox that starts the sentence. "": a plain
    # labelled field.
    sentence: str = field(default="", kw_only=True)

    @property
    def section(self) -> str:
        """The group it is shown and stored in: 'reminders', or 'general' for undotted keys."""
        return self.key.split(".", 1)[0] if "." in self.key else "general"

    def describe(self) -> str:
        return _(self.description)

    def unit_text(self) -> str:
        return _(self.unit) if self.unit else ""

    def default_for(self, country: str | None) -> Any:
        return self.country_default(country) if self.country_default else self.default


_HOURS = N_("h")
_MIN = N_("min")

SCHEMA: tuple[Option, ...] = (
    # General
    Option("language", Choice(("auto", "en", "fr"), {"auto": N_("Follow the system"), "en": N_("English"), "fr": N_("French")}), "auto",
           N_("Language of the app"), tab="general", applies=LIVE),
    Option("country", Pattern(r"auto|[A-Z]{2}", N_("must be auto or a two-letter country code such as FR"), lambda s: s.strip() if s.strip() == "auto" else s.strip().upper()), "auto",
           N_("Country whose electricity figures are used (auto: from the system locale)"), tab="money", applies=LIVE),
    Option("start_at_login", Bool(), True, N_("Start the app when you log in"), tab="general", applies=LIVE),
    Option("sample_interval_s", Float(0.1, 60.0, decimals=1), 1.0,
           N_("How often power is sampled when no energy counter is available"), N_("s"), tab="measurement", applies=LIVE),
    Option("idle_split_min", Int(1, 240), 10,
           N_("Idle time after which a new session starts"), _MIN, tab="measurement", applies=LIVE),
    Option("idle_power_w", Float(0.0, 2000.0), 0.0,
           N_("GPU power under which a tool counts as idle (0: learn the idle baseline)"), N_("W"), tab="measurement", applies=LIVE),
    Option("day_start_hour", Int(0, 23), 0,
           N_("Hour at which your day starts, for daily totals"), _HOURS, tab="general", applies=LIVE),
    Option("cpu_tdp_w", Int(0, 500), 0,
           N_("CPU power rating used for estimates when it cannot be measured (0: automatic)"), N_("W"), tab="measurement", applies=LIVE),
    Option("per_process_attribution", Bool(), True,
           N_("Give each session only the energy its tool used (off: sessions count the whole machine)"),
           tab="measurement", applies=RESTART),
    Option("carbon_g_per_kwh", Float(0.0, 2000.0), carbon.WORLD_GRID.g_per_kwh,
           N_("Carbon intensity of your electricity"), N_("g CO₂e/kWh"),
           country_default=lambda c: carbon.grid_figure(c).g_per_kwh, tab="money", applies=LIVE),
    Option("price_per_kwh", Float(0.0, 1000.0, decimals=4), carbon.PLACEHOLDER_PRICE.price_per_kwh,
           N_("Price of electricity, in your currency"), N_("per kWh"),
           country_default=lambda c: carbon.price_figure(c).price_per_kwh, tab="money", applies=LIVE),
    Option("currency", Pattern(r"[A-Z]{3}", N_("must be a three-letter currency code such as EUR"), lambda s: s.strip().upper()),
           carbon.PLACEHOLDER_PRICE.currency, N_("Currency of the electricity price"),
           country_default=lambda c: carbon.price_figure(c).currency, tab="money", applies=LIVE),
    Option("phone_charge_wh", Float(5.0, 30.0), 13.0,
           N_("Energy of one phone charge, used for comparisons"), N_("Wh"), tab="money", applies=LIVE),
    # Storage, tools and images
    Option("retention.full_rate_days", Int(1, 3650), 30,
           N_("Days for which every power sample is kept before being summarised"), N_("days"), applies=LIVE),
    Option("tools.extra_patterns", ToolPatterns(), [],
           N_("Extra programs to measure: a name and a part or glob of their path"), applies=LIVE),
    Option("images.output_dirs", FolderList(), [],
           N_("Folders where your tools save images, to count them"), applies=LIVE),
    # Reminders
    Option("reminders.enabled", Bool(), True, N_("Gentle reminders"), applies=LIVE),
    Option("reminders.session_wh.enabled", Bool(), True, N_("Remind me when a session uses more than…"), applies=LIVE,
           sentence=N_("Remind me when a session passes {reminders.session_wh}")),
    Option("reminders.session_wh", Float(1.0, 100_000.0), 50.0,
           N_("Energy of one session before a reminder"), N_("Wh"), enabled_by="reminders.session_wh.enabled", applies=LIVE),
    Option("reminders.daily_wh.enabled", Bool(), True, N_("Remind me when a day uses more than…"), applies=LIVE,
           sentence=N_("Remind me when a day passes {reminders.daily_wh}")),
    Option("reminders.daily_wh", Float(1.0, 1_000_000.0), 250.0,
           N_("Energy of one day before a reminder"), N_("Wh"), enabled_by="reminders.daily_wh.enabled", applies=LIVE),
    Option("reminders.continuous_min.enabled", Bool(), True, N_("Remind me after generating without a pause for…"), applies=LIVE,
           sentence=N_("Remind me after generating for {reminders.continuous_min} without a break")),
    Option("reminders.continuous_min", Int(1, 1440), 60,
           N_("Minutes of continuous generation before a reminder"), _MIN, enabled_by="reminders.continuous_min.enabled", applies=LIVE),
    Option("reminders.images.enabled", Bool(), True, N_("Remind me after a number of images in one session"), applies=LIVE,
           sentence=N_("Remind me after {reminders.images} in one session")),
    Option("reminders.images", Int(1, 100_000), 100,
           N_("Images in one session before a reminder"), N_("images"), enabled_by="reminders.images.enabled", applies=LIVE),
    Option("reminders.power_limit.enabled", Bool(), False, N_("Remind me when the GPU runs near its power limit for a long time"), applies=LIVE,
           sentence=N_("Remind me when the GPU runs above {reminders.power_limit_pct} of its power limit for {reminders.power_limit_min}")),
    Option("reminders.power_limit_pct", Int(50, 100), 90,
           N_("Share of the GPU power limit that counts as running at full power"), N_("%"), enabled_by="reminders.power_limit.enabled", applies=LIVE),
    Option("reminders.power_limit_min", Int(1, 1440), 15,
           N_("Minutes near the power limit before a reminder"), _MIN, enabled_by="reminders.power_limit.enabled", applies=LIVE),
    Option("reminders.idle_waste.enabled", Bool(), True, N_("Remind me when a tool left idle keeps the GPU awake"), applies=LIVE,
           sentence=N_("Remind me when a tool sits idle for {reminders.idle_waste_min} and keeps the GPU awake")),
    Option("reminders.idle_waste_min", Int(1, 240), 10,
           N_("Minutes a tool may hold the GPU awake, idle, before a reminder"), _MIN, enabled_by="reminders.idle_waste.enabled", applies=LIVE),
    Option("reminders.idle_waste_auto_free", Bool(), False,
           N_("Free the GPU memory of an idle tool without asking, after that delay"), applies=LIVE),
    Option("reminders.budget_period", Choice(("off", "day", "week"), {"off": N_("off"), "day": N_("per day"), "week": N_("per week")}), "off",
           N_("Energy budget period"), applies=LIVE,
           sentence=N_("Energy budget: {reminders.budget_wh} {reminders.budget_period} (reminders at 80 % and 100 %)")),
    Option("reminders.budget_wh", Float(0.0, 10_000_000.0), 1000.0,
           N_("Energy budget for the period"), N_("Wh"), enabled_by="reminders.budget_period", applies=LIVE),
    Option("reminders.cooldown_min", Int(0, 1440), 30,
           N_("Least time between two reminders"), _MIN, applies=LIVE,
           sentence=N_("Leave at least {reminders.cooldown_min} between two reminders")),
    Option("reminders.quiet_hours.enabled", Bool(), False, N_("No reminders during quiet hours"), applies=LIVE,
           sentence=N_("No reminders from {reminders.quiet_hours.start} to {reminders.quiet_hours.end}")),
    Option("reminders.quiet_hours.start", TimeOfDay(), "22:00",
           N_("Start of quiet hours"), enabled_by="reminders.quiet_hours.enabled", applies=LIVE),
    Option("reminders.quiet_hours.end", TimeOfDay(), "08:00",
           N_("End of quiet hours"), enabled_by="reminders.quiet_hours.enabled", applies=LIVE),
    # Prometheus endpoint (opt-in)
    Option("metrics.enabled", Bool(), False, N_("Serve a Prometheus /metrics endpoint"), applies=LIVE),
    # 9612 is marked FREE in Prometheus' "Default port allocations" wiki page (the newest copy we
    # could read, c. 2021); the 9100-9999 range has since filled up, so a clash stays possible:
    # the metrics server must report a busy port clearly.
    Option("metrics.port", Int(1024, 65535), 9612,
           N_("Port of the metrics endpoint"), enabled_by="metrics.enabled", applies=LIVE),
    Option("metrics.bind", BindAddress(), "127.0.0.1",
           N_("Address the metrics endpoint listens on (127.0.0.1: this computer only)"), enabled_by="metrics.enabled", applies=LIVE),
    Option("metrics.token", Secret(), "",
           N_("Bearer token that scrapers must send (empty: none; required off this computer)"), secret=True,
           enabled_by="metrics.enabled", applies=LIVE),
)  # fmt: skip

OPTIONS: dict[str, Option] = {option.key: option for option in SCHEMA}
# Names that hold a group of settings in the file: "reminders", "reminders.quiet_hours", ...
GROUPS: frozenset[str] = frozenset(
    ".".join(option.key.split(".")[:i])
    for option in SCHEMA
    for i in range(1, option.key.count(".") + 1)
)


def close_matches(key: str) -> list[str]:
    import difflib  # only for a mistyped key: not in every process's start-up

    return difflib.get_close_matches(key, list(OPTIONS), n=3, cutoff=0.6)


def unknown_key_message(key: str) -> str:
    matches = close_matches(key)
    if matches:
        return _("Unknown setting {key}. Did you mean: {matches}?").format(
            key=key, matches=", ".join(matches)
        )
    return _("Unknown setting {key}. `raison-garder config show` lists them all.").format(key=key)


def option(key: str) -> Option:
    try:
        return OPTIONS[key]
    except KeyError:
        raise SettingError(unknown_key_message(key), key) from None


def _error(key: str, reason: str, value: object) -> SettingError:
    return SettingError(
        _("{key} {reason} (you gave {value}).").format(
            key=key, reason=reason, value=show_value(value)
        ),
        key,
    )


def validate(key: str, value: object) -> Any:
    """Return `value` normalised for `key`, or raise SettingError saying what is allowed."""
    opt = option(key)
    try:
        return opt.type.validate(value)
    except SettingError as exc:
        raise _error(key, str(exc), value) from None


def parse_value(key: str, text: str) -> Any:
    """Parse CLI text for `key` (bools: true/false/yes/no/on/off/1/0; lists as JSON)."""
    opt = option(key)
    try:
        return opt.type.parse(text)
    except SettingError as exc:
        raise _error(key, str(exc), text) from None


def format_value(key: str, value: Any, reveal: bool = False) -> str:
    """The text form of a value (what `config get` prints); secrets masked unless `reveal`."""
    opt = option(key)
    if opt.secret and not reveal:
        return _("(set, hidden)") if value else _("(empty)")
    return opt.type.to_text(value)


def effective_country(values: Mapping[str, Any]) -> str | None:
    country = values.get("country", "auto")
    return carbon.country_from_locale() if country == "auto" else country


def defaults(country: str | None = None) -> dict[str, Any]:
    """Every key's default; the country-dependent ones for `country` (None: world/placeholder)."""
    return {opt.key: _copy(opt.default_for(country)) for opt in SCHEMA}


def _copy(value: Any) -> Any:
    return (
        [dict(v) if isinstance(v, dict) else v for v in value] if isinstance(value, list) else value
    )


# --- rules that involve several keys ---------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    keys: tuple[str, ...]  # the keys it reads
    fallback: str  # the key reset to its default when a loaded file breaks the rule
    check: Callable[[Mapping[str, Any]], str | None]  # None if fine, else the message


def _quiet_hours(v: Mapping[str, Any]) -> str | None:
    start, end = v["reminders.quiet_hours.start"], v["reminders.quiet_hours.end"]
    if v["reminders.quiet_hours.enabled"] and start == end:
        return _(
            "Quiet hours cannot start and end at the same time ({time}): choose two different times."
        ).format(time=start)
    return None


def _budget(v: Mapping[str, Any]) -> str | None:
    if v["reminders.budget_period"] != "off" and v["reminders.budget_wh"] <= 0:
        return _(
            "A budget of 0 Wh per {period} cannot be kept: set reminders.budget_wh above 0, or reminders.budget_period to off."
        ).format(period=v["reminders.budget_period"])
    return None


def _metrics_exposure(v: Mapping[str, Any]) -> str | None:
    from tray_app.metrics.config import is_loopback

    bind = v["metrics.bind"]
    if not is_loopback(bind) and not v["metrics.token"]:
        return _(
            "metrics.bind {bind} lets other computers read your usage: set metrics.token first, or keep metrics.bind at 127.0.0.1."
        ).format(bind=bind)
    return None


RULES: tuple[Rule, ...] = (
    Rule(("reminders.quiet_hours.enabled", "reminders.quiet_hours.start", "reminders.quiet_hours.end"),
         "reminders.quiet_hours.enabled", _quiet_hours),
    Rule(("reminders.budget_period", "reminders.budget_wh"), "reminders.budget_period", _budget),
    # A file asking for a public endpoint without token: the endpoint stays off entirely.
    Rule(("metrics.bind", "metrics.token"), "metrics.enabled", _metrics_exposure),
)  # fmt: skip


def rule_problems(values: Mapping[str, Any]) -> list[tuple[Rule, str]]:
    """The rules that a complete, individually valid set of values breaks, with their messages."""
    found = []
    for rule in RULES:
        message = rule.check(values)
        if message:
            found.append((rule, message))
    return found


def check_rules(values: Mapping[str, Any]) -> None:
    """Raise SettingError with the first broken rule of a complete set of valid values."""
    problems = rule_problems(values)
    if problems:
        raise SettingError(problems[0][1], problems[0][0].fallback)
