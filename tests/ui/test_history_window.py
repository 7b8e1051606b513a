"""The History window on the offscreen platform, with a seeded store: what the user sees (totals,
charts, detail, empty state) and what the buttons and keys do (filter, delete, export)."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.fixtures.history_store import session_records
from tray_app.store import STORE_FILENAME, Store
from tray_app.store.exchange import read_import
from tray_app.store.schema import APPLICATION_ID, SCHEMA_VERSION
from tray_app.system import i18n
from tray_app.ui.history import window as history
from tray_app.ui.history.model import COLUMNS
from tray_app.ui.history.window import HistoryWindow, export_format

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


class FakeAsker:
    def __init__(self, confirm: bool = True, path: Path | None = None) -> None:
        self.confirm, self.path = confirm, path
        self.confirms: list[int] = []
        self.warnings: list[str] = []
        self.save_asked = 0

    def confirm_delete(self, n: int) -> bool:
        self.confirms.append(n)
        return self.confirm

    def save_path(self, suggested: str):
        self.save_asked += 1
        return None if self.path is None else (self.path, export_format(self.path))

    def warn(self, text: str) -> None:
        self.warnings.append(text)


@pytest.fixture
def asker() -> FakeAsker:
    return FakeAsker()


@pytest.fixture
def window(qtbot, history_store, asker) -> HistoryWindow:
    w = HistoryWindow(store=history_store, asker=asker)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def select_rows(w: HistoryWindow, rows: list[int]) -> None:
    from PySide6.QtCore import QItemSelectionModel

    sel = w.table.selectionModel()
    sel.clearSelection()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for r in rows:
        sel.select(w.model.index(r, 0), flags)


def test_totals_cards_add_up_the_store(window, history_store):
    # Added up here from the sessions themselves, not with the query the window uses.
    rows = history_store.list_sessions()
    total_wh = sum(r["total_wh"] for r in rows if r["total_wh"] is not None)
    unknown = sum(1 for r in rows if r["total_wh"] is None)
    assert 0 < unknown < len(rows) == 400
    card = window.cards["all"]
    assert card.headline.text() == f"≈{total_wh / 1000:.2f}\u00a0kWh"  # includes estimates
    assert "400 sessions" in card.details.text()
    assert "estimated (≈)" in card.details.text() and "not measured" in card.details.text()
    assert "per image" in card.details.text()
    assert window.windowTitle() == "History — Raison Garder"


def test_money_is_written_as_the_reminders_write_it(window, history_store):
    """One money formatter: History's "€0.13" is the reminders' "€0.13", not "0.13 EUR"."""
    from tray_app.reminders.equivalents import fmt_money
    from tray_app.ui.history import format as hf

    assert hf.money(0.126, "EUR") == fmt_money(0.126, "EUR") == "€0.13"
    assert hf.money(0.126, "EUR", approx=True) == "≈€0.13"
    assert hf.money(0.5, "CHF") == "0.50\u00a0CHF"
    assert hf.money(0.001, "USD") == "less than $0.01"  # not "0.00"
    assert hf.money(None, "EUR") == "unknown"
    i18n.set_language("fr")
    try:
        assert hf.money(0.126, "EUR") == "0,13\u00a0€"
    finally:
        i18n.set_language("en")
    currency = history_store.list_sessions(limit=1)[0]["currency"]
    symbol = fmt_money(1.0, currency).replace("1.00", "").strip()
    details = window.cards["all"].details.text()
    assert symbol in details
    if symbol != currency:
        assert currency not in details, details


def test_day_chart_shows_the_chosen_range_and_tells_values_on_hover(window, history_store):
    assert len(window.day_chart.days) == 30
    window.range_combo.setCurrentIndex(2)
    assert len(window.day_chart.days) == 365
    expected = sum(d[1] + d[2] for d in history_store.daily_totals(365))
    assert sum(d[1] + d[2] for d in window.day_chart.days) == pytest.approx(expected)
    busiest = max(range(365), key=lambda i: window.day_chart.days[i][1] + window.day_chart.days[i][2])
    r = window.day_chart.plot_rect()
    x = r.left() + (busiest + 0.5) * r.width() / 365
    tip = window.day_chart.tooltip_at(x)
    assert "GPU" in tip and "CPU" in tip and ("Wh" in tip or "kWh" in tip)
    window.day_chart.grab()
    assert window.day_chart.paints > 0


def test_clicking_a_calendar_day_lists_that_days_sessions(qtbot, window, history_store):
    window.tabs.setCurrentIndex(1)
    cal = window.calendar
    day = max(cal.by_day, key=lambda d: cal.by_day[d][1] + cal.by_day[d][2])
    qtbot.mouseClick(cal, Qt.MouseButton.LeftButton, pos=cal.cell_rect(day).center().toPoint())
    assert window.dates_check.isChecked()
    assert window.from_edit.date().toPython() == day == window.to_edit.date().toPython()
    model = window.model
    assert 0 < model.rowCount() == model.total < 400
    from datetime import date as _date

    days = {_date.fromtimestamp(model.session(r)["start_ts"]) for r in range(model.rowCount())}
    assert days == {day}
    assert "match" in window.count_label.text()
    window.clear_filter()
    assert model.total == 400


def test_tool_filter_and_ctrl_f(qtbot, window):
    window.activateWindow()
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is window.tool_combo
    index = window.tool_combo.findData("a1111")
    window.tool_combo.setCurrentIndex(index)
    assert window.model.total > 0
    assert {window.model.session(r)["tool"] for r in range(window.model.rowCount())} == {"a1111"}
    assert window.tool_combo.itemText(index) == "AUTOMATIC1111 Stable Diffusion WebUI"


def test_detail_shows_curve_reminders_and_numbers_and_escape_closes_it(qtbot, window, history_store):
    with_reminder = next(
        r["session_id"] for r in history_store.list_reminders() if r["session_id"] is not None
    )
    row = window.model.row_of(with_reminder)
    window.table.setCurrentIndex(window.model.index(row, 0))
    assert window.detail.isVisible()
    curve = window.detail.curve
    assert len(curve.samples) > 100 and len(curve.reminders) == 1
    idle = [b for b in curve.current_buckets() if b.active is not None and b.active < 0.5]
    assert idle, "the seeded curve has idle pauses to shade"
    x = curve.x_of(curve.reminders[0]["ts"])
    assert curve.tooltip_at(x).startswith("Reminder at")
    assert "80\u00a0Wh" in window.detail.values["reminders"].text()
    assert window.detail.values["method"].text().startswith("measured (samples)")
    window.detail.grab()
    qtbot.keyClick(window.table, Qt.Key.Key_Escape)
    assert not window.detail.isVisible()


def test_detail_shows_the_attributed_and_whole_machine_figures_with_the_method(window,
                                                                             history_store):
    s = history_store.list_sessions(order="start_ts DESC", limit=1)[0]
    history_store.update_session(s["id"], total_wh=12.0, gpu_wh=10.0, cpu_wh=2.0, machine_wh=30.0,
                                 gpu_attribution="shared (process list unavailable)",
                                 cpu_attribution="cpu time")
    window.show_detail(history_store.get_session(s["id"]))
    values = window.detail.values
    assert values["total"].text().endswith("12.0\u00a0Wh") and values["machine"].text().endswith("30.0\u00a0Wh")
    text = values["attribution"].text()
    assert text.startswith("shared equally") and "process list unavailable" in text
    old = history_store.list_sessions(order="start_ts ASC", limit=1)[0]  # recorded before
    window.show_detail(old)
    assert values["machine"].text() == "unknown"  # never 0
    assert values["attribution"].text() == "not recorded (older session)"


def test_a_session_without_readings_says_so_instead_of_drawing_zero(window, history_store):
    old = history_store.list_sessions(order="start_ts ASC", limit=1)[0]
    window.show_detail(old)
    assert window.detail.curve.samples == []
    window.detail.curve.grab()  # paints the explanation, not a flat 0 W line


def test_delete_asks_first_and_removes_the_selected_sessions(qtbot, window, history_store, asker):
    ids = [window.model.session(r)["id"] for r in (0, 1)]
    select_rows(window, [0, 1])
    assert window.delete_button.isEnabled()
    asker.confirm = False
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Delete)
    assert asker.confirms == [2] and history_store.count_sessions() == 400
    asker.confirm = True
    select_rows(window, [0, 1])
    assert window.delete_selected() == 2
    assert history_store.count_sessions() == 398
    assert all(history_store.get_session(i) is None for i in ids)
    assert window.model.total == 398
    assert "398 sessions" in window.cards["all"].details.text()


def test_export_selection_to_csv(window, asker, tmp_path):
    asker.path = tmp_path / "picked.csv"
    select_rows(window, [2, 0])
    expected = sorted(window.model.session(r)["id"] for r in (0, 2))
    assert window.export() == 2
    with asker.path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(int(r["id"]) for r in rows) == expected
    assert len(read_import(asker.path)) == 2  # our own importer reads it back
    assert asker.path.stat().st_mode & 0o777 == 0o600  # the history is the user's alone


def test_export_the_filter_to_json_with_ctrl_e(qtbot, window, asker, tmp_path):
    asker.path = tmp_path / "forge.json"
    window.tool_combo.setCurrentIndex(window.tool_combo.findData("forge"))
    window.table.clearSelection()
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert asker.save_asked == 1
    data = json.loads(asker.path.read_text(encoding="utf-8"))
    assert len(data) == window.model.total > 0
    assert {d["tool"] for d in data} == {"forge"}


def test_export_failure_is_said_not_raised(window, asker, tmp_path):
    asker.path = tmp_path / "missing-folder" / "x.csv"
    assert window.export() is None
    assert asker.warnings and "missing-folder" in asker.warnings[0]


def test_empty_store_explains_how_sessions_appear(qtbot, tmp_path, asker):
    store = Store.open(tmp_path / "empty.sqlite3")
    started = []
    w = HistoryWindow(store=store, asker=asker, on_start_session=lambda: started.append(1))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    assert w.empty.isVisible() and not w.table.isVisible()  # no empty table, no 0 kWh cards
    assert w.empty.heading.text() == "No sessions yet"
    assert "ComfyUI" in w.empty.text.text()
    qtbot.mouseClick(w.empty.start_button, Qt.MouseButton.LeftButton)
    assert started == [1]
    standalone = HistoryWindow(store=store, asker=asker)
    qtbot.addWidget(standalone)
    assert standalone.empty.start_button.isHidden()
    assert "raison-garder monitor" in standalone.empty.text.text()
    # A first session recorded meanwhile: Refresh replaces the explanation with the history.
    store.import_sessions(session_records(1))
    store.flush()
    qtbot.mouseClick(w.empty.refresh_button, Qt.MouseButton.LeftButton)
    assert not w.empty.isVisible() and w.table.isVisible() and w.model.total == 1
    store.close()


def test_a_store_from_a_newer_version_is_explained_in_the_window(qtbot, isolated_dirs):
    path = isolated_dirs["data"] / STORE_FILENAME
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
    for table in ("sessions", "samples", "samples_minute", "reminders"):
        conn.execute(f"CREATE TABLE {table} (x)")
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 5}")
    conn.close()
    w = HistoryWindow()
    qtbot.addWidget(w)
    assert w.stack.currentWidget() is w.empty
    assert "newer version" in w.empty.text.text() and str(path) in w.empty.text.text()


def test_open_history_reuses_the_open_window(qtbot, history_store):
    first = history.open_history(store=history_store)
    assert history.open_history() is first
    first.close()  # deleted on close: the next request builds a fresh window
    qtbot.waitUntil(lambda: history._window is None)
    second = history.open_history(store=history_store)
    assert history.open_history() is second
    second.close()
    qtbot.waitUntil(lambda: history._window is None)


def test_french_window(qtbot, history_store, asker):
    i18n.set_language("fr")
    try:
        w = HistoryWindow(store=history_store, asker=asker)
        qtbot.addWidget(w)
        assert w.windowTitle() == "Historique — Raison Garder"
        assert w.cards["all"].title.text() == "Depuis toujours"
        assert w.model.headerData(COLUMNS.index("tool"), Qt.Orientation.Horizontal) == "Outil"
    finally:
        i18n.set_language("en")


def test_keyboard_tab_order_reaches_the_table_from_the_filter(window):
    order = []
    widget = window.tool_combo
    for _ in range(6):
        order.append(widget)
        widget = widget.nextInFocusChain()
        while not widget.focusPolicy() & Qt.FocusPolicy.TabFocus or not widget.isEnabled():
            widget = widget.nextInFocusChain()
    assert window.table in order


def test_the_calendar_works_from_the_keyboard(qtbot, window):
    window.tabs.setCurrentIndex(1)
    cal = window.calendar
    cal.setFocus()
    qtbot.keyClick(cal, Qt.Key.Key_Left)  # a week back from the last day
    qtbot.keyClick(cal, Qt.Key.Key_Up)  # and one day earlier
    with qtbot.waitSignal(cal.day_selected) as picked:
        qtbot.keyClick(cal, Qt.Key.Key_Return)
    from datetime import timedelta

    assert picked.args[0] == cal.last - timedelta(days=8)
    assert window.from_edit.date().toPython() == cal.last - timedelta(days=8)
    assert window.dates_check.isChecked()


def test_detail_puts_wh_per_image_beside_the_public_reference_for_the_model_family(qtbot, window):
    session = {"id": 7, "tool": "comfyui", "start_ts": 1_700_000_000.0, "end_ts": 1_700_000_600.0,
               "duration_s": 600.0, "active_s": 500.0, "total_wh": 38.0, "gpu_wh": 34.0,
               "cpu_wh": 4.0, "energy_method": "counter", "status": "complete", "images": 20,
               "wh_per_image": 1.9, "model_family": "sdxl", "model_name": "sd_xl_base_1.0"}
    window.detail.show_session(session, [], [])
    text = window.detail.values["wh_per_image"].text()
    assert "1.9\u00a0Wh" in text and "1.64" in text and "H100" in text
