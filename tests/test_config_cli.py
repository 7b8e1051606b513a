"""`raison-garder config`: what the user reads and the exit codes scripts rely on."""

from __future__ import annotations

import json
import os

import pytest

from tray_app.cli import main
from tray_app.config.file import load_settings, settings_path
from tray_app.config.schema import OPTIONS

TOKEN = "0123456789abcdefXYZ"


@pytest.fixture(autouse=True)
def french_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """A French locale (messages stay English: conftest sets LANGUAGE=en)."""
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MONETARY", raising=False)
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["config", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_show_lists_every_key_with_the_file_and_the_default_marker(capsys) -> None:
    code, out, err = run(capsys, "show")
    assert code == 0 and err == ""
    assert f"Settings file: {settings_path()} (not created yet" in out
    for key in OPTIONS:
        assert f"  {key} = " in out
    assert "carbon_g_per_kwh = 56\u00a0g CO₂e/kWh" in out
    assert "(default)" in out
    assert "France, Our World in Data 2023" in out  # the figure says where it comes from


def test_show_marks_changed_values_and_masks_the_token(capsys) -> None:
    assert run(capsys, "set", "idle_split_min", "25", "metrics.token", TOKEN)[0] == 0
    assert main(["config"]) == 0  # `config` alone shows
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("idle_split_min ="))
    assert "25\u00a0min" in line and "(default: 10)" in line
    assert TOKEN not in out and "(set, hidden)" in out


def test_show_json_is_complete_and_masks_the_token(capsys) -> None:
    run(capsys, "set", "metrics.token", TOKEN)
    code, out, _err = run(capsys, "show", "--json")
    report = json.loads(out)
    assert code == 0
    assert report["path"] == str(settings_path())
    assert set(report["settings"]) == set(OPTIONS)
    assert report["settings"]["sample_interval_s"] == {
        "value": 1.0,
        "default": 1.0,
        "is_default": True,
        "unit": "s",
        "description": OPTIONS["sample_interval_s"].description,
    }
    assert TOKEN not in out


def test_get_prints_the_value_in_settable_form(capsys) -> None:
    assert run(capsys, "get", "reminders.quiet_hours.start") == (0, "22:00\n", "")
    assert run(capsys, "get", "images.output_dirs") == (0, "[]\n", "")
    run(capsys, "set", "metrics.token", TOKEN)
    assert TOKEN not in run(capsys, "get", "metrics.token")[1]
    assert run(capsys, "get", "metrics.token", "--reveal")[1] == TOKEN + "\n"


def test_set_validates_writes_and_prints(capsys) -> None:
    code, out, err = run(capsys, "set", "reminders.session_wh", "80")
    assert (code, out, err) == (0, "reminders.session_wh = 80\u00a0Wh\n", "")
    assert load_settings().values["reminders.session_wh"] == 80.0
    assert json.loads(settings_path().read_text())["reminders"] == {"session_wh": 80.0}


def test_set_refuses_a_bad_value_with_exit_2_and_writes_nothing(capsys) -> None:
    code, out, err = run(capsys, "set", "sample_interval_s", "0.01")
    assert code == 2 and out == ""
    assert "sample_interval_s must be between 0.1 and 60" in err
    assert not settings_path().exists()


def test_set_of_an_unknown_key_lists_close_matches(capsys) -> None:
    code, _out, err = run(capsys, "set", "reminders.sesion_wh", "80")
    assert code == 2
    assert "Unknown setting reminders.sesion_wh. Did you mean: reminders.session_wh" in err
    assert not settings_path().exists()


def test_set_checks_pairs_together(capsys) -> None:
    code, _out, err = run(
        capsys, "set", "reminders.budget_period", "week", "reminders.budget_wh", "0"
    )
    assert code == 2 and "A budget of 0\u00a0Wh per week" in err
    assert not settings_path().exists()
    code, out, _err = run(
        capsys, "set", "reminders.budget_period", "week", "reminders.budget_wh", "5000"
    )
    assert code == 0
    assert out.splitlines() == ["reminders.budget_period = week", "reminders.budget_wh = 5000\u00a0Wh"]
    assert run(capsys, "set", "idle_split_min")[0] == 2  # a key without a value


def test_set_keeps_other_changes(capsys) -> None:
    run(capsys, "set", "idle_split_min", "25")
    run(capsys, "set", "day_start_hour", "4")
    values = load_settings().values
    assert (values["idle_split_min"], values["day_start_hour"]) == (25, 4)


def test_reset_one_key_or_all(capsys) -> None:
    run(capsys, "set", "idle_split_min", "25", "day_start_hour", "4")
    code, out, _err = run(capsys, "reset", "idle_split_min")
    assert code == 0 and "idle_split_min is back to its default: 10" in out
    values = load_settings().values
    assert (values["idle_split_min"], values["day_start_hour"]) == (10, 4)
    assert run(capsys, "reset", "--all")[0] == 0
    assert load_settings().values["day_start_hour"] == 0
    assert json.loads(settings_path().read_text()) == {"version": 1}
    assert run(capsys, "reset")[0] == 2  # neither keys nor --all
    assert run(capsys, "reset", "nope")[0] == 2


def test_path_prints_the_settings_file(capsys) -> None:
    assert run(capsys, "path") == (0, f"{settings_path()}\n", "")


def test_a_corrupt_file_is_reported_and_kept_aside(capsys) -> None:
    settings_path().write_text("{ this is not json")
    code, out, err = run(capsys, "show")
    assert code == 0 and "sample_interval_s = 1\u00a0s" in out
    [aside] = list(settings_path().parent.glob("settings.json.corrupt-*"))
    assert "could not be read" in err and str(aside) in err
    assert aside.read_text() == "{ this is not json"


def test_a_bad_value_in_the_file_is_named_on_stderr(capsys) -> None:
    settings_path().write_text('{"reminders": {"power_limit_pct": 20}}')
    code, out, err = run(capsys, "get", "reminders.power_limit_pct")
    assert (code, out) == (0, "90\n")
    assert "reminders.power_limit_pct must be a whole number between 50 and 100" in err
    assert "you gave 20" in err and str(settings_path()) in err


def test_a_failed_write_exits_1_and_keeps_the_file(capsys, monkeypatch) -> None:
    run(capsys, "set", "idle_split_min", "25")
    before = settings_path().read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    code, _out, err = run(capsys, "set", "idle_split_min", "30")
    assert code == 1 and "No space left on device" in err and str(settings_path()) in err
    assert settings_path().read_bytes() == before


def test_set_says_when_an_option_applies_only_at_the_next_start(capsys) -> None:
    from tray_app.config.schema import RESTART, SCHEMA

    restart = [o.key for o in SCHEMA if o.applies == RESTART]
    assert restart  # per_process_attribution: the monitor is built with it
    code, out, _err = run(capsys, "set", restart[0], "false")
    assert code == 0 and out.rstrip().endswith("(applies at next start)")
    code, out, _err = run(capsys, "set", "reminders.session_wh", "80")
    assert "next start" not in out  # a live one applies within seconds
