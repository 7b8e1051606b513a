"""`raison-garder reminders` as a user sees it: the reminders given, newest first, and how each
one reached them."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from tray_app.cli import main
from tray_app.store import Store
from tray_app.system import i18n


@pytest.fixture
def logged(isolated_dirs):
    with Store.open() as s:
        start = datetime(2024, 5, 10, 14, 0).timestamp()
        sid = s.open_session("comfyui", "python3", [1], [0], start)
        s.close_session(sid, start + 600)
        s.add_reminder(datetime(2024, 5, 10, 14, 5).timestamp(), "session_energy",
                       {"value": 55.25, "threshold": 50.0, "session_wh": 55.25}, "shown",
                       "Quick energy check\nThis session has drawn 55\u00a0Wh so far.", sid)  # fmt: skip
        s.add_reminder(
            datetime(2024, 5, 10, 18, 30).timestamp(),
            "daily_energy",
            {"value": 262.0, "threshold": 250.0},
            "held:dnd",
            "Today so far\n…",
        )
        s.add_reminder(datetime(2024, 5, 10, 21, 0).timestamp(), "continuous",
                       {"value": 61.0, "threshold": 60.0, "energy_estimated": 1}, "held:fullscreen",
                       "Time to stretch?\n…", sid)  # fmt: skip
    return isolated_dirs


def test_empty_log_explains_when_reminders_appear_and_how_to_tune_them(isolated_dirs, capsys):
    assert main(["reminders"]) == 0
    out = capsys.readouterr().out
    assert "No reminders yet" in out
    assert "raison-garder config set reminders.session_wh" in out and "Settings" in out
    assert main(["reminders", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_table_lists_newest_first_with_how_each_was_delivered(logged, capsys):
    assert main(["reminders"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["Time", "Rule", "Session", "Values", "Delivered"]
    assert lines[1].startswith("2024-05-10 21:00  Generating without a break")
    assert "61\u00a0min (threshold 60) estimated" in lines[1]
    assert lines[1].endswith("held back (full-screen app)")
    assert "Energy today" in lines[2] and "262\u00a0Wh (threshold 250)" in lines[2]
    assert lines[2].endswith("held back (do-not-disturb)")
    assert "Session energy" in lines[3] and "55.2\u00a0Wh (threshold 50)" in lines[3]
    assert lines[3].endswith("shown")
    assert re.search(r"Energy today\s+-\s+262", lines[2])  # a daily reminder has no session
    assert len(lines) == 4


def test_json_keeps_every_field(logged, capsys):
    assert main(["reminders", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["rule"] for r in rows] == ["continuous", "daily_energy", "session_energy"]
    first = rows[-1]
    assert first["values"]["value"] == 55.25 and first["delivery"] == "shown"
    assert first["session_id"] == 1 and first["message"].startswith("Quick energy check")
    assert first["time"].startswith("2024-05-10T14:05:00")


def test_limit_says_there_may_be_more(logged, capsys):
    assert main(["reminders", "--limit", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4 and "--limit" in out[-1]


def test_table_speaks_french(logged, capsys, monkeypatch):
    monkeypatch.setenv("LANGUAGE", "fr")  # main() applies the language setting: auto
    try:
        assert main(["reminders"]) == 0
    finally:
        i18n.set_language("en")
    out = capsys.readouterr().out
    assert "Énergie de la session" in out and "séance" not in out.lower() and "retenu (ne pas déranger)" in out
