"""The idle_waste reminder rule: one entry in the rule table, spoken once per idle stretch."""

from __future__ import annotations

from tray_app.idle.waste import IdleWaste
from tray_app.reminders import rules as r
from tray_app.reminders.engine import ReminderEngine
from tray_app.system import i18n


def waste(idle_s: float, since: float = 1000.0, holding_mb: float | None = 8400.0) -> IdleWaste:
    return IdleWaste(key=("comfyui", 77), tool="comfyui", label="ComfyUI", pid=77,
                     gpus=("nvidia:0",), holding_mb=holding_mb, power_w=62.0, floor_w=14.0,
                     since=since, idle_s=idle_s, due=False)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def engine(**settings) -> tuple[ReminderEngine, Clock]:
    clock = Clock()
    base = {"reminders.cooldown_min": 0, "reminders.idle_waste_min": 10}
    return ReminderEngine({**base, **settings}, clock), clock


def test_the_rule_is_in_the_table_with_its_setting_and_switch():
    rule = r.RULE_BY_ID[r.IDLE_WASTE]
    assert (rule.setting_key, rule.switch_key, rule.unit, rule.scope) == (
        "reminders.idle_waste_min", "reminders.idle_waste.enabled", r.MINUTES, "idle")
    assert r.ReminderConfig.from_settings({}).threshold(r.IDLE_WASTE) == 10


def test_it_speaks_once_the_delay_has_passed_and_once_per_idle_stretch():
    eng, clock = engine()
    assert eng.evaluate(r.ActivityState(session_id=1, idle_waste=waste(9 * 60))) == []
    (rem,) = eng.evaluate(r.ActivityState(session_id=1, idle_waste=waste(10 * 60)))
    assert rem.rule == r.IDLE_WASTE
    assert rem.title == "ComfyUI is holding the GPU" or "ComfyUI" in rem.body
    assert (rem.values["idle_tool"], rem.values["idle_pid"]) == ("comfyui", 77)
    clock.now += 3600
    assert eng.evaluate(r.ActivityState(session_id=1, idle_waste=waste(70 * 60))) == []
    # It generated, then sat idle again: a new stretch, a new reminder.
    (again,) = eng.evaluate(r.ActivityState(session_id=1, idle_waste=waste(10 * 60, since=5000.0)))
    assert again.rule == r.IDLE_WASTE


def test_it_stays_silent_when_switched_off_or_when_freeing_is_automatic():
    for settings in ({"reminders.idle_waste.enabled": False}, {"reminders.idle_waste_auto_free": True}):
        eng, _clock = engine(**settings)
        assert eng.evaluate(r.ActivityState(session_id=1, idle_waste=waste(60 * 60))) == []


def test_its_words_say_the_tool_memory_watts_and_daily_cost_in_french_too():
    for lang, expected in (("en", ("ComfyUI", "8.2\u00a0GB", "48\u00a0W", "1.2\u00a0kWh")),
                           ("fr", ("ComfyUI", "8,2\u00a0Go", "48\u00a0W", "1,2\u00a0kWh"))):
        i18n.set_language(lang)
        try:
            eng, _clock = engine()
            (rem,) = eng.evaluate(r.ActivityState(session_id=1, idle_waste=waste(12 * 60)))
        finally:
            i18n.set_language("en")
        for part in expected:
            assert part in rem.body, (lang, rem.body)
