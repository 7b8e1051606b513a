"""The reminder engine under a fake clock: thresholds, gentleness, snooze, vetoes, memory."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tray_app.reminders import ActivityState, ReminderEngine, load_engine, save_engine

UTC = UTC
MIN = 60.0


class Clock:
    def __init__(self, *when: int) -> None:
        self.t = datetime(*when, tzinfo=UTC).timestamp()

    def __call__(self) -> float:
        return self.t

    def advance(self, minutes: float) -> None:
        self.t += minutes * MIN

    def set(self, *when: int) -> None:
        self.t = datetime(*when, tzinfo=UTC).timestamp()


BASE = {"carbon_g_per_kwh": 56.0, "price_per_kwh": 0.25}


def make(clock: Clock, **overrides: object) -> ReminderEngine:
    settings = dict(BASE)
    settings.update({k.replace("__", "."): v for k, v in overrides.items()})
    return ReminderEngine(settings, clock=clock, tz=UTC)


def session(sid: str = "s1", **fields: object) -> ActivityState:
    return ActivityState(session_id=sid, **fields)


@pytest.fixture
def clock() -> Clock:
    return Clock(2025, 3, 10, 12, 0)  # a Monday, midday


# --- thresholds -------------------------------------------------------------------------------

THRESHOLDS = [
    ("session_energy", dict(session_wh=49.9), dict(session_wh=50.0)),
    ("daily_energy", dict(today_wh=249.0), dict(today_wh=250.0)),
    ("continuous", dict(continuous_active_s=59 * MIN), dict(continuous_active_s=60 * MIN)),
    ("images", dict(session_images=99), dict(session_images=100)),
    ("budget_80", dict(period_wh=79.0), dict(period_wh=80.0)),
    ("budget_100", dict(period_wh=99.0), dict(period_wh=100.0)),
]


@pytest.mark.parametrize(("rule", "below", "at"), THRESHOLDS, ids=[t[0] for t in THRESHOLDS])
def test_each_rule_speaks_exactly_at_its_threshold(clock, rule, below, at):
    engine = make(clock, reminders__budget_period="day", reminders__budget_wh=100.0)
    if rule == "budget_100":
        below = dict(period_wh=99.0)
        # 80 % has been said already in this period; the next step is 100 %.
        assert [r.rule for r in engine.evaluate(session(period_wh=85.0))] == ["budget_80"]
        clock.advance(31)
    assert engine.evaluate(session(**below)) == []
    [reminder] = engine.evaluate(session(**at))
    assert reminder.rule == rule and not reminder.follow_up
    assert reminder.session_id == "s1" and reminder.delivery is None
    assert reminder.title and reminder.body and reminder.tip


def test_energy_reminder_states_the_fact_and_its_equivalents(clock):
    [reminder] = make(clock).evaluate(session(session_wh=52.0))
    assert "52\u00a0Wh" in reminder.title + reminder.body
    assert "about 4 phone charges (13\u00a0Wh each)" in reminder.body
    assert "2.9\u00a0g CO₂e (grid at 56\u00a0g/kWh)" in reminder.body
    assert reminder.values["session_wh"] == 52.0 and reminder.values["threshold"] == 50.0


def test_power_limit_needs_the_limit_held_for_m_minutes(clock):
    engine = make(clock, reminders__power_limit__enabled=True, reminders__power_limit_min=15)
    hot = session(gpu_power_pct_of_limit=95.0, session_wh=10.0)

    def run(minutes: float, state: ActivityState = hot) -> list:
        out = []
        for _ in range(int(minutes * 12)):  # the monitor calls every 5 s
            out += engine.evaluate(state)
            clock.advance(5 / 60)
        return out

    assert run(14.5) == []
    run(0.25, session(gpu_power_pct_of_limit=60.0, session_wh=10.0))  # a 15 s dip between images
    [reminder] = run(1)
    assert reminder.rule == "power_limit" and reminder.values["power_held_min"] >= 15
    assert "15\u00a0min" in reminder.title + reminder.body


def test_power_limit_streak_breaks_on_a_long_dip_or_a_gap(clock):
    engine = make(clock, reminders__power_limit__enabled=True, reminders__power_limit_min=15)
    hot = session(gpu_power_pct_of_limit=95.0)
    for _ in range(12 * 10):  # 10 minutes hot
        assert engine.evaluate(hot) == []
        clock.advance(5 / 60)
    for _ in range(12):  # a full minute below the limit: the streak is over
        engine.evaluate(session(gpu_power_pct_of_limit=50.0))
        clock.advance(5 / 60)
    for _ in range(12 * 10):
        assert engine.evaluate(hot) == []
        clock.advance(5 / 60)
    clock.advance(20)  # the machine slept: we did not see those 20 minutes
    for _ in range(12 * 10):
        assert engine.evaluate(hot) == []
        clock.advance(5 / 60)


def test_power_limit_unknown_is_not_hot(clock):
    engine = make(clock, reminders__power_limit_min=1)
    for _ in range(100):
        assert engine.evaluate(session(gpu_power_pct_of_limit=None)) == []
        clock.advance(5 / 60)


# --- once per session, follow-up ------------------------------------------------------------


def test_once_per_session_then_one_softer_follow_up_at_twice_the_threshold(clock):
    engine = make(clock)
    [first] = engine.evaluate(session(session_wh=55.0))
    clock.advance(31)
    assert engine.evaluate(session(session_wh=90.0)) == []  # said already, below 2x
    [follow] = engine.evaluate(session(session_wh=100.0))
    assert follow.rule == "session_energy" and follow.follow_up
    assert follow.title != first.title
    for _ in range(20):  # never a third word, however high it climbs
        clock.advance(31)
        assert engine.evaluate(session(session_wh=1000.0)) == []
    clock.advance(31)
    [other] = engine.evaluate(session("s2", session_wh=50.0))  # a new session may speak again
    assert other.session_id == "s2" and not other.follow_up


def test_first_noticed_past_twice_the_threshold_speaks_once_only(clock):
    engine = make(clock)
    [reminder] = engine.evaluate(session(session_wh=180.0))
    assert not reminder.follow_up and "180\u00a0Wh" in reminder.title + reminder.body
    clock.advance(60)
    assert engine.evaluate(session(session_wh=200.0)) == []


def test_reset_session_lets_a_reused_session_id_speak_again(clock):
    engine = make(clock)
    assert engine.evaluate(session(session_wh=60.0))
    clock.advance(31)
    engine.reset_session("s1")
    assert [r.rule for r in engine.evaluate(session(session_wh=60.0))] == ["session_energy"]


def test_budget_100_supersedes_80(clock):
    engine = make(clock, reminders__budget_period="week", reminders__budget_wh=1000.0)
    assert [r.rule for r in engine.evaluate(ActivityState(period_wh=1200.0))] == ["budget_100"]
    for _ in range(5):
        clock.advance(31)
        assert engine.evaluate(ActivityState(period_wh=1300.0)) == []


# --- cooldown ---------------------------------------------------------------------------------


def test_cooldown_between_any_two_reminders_and_silenced_ones_never_existed(clock):
    engine = make(clock)
    assert [r.rule for r in engine.evaluate(session(session_wh=60.0))] == ["session_energy"]
    clock.advance(10)
    assert engine.evaluate(session(session_wh=70.0, today_wh=300.0)) == []
    assert engine.held() == []
    clock.advance(19.9)
    assert engine.evaluate(session(session_wh=70.0, today_wh=310.0)) == []
    clock.advance(0.1)
    [daily] = engine.evaluate(session(session_wh=70.0, today_wh=320.0))
    # Spoken when allowed, with the numbers of that moment.
    assert daily.rule == "daily_energy" and daily.values["today_wh"] == 320.0


def test_several_rules_due_at_once_speak_one_at_a_time(clock):
    engine = make(clock)
    busy = session(
        session_wh=60.0, today_wh=300.0, session_images=120, continuous_active_s=70 * MIN
    )
    said = []
    for _ in range(10):
        said += [r.rule for r in engine.evaluate(busy)]
        clock.advance(1)
    assert said == ["daily_energy"]
    for _ in range(4):
        clock.advance(30)
        said += [r.rule for r in engine.evaluate(busy)]
    assert said == ["daily_energy", "session_energy", "continuous", "images"]


# --- quiet hours and snooze -------------------------------------------------------------------


def test_quiet_hours_across_midnight_drop_all_but_the_latest(clock):
    engine = make(clock, reminders__quiet_hours__enabled=True)
    clock.set(2025, 3, 10, 23, 0)
    assert engine.evaluate(session(session_wh=60.0)) == []
    clock.set(2025, 3, 11, 1, 0)
    assert engine.evaluate(session(session_wh=60.0, session_images=150)) == []
    clock.set(2025, 3, 11, 7, 59)
    assert engine.evaluate(session(session_wh=70.0, session_images=160)) == []
    clock.set(2025, 3, 11, 8, 0)
    [reminder] = engine.evaluate(session(session_wh=70.0, session_images=160))
    assert reminder.rule == "images" and reminder.values["session_images"] == 160
    for _ in range(6):  # the session energy reminder was dropped, not deferred
        clock.advance(31)
        assert engine.evaluate(session(session_wh=70.0, session_images=160)) == []


def test_quiet_hours_drop_a_reminder_whose_session_ended(clock):
    engine = make(clock, reminders__quiet_hours__enabled=True)
    clock.set(2025, 3, 10, 23, 0)
    assert engine.evaluate(session(session_wh=60.0)) == []
    clock.set(2025, 3, 11, 8, 0)
    assert engine.evaluate(ActivityState()) == []
    clock.advance(31)
    assert engine.evaluate(session(session_wh=60.0)) == []


def test_snooze_for_an_hour(clock):
    engine = make(clock)
    until = engine.snooze_for(3600)
    assert engine.snoozed_until == until == clock() + 3600
    clock.advance(10)
    assert engine.evaluate(session(session_wh=60.0)) == []
    clock.advance(49.9)
    assert engine.evaluate(session(session_wh=60.0)) == []
    clock.advance(0.2)
    [reminder] = engine.evaluate(session(session_wh=65.0))
    assert reminder.rule == "session_energy" and reminder.values["session_wh"] == 65.0
    assert engine.snoozed_until is None


def test_snooze_until_tomorrow_ends_at_the_day_start_hour(clock):
    engine = make(clock, day_start_hour=4)
    clock.set(2025, 3, 10, 15, 0)
    assert engine.snooze_until_tomorrow() == datetime(2025, 3, 11, 4, 0, tzinfo=UTC).timestamp()
    assert engine.evaluate(session(session_wh=60.0)) == []
    clock.set(2025, 3, 11, 3, 59)
    assert engine.evaluate(session(session_wh=60.0)) == []
    clock.set(2025, 3, 11, 4, 0)
    assert [r.rule for r in engine.evaluate(session(session_wh=60.0))] == ["session_energy"]


def test_not_today_replays_nothing_but_new_facts_still_speak(clock):
    engine = make(clock, day_start_hour=4)
    engine.not_today()
    assert engine.evaluate(session(session_wh=60.0)) == []
    clock.set(2025, 3, 11, 4, 0)
    assert engine.evaluate(session(session_wh=60.0)) == []
    [reminder] = engine.evaluate(session(session_wh=60.0, today_wh=300.0))
    assert reminder.rule == "daily_energy"


# --- days -------------------------------------------------------------------------------------


def test_daily_rule_resets_at_day_start_hour(clock):
    engine = make(clock, day_start_hour=4)
    clock.set(2025, 3, 10, 20, 0)
    assert [r.rule for r in engine.evaluate(ActivityState(today_wh=300.0))] == ["daily_energy"]
    clock.set(2025, 3, 11, 3, 30)  # still the 10th for this user
    assert engine.evaluate(ActivityState(today_wh=320.0)) == []
    clock.set(2025, 3, 11, 4, 30)  # a new day, a new total
    [reminder] = engine.evaluate(ActivityState(today_wh=260.0))
    assert reminder.rule == "daily_energy" and not reminder.follow_up


# --- vetoes -----------------------------------------------------------------------------------


def test_veto_holds_the_reminder_for_the_tray_menu(clock):
    engine = make(clock)
    engine.add_veto(lambda reminder: None)
    engine.add_veto(lambda reminder: "dnd")
    [reminder] = engine.evaluate(session(session_wh=60.0))
    assert reminder.delivery == "held:dnd"
    assert [h.id for h in engine.held()] == [reminder.id]
    clock.advance(31)
    assert engine.evaluate(session(session_wh=60.0)) == []  # it was said, just held
    assert engine.release(reminder.id) is not None and engine.held() == []


def test_a_broken_veto_hook_does_not_lose_the_reminder(clock, caplog):
    engine = make(clock)

    def broken(reminder: object) -> str | None:
        raise RuntimeError("full-screen probe failed")

    engine.add_veto(broken)
    [reminder] = engine.evaluate(session(session_wh=60.0))
    assert reminder.delivery is None
    assert "veto hook" in caplog.text


# --- switches ---------------------------------------------------------------------------------


def test_disabled_rule_never_fires(clock):
    engine = make(clock, reminders__session_wh__enabled=False)
    for _ in range(10):
        assert engine.evaluate(session(session_wh=10_000.0)) == []
        clock.advance(31)


def test_all_reminders_off(clock):
    engine = make(clock, reminders__enabled=False)
    for _ in range(5):
        assert engine.evaluate(session(session_wh=10_000.0, today_wh=10_000.0)) == []
        clock.advance(31)


def test_images_rule_is_silent_when_images_are_not_counted(clock):
    engine = make(clock, reminders__session_wh__enabled=False)
    for _ in range(5):
        assert engine.evaluate(session(session_images=None, session_wh=10.0)) == []
        clock.advance(31)


def test_update_settings_applies_new_thresholds(clock):
    engine = make(clock)
    assert engine.evaluate(session(session_wh=30.0)) == []
    engine.update_settings({**BASE, "reminders.session_wh": 25.0})
    assert [r.rule for r in engine.evaluate(session(session_wh=30.0))] == ["session_energy"]


# --- memory across restarts ---------------------------------------------------------------------


def test_state_survives_a_restart(clock):
    engine = make(clock)
    assert engine.evaluate(ActivityState(today_wh=300.0))
    engine.snooze_for(90 * MIN)
    saved = json.loads(json.dumps(engine.to_dict()))  # what goes to disk

    clock.advance(95)
    restored = ReminderEngine.from_dict(saved, BASE, clock=clock, tz=UTC)
    assert restored.evaluate(ActivityState(today_wh=400.0)) == []  # once per day still holds
    [reminder] = restored.evaluate(session(session_wh=60.0, today_wh=400.0))
    assert reminder.rule == "session_energy"


def test_cooldown_and_snooze_survive_a_restart(clock):
    engine = make(clock)
    assert engine.evaluate(session(session_wh=60.0))
    engine.snooze_for(3600)
    restored = ReminderEngine.from_dict(engine.to_dict(), BASE, clock=clock, tz=UTC)
    assert restored.snoozed_until == clock() + 3600
    restored.cancel_snooze()
    clock.advance(5)
    assert restored.evaluate(session(today_wh=300.0)) == []  # cooldown remembered


def test_save_and_load_round_trip(clock, tmp_path):
    path = tmp_path / "data" / "reminders-state.json"
    engine = make(clock)
    assert engine.evaluate(ActivityState(today_wh=300.0))
    assert save_engine(engine, path) is None
    clock.advance(60)
    loaded, error = load_engine(path, BASE, clock=clock, tz=UTC)
    assert error is None
    assert loaded.evaluate(ActivityState(today_wh=400.0)) == []


def test_corrupt_state_file_is_set_aside_with_a_clear_message(clock, tmp_path):
    path = tmp_path / "reminders-state.json"
    path.write_text("{not json", encoding="utf-8")
    engine, error = load_engine(path, BASE, clock=clock, tz=UTC)
    assert error is not None and str(path) in error and "afresh" in error
    assert (tmp_path / "reminders-state.json.corrupt").exists()
    assert engine.evaluate(ActivityState(today_wh=300.0))  # and the engine works


def test_garbage_in_the_state_is_ignored_not_fatal(clock):
    garbage = {"version": 1, "said": {"day:x": "no"}, "pending": {"rule": 3}, "held": [{"x": 1}]}
    engine = ReminderEngine.from_dict(garbage, BASE, clock=clock, tz=UTC)
    assert engine.evaluate(ActivityState(today_wh=300.0))
    assert ReminderEngine.from_dict({"version": 99}, BASE, clock=clock).to_dict()["said"] == {}


def test_integer_session_ids_from_the_store_work_and_persist(clock):
    engine = make(clock)
    [reminder] = engine.evaluate(ActivityState(session_id=42, session_wh=60.0))
    assert reminder.session_id == 42
    restored = ReminderEngine.from_dict(json.loads(json.dumps(engine.to_dict())), BASE, clock, UTC)
    clock.advance(31)
    assert restored.evaluate(ActivityState(session_id=42, session_wh=90.0)) == []
