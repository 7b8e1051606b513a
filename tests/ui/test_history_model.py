"""The History session table: a lazy, SQL-sorted model that Qt's model tester accepts, and whose
cells say plainly what is estimated and what is unknown."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtTest import QAbstractItemModelTester

from tray_app.store import queries as q
from tray_app.system import i18n
from tray_app.ui.history.model import COLUMNS, SessionTableModel


def fetch_all(model: SessionTableModel) -> None:
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())


def column_values(model: SessionTableModel, field: str) -> list:
    return [model.session(r).get(field) for r in range(model.rowCount())]


def test_qt_model_tester_accepts_the_model_through_paging_sorting_and_filtering(history_store):
    model = SessionTableModel(history_store, page_size=64)
    tester = QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    model.reload()
    fetch_all(model)
    for column in range(len(COLUMNS)):
        model.sort(column, Qt.SortOrder.AscendingOrder)
        model.fetchMore(QModelIndex())
    model.set_filter(q.Filter(tool="comfyui"))
    fetch_all(model)
    assert tester is not None and model.rowCount() == model.total > 0


def test_rows_arrive_a_page_at_a_time_without_duplicates(history_store):
    model = SessionTableModel(history_store, page_size=50)
    model.reload()
    assert model.rowCount() == 50 and model.total == 400
    assert model.canFetchMore(QModelIndex())
    fetch_all(model)
    ids = column_values(model, "id")
    assert len(ids) == len(set(ids)) == 400
    assert not model.canFetchMore(QModelIndex())


def test_newest_first_by_default(history_store):
    model = SessionTableModel(history_store)
    model.reload()
    starts = column_values(model, "start_ts")
    assert starts == sorted(starts, reverse=True)


@pytest.mark.parametrize("key,field", [("total", "total_wh"), ("gpu", "gpu_wh"), ("images", "images")])
def test_sorting_happens_in_sql_over_all_sessions_with_unknown_last(history_store, key, field):
    model = SessionTableModel(history_store, page_size=30)
    model.sort(COLUMNS.index(key), Qt.SortOrder.AscendingOrder)
    # The first page is already the smallest of all 400 sessions, not of the first page loaded.
    known = [s[field] for s in history_store.list_sessions() if s[field] is not None]
    assert model.session(0)[field] == min(known)
    fetch_all(model)
    values = column_values(model, field)
    first_unknown = values.index(None) if None in values else len(values)
    assert values[:first_unknown] == sorted(values[:first_unknown])
    assert all(v is None for v in values[first_unknown:])
    model.sort(COLUMNS.index(key), Qt.SortOrder.DescendingOrder)
    assert model.session(0)[field] == max(known)


def test_filter_by_tool_and_dates(history_store):
    model = SessionTableModel(history_store)
    model.set_filter(q.Filter(tool="forge"))
    fetch_all(model)
    assert model.rowCount() == model.total > 0
    assert {model.session(r)["tool"] for r in range(model.rowCount())} == {"forge"}
    starts = sorted(s["start_ts"] for s in history_store.list_sessions())
    since, until = starts[100], starts[150]
    model.set_filter(q.Filter(since=since, until=until))
    fetch_all(model)
    assert model.rowCount() == 50
    assert all(since <= model.session(r)["start_ts"] < until for r in range(model.rowCount()))


def cell_text(model: SessionTableModel, row: int, key: str, role=Qt.ItemDataRole.DisplayRole):
    return model.data(model.index(row, COLUMNS.index(key)), role)


def find_row(model: SessionTableModel, predicate) -> int:
    fetch_all(model)
    return next(r for r in range(model.rowCount()) if predicate(model.session(r)))


def test_estimates_are_marked_and_unknown_is_never_zero(history_store):
    model = SessionTableModel(history_store)
    model.reload()
    est = find_row(model, lambda s: s["energy_method"] == "estimated")
    assert cell_text(model, est, "total").startswith("≈")
    assert cell_text(model, est, "method") == "≈ estimated"
    assert cell_text(model, est, "total", Qt.ItemDataRole.FontRole).italic()
    assert "Estimated" in cell_text(model, est, "method", Qt.ItemDataRole.ToolTipRole)
    measured = find_row(model, lambda s: s["energy_method"] == "counter")
    assert not cell_text(model, measured, "total").startswith("≈")
    assert cell_text(model, measured, "method") == "measured (counter)"
    unknown = find_row(model, lambda s: s["total_wh"] is None)
    assert cell_text(model, unknown, "total") == "?"
    assert cell_text(model, unknown, "total", Qt.ItemDataRole.ToolTipRole) == "Unknown: not measured."


def test_columns_follow_the_sessions_command_and_speak_french(history_store):
    model = SessionTableModel(history_store)
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers[:8] == ["ID", "Started", "Tool", "Duration", "Total Wh", "Method", "Status", "Images"]
    i18n.set_language("fr")
    try:
        assert model.headerData(1, Qt.Orientation.Horizontal) == "Début"
        model.reload()
        row = find_row(model, lambda s: s["energy_method"] == "estimated")
        assert cell_text(model, row, "method") == "≈ estimé"
    finally:
        i18n.set_language("en")


def test_image_counts_are_grouped_like_the_sessions_command(history_store):
    sid = history_store.list_sessions(limit=1)[0]["id"]
    history_store.update_session(sid, images=12345)
    model = SessionTableModel(history_store)
    model.reload()
    row = find_row(model, lambda s: s["id"] == sid)
    assert cell_text(model, row, "images") == "12,345"
    assert cell_text(model, row, "id") == str(sid)  # an ID is no count
    i18n.set_language("fr")
    try:
        model.reload()
        assert cell_text(model, find_row(model, lambda s: s["id"] == sid), "images") == "12\u202f345"
    finally:
        i18n.set_language("en")
