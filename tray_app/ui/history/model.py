"""The session table: a lazy, SQL-sorted QAbstractTableModel.

Rows arrive a page at a time (`canFetchMore`/`fetchMore`), so 10 000 sessions open as fast as
200: the view asks for more only when the user scrolls near the end. Sorting and filtering
rebuild the query; nothing is sorted in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from tray_app.store import Store
from tray_app.store import queries as q
from tray_app.system.fmt import count
from tray_app.system.i18n import _
from tray_app.ui.history import format as fmt

PAGE_SIZE = 200
SESSION_ROLE = Qt.ItemDataRole.UserRole + 1  # the session dict
ID_ROLE = Qt.ItemDataRole.UserRole + 2

# Columns, in the order of `raison-garder sessions` (then what only a window has room for).
COLUMNS = (
    "id", "start", "tool", "duration", "total", "method", "status", "images", "gpu", "cpu",
    "wh_per_image", "co2",
)  # fmt: skip
_NUMERIC = frozenset({"id", "duration", "total", "images", "gpu", "cpu", "wh_per_image", "co2"})
_ENERGY = frozenset({"total", "gpu", "cpu", "wh_per_image", "co2"})
AnyIndex = QModelIndex | QPersistentModelIndex


def header(key: str) -> str:
    return {
        "id": _("ID"),
        "start": _("Started"),
        "tool": _("Tool"),
        "duration": _("Duration"),
        "total": _("Total Wh"),
        "method": _("Method"),
        "status": _("Status"),
        "images": _("Images"),
        "gpu": _("GPU Wh"),
        "cpu": _("CPU Wh"),
        "wh_per_image": _("Wh/image"),
        "co2": _("CO₂e g"),
    }[key]


def cell(key: str, s: dict[str, Any]) -> str:
    approx = fmt.is_estimated(s)
    if key == "id":
        return str(s["id"])
    if key == "start":
        return fmt.local_time(s.get("start_ts"))
    if key == "tool":
        return fmt.tool_label(s.get("tool"))
    if key == "duration":
        return fmt.clock_duration(s.get("duration_s"))
    if key == "method":
        return fmt.method_label(s.get("energy_method"))
    if key == "status":
        return fmt.status_label(s.get("status"))
    if key == "images":
        return "-" if s.get("images") is None else count(s["images"])
    if key == "wh_per_image":
        return "-" if s.get("wh_per_image") is None else fmt.number(s["wh_per_image"], 1, approx)
    if key == "co2":
        return fmt.number(s.get("co2_g"), 0, approx)
    field = {"total": "total_wh", "gpu": "gpu_wh", "cpu": "cpu_wh"}[key]
    return fmt.number(s.get(field), 1, approx)


class SessionTableModel(QAbstractTableModel):
    def __init__(
        self,
        store: Store,
        page_size: int = PAGE_SIZE,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.page_size = page_size
        self.filter = q.Filter()
        self.sort_key = "start"
        self.descending = True
        self.on_error = on_error
        self._rows: list[dict[str, Any]] = []
        self._ids: set[int] = set()
        self._exhausted = True
        self._busy = False
        self._rates = q.rates()
        self.total = 0  # sessions the filter matches (the table may hold fewer so far)

    # ---- queries ------------------------------------------------------------------------------
    def reload(self) -> None:
        """Re-read from the first page (after a filter, a sort, a delete or new sessions)."""
        self._busy = True  # views and testers ask for more while a change is announced
        self.beginResetModel()
        self._rows, self._ids, self._exhausted = [], set(), False
        self._rates = q.rates()
        try:
            self.total = q.count(self.store, self.filter)
            self._append(self._next_page())
        except Exception as exc:  # noqa: BLE001 - said by _fail; the table stays empty, not broken
            self._fail(exc)
        self.endResetModel()
        self._busy = False

    def set_filter(self, flt: q.Filter) -> None:
        self.filter = flt
        self.reload()

    def _next_page(self) -> list[dict[str, Any]]:
        rows = q.page(
            self.store,
            self.filter,
            self.sort_key,
            self.descending,
            self.page_size,
            len(self._rows),
            self._rates,
        )
        if len(rows) < self.page_size:
            self._exhausted = True
        # A session recorded while the user scrolls shifts the offsets: never show a row twice.
        return [r for r in rows if r["id"] not in self._ids]

    def _append(self, rows: list[dict[str, Any]]) -> None:
        self._rows.extend(rows)
        self._ids.update(r["id"] for r in rows)

    def _fail(self, exc: Exception) -> None:
        from tray_app.store import StoreError

        self._exhausted = True
        if not isinstance(exc, StoreError):
            raise exc
        if self.on_error is not None:
            self.on_error(exc)

    # ---- lazy loading -------------------------------------------------------------------------
    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008, N802
        return not parent.isValid() and not self._exhausted and not self._busy

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008, N802
        if parent.isValid() or self._exhausted or self._busy:
            return
        try:
            rows = self._next_page()
        except Exception as exc:  # noqa: BLE001 - _fail re-raises what is not a StoreError
            self._fail(exc)
            return
        if not rows:
            return
        first = len(self._rows)
        self._busy = True
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._append(rows)
        self.endInsertRows()
        self._busy = False

    # ---- the table ----------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def session(self, row: int) -> dict[str, Any]:
        return self._rows[row]

    def row_of(self, session_id: int) -> int | None:
        for i, r in enumerate(self._rows):
            if r["id"] == session_id:
                return i
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        s = self._rows[index.row()]
        key = COLUMNS[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return cell(key, s)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            side = Qt.AlignmentFlag.AlignRight if key in _NUMERIC else Qt.AlignmentFlag.AlignLeft
            return int(side | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if key == "method" or (key in _ENERGY and fmt.is_estimated(s)):
                return fmt.method_explanation(s.get("energy_method"))
            if cell(key, s) == fmt.UNKNOWN:
                return _("Unknown: not measured.")
            return None
        if role == Qt.ItemDataRole.FontRole and fmt.is_estimated(s) and key in _ENERGY | {"method"}:
            font = QFont()
            font.setItalic(True)  # estimates look different from measurements at a glance
            return font
        if role == SESSION_ROLE:
            return s
        if role == ID_ROLE:
            return s["id"]
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return header(COLUMNS[section])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            key = COLUMNS[section]
            side = Qt.AlignmentFlag.AlignRight if key in _NUMERIC else Qt.AlignmentFlag.AlignLeft
            return int(side | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        self.sort_key = COLUMNS[column]
        self.descending = order == Qt.SortOrder.DescendingOrder
        self.reload()
