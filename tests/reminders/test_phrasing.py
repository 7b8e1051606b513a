"""What reminders say: varied, grounded in the session's data, and really French in French."""

from __future__ import annotations

import ast
import json
import re
import string
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tray_app.reminders import ActivityState, ReminderEngine
from tray_app.reminders import rules as r
from tray_app.reminders.phrasing import generic_tips, render
from tray_app.system import i18n
from tray_app.system.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "tray_app" / "reminders"
FRENCH = REPO_ROOT / "resources" / "i18n" / "fr" / "reminders.json"
# Strings that are the same in both languages (units, a loanword).
SAME_IN_FRENCH = {"{minutes} min", "{n} image", "{n} images"}

CFG = r.ReminderConfig.from_settings(
    {
        "carbon_g_per_kwh": 56.0,
        "price_per_kwh": 0.25,
        "reminders.budget_period": "week",
        "reminders.budget_wh": 1000.0,
    }
)
STATE = ActivityState(
    session_id="s1",
    session_wh=130.0,
    continuous_active_s=75 * 60,
    session_images=160,
    today_wh=520.0,
    period_wh=1010.0,
    gpu_power_pct_of_limit=96.0,
)
RULE_CASES = [(rule, False) for rule in r.RULE_IDS] + [
    (rule.id, True) for rule in r.RULES if rule.follow_up
]


def msgids() -> set[str]:
    found = set()
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("_", "ngettext"):
                found |= {
                    a.value
                    for a in node.args
                    if isinstance(a, ast.Constant) and isinstance(a.value, str)
                }
    return found


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def trigger(rule: str, follow_up: bool) -> r.Trigger:
    return r.Trigger(rule, "session:s1", 2 if follow_up else 1, follow_up, 100.0, 50.0)


def test_every_string_has_a_french_entry_with_the_same_fields():
    french = {
        k: v
        for k, v in json.loads(FRENCH.read_text(encoding="utf-8")).items()
        if not k.startswith("@")
    }
    ids = msgids()
    assert len(ids) > 100
    assert sorted(ids - french.keys()) == []
    assert sorted(french.keys() - ids) == []  # no stale entries either
    for english, translated in french.items():
        assert fields(translated) == fields(english), english
        if english not in SAME_IN_FRENCH:
            assert translated != english


def test_at_least_three_wordings_per_rule_and_they_rotate():
    for rule, follow_up in RULE_CASES:
        seen = {
            render(trigger(rule, follow_up), STATE, CFG, 20 * 60, 0, n, 0).title for n in range(3)
        }
        assert len(seen) == 3, rule


def test_rotation_is_deterministic_for_a_seed_and_varies_between_seeds():
    def titles(seed: int) -> list[str]:
        return [
            render(trigger(r.SESSION_ENERGY, False), STATE, CFG, 0, seed, n, n).title
            for n in range(6)
        ]

    assert titles(7) == titles(7)
    assert titles(7)[:3] != titles(7)[1:4]
    assert any(titles(seed)[0] != titles(0)[0] for seed in range(1, 10))


def test_french_reminders_contain_no_english_sentence():
    english_words = re.compile(
        r"\b(the|your|you|you've|that's|this|and|of|with|has|have|tip|about|per|each|less than)\b",
        re.I,
    )
    i18n.set_language("en")
    english = {
        (rule, fu, n): render(trigger(rule, fu), STATE, CFG, 20 * 60, 0, n, n)
        for rule, fu in RULE_CASES
        for n in range(3)
    }
    i18n.set_language("fr")
    for key, en in english.items():
        fr = render(trigger(key[0], key[1]), STATE, CFG, 20 * 60, 0, key[2], key[2])
        for en_text, fr_text in ((en.title, fr.title), (en.body, fr.body), (en.tip, fr.tip)):
            assert fr_text != en_text
            assert english_words.search(fr_text) is None, fr_text
            for sentence in re.split(r"(?<=[.?!])\s+", en_text):
                assert sentence not in fr_text
    for tip in generic_tips():
        assert tip.startswith("Astuce")


def test_engine_speaks_french_with_french_numbers():
    i18n.set_language("fr")
    clock = datetime(2025, 3, 10, 12, tzinfo=UTC).timestamp()
    engine = ReminderEngine(
        {"reminders.quiet_hours.enabled": False, "carbon_g_per_kwh": 56.0},
        lambda: clock,
        UTC,
    )
    [reminder] = engine.evaluate(ActivityState(session_id="s", session_wh=52.0))
    assert "environ 4 recharges de smartphone (13\u00a0Wh chacune)" in reminder.body
    assert "2,9\u00a0g de CO₂e (réseau à 56\u00a0g/kWh)" in reminder.body


def test_idle_model_tip_is_grounded_in_the_session_and_said_once():
    clock = [datetime(2025, 3, 10, 12, tzinfo=UTC).timestamp()]
    engine = ReminderEngine(
        {"reminders.quiet_hours.enabled": False}, lambda: clock[0], UTC
    )
    idle = ActivityState(
        session_id="s",
        session_wh=60.0,
        today_wh=300.0,
        session_idle_wh=28.0,
        idle_minutes_with_model=40,
    )
    [first] = engine.evaluate(idle)
    assert first.tip == (
        "Your GPU drew 42\u00a0W for 40\u00a0min while the tool sat idle with a model loaded (28\u00a0Wh): "
        "closing it or unloading the model saves that."
    )
    clock[0] += 31 * 60
    [second] = engine.evaluate(idle)
    assert second.tip in generic_tips()


@pytest.mark.parametrize(
    ("rule", "state", "needle"),
    [
        (r.POWER_LIMIT, STATE, "power limit"),
        (
            r.IMAGES,
            ActivityState(session_id="s", session_wh=200.0, session_images=100),
            "2.0\u00a0Wh per image",
        ),
    ],
)
def test_rule_specific_grounded_tips(rule, state, needle):
    wording = render(trigger(rule, False), state, CFG, 20 * 60, 0, 0, 0)
    assert needle in wording.tip


def test_images_without_energy_says_only_what_is_known():
    state = ActivityState(session_id="s", session_images=120)
    wording = render(trigger(r.IMAGES, False), state, CFG, 0, 0, 0, 0)
    assert wording.body == "This session has produced 120\u00a0images."
    assert "Wh" not in wording.body


def test_estimated_energy_is_labelled_in_the_reminder():
    state = ActivityState(session_id="s", session_wh=60.0, energy_estimated=True)
    wording = render(trigger(r.SESSION_ENERGY, False), state, CFG, 0, 0, 0, 0)
    assert "60\u00a0Wh (estimated)" in wording.title + wording.body


def test_package_never_imports_qt():
    for path in Path(PACKAGE).glob("*.py"):
        assert "PySide6" not in path.read_text(encoding="utf-8")
