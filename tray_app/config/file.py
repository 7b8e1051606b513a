"""Loading and saving `settings.json`, never losing the user's file and never raising on its
content. The schema (keys, types, ranges) lives in `tray_app.config.schema`.

The file stores only values that differ from their defaults, grouped by section:

    {"version": 1, "sample_interval_s": 2.0,
     "reminders": {"session_wh": 80.0, "quiet_hours.enabled": true}}

Only changed values are stored so that defaults which follow the country (carbon intensity, price,
currency) or improve in a later version reach everyone who never changed them, and the file stays
short enough to read. Sections hold the rest of the dotted key flat because a key can be both a
value and a prefix (`reminders.session_wh` and `reminders.session_wh.enabled`). Fully nested or
fully flat hand-written files are read too.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tray_app.config.schema import (
    GROUPS,
    OPTIONS,
    SCHEMA,
    Option,
    SettingError,
    check_rules,
    close_matches,
    defaults,
    effective_country,
    format_value,
    option,
    rule_problems,
    show_value,
    validate,
)
from tray_app.config.typed import TypedSettings, build
from tray_app.system.atomic import atomic_write
from tray_app.system.i18n import _
from tray_app.system.paths import FolderProblem, config_dir

__all__ = [
    "FILE_NAME",
    "FORMAT_VERSION",
    "SCHEMA",
    "Option",
    "SettingError",
    "Settings",
    "load_settings",
    "save_settings",
    "settings_path",
]

FILE_NAME = "settings.json"
FORMAT_VERSION = 1


def settings_path() -> Path:
    return config_dir() / FILE_NAME


@dataclass
class Settings:
    values: dict[str, Any]  # every key of the schema, defaults filled in
    path: Path
    defaults: dict[str, Any] = field(default_factory=dict)  # for this user's country
    problems: list[str] = field(default_factory=list)  # to show the user once
    unknown: dict[str, Any] = field(default_factory=dict)  # keys from a newer version, kept

    def get(self, key: str) -> Any:
        option(key)  # an unknown key raises SettingError naming close matches
        return self.values[key]

    def is_default(self, key: str) -> bool:
        return self.values[key] == self.defaults[key]

    @property
    def typed(self) -> TypedSettings:
        """The values as typed attributes: `loaded.typed.reminders.session_wh`."""
        return build(self.values)


# --- reading --------------------------------------------------------------------------------


class _Unreadable(Exception):
    """The file is not ours to interpret: not JSON, not an object, or another program's."""


def _read_document(path: Path) -> dict[str, Any] | None:
    """The parsed file, None if absent; OSError if unreadable; _Unreadable if not ours."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise _Unreadable(_("not valid JSON: {error}").format(error=_short(exc))) from None
    if not isinstance(document, dict):
        raise _Unreadable(
            _("expected a JSON object, found {type}").format(type=type(document).__name__)
        )
    if document and "version" not in document and not any(_belongs(k) for k in document):
        raise _Unreadable(_("it holds no Raison Garder setting"))
    return document


def _belongs(name: str) -> bool:
    return name in OPTIONS or name in GROUPS or name.split(".", 1)[0] in GROUPS


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:119] + "…"


def _flatten(document: Mapping[str, Any]) -> Iterator[tuple[str, Any, bool]]:
    """(dotted key, value, is_misplaced_group) for every leaf, without recursion (any depth)."""
    stack: list[tuple[str, Mapping[str, Any]]] = [("", document)]
    while stack:
        prefix, mapping = stack.pop()
        for name, value in mapping.items():
            key = f"{prefix}{name}"
            if not prefix and key == "version":
                continue
            is_group = key in GROUPS
            if isinstance(value, dict) and (is_group or key not in OPTIONS):
                stack.append((key + ".", value))
            else:
                yield key, value, is_group and key not in OPTIONS


def _move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    os.replace(path, target)
    return target


def _unreadable_problem(path: Path, reason: str, move_aside: bool) -> str:
    if not move_aside:
        return _(
            "Your settings file {path} could not be read ({reason}); defaults are used. It will be kept aside, not overwritten, when settings are next saved."
        ).format(path=path, reason=reason)
    try:
        aside = _move_aside(path)
    except OSError as exc:
        return _(
            "Your settings file {path} could not be read ({reason}) nor moved aside ({error}); defaults are used."
        ).format(path=path, reason=reason, error=_short(exc))
    return _(
        "Your settings file {path} could not be read ({reason}); it was kept as {aside} and defaults are used."
    ).format(path=path, reason=reason, aside=aside)


def load_settings(path: Path | None = None, *, move_aside: bool = False) -> Settings:
    """Read the settings; never raises because of the file's content.

    A bad value falls back to its default; unknown keys are kept; a file that is not ours
    (garbage, not a JSON object, another program's) gives all defaults. Each case adds a message
    naming the file to `problems`.

    Reading changes nothing on disk unless `move_aside` is True: then a file that is not ours is
    renamed `settings.json.corrupt-YYYYmmdd-HHMMSS`. Only callers that show `problems` to the user
    (the app at start-up, `raison-garder config`) should ask for that, so the user always hears
    where the file went; `save_settings` sets such a file aside too rather than overwrite it.
    """
    problems: list[str] = []
    if path is None:
        try:
            path = settings_path()
        except FolderProblem as exc:  # the folder is a file, or cannot be made: defaults
            path = config_dir(create=False) / FILE_NAME
            problems.append(_("{problem} Defaults are used.").format(problem=exc))
    try:
        document = {} if problems else _read_document(path) or {}
    except _Unreadable as exc:
        problems.append(_unreadable_problem(path, str(exc), move_aside))
        document = {}
    except OSError as exc:
        problems.append(
            _("Your settings file {path} could not be read ({error}); defaults are used.").format(
                path=path, error=_short(exc)
            )
        )
        document = {}

    found: dict[str, Any] = {}
    unknown: dict[str, Any] = {}
    for key, value, misplaced in _flatten(document):
        if misplaced:
            problems.append(
                _(
                    "In {path}, {key} should hold a group of settings, not {value}; it was ignored."
                ).format(path=path, key=key, value=show_value(value))
            )
        elif key in OPTIONS:
            found[key] = value
        else:
            unknown[key] = value

    # The country comes first: the carbon, price and currency defaults depend on it.
    values = defaults(None)
    _take(values, found, ["country"], path, problems, values)
    base = defaults(effective_country(values))
    values = dict(base, country=values["country"])
    _take(values, found, [k for k in found if k != "country"], path, problems, base)

    for rule, message in rule_problems(values):
        values[rule.fallback] = base[rule.fallback]
        problems.append(
            _("In {path}: {message} {key} was set back to {default}.").format(
                path=path,
                message=message,
                key=rule.fallback,
                default=format_value(rule.fallback, base[rule.fallback]),
            )
        )
    if unknown:
        problems.append(_unknown_problem(path, unknown))
    return Settings(values=values, path=path, defaults=base, problems=problems, unknown=unknown)


def _take(
    values: dict[str, Any],
    found: Mapping[str, Any],
    keys: list[str],
    path: Path,
    problems: list[str],
    base: Mapping[str, Any],
) -> None:
    for key in keys:
        if key not in found:
            continue
        try:
            values[key] = validate(key, found[key])
        except SettingError as exc:
            problems.append(
                _("In {path}: {error} The default {default} is used.").format(
                    path=path, error=exc, default=format_value(key, base[key])
                )
            )


def _unknown_problem(path: Path, unknown: Mapping[str, Any]) -> str:
    names = []
    for key in sorted(unknown):
        matches = close_matches(key)
        names.append(
            _("{key} (did you mean {match}?)").format(key=key, match=matches[0]) if matches else key
        )
    return _(
        "{path} has settings this version does not know; they were kept as they are: {keys}."
    ).format(path=path, keys=", ".join(names))


# --- writing --------------------------------------------------------------------------------


def save_settings(values: Mapping[str, Any], path: Path | None = None) -> Path:
    """Validate `values` (any subset of the keys; missing ones are defaults) and write them.

    Raises SettingError (nothing written) for an unknown key, a bad value or a broken rule, and
    OSError if the file cannot be written. Keys unknown to this version that are in the file
    already are kept. A file that is not ours is moved aside first rather than overwritten.
    """
    path = path or settings_path()
    complete = defaults(None)
    for key, value in values.items():
        complete[key] = validate(key, value)
    base = defaults(effective_country(complete))
    complete = {key: (complete[key] if key in values else base[key]) for key in OPTIONS}
    check_rules(complete)

    kept: dict[str, Any] = {}
    try:
        existing = _read_document(path) or {}
        kept = {
            k: v for k, v, misplaced in _flatten(existing) if k not in OPTIONS and not misplaced
        }
    except _Unreadable:
        _move_aside(path)
    except OSError:
        pass  # unreadable but replaceable: the user asked to save, so the new content wins

    document: dict[str, Any] = {"version": FORMAT_VERSION}
    for opt in SCHEMA:
        if complete[opt.key] == base[opt.key]:
            continue
        section, _dot, rest = opt.key.partition(".")
        if rest:
            document.setdefault(section, {})[rest] = complete[opt.key]
        else:
            document[opt.key] = complete[opt.key]
    for key in sorted(kept):
        # Unknown keys go back flat: a dotted top-level key reads the same and cannot collide.
        document.setdefault(key, kept[key])
    atomic_write(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path
