"""The tip grounded in the user's own generations: "your 40-step SDXL images cost 2.1 Wh, your
20-step ones 1.1 Wh" — found in their data, said once per session, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.fixtures.history_store import seed_generations
from tray_app.reminders import rules as r
from tray_app.reminders.engine import ReminderEngine
from tray_app.reminders.phrasing import generic_tips
from tray_app.reminders.rules import ActivityState
from tray_app.sessions.generation_tips import steps_contrast
from tray_app.store import Store
from tray_app.store.generations import Group
from tray_app.system import i18n


def group(steps: int, wh: float | None, count: int = 12, family: str | None = "sdxl",
          size: int = 1024) -> Group:
    return Group(family, size, size, steps, count, count, wh, 10.0, count)


def test_a_clear_difference_between_two_step_counts_is_found():
    c = steps_contrast([group(40, 2.1), group(20, 1.1), group(30, 1.5, count=3)])
    assert c is not None
    assert (c.family, c.steps_high, c.wh_high, c.steps_low, c.wh_low) == ("sdxl", 40, 2.1, 20, 1.1)


def test_no_tip_without_enough_evidence_or_a_clear_gap():
    assert steps_contrast([group(40, 2.1), group(20, 1.1, count=4)]) is None  # an anecdote
    assert steps_contrast([group(40, 1.3), group(20, 1.1)]) is None  # within the noise
    assert steps_contrast([group(40, 2.1, family=None), group(20, 1.1, family=None)]) is None
    assert steps_contrast([group(40, 2.1), group(20, 1.1, size=512)]) is None  # not the same size
    assert steps_contrast([group(40, None), group(20, 1.1)]) is None  # energy unknown


def test_the_most_used_comparison_wins():
    c = steps_contrast([group(50, 3.0, count=6), group(40, 2.1, count=30), group(20, 1.1, count=25)])
    assert (c.steps_high, c.steps_low) == (40, 20)


def _engine(clock: list[float]) -> ReminderEngine:
    return ReminderEngine({"reminders.quiet_hours.enabled": False}, lambda: clock[0], UTC)


def test_the_reminder_tip_quotes_the_users_own_images_once_per_session():
    clock = [datetime(2025, 3, 10, 12, tzinfo=UTC).timestamp()]
    engine = _engine(clock)
    contrast = steps_contrast([group(40, 2.1), group(20, 1.1)])
    state = ActivityState(session_id="s", session_wh=130.0, today_wh=300.0,
                          generation_contrast=contrast)  # fmt: skip
    [first] = engine.evaluate(state)
    assert first.tip == (
        "Tip from your own images: your 40-step SDXL images cost 2.1\u00a0Wh each, your 20-step ones "
        "1.1\u00a0Wh. If the fewer steps look as good to you, that is the saving."
    )
    clock[0] += 31 * 60
    later = engine.evaluate(ActivityState(session_id="s", session_wh=300.0, today_wh=900.0,
                                          generation_contrast=contrast))  # fmt: skip
    assert later and all(rem.tip in generic_tips() for rem in later)  # not twice


def test_the_tip_in_french_uses_a_decimal_comma():
    i18n.set_language("fr")
    try:
        clock = [datetime(2025, 3, 10, 12, tzinfo=UTC).timestamp()]
        contrast = steps_contrast([group(30, 0.84), group(20, 0.52)])
        [rem] = _engine(clock).evaluate(ActivityState(
            session_id="s", session_wh=130.0, today_wh=300.0, generation_contrast=contrast))
        assert "vos images SDXL en 30 étapes coûtent 0,84\u00a0Wh chacune" in rem.tip
        assert "celles en 20 étapes 0,52\u00a0Wh" in rem.tip
    finally:
        i18n.set_language("en")


def test_a_power_limit_reminder_keeps_its_own_tip():
    from tray_app.reminders.phrasing import render

    contrast = steps_contrast([group(40, 2.1), group(20, 1.1)])
    state = ActivityState(session_id="s", gpu_power_pct_of_limit=97.0, generation_contrast=contrast)
    cfg = r.ReminderConfig.from_settings({})
    trigger = r.Trigger(r.POWER_LIMIT, "session:s", 1, False, 20.0, 10.0)
    assert "power limit" in render(trigger, state, cfg, 20 * 60, 0, 0, 0).tip


def test_from_a_store_of_real_generations(tmp_path):
    """The engine's path: the store's groups of recent generations -> the contrast."""
    from tests.fixtures.history_store import seed_store

    with Store.open(tmp_path / "s.sqlite3") as store:
        seed_store(store, n=200, samples_for=0)
        seed_generations(store, per_session=30)
        c = steps_contrast(store.generation_groups())
    # The fixture's SDXL at 1024x1024: 30 steps against 20, the same seconds per step.
    assert c is not None and (c.family, c.width, c.steps_high, c.steps_low) == ("sdxl", 1024, 30, 20)
    assert c.wh_high / c.wh_low > 1.3


def test_the_engine_part_reads_the_comparison_hourly_and_after_a_session_ends(tmp_path):
    from tests.fixtures.history_store import seed_store
    from tray_app.runtime.generations import GenerationLog

    with Store.open(tmp_path / "s.sqlite3") as store:
        seed_store(store, n=60, days=20, samples_for=0)
        reads = []
        real = store.generation_groups

        def counting(since=None):
            reads.append(since)
            return real(since)

        store.generation_groups = counting  # type: ignore[method-assign]
        log = GenerationLog(store, lambda: 0.0)
        now = datetime.now(UTC).timestamp()
        assert log.contrast(now) is None  # no generations yet
        seed_generations(store, per_session=30)
        assert log.contrast(now) is None and len(reads) == 1  # not re-read within the hour
        log._contrast_due = 0.0  # as after a session's end
        c = log.contrast(now)
        assert c is not None and c.family == "sdxl" and len(reads) == 2
        assert reads[-1] == now - 30 * 86400  # the user's recent habits only
