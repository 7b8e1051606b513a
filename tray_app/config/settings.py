"""The typed view of the settings, and the ways to reach a setting without writing its key.

    settings = typed(load_settings().values)     # or load_settings().typed
    settings.reminders.session_wh                # 50.0: a float, typo-checked by mypy and at run time
    key_of(lambda s: s.reminders.session_wh)     # "reminders.session_wh", for messages and the dialog

The classes are generated into `typed.py` from the schema (`python -m tray_app.config.codegen`);
defaults and ranges are only in `schema.py`. Code outside `tray_app/config/` reads settings through
this view and never spells a key: tests/test_settings_typed.py fails if it does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tray_app.config.schema import (
    OPTIONS,
    Option,
    SettingError,
    defaults,
    effective_country,
    unknown_key_message,
)
from tray_app.config.typed import KEYS, TypedSettings, build

__all__ = ["TypedSettings", "default_settings", "key_of", "option_of", "typed", "value_of"]

_GROUPS = frozenset(path.rsplit(".", 1)[0] for path in KEYS if "." in path)
_PATH_OF = {key: path for path, key in KEYS.items()}


def typed(values: Mapping[str, Any]) -> TypedSettings:
    """The typed view of `values`: any subset of the schema's keys, the rest at their defaults
    (for the country they name). A value the schema refuses falls back to its default, as in a
    loaded file; an unknown key raises SettingError naming the close matches."""
    for key in values:
        if key not in OPTIONS:
            raise SettingError(unknown_key_message(key), key)
    complete = defaults(effective_country({**defaults(None), **values}))
    for key, value in values.items():
        try:
            complete[key] = OPTIONS[key].type.validate(value)
        except SettingError:
            pass  # keep the default: a bad value never stops the app
    return build(complete)


def default_settings() -> TypedSettings:
    return typed({})


class _Recorder:
    """Stands in for TypedSettings and records the attributes read, refusing unknown ones."""

    __slots__ = ("_path",)

    def __init__(self, path: str = "") -> None:
        object.__setattr__(self, "_path", path)

    def __getattr__(self, name: str) -> _Recorder:
        path = f"{self._path}.{name}" if self._path else name
        if path not in KEYS and path not in _GROUPS:
            raise AttributeError(f"no setting {path!r}")
        return _Recorder(path)


def key_of(getter: Callable[[TypedSettings], object]) -> str:
    """The schema key a getter reads: key_of(lambda s: s.reminders.session_wh)."""
    recorded = getter(_Recorder())  # type: ignore[arg-type]
    path = object.__getattribute__(recorded, "_path") if isinstance(recorded, _Recorder) else None
    if path not in KEYS:
        raise AttributeError(f"the getter does not read a single setting (read {path!r})")
    return KEYS[path]


def option_of(getter: Callable[[TypedSettings], object]) -> Option:
    return OPTIONS[key_of(getter)]


def value_of(settings: TypedSettings, key: str) -> Any:
    """The value of a dotted schema key, for code that walks the schema (CLI, dialog)."""
    try:
        path = _PATH_OF[key]
    except KeyError:
        raise SettingError(unknown_key_message(key), key) from None
    value: Any = settings
    for name in path.split("."):
        value = getattr(value, name)
    return value
