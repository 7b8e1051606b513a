"""The History window: totals, per-day chart, year calendar, the session table and one session's
detail. Opened from the tray (`open_history`) or by `raison-garder history` (`run_standalone`).

Frugal by construction: opening it runs a handful of aggregate SQL queries and reads the first
page of sessions; samples are read only for the session whose detail is shown.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QDate, QItemSelection, QModelIndex, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from tray_app.store import Store, StoreError
from tray_app.store import queries as q
from tray_app.store import sessions as store_sessions
from tray_app.system.i18n import _, ngettext
from tray_app.ui.history import format as fmt
from tray_app.ui.history.charts import DayChart, YearCalendar
from tray_app.ui.history.costs import CostsView
from tray_app.ui.history.model import COLUMNS, SessionTableModel, cell
from tray_app.ui.history.model import header as header_text
from tray_app.ui.history.panels import DetailPanel, EmptyState, TotalsCard

CHART_RANGES = (30, 90, 365)
CALENDAR_DAYS = 53 * 7 + 6  # a full 53-week grid whatever the weekday today


class Asker:
    """The dialogs the window opens; tests pass an object with the same methods."""

    def __init__(self, parent: QWidget) -> None:
        self.parent = parent

    def confirm_delete(self, n: int) -> bool:
        text = ngettext(
            "Delete {n} session? Its figures and power readings are removed for good.",
            "Delete {n} sessions? Their figures and power readings are removed for good.",
            n,
        ).format(n=n)
        answer = QMessageBox.question(
            self.parent,
            _("Delete sessions"),
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def save_path(self, suggested: str) -> tuple[Path, str] | None:
        csv_filter, json_filter = _("CSV (*.csv)"), _("JSON (*.json)")
        path, chosen = QFileDialog.getSaveFileName(
            self.parent, _("Export sessions"), suggested, f"{csv_filter};;{json_filter}"
        )
        if not path:
            return None
        return Path(path), export_format(Path(path), json_chosen=chosen == json_filter)

    def warn(self, text: str) -> None:
        QMessageBox.warning(self.parent, _("History — Raison Garder"), text)


def export_format(path: Path, json_chosen: bool = False) -> str:
    """The file's extension decides; without one, the filter the user picked."""
    ext = path.suffix.lower()
    if ext in (".csv", ".json"):
        return ext[1:]
    return "json" if json_chosen else "csv"


class HistoryWindow(QMainWindow):
    def __init__(
        self,
        store: Store | None = None,
        on_start_session: Callable[[], None] | None = None,
        parent: QWidget | None = None,
        asker: Any | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("History — Raison Garder"))
        self.asker = asker if asker is not None else Asker(self)
        self._now = now
        self.on_start_session = on_start_session
        self.owns_store = store is None
        self.problem: str | None = None
        self.store: Store | None = store
        if store is None:
            try:
                self.store = Store.open_for_reading()
            except StoreError as exc:
                self.problem = str(exc)
        self.rates = q.rates()
        self.daily: list[tuple[str, float, float, int | None]] = []
        self.idle_days: dict[str, tuple[float, float]] = {}
        self.model: SessionTableModel | None = None
        self._build()
        if self.store is not None:
            for problem in self.store.problems:
                self.statusBar().showMessage(problem)
        self.refresh_summary()
        self.resize(1120, 820)

    # ---- building -----------------------------------------------------------------------------
    def _build(self) -> None:
        self.stack = QStackedWidget()
        self.setCentralWidget(self.stack)
        self.empty = EmptyState(self._start_session if self.on_start_session else None)
        self.empty.refresh_button.clicked.connect(self.refresh)
        main = QWidget()
        self.stack.addWidget(main)
        self.stack.addWidget(self.empty)

        # Totals.
        self.cards = {
            "today": TotalsCard(_("Today")),
            "7": TotalsCard(_("Last 7 days")),
            "30": TotalsCard(_("Last 30 days")),
            "all": TotalsCard(_("All time")),
        }
        cards_row = QHBoxLayout()
        for card in self.cards.values():
            cards_row.addWidget(card, 1)

        # Charts.
        self.day_chart = DayChart()
        self.range_combo = QComboBox()
        for days in CHART_RANGES:
            self.range_combo.addItem(ngettext("{n} day", "{n} days", days).format(n=days), days)
        self.range_combo.currentIndexChanged.connect(self._show_range)
        range_label = QLabel(_("&Show the last:"))
        range_label.setBuddy(self.range_combo)
        range_row = QHBoxLayout()
        range_row.addWidget(range_label)
        range_row.addWidget(self.range_combo)
        range_row.addStretch(1)
        range_row.addWidget(QLabel(_("Hover a day for its values; click it to list its sessions.")))
        day_tab = QWidget()
        day_layout = QVBoxLayout(day_tab)
        day_layout.addLayout(range_row)
        day_layout.addWidget(self.day_chart, 1)
        self.calendar = YearCalendar()
        year_tab = QWidget()
        year_layout = QVBoxLayout(year_tab)
        year_layout.addWidget(self.calendar, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(day_tab, _("Per &day"))
        self.tabs.addTab(year_tab, _("&Year at a glance"))
        self.costs = CostsView()
        self.costs_stale = True  # read when the tab is shown, not when the window opens
        self.tabs.addTab(self.costs, _("What &costs what"))
        self.tabs.currentChanged.connect(self._tab_changed)
        self.day_chart.day_selected.connect(self.filter_day)
        self.calendar.day_selected.connect(self.filter_day)

        # Filter bar.
        self.tool_combo = QComboBox()
        self.tool_combo.setMinimumContentsLength(18)
        tool_label = QLabel(_("&Tool:"))
        tool_label.setBuddy(self.tool_combo)
        self.dates_check = QCheckBox(_("Started &between"))
        self.from_edit = QDateEdit()
        self.to_edit = QDateEdit()
        for edit in (self.from_edit, self.to_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
        self.from_edit.setAccessibleName(_("From"))
        self.to_edit.setAccessibleName(_("To"))
        today = self.today()
        self.to_edit.setDate(QDate(today.year, today.month, today.day))
        start = today - timedelta(days=29)
        self.from_edit.setDate(QDate(start.year, start.month, start.day))
        self.clear_button = QPushButton(_("&Clear filter"))
        self.count_label = QLabel()
        filters = QHBoxLayout()
        filters.addWidget(tool_label)
        filters.addWidget(self.tool_combo)
        filters.addSpacing(12)
        filters.addWidget(self.dates_check)
        filters.addWidget(self.from_edit)
        filters.addWidget(QLabel(_("and")))
        filters.addWidget(self.to_edit)
        filters.addWidget(self.clear_button)
        filters.addStretch(1)
        filters.addWidget(self.count_label)
        self.tool_combo.currentIndexChanged.connect(self.apply_filter)
        self.dates_check.toggled.connect(self._dates_toggled)
        self.from_edit.dateChanged.connect(self.apply_filter)
        self.to_edit.dateChanged.connect(self.apply_filter)
        self.clear_button.clicked.connect(self.clear_filter)

        # Table and detail.
        self.table = QTableView()
        self.table.setAccessibleName(_("Sessions"))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setHighlightSections(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.detail = DetailPanel()
        self.detail.hide()
        self.detail.closed.connect(self.close_detail)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        # Actions.
        self.export_button = QPushButton(_("&Export…"))
        self.export_button.setToolTip(_("Export the selected sessions, or all that match the "
                                        "filter, to CSV or JSON (Ctrl+E)"))
        self.export_button.clicked.connect(self.export)
        self.delete_button = QPushButton(_("&Delete…"))
        self.delete_button.setToolTip(_("Delete the selected sessions (Delete)"))
        self.delete_button.clicked.connect(self.delete_selected)
        self.delete_button.setEnabled(False)
        actions = QHBoxLayout()
        actions.addWidget(QLabel(_("Figures marked ≈ (in italics) are estimates, not "
                                   "measurements.")), 1)
        actions.addWidget(self.export_button)
        actions.addWidget(self.delete_button)

        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addLayout(cards_row)
        upper_layout.addWidget(self.tabs, 1)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addLayout(filters)
        lower_layout.addWidget(self.splitter, 1)
        lower_layout.addLayout(actions)
        vsplit = QSplitter(Qt.Orientation.Vertical)
        vsplit.addWidget(upper)
        vsplit.addWidget(lower)
        vsplit.setStretchFactor(0, 2)
        vsplit.setStretchFactor(1, 3)
        vsplit.setChildrenCollapsible(False)
        outer = QVBoxLayout(main)
        outer.addWidget(vsplit)

        self._shortcuts()
        if self.store is not None:
            self.model = SessionTableModel(self.store, on_error=self._store_error)
            self.table.setModel(self.model)
            self.table.selectionModel().selectionChanged.connect(self._selection_changed)
            self.table.selectionModel().currentRowChanged.connect(self._current_changed)
            self.model.modelReset.connect(self._model_reset)
            header = self.table.horizontalHeader()
            header.setSortIndicator(COLUMNS.index("start"), Qt.SortOrder.DescendingOrder)
            self.table.setSortingEnabled(True)  # sorts once: the first page is read here
            header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
            self._fit_columns()
        for first, second in (
            (self.tool_combo, self.dates_check),
            (self.dates_check, self.from_edit),
            (self.from_edit, self.to_edit),
            (self.to_edit, self.clear_button),
            (self.clear_button, self.table),
            (self.table, self.export_button),
            (self.export_button, self.delete_button),
            (self.delete_button, self.tabs),
        ):
            QWidget.setTabOrder(first, second)

    def _fit_columns(self, sample_rows: int = 40) -> None:
        """Column widths from the header and the first rows' text. (resizeColumnsToContents asks
        every loaded cell for its size hint: over half of the window's opening time.)"""
        assert self.model is not None
        fm = self.table.fontMetrics()
        bold = self.table.horizontalHeader().fontMetrics()
        cap = fm.horizontalAdvance("x" * 26)
        rows = range(min(sample_rows, self.model.rowCount()))
        for col, key in enumerate(COLUMNS):
            texts = [cell(key, self.model.session(r)) for r in rows]
            widest = max([fm.horizontalAdvance(t) for t in texts], default=0)
            wanted = max(widest + 16, bold.horizontalAdvance(header_text(key)) + 28)
            self.table.horizontalHeader().resizeSection(col, min(wanted, cap))

    def _shortcuts(self) -> None:
        self.export_action = QAction(_("Export…"), self)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.triggered.connect(self.export)
        self.addAction(self.export_action)
        find = QAction(_("Filter"), self)
        find.setShortcut(QKeySequence("Ctrl+F"))
        find.triggered.connect(self.focus_filter)
        self.addAction(find)
        refresh = QAction(_("Refresh"), self)
        refresh.setShortcut(QKeySequence("F5"))
        refresh.triggered.connect(self.refresh)
        self.addAction(refresh)
        # Delete acts on the table only: in a date field it must stay a text edit key.
        self.delete_shortcut = QShortcut(QKeySequence.StandardKey.Delete, self.table)
        self.delete_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.delete_shortcut.activated.connect(self.delete_selected)
        self.escape_shortcut = QShortcut(QKeySequence("Escape"), self)
        self.escape_shortcut.activated.connect(self.close_detail)

    # ---- data ---------------------------------------------------------------------------------
    def now(self) -> float | None:
        return None if self._now is None else self._now()

    def day_start_hour(self) -> int:
        return self.rates.day_start_hour

    def today(self) -> date:
        return store_sessions.logical_today(self.day_start_hour(), self.now())

    def refresh(self) -> None:
        """Re-read everything (after new sessions, a delete, or a settings change)."""
        self.refresh_summary()
        if self.model is not None:
            self.model.reload()
        self.costs_stale = True
        self._tab_changed(self.tabs.currentIndex())

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.costs and self.costs_stale:
            self.load_costs()

    def load_costs(self) -> None:
        """Group the generations for "What costs what" (one pass over them)."""
        if self.store is None:
            return
        try:
            groups = self.store.generation_groups()
        except StoreError as exc:
            self._store_error(exc)
            return
        self.costs.set_groups(groups)
        self.costs_stale = False

    def refresh_summary(self) -> None:
        self.rates = q.rates()
        if self.store is None:
            self.empty.show_problem(self.problem or "")
            self.stack.setCurrentWidget(self.empty)
            return
        try:
            self._read_summary(self.store)
        except StoreError as exc:
            self._store_error(exc)
            return
        has_sessions = self.cards_totals["all"][0].get("sessions", 0) > 0
        if not has_sessions:
            self.empty.show_explanation(self.on_start_session is not None)
        self.stack.setCurrentIndex(0 if has_sessions else 1)

    def _read_summary(self, store: Store) -> None:
        h = self.day_start_hour()
        today = self.today()
        since = {
            "today": store_sessions.day_start(today, h),
            "7": store_sessions.day_start(today - timedelta(days=6), h),
            "30": store_sessions.day_start(today - timedelta(days=29), h),
            "all": None,
        }
        self.cards_totals = {k: (store.totals(ts), q.period_extras(store, ts)) for k, ts in since.items()}
        for key, (totals, extras) in self.cards_totals.items():
            self.cards[key].set_values(totals, extras)
        self.daily = store.daily_totals(CALENDAR_DAYS, h, self.now())
        first = date.fromisoformat(self.daily[0][0]) if self.daily else today
        self.idle_days = q.idle_by_day(store, store_sessions.day_start(first, h), h)
        self._show_range()
        self.calendar.set_days(self.daily)
        self._fill_tools(q.tools(store))

    def _fill_tools(self, tools: list[str]) -> None:
        current = self.tool_combo.currentData()
        self.tool_combo.blockSignals(True)
        self.tool_combo.clear()
        self.tool_combo.addItem(_("All tools"), None)
        for tool in tools:
            self.tool_combo.addItem(fmt.tool_label(tool), tool)
        index = self.tool_combo.findData(current) if current is not None else 0
        self.tool_combo.setCurrentIndex(max(0, index))
        self.tool_combo.blockSignals(False)

    def _show_range(self) -> None:
        days = int(self.range_combo.currentData() or CHART_RANGES[0])
        self.day_chart.set_days(self.daily[-days:], self.idle_days)

    # ---- filter -------------------------------------------------------------------------------
    def current_filter(self) -> q.Filter:
        since = until = None
        if self.dates_check.isChecked():
            first = self.from_edit.date().toPython()
            last = self.to_edit.date().toPython()
            if last < first:
                first, last = last, first
            since, until = q.day_bounds(first, last, self.day_start_hour())
        return q.Filter(tool=self.tool_combo.currentData(), since=since, until=until)

    def apply_filter(self) -> None:
        if self.model is None:
            return
        self.close_detail()
        try:
            self.model.set_filter(self.current_filter())
        except StoreError as exc:
            self._store_error(exc)

    def _dates_toggled(self, on: bool) -> None:
        self.from_edit.setEnabled(on)
        self.to_edit.setEnabled(on)
        self.apply_filter()

    def filter_day(self, day: date) -> None:
        """A day picked on a chart: list that day's sessions."""
        qd = QDate(day.year, day.month, day.day)
        for w in (self.dates_check, self.from_edit, self.to_edit):
            w.blockSignals(True)
        self.from_edit.setDate(qd)
        self.to_edit.setDate(qd)
        self.dates_check.setChecked(True)
        self.from_edit.setEnabled(True)
        self.to_edit.setEnabled(True)
        for w in (self.dates_check, self.from_edit, self.to_edit):
            w.blockSignals(False)
        self.apply_filter()

    def clear_filter(self) -> None:
        for w in (self.tool_combo, self.dates_check):
            w.blockSignals(True)
        self.tool_combo.setCurrentIndex(0)
        self.dates_check.setChecked(False)
        self.from_edit.setEnabled(False)
        self.to_edit.setEnabled(False)
        for w in (self.tool_combo, self.dates_check):
            w.blockSignals(False)
        self.apply_filter()

    def focus_filter(self) -> None:
        if self.stack.currentIndex() == 0:
            self.tool_combo.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _model_reset(self) -> None:
        self._update_count()
        self.delete_button.setEnabled(False)

    def _update_count(self) -> None:
        if self.model is None:
            return
        n = self.model.total
        flt = self.model.filter
        filtered = flt.tool is not None or flt.since is not None
        text = ngettext("{n} session", "{n} sessions", n).format(n=n)
        if filtered:
            text = ngettext("{n} session matches", "{n} sessions match", n).format(n=n)
        self.count_label.setText(text)

    # ---- selection, detail --------------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        if self.model is None:
            return []
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.session(r)["id"] for r in rows]

    def _selection_changed(self, _sel: QItemSelection, _desel: QItemSelection) -> None:
        self.delete_button.setEnabled(bool(self.table.selectionModel().selectedRows()))

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and self.model is not None:
            self.show_detail(self.model.session(current.row()))

    def show_detail(self, session: dict[str, Any]) -> None:
        """Read this one session's curve and reminders, and show them beside the table."""
        if self.store is None:
            return
        try:
            curve = self.store.session_curve(session["id"])
            reminders = q.session_reminders(self.store, session)
            generations = self.store.list_generations(session_id=session["id"], oldest_first=True)
        except StoreError as exc:
            self._store_error(exc)
            return
        self.detail.show_session(session, curve, reminders, generations)
        if not self.detail.isVisible():
            self.detail.show()
            width = self.splitter.width()
            self.splitter.setSizes([width * 3 // 5, width * 2 // 5])

    def close_detail(self) -> None:
        if self.detail.isVisible():
            self.detail.hide()
            self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # ---- delete, export -----------------------------------------------------------------------
    def delete_selected(self) -> int:
        ids = self.selected_ids()
        if not ids or self.store is None or not self.asker.confirm_delete(len(ids)):
            return 0
        try:
            deleted = self.store.delete_sessions(ids)
        except StoreError as exc:
            self._store_error(exc)
            return 0
        self.close_detail()
        self.refresh()
        self.statusBar().showMessage(
            ngettext("{n} session deleted.", "{n} sessions deleted.", deleted).format(n=deleted),
            8000,
        )
        return deleted

    def export(self) -> int | None:
        """Export the selection, or everything the filter matches. Returns the count written."""
        if self.store is None or self.model is None:
            return None
        ids = self.selected_ids()
        scope = "selection" if ids else "filter"
        chosen = self.asker.save_path(str(Path.home() / f"raison-garder-{self.today()}.csv"))
        if chosen is None:
            return None
        path, kind = chosen
        from tray_app.store.exchange import write_csv, write_json
        from tray_app.system.atomic import write_private

        try:
            if scope == "selection":
                rows = q.by_ids(self.store, ids, self.rates)
            else:
                rows = q.page(self.store, self.model.filter, "start", False, rates_now=self.rates)
            write_private(path, lambda out: (write_json if kind == "json" else write_csv)(rows, out))
        except StoreError as exc:
            self._store_error(exc)
            return None
        except OSError as exc:
            self.asker.warn(
                _("Cannot write {file}: {error}").format(file=path, error=exc.strerror or exc)
            )
            return None
        self.statusBar().showMessage(
            ngettext("Exported {n} session to {file}.", "Exported {n} sessions to {file}.",
                     len(rows)).format(n=len(rows), file=path),
            10000,
        )
        return len(rows)

    # ---- the rest -----------------------------------------------------------------------------
    def _start_session(self) -> None:
        if self.on_start_session is None:
            return
        self.on_start_session()
        self.statusBar().showMessage(
            _("A manual session has started: it is listed here once you end it from the tray menu."),
            15000,
        )

    def _store_error(self, exc: Exception) -> None:
        self.asker.warn(str(exc))

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.owns_store and self.store is not None:
            try:
                self.store.close()
            except StoreError:
                pass  # we only read: nothing of ours is lost
            self.store = None
        super().closeEvent(event)


_window: HistoryWindow | None = None


def open_history(
    parent: QWidget | None = None,
    on_start_session: Callable[[], None] | None = None,
    store: Store | None = None,
) -> HistoryWindow:
    """Show the History window; a second call brings the open one forward (and re-reads it)."""
    global _window
    if _window is not None and shiboken6.isValid(_window):
        _window.refresh()
    else:
        _window = HistoryWindow(store=store, on_start_session=on_start_session, parent=parent)
        _window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        _window.destroyed.connect(_forget)
    _window.show()
    _window.raise_()
    _window.activateWindow()
    return _window


def _forget(*_args: object) -> None:
    global _window
    _window = None


def run_standalone() -> int:
    """`raison-garder history` with no tray running: the window alone, in its own app."""
    from tray_app import APP_ID, APP_NAME
    from tray_app.ui.icon import app_icon
    from tray_app.ui.translator import install_translators

    app = QApplication.instance() or QApplication([APP_ID])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_ID)
    app.setApplicationDisplayName(APP_NAME)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon(app.devicePixelRatio()))
    translators = install_translators(app)  # noqa: F841 - must live as long as the app
    window = open_history()
    if window.problem:
        print(_("raison-garder: {message}").format(message=window.problem), file=sys.stderr)
    return int(app.exec())
