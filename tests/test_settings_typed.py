"""The typed settings view: generated from the schema, typo-proof, and the only way the code
outside tray_app/config/ reads a setting."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from tray_app.config import codegen
from tray_app.config.file import load_settings, save_settings
from tray_app.config.schema import (
    GROUPS,
    LIVE,
    OPTIONS,
    RESTART,
    SCHEMA,
    Int,
    Option,
    SettingError,
    defaults,
    effective_country,
)
from tray_app.config.settings import key_of, typed, value_of

ROOT = Path(__file__).resolve().parent.parent


def test_typed_py_is_generated_from_the_current_schema():
    assert codegen.TARGET.read_text(encoding="utf-8") == codegen.render(), (
        "tray_app/config/typed.py is stale: run `python -m tray_app.config.codegen`"
    )


def test_attribute_access_reads_the_saved_values(tmp_path):
    path = tmp_path / "settings.json"
    save_settings({"reminders.session_wh": 80.0, "reminders.session_wh.enabled": False}, path)
    settings = load_settings(path).typed
    assert settings.reminders.session_wh == 80.0
    assert settings.reminders.session_wh_enabled is False
    assert settings.reminders.quiet_hours.start == "22:00"  # the schema's default
    assert settings.metrics.port == OPTIONS["metrics.port"].default


def test_every_key_has_an_attribute_with_its_value():
    values = defaults(effective_country({}))
    settings = typed({})
    for option in SCHEMA:
        assert value_of(settings, option.key) == values[option.key]


def test_a_typo_fails_loudly():
    settings = typed({})
    with pytest.raises(AttributeError):
        settings.reminders.sesion_wh  # noqa: B018 - the typo is the point
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.reminders.session_wh = 1.0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        key_of(lambda s: s.reminders.sesion_wh)  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        key_of(lambda s: s.reminders)  # a group, not one setting
    with pytest.raises(SettingError, match="reminders.session_wh"):
        typed({"reminders.sesion_wh": 80})  # names the close match


def test_key_of_names_the_schema_key():
    assert key_of(lambda s: s.reminders.session_wh) == "reminders.session_wh"
    assert key_of(lambda s: s.reminders.session_wh_enabled) == "reminders.session_wh.enabled"
    assert key_of(lambda s: s.reminders.quiet_hours.end) == "reminders.quiet_hours.end"


def test_a_refused_value_falls_back_to_the_schema_default():
    settings = typed({"reminders.session_wh": -3, "day_start_hour": 31})
    assert settings.reminders.session_wh == OPTIONS["reminders.session_wh"].default
    assert settings.day_start_hour == OPTIONS["day_start_hour"].default


def test_every_option_says_when_it_applies():
    assert {option.applies for option in SCHEMA} <= {LIVE, RESTART}
    with pytest.raises(TypeError):
        Option("x", Int(0, 1), 0, "x")  # type: ignore[call-arg] - applies is required


# --- no setting key, default or range outside tray_app/config/ ------------------------------

# Strings that are also a setting's name but mean something else where they appear.
NOT_SETTINGS = {
    # a derived field of every session row (store, export, History window)
    "currency": {"tray_app/store/exchange.py", "tray_app/store/sessions.py",
                 "tray_app/ui/history/panels.py"},
}  # fmt: skip
KEY_LIKE = re.compile(r"[a-z_]+(\.[a-z_]+)*\.?")


def setting_keys_in(source: str, name: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        text = node.value
        is_key = text in OPTIONS or (
            "." in text and KEY_LIKE.fullmatch(text) and text.split(".")[0] in GROUPS
        )  # "reminders.images", or a prefix to build one: "reminders."
        if is_key and name not in NOT_SETTINGS.get(text, ()):
            found.append(f"{name}:{node.lineno}: {text!r}")
    return found


def test_no_setting_key_is_spelled_outside_the_config_package():
    found = []
    for path in sorted((ROOT / "tray_app").rglob("*.py")):
        if path.parent.name != "config":
            name = str(path.relative_to(ROOT))
            found += setting_keys_in(path.read_text(encoding="utf-8"), name)
    assert not found, (
        "Read settings through the typed view (settings.reminders.session_wh) or name one with "
        "key_of(lambda s: ...), never by its key string:\n" + "\n".join(found)
    )


@pytest.mark.parametrize(
    "source",
    [
        'LIMIT = settings.get("reminders.session_wh", 50.0)',
        'ON = values[f"reminders.{name}.enabled"]',
        'PORT = values["metrics.port"]',
        'HOUR = settings["day_start_hour"]',
        'MONEY = row["currency"]',  # allowed only where it names the session field
    ],
)
def test_the_key_check_finds_a_key(source):
    assert setting_keys_in(source, "tray_app/runtime/engine.py")
