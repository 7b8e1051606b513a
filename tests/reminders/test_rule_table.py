"""The rule table is the one place a reminder rule lives: replace it with a rule it never had,
and the rules, the held-back re-check, the wording, the engine and the CLI all follow it
(the Settings window too: tests/ui/test_settings_dialog.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tray_app.commands import reminders as cli
from tray_app.reminders import phrasing
from tray_app.reminders import rules as r
from tray_app.reminders.engine import ReminderEngine

IDLE = "idle_energy"  # a rule this version does not have
INVENTED = r.Rule(
    IDLE,
    lambda s: s.reminders.images,  # reuses an existing setting as its threshold: 100 by default
    "Wh",
    "Energy while idle",
    lambda m: m.state.session_idle_wh,
    "session",
    switch=lambda s: s.reminders.images_enabled,
)


def _wording() -> tuple[tuple[str, str], ...]:
    return (("Idle title", "The tool idled with a model loaded: {value} of {energy}."),)


def install_invented_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """The table holds the invented rule only."""
    monkeypatch.setattr(r, "RULES", (INVENTED,))
    monkeypatch.setattr(r, "RULE_BY_ID", {IDLE: INVENTED})
    monkeypatch.setitem(phrasing.WORDINGS, IDLE, phrasing.RuleWording(_wording, _wording))


@pytest.fixture
def invented(monkeypatch):
    install_invented_rule(monkeypatch)


SCOPES = r.Scopes(session="session:s1", day="day:2025-03-10", period=None)
# Far past every threshold of the real rules, and past the invented rule's 100 Wh.
LOUD = r.ActivityState(session_id="s1", session_wh=900.0, today_wh=900.0, session_images=900,
                       continuous_active_s=900 * 60.0, session_idle_wh=120.0)  # fmt: skip


def test_due_triggers_follow_the_table(invented):
    cfg = r.ReminderConfig.from_settings({})
    assert cfg.thresholds == {IDLE: 100.0}
    [trigger] = r.due_triggers(LOUD, cfg, SCOPES, {}, 0.0)
    assert (trigger.rule, trigger.scope, trigger.value, trigger.threshold) == (
        IDLE, "session:s1", 120.0, 100.0,
    )  # fmt: skip
    # Its switch is the one the table names.
    off = r.ReminderConfig.from_settings({"reminders.images.enabled": False})
    assert r.due_triggers(LOUD, off, SCOPES, {}, 0.0) == []
    # Follow-up at twice the threshold, as for every rule.
    twice = r.ActivityState(session_id="s1", session_idle_wh=210.0)
    [follow] = r.due_triggers(twice, cfg, SCOPES, {"session:s1": {IDLE: r.SAID_FIRST}}, 0.0)
    assert follow.follow_up


def test_still_due_follows_the_table(invented):
    cfg = r.ReminderConfig.from_settings({})
    [trigger] = r.due_triggers(LOUD, cfg, SCOPES, {}, 0.0)
    assert r.still_due(trigger, LOUD, cfg, SCOPES, 0.0)
    calm = r.ActivityState(session_id="s1", session_idle_wh=50.0)
    assert not r.still_due(trigger, calm, cfg, SCOPES, 0.0)


def test_the_engine_speaks_the_rule_with_its_wording(invented):
    now = datetime(2025, 3, 10, 14, tzinfo=UTC).timestamp()
    engine = ReminderEngine({}, clock=lambda: now, tz=UTC)
    [reminder] = engine.evaluate(LOUD)
    assert reminder.rule == IDLE and reminder.title == "Idle title"
    assert reminder.body.startswith("The tool idled with a model loaded: 120\u00a0Wh of 900\u00a0Wh.")


def test_the_cli_names_the_rule_and_its_unit_from_the_table(invented):
    assert cli.rule_label(IDLE) == "Energy while idle"
    assert cli.values_text(IDLE, {"value": 120.0, "threshold": 100}) == "120\u00a0Wh (threshold 100)"
    assert cli.rule_label("session_energy") == "session_energy"  # gone from the table


def test_every_rule_has_its_wording_and_a_schema_setting():
    from tray_app.config.schema import OPTIONS

    for rule in r.RULES:
        wording = phrasing.WORDINGS[rule.id]
        assert wording.first()
        assert (wording.follow_up is not None) is rule.follow_up, rule.id
        assert rule.setting_key in OPTIONS
        assert rule.switch_key is None or OPTIONS[rule.switch_key].type.kind == "bool"
