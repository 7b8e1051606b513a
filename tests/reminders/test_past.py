"""What a threshold would have meant on the user's history (reminders/past.py, past_text.py),
read from a real SQLite store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tray_app.reminders import past as p
from tray_app.reminders import rules as r
from tray_app.reminders.past_text import no_history_text, suggestion_text, when, would_have_text
from tray_app.store import Store
from tray_app.system import i18n

UTC = UTC
NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC).timestamp()  # a Tuesday
DAY = 86400.0


def session(ts: float, wh: float | None, images: int | None = None, active_min: float = 30):
    return p.PastSession(ts, wh, images, active_min * 60)


def past(*sessions: p.PastSession, hour: int = 0) -> p.Past:
    return p.Past(NOW, tuple(sorted(sessions, key=lambda s: s.start_ts)), hour, UTC)


def test_would_have_counts_the_last_forty_sessions_and_names_the_latest():
    # 50 sessions, one a day: 10, 20, ... 500 Wh; the newest is the biggest.
    history = past(*(session(NOW - (50 - i) * DAY, 10.0 * i) for i in range(1, 51)))
    result = p.would_have(history.per_session(lambda s: s.wh), 300.0)
    assert (result.hits, result.of) == (21, 40)  # 300..500 among the last 40 (110..500)
    assert result.last_ts == NOW
    assert p.would_have(history.per_session(lambda s: s.wh), 1000.0).hits == 0


def test_unknown_energy_is_left_out_not_counted_as_zero():
    history = past(session(NOW - 3 * DAY, None), session(NOW - 2 * DAY, 80.0))
    result = p.would_have(history.per_session(lambda s: s.wh), 50.0)
    assert (result.hits, result.of) == (1, 1)


def test_days_add_their_sessions_and_follow_the_users_day_start():
    base = datetime(2026, 11, 30, 0, 0, tzinfo=UTC).timestamp()
    sessions = (
        session(base + 2 * 3600, 100.0),  # 02:00 on the 30th: still the 29th with day_start 4
        session(base + 10 * 3600, 100.0),
        session(base + 20 * 3600, 100.0),
    )
    assert [o.value for o in past(*sessions).per_period(week=False).occasions] == [300.0]
    by_four = past(*sessions, hour=4).per_period(week=False).occasions
    assert [o.value for o in by_four] == [100.0, 200.0]


def test_the_budget_is_compared_per_week_in_percent_of_the_budget():
    sessions = [session(NOW - d * DAY, 400.0) for d in range(1, 15)]  # two weeks of 400 Wh days
    settings = r.typed({"reminders.budget_period": "week", "reminders.budget_wh": 2000.0})
    rule = r.RULE_BY_ID[r.BUDGET_100]
    series = rule.past(past(*sessions), settings)
    assert series is not None and series.kind == "week"
    assert all(o.value >= 100 for o in series.occasions[1:-1])  # full weeks: 2800 Wh = 140 %
    off = r.typed({"reminders.budget_period": "off"})
    assert rule.past(past(*sessions), off) is None


def test_every_rule_with_a_history_reads_it_in_its_own_unit():
    s = session(NOW - DAY, 120.0, images=30, active_min=75)
    settings = r.typed({})
    values = {rule.id: rule.past(past(s), settings) for rule in r.RULES if rule.past}
    assert values[r.SESSION_ENERGY].occasions[0].value == 120.0
    assert values[r.DAILY_ENERGY].occasions[0].value == 120.0
    assert values[r.IMAGES].occasions[0].value == 30
    assert values[r.CONTINUOUS].occasions[0].value == 75.0


def test_suggest_is_the_75th_percentile_of_the_last_30_days_rounded_as_a_person_would():
    recent = [session(NOW - i * 0.7 * DAY, 10.0 * i) for i in range(1, 41)]  # 10..400, < 30 days
    old = [session(NOW - 200 * DAY, 5000.0)] * 10  # too old to count
    series = past(*recent, *old).per_session(lambda s: s.wh)
    proposal = p.suggest(series, NOW, 1.0, 100_000.0)
    assert isinstance(proposal, p.Suggestion)
    assert proposal.value == 300.0  # 302.5, two significant figures
    assert (proposal.of, proposal.hits) == (40, 11)


def test_suggest_needs_five_occasions_and_stays_within_the_settings_range():
    few = past(*(session(NOW - i * DAY, 30.0) for i in range(1, 4))).per_session(lambda s: s.wh)
    assert p.suggest(few, NOW, 1.0, 100.0) == p.TooFew("session", 3)
    tiny = past(*(session(NOW - i * DAY, 0.2) for i in range(1, 9))).per_session(lambda s: s.wh)
    proposal = p.suggest(tiny, NOW, 1.0, 100.0)
    assert isinstance(proposal, p.Suggestion) and proposal.value == 1.0


@given(st.floats(min_value=0.001, max_value=1e7, allow_nan=False))
def test_nice_keeps_two_significant_figures(value):
    rounded = p.nice(value)
    assert abs(rounded - value) <= 0.05 * value + 1e-9
    assert p.nice(value, whole=True) >= 1 and float(p.nice(value, whole=True)).is_integer()


def test_percentile_matches_the_usual_definition():
    assert p.percentile([1, 2, 3, 4], 75) == pytest.approx(3.25)
    assert p.percentile([7], 75) == 7


def test_loaded_from_a_real_store_with_one_query(tmp_path):
    from tests.fixtures.history_store import session_records

    store = Store.open(tmp_path / "s.sqlite3")
    store.import_sessions(session_records(300, 365, NOW, 3))
    loaded = p.load(store, NOW, 0, UTC)
    store.close()
    assert len(loaded.sessions) == 300
    assert [s.start_ts for s in loaded.sessions] == sorted(s.start_ts for s in loaded.sessions)
    assert any(s.wh is not None for s in loaded.sessions)


# ---- words --------------------------------------------------------------------------------------


@pytest.fixture
def lang():
    def use(code: str) -> None:
        i18n.set_language(code)

    yield use
    i18n.set_language("en")


def test_the_sentence_beside_a_threshold(lang):
    result = p.WouldHave("session", 12, 40, NOW - 7 * 3600)
    lang("en")
    assert (
        would_have_text(result, NOW)
        == "Would have reminded you in 12 of your last 40 sessions (last: today)."
    )
    lang("fr")
    assert would_have_text(result, NOW) == (
        "Vous aurait fait un rappel dans 12 de vos 40 dernières sessions (la dernière\u00a0: "
        "aujourd’hui)."
    )


def test_one_session_and_no_hit_read_naturally(lang):
    lang("en")
    assert (
        would_have_text(p.WouldHave("session", 0, 1, None), NOW)
        == "Would not have reminded you in your last session."
    )
    assert would_have_text(p.WouldHave("day", 0, 7, None), NOW) == (
        "Would not have reminded you on any of your last 7 days with sessions."
    )


def test_when_names_the_day_as_a_person_would(lang):
    lang("en")
    tuesday = datetime(2026, 12, 1, 12, tzinfo=UTC)
    local = tuesday.astimezone().timestamp()
    assert when(local - DAY, local) == "yesterday"
    assert when(local - 3 * DAY, local) == (tuesday - timedelta(days=3)).strftime("%A")
    assert when(local - 40 * DAY, local) == "22 October"
    lang("fr")
    assert when(local - 40 * DAY, local) == "22 octobre"


def test_a_suggestion_says_where_it_comes_from(lang):
    lang("en")
    text = suggestion_text(p.Suggestion("session", 300.0, 40, 11), "300 Wh")
    assert text == (
        "Suggested: 300 Wh, the 75th percentile of your 40 sessions in the last 30 days "
        "(a reminder in 11 of them)."
    )
    assert "3 sessions in the last 30 days, 5 needed" in suggestion_text(p.TooFew("session", 3), "")


def test_with_no_history_the_published_range_is_shown_with_its_sources(lang):
    lang("en")
    text = no_history_text(50.0)
    assert "0.14 to 2.9\u00a0Wh" in text and "ML.ENERGY" in text and "Luccioni et al." in text
    assert "50\u00a0Wh is about 17 to 357 images" in text
    lang("fr")
    assert "entre 0,14 et 2,9\u00a0Wh" in no_history_text(50.0)  # French decimal commas
