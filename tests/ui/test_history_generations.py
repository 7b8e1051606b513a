"""Generations in the History window: listed and marked in a session's detail, and grouped in
"What costs what" beside the published references (source, hardware, date), in both languages."""

from __future__ import annotations

import statistics

import pytest

from tests.fixtures.history_store import seed_generations
from tray_app.system import i18n
from tray_app.ui.history.curve import GENERATION_BAR_H
from tray_app.ui.history.window import HistoryWindow

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


@pytest.fixture
def window(qtbot, history_store) -> HistoryWindow:
    seed_generations(history_store, per_session=30)
    w = HistoryWindow(store=history_store)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def _session_with_samples_and_generations(w: HistoryWindow) -> dict:
    for row in range(w.model.rowCount()):
        s = w.model.session(row)
        if s["tool"] != "comfyui":  # exact windows: solid bars
            continue
        if w.store.session_curve(s["id"]) and w.store.list_generations(session_id=s["id"]):
            return s
    raise AssertionError("the seeded store has a recent session with readings and generations")


def test_detail_lists_the_sessions_generations_and_marks_them_on_the_curve(window):
    s = _session_with_samples_and_generations(window)
    window.show_detail(s)
    gens = window.store.list_generations(session_id=s["id"], oldest_first=True)
    listing = window.detail.generations
    assert listing.topLevelItemCount() == len(gens) and not listing.isHidden()
    first = listing.topLevelItem(0)
    assert first.text(1) == str(gens[0]["images"])
    assert "Wh" in first.text(2) and "steps" in first.text(6)
    assert gens[0]["window"] == "exact"
    assert not first.font(2).italic() and not first.text(2).startswith("≈")
    assert window.detail.pages.tabText(1) == f"{len(gens)} generations"
    curve = window.detail.curve
    assert len(curve.generations) == len(gens)
    # Hovering inside a generation's window says which one, and what it cost.
    middle = (gens[0]["start_ts"] + gens[0]["end_ts"]) / 2
    x = curve.x_of(middle)
    tip = curve.tooltip_at(x)
    assert tip is not None and "Generation" in tip and "per image" in tip
    image = curve.grab().toImage()
    bar_y = int(curve.plot_rect().bottom() - GENERATION_BAR_H / 2)
    assert image.pixelColor(int(x), bar_y).name() in ("#8e44ad", "#b07cc6")


def test_approximate_generations_are_in_italics_with_their_sign(window):
    s = next(window.model.session(r) for r in range(window.model.rowCount())
             if window.model.session(r)["tool"] == "a1111"
             and window.store.list_generations(session_id=window.model.session(r)["id"]))  # fmt: skip
    window.show_detail(s)
    first = window.detail.generations.topLevelItem(0)
    assert first.font(2).italic() and first.text(2).startswith("≈")
    assert first.text(5) == "≈ approximate"


def test_a_session_without_generations_says_so(window):
    s = next(window.model.session(r) for r in range(window.model.rowCount())
             if window.model.session(r)["tool"] == "kohya")  # fmt: skip
    window.show_detail(s)
    assert window.detail.generations.isHidden()
    assert "No generations" in window.detail.generations_title.text()
    assert not window.detail.generations_title.isHidden()
    assert window.detail.pages.tabText(1) == "Generations"


def test_what_costs_what_is_read_when_shown_and_matches_the_store(window, qtbot):
    assert window.costs_stale and window.costs.table.rowCount() == 0  # not read at opening
    window.tabs.setCurrentWidget(window.costs)
    assert not window.costs_stale
    table = window.costs.table
    assert table.rowCount() >= 3
    # The top group, checked against the rows themselves (not the query the view uses).
    top = window.costs.groups[0]
    rows = [g for g in window.store.list_generations()
            if (g["model_family"], g["width"], g["height"], g["steps"])
            == (top.family, top.width, top.height, top.steps)]  # fmt: skip
    assert top.count == len(rows) and top.images == sum(g["images"] for g in rows)
    assert top.median_wh_per_image == pytest.approx(statistics.median(g["wh_per_image"] for g in rows))
    cells = [table.item(0, c).text() for c in range(table.columnCount())]
    assert cells[3] == f"{top.count:,}"  # a count, grouped as everywhere
    reference = cells[-1]
    if top.family == "sdxl":
        assert "AI Energy Score, H100, 2025" in reference
        assert "ML.ENERGY, A100 40 GB, 2024 · 50 steps" in reference
        tip = table.item(0, table.columnCount() - 1).toolTip()
        assert "ML.ENERGY leaderboard" in tip and "https://ml.energy/leaderboard" in tip
    # The user's own clearest comparison is said above the table, as the reminders' tip says it.
    assert window.costs.tip.text().startswith("Tip from your own images: your 30-step SDXL images")
    families = {table.item(r, 0).text() for r in range(table.rowCount())}
    assert {"SDXL", "SD 1.5"} <= families or len(families) >= 2


def test_what_costs_what_in_french(history_store, qtbot):
    seed_generations(history_store, per_session=10)
    i18n.set_language("fr")
    try:
        w = HistoryWindow(store=history_store)
        qtbot.addWidget(w)
        w.tabs.setCurrentWidget(w.costs)
        assert w.tabs.tabText(w.tabs.indexOf(w.costs)).replace("&", "") == "Combien coûte quoi"
        table = w.costs.table
        header = table.horizontalHeaderItem(5).text()
        assert header == "Wh médian par image"
        wh = table.item(0, 5).text()
        assert "," in wh and "." not in wh  # decimal comma
        assert "Wh/image" in table.item(0, 7).text()
    finally:
        i18n.set_language("en")
