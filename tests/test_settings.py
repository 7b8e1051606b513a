"""The typed settings layer: schema, validation, and a settings file that never costs the user
their data (corrupt files set aside, bad values reported, unknown keys kept)."""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tray_app.config import carbon
from tray_app.config.file import load_settings, save_settings, settings_path
from tray_app.config.schema import (
    GROUPS,
    OPTIONS,
    SCHEMA,
    Choice,
    SettingError,
    defaults,
    format_value,
    parse_value,
    validate,
)
from tray_app.system.i18n import catalogue


@pytest.fixture(autouse=True)
def no_locale_country(monkeypatch: pytest.MonkeyPatch) -> None:
    """Country defaults follow the locale: start every test from 'no country known'."""
    for var in ("LC_ALL", "LC_MONETARY", "LANG"):
        monkeypatch.delenv(var, raising=False)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


# --- the schema ----------------------------------------------------------------------------


@pytest.mark.parametrize("country", [None, "FR", "GB", "US", "DE", "PT", "JP", "ZZ"])
@pytest.mark.parametrize("opt", SCHEMA, ids=lambda o: o.key)
def test_every_default_passes_its_own_type(opt, country) -> None:
    default = opt.default_for(country)
    assert validate(opt.key, default) == default


def test_schema_lists_the_required_keys() -> None:
    required = {
        "sample_interval_s", "idle_split_min", "idle_power_w", "language", "day_start_hour",
        "carbon_g_per_kwh", "price_per_kwh", "currency", "phone_charge_wh", "cpu_tdp_w",
        "start_at_login", "retention.full_rate_days", "tools.extra_patterns",
        "images.output_dirs", "reminders.enabled", "reminders.session_wh.enabled",
        "reminders.session_wh", "reminders.daily_wh.enabled", "reminders.daily_wh",
        "reminders.continuous_min.enabled", "reminders.continuous_min",
        "reminders.images.enabled", "reminders.images", "reminders.power_limit.enabled",
        "reminders.power_limit_pct", "reminders.power_limit_min", "reminders.budget_period",
        "reminders.budget_wh", "reminders.cooldown_min", "reminders.quiet_hours.enabled",
        "reminders.quiet_hours.start", "reminders.quiet_hours.end", "metrics.enabled",
        "metrics.port", "metrics.bind", "metrics.token",
    }  # fmt: skip
    assert required <= set(OPTIONS)
    assert OPTIONS["metrics.token"].secret
    assert OPTIONS["reminders.session_wh"].enabled_by == "reminders.session_wh.enabled"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("sample_interval_s", 0.01, "must be between 0.1 and 60"),
        ("sample_interval_s", 61, "must be between 0.1 and 60"),
        ("sample_interval_s", "1", "must be between 0.1 and 60"),
        ("sample_interval_s", math.nan, "must be between 0.1 and 60"),
        ("idle_split_min", 0, "must be a whole number between 1 and 240"),
        ("idle_split_min", 2.5, "must be a whole number between 1 and 240"),
        ("day_start_hour", 24, "between 0 and 23"),
        ("phone_charge_wh", 31, "must be between 5 and 30"),
        ("cpu_tdp_w", 501, "between 0 and 500"),
        ("retention.full_rate_days", 0, "between 1 and 3650"),
        ("reminders.power_limit_pct", 49, "between 50 and 100"),
        ("reminders.cooldown_min", 1441, "between 0 and 1440"),
        ("language", "de", "must be one of: auto, en, fr"),
        ("reminders.budget_period", "month", "must be one of: off, day, week"),
        ("start_at_login", 1, "must be true or false"),
        ("reminders.quiet_hours.start", "24:00", "HH:MM"),
        ("reminders.quiet_hours.end", "8h", "HH:MM"),
        ("metrics.port", 80, "between 1024 and 65535"),
        ("metrics.bind", "my-laptop", "IP address"),
        ("metrics.token", "short", "16 to 256 characters"),
        ("currency", "euro", "three-letter currency code"),
        ("images.output_dirs", ["relative/dir"], "full folder path"),
        ("images.output_dirs", "/not/a/list", "JSON list of folder paths"),
    ],
)
def test_out_of_range_values_say_what_is_allowed(key, value, expected) -> None:
    with pytest.raises(SettingError) as err:
        validate(key, value)
    message = str(err.value)
    assert expected in message
    assert message.startswith(key)  # the user knows which setting was refused
    assert err.value.key == key


def test_values_are_normalised() -> None:
    assert validate("currency", "gbp") == "GBP"
    assert validate("country", "fr") == "FR"
    assert validate("reminders.quiet_hours.start", "7:05") == "07:05"
    assert validate("idle_split_min", 30.0) == 30 and isinstance(
        validate("idle_split_min", 30.0), int
    )
    assert validate("sample_interval_s", 2) == 2.0
    assert validate("images.output_dirs", ["/a", "/a", "~/b"]) == ["/a", "~/b"]


def test_tool_patterns_validate_each_entry() -> None:
    good = [{"name": "my-tool_2", "match": "*/gen_images.py"}, {"name": "x", "match": "krita"}]
    assert validate("tools.extra_patterns", good) == good
    cases = [
        ([{"name": "My Tool", "match": "x"}], "entry 1: name must be 1 to 40 of a-z"),
        ([{"name": "ok", "match": "x", "extra": 1}], "entry 1 must be an object"),
        ([good[0], {"name": "ok", "match": ""}], "entry 2: match must be"),
        ([{"name": "ok", "match": "a\nb"}], "entry 1: match must be"),
        ([good[0]] * 101, "at most 100 entries"),
    ]
    for value, expected in cases:
        with pytest.raises(SettingError, match=expected):
            validate("tools.extra_patterns", value)


def test_parse_value_understands_cli_text() -> None:
    for text in ("true", "Yes", "ON", "1"):
        assert parse_value("start_at_login", text) is True
    for text in ("false", "no", "Off", "0"):
        assert parse_value("start_at_login", text) is False
    assert parse_value("sample_interval_s", "0,5") == 0.5  # a French decimal comma
    assert parse_value("idle_split_min", "15") == 15
    assert parse_value("reminders.budget_period", " Week ") == "week"
    patterns = parse_value("tools.extra_patterns", '[{"name": "t", "match": "*/t.py"}]')
    assert patterns == [{"name": "t", "match": "*/t.py"}]
    with pytest.raises(SettingError, match="must be true or false"):
        parse_value("start_at_login", "maybe")
    with pytest.raises(SettingError, match="JSON list"):
        parse_value("images.output_dirs", "[not json")
    with pytest.raises(SettingError, match="Did you mean: sample_interval_s"):
        parse_value("sample_intervall_s", "1")


def test_secret_is_masked_unless_revealed() -> None:
    token = "s3cret-token-0123456789"
    assert token not in format_value("metrics.token", token)
    assert format_value("metrics.token", token, reveal=True) == token


def test_descriptions_units_and_labels_have_french_entries() -> None:
    texts = [o.description for o in SCHEMA] + [o.unit for o in SCHEMA if o.unit]
    texts += [
        label for o in SCHEMA if isinstance(o.type, Choice) for label in o.type.labels.values()
    ]
    texts += [f.name for f in [*carbon.GRID_INTENSITY.values(), carbon.WORLD_GRID]]
    missing = [t for t in texts if t not in catalogue("fr")]
    assert not missing


# --- country defaults ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "grid", "currency"),
    [
        ("fr_FR.UTF-8", 56.0, "EUR"),
        ("en_GB.UTF-8", 237.6, "GBP"),
        ("en_US.UTF-8", 369.5, "USD"),
        ("de_DE.UTF-8", 381.0, "EUR"),
        ("C.UTF-8", 475.0, "EUR"),
        ("xx_ZZ", 475.0, "EUR"),
    ],
)
def test_country_defaults_follow_the_locale(monkeypatch, lang, grid, currency) -> None:
    monkeypatch.setenv("LANG", lang)
    loaded = load_settings()
    assert loaded.values["carbon_g_per_kwh"] == grid
    assert loaded.values["currency"] == currency
    assert loaded.values["price_per_kwh"] > 0
    assert loaded.problems == []


def test_country_setting_overrides_the_locale(monkeypatch) -> None:
    monkeypatch.setenv("LANG", "en_US.UTF-8")  # an English locale used in France
    save_settings({"country": "FR"})
    loaded = load_settings()
    assert (loaded.values["carbon_g_per_kwh"], loaded.values["currency"]) == (56.0, "EUR")
    # Defaults are not written, so they keep following the country the user names.
    assert "carbon_g_per_kwh" not in settings_path().read_text()


def test_figures_record_their_source() -> None:
    assert carbon.grid_figure("fr").source.startswith("Our World in Data")
    assert carbon.grid_figure(None) is carbon.WORLD_GRID
    assert carbon.price_figure("AT") is carbon.EU_AVERAGE_PRICE
    assert carbon.price_figure("JP").year is None  # a placeholder says it is one
    assert carbon.country_from_locale({"LC_ALL": "", "LANG": "pt_BR.UTF-8"}) == "BR"
    assert carbon.country_from_locale({"LANG": "C"}) is None


# --- the file ------------------------------------------------------------------------------


def test_missing_file_gives_defaults_without_problems() -> None:
    loaded = load_settings()
    assert loaded.values == defaults(None)
    assert loaded.problems == []
    assert loaded.path == settings_path()
    assert loaded.get("reminders.session_wh") == 50.0


def test_round_trip_writes_only_changes_grouped_by_section() -> None:
    changes = {
        "sample_interval_s": 2.5,
        "reminders.session_wh": 80.0,
        "reminders.session_wh.enabled": False,
        "reminders.quiet_hours.start": "23:30",
        "tools.extra_patterns": [{"name": "mine", "match": "*/mine.py"}],
        "metrics.token": "abcdefghijklmnopqrstuvwxyz",
    }
    path = save_settings(changes)
    document = json.loads(path.read_text())
    assert document == {
        "version": 1,
        "sample_interval_s": 2.5,
        "tools": {"extra_patterns": [{"name": "mine", "match": "*/mine.py"}]},
        "reminders": {
            "session_wh.enabled": False,
            "session_wh": 80.0,
            "quiet_hours.start": "23:30",
        },
        "metrics": {"token": "abcdefghijklmnopqrstuvwxyz"},
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds a token and the user's habits
    loaded = load_settings()
    assert loaded.problems == []
    assert {k: loaded.values[k] for k in changes} == changes
    assert not loaded.is_default("sample_interval_s") and loaded.is_default("language")


def test_hand_written_nested_and_flat_files_are_read() -> None:
    write(
        settings_path(),
        '{"reminders": {"quiet_hours": {"enabled": true, "start": "21:00"},'
        ' "session_wh": 70}, "metrics.port": 9700}',
    )
    loaded = load_settings()
    assert loaded.problems == []
    assert loaded.values["reminders.quiet_hours.enabled"] is True
    assert loaded.values["reminders.quiet_hours.start"] == "21:00"
    assert loaded.values["reminders.session_wh"] == 70.0
    assert loaded.values["metrics.port"] == 9700


def test_save_refuses_bad_values_and_writes_nothing() -> None:
    with pytest.raises(SettingError, match="must be between 0.1 and 60"):
        save_settings({"sample_interval_s": 0})
    with pytest.raises(SettingError, match="Unknown setting"):
        save_settings({"no.such.key": 1})
    assert not settings_path().exists()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"reminders.quiet_hours.enabled": True, "reminders.quiet_hours.start": "08:00"},
            "cannot start and end at the same time",
        ),
        ({"reminders.budget_period": "day", "reminders.budget_wh": 0}, "A budget of 0\u00a0Wh per day"),
        ({"metrics.bind": "0.0.0.0"}, "set metrics.token first"),
    ],
)
def test_impossible_combinations_are_refused(changes, expected) -> None:
    with pytest.raises(SettingError, match=expected):
        save_settings(changes)
    assert not settings_path().exists()


def test_a_reachable_endpoint_needs_a_token() -> None:
    save_settings({"metrics.bind": "0.0.0.0", "metrics.token": "0123456789abcdef"})
    assert load_settings().values["metrics.bind"] == "0.0.0.0"


def test_impossible_combination_in_the_file_is_undone_with_a_message() -> None:
    write(
        settings_path(),
        '{"reminders": {"quiet_hours.enabled": true, "quiet_hours.start": "08:00",'
        ' "session_wh": 90}}',
    )
    loaded = load_settings()
    assert loaded.values["reminders.quiet_hours.enabled"] is False
    assert loaded.values["reminders.session_wh"] == 90.0
    [problem] = loaded.problems
    assert str(settings_path()) in problem and "reminders.quiet_hours.enabled" in problem


def test_one_bad_value_falls_back_and_keeps_the_others() -> None:
    write(
        settings_path(),
        '{"sample_interval_s": 500, "idle_split_min": 20, "reminders": {"daily_wh": 300}}',
    )
    loaded = load_settings(move_aside=True)
    assert loaded.values["sample_interval_s"] == 1.0
    assert loaded.values["idle_split_min"] == 20
    assert loaded.values["reminders.daily_wh"] == 300.0
    [problem] = loaded.problems
    for part in ("sample_interval_s", "500", "between 0.1 and 60", str(settings_path()), "1"):
        assert part in problem
    assert settings_path().exists()  # a good file with one bad value is not set aside


def test_the_default_used_instead_is_written_as_config_get_writes_it() -> None:
    """"The default 50 is used" as `config get` would write it (French too), not the JSON "50.0"."""
    from tray_app.system import i18n

    write(settings_path(), '{"reminders": {"session_wh": "lots"}, "sample_interval_s": 500}')
    i18n.set_language("fr")
    try:
        problems = load_settings().problems
    finally:
        i18n.set_language("en")
    assert len(problems) == 2
    assert any("par défaut 50 est utilisée" in p for p in problems), problems
    assert any("par défaut 1 est utilisée" in p for p in problems), problems
    assert not any("50.0" in p or "1.0" in p for p in problems), problems


def test_unknown_keys_are_kept_and_reported_once() -> None:
    write(
        settings_path(),
        '{"version": 2, "future_feature": {"level": 3}, "reminders": {"sesion_wh": 10},'
        ' "idle_split_min": 12}',
    )
    loaded = load_settings()
    assert loaded.unknown == {"future_feature.level": 3, "reminders.sesion_wh": 10}
    [problem] = loaded.problems
    assert "future_feature.level" in problem
    assert "did you mean reminders.session_wh" in problem
    save_settings({"idle_split_min": 15})
    again = load_settings()
    assert again.unknown == loaded.unknown  # a newer version's settings survive our saves
    assert again.values["idle_split_min"] == 15


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x00\xff garbage {", "not valid JSON"),
        (b'{"sample_interval_s": 2', "not valid JSON"),
        (b"[1, 2, 3]", "expected a JSON object, found list"),
        (b'"just a string"', "expected a JSON object, found str"),
        (b'{"editor.fontSize": 14, "workbench": {"theme": "dark"}}', "no Raison Garder setting"),
    ],
)
def test_corrupt_or_foreign_file_is_kept_aside(content, reason) -> None:
    path = write(settings_path(), content)
    loaded = load_settings(move_aside=True)
    assert loaded.values == defaults(None)
    [problem] = loaded.problems
    [aside] = list(path.parent.glob("settings.json.corrupt-*"))
    assert aside.read_bytes() == content  # nothing lost
    assert not path.exists()
    assert str(path) in problem and str(aside) in problem and reason in problem
    assert "defaults are used" in problem


def test_reading_alone_changes_nothing_on_disk() -> None:
    path = write(settings_path(), b"[1, 2]")
    loaded = load_settings()
    assert loaded.values == defaults(None)
    assert "could not be read" in loaded.problems[0]
    assert path.read_bytes() == b"[1, 2]"
    # Saving over a file that is not ours sets it aside instead of overwriting it.
    save_settings({"idle_split_min": 11})
    [aside] = list(path.parent.glob("settings.json.corrupt-*"))
    assert aside.read_bytes() == b"[1, 2]"
    assert load_settings().values["idle_split_min"] == 11


def test_a_group_holding_a_plain_value_is_reported() -> None:
    write(settings_path(), '{"reminders": 5, "idle_split_min": 12}')
    loaded = load_settings()
    assert loaded.values["idle_split_min"] == 12
    assert any("reminders should hold a group of settings" in p for p in loaded.problems)


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_interrupted_write_leaves_the_old_file_whole(monkeypatch, failing) -> None:
    path = save_settings({"idle_split_min": 20})
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch, pytest.raises(OSError, match="No space left"):
        patch.setattr(os, failing, boom)
        save_settings({"idle_split_min": 30, "sample_interval_s": 5})
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]  # no temp file
    assert load_settings().values["idle_split_min"] == 20


def test_get_of_an_unknown_key_suggests_close_matches() -> None:
    with pytest.raises(SettingError, match="Did you mean: reminders.daily_wh"):
        load_settings().get("reminders.daily_w")


# --- properties ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["22:00", "7:5", "auto", "fr", "day", "EUR", "::1", "/tmp/x", "~/out"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
        | st.lists(
            st.fixed_dictionaries({"name": st.text(max_size=8), "match": st.text(max_size=8)})
        )
    ),
    max_leaves=12,
)
keys = st.sampled_from(sorted(OPTIONS))
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(key=keys, value=json_values)
def test_validate_returns_a_valid_value_or_a_setting_error(key, value) -> None:
    try:
        result = validate(key, value)
    except SettingError as exc:
        assert str(exc).strip()
        return
    assert validate(key, result) == result
    json.dumps(result, allow_nan=False)  # what we accept we can write back


@FAST
@given(key=keys, text=st.text(max_size=40))
def test_parse_value_returns_a_valid_value_or_a_setting_error(key, text) -> None:
    try:
        result = parse_value(key, text)
    except SettingError as exc:
        assert str(exc).strip()
        return
    assert validate(key, result) == result


@FAST
@given(
    content=st.binary(max_size=200)
    | st.dictionaries(
        st.sampled_from(sorted(OPTIONS | dict.fromkeys(GROUPS))) | st.text(max_size=10),
        json_values,
        max_size=6,
    ).map(lambda d: json.dumps(d).encode()),
    move_aside=st.booleans(),
)
def test_load_settings_never_raises(content, move_aside) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "settings.json"
        path.write_bytes(content)
        loaded = load_settings(path, move_aside=move_aside)
        assert set(loaded.values) == set(OPTIONS)
        for key, value in loaded.values.items():
            assert validate(key, value) == value
        assert all(isinstance(p, str) and p for p in loaded.problems)
