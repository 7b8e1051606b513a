"""The History window's reads that the Store API does not offer yet. Qt-free.

The table sorts on any column and filters by tool *and* date range, counts what a filter matches,
lists the tools seen, and the totals cards want Wh per image over the sessions that counted
images only. `Store.list_sessions` sorts on a few columns and `count_sessions` filters by date
only, so these few aggregates are read-only statements run by `Store.select` (the store's
lock and error mapping), and rows come back through the store's own `derive` (same derived fields as
`raison-garder sessions`). Everything here is a single indexed SQL statement: no samples are read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tray_app.config.settings import TypedSettings
from tray_app.store import Store
from tray_app.store import sessions as store_sessions

# Sort keys -> SQL expressions. Wh per image is derived when the tool did not record it.
SORT_SQL = {
    "id": "id",
    "start": "start_ts",
    "tool": "tool",
    "duration": "duration_s",
    "total": "total_wh",
    "gpu": "gpu_wh",
    "cpu": "cpu_wh",
    "method": "energy_method",
    "status": "status",
    "images": "images",
    "wh_per_image": "COALESCE(wh_per_image, total_wh / NULLIF(images, 0))",
    "co2": "total_wh",
}


@dataclass(frozen=True)
class Filter:
    """Which sessions the table shows: a tool, and sessions started in [since, until)."""

    tool: str | None = None
    since: float | None = None
    until: float | None = None

    def where(self) -> tuple[str, list[Any]]:
        parts: list[str] = []
        params: list[Any] = []
        if self.tool is not None:
            parts.append("tool = ?")
            params.append(self.tool)
        if self.since is not None:
            parts.append("start_ts >= ?")
            params.append(self.since)
        if self.until is not None:
            parts.append("start_ts < ?")
            params.append(self.until)
        return (" WHERE " + " AND ".join(parts)) if parts else "", params


def day_bounds(first: date, last: date, day_start_hour: int) -> tuple[float, float]:
    """Epoch bounds of the logical days first..last (inclusive), cut at `day_start_hour`."""
    return (
        store_sessions.day_start(first, day_start_hour),
        store_sessions.day_start(last + timedelta(days=1), day_start_hour),
    )


def _execute(store: Store, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
    """Through `Store.select`: the store's lock (the monitor writes from a worker) and its
    known-error mapping (a locked or damaged file becomes a StoreError)."""
    return store.select(sql, params)


def rates() -> TypedSettings:
    """Carbon intensity, price and currency in effect (read once per refresh, not per row)."""
    return store_sessions.current_settings()


def page(
    store: Store,
    flt: Filter,
    sort: str = "start",
    descending: bool = True,
    limit: int | None = None,
    offset: int = 0,
    rates_now: TypedSettings | None = None,
) -> list[dict[str, Any]]:
    """Sessions matching `flt`, sorted in SQL; unknown values sort last either way."""
    expr = SORT_SQL[sort]
    where, params = flt.where()
    direction = "DESC" if descending else "ASC"
    sql = (
        f"SELECT * FROM sessions{where} ORDER BY ({expr}) IS NULL, {expr} {direction}, "
        f"id {direction} LIMIT ? OFFSET ?"
    )
    rows = _execute(store, sql, [*params, -1 if limit is None else int(limit), int(offset)])
    r = rates_now if rates_now is not None else rates()
    return [store_sessions.derive(row, r) for row in rows]


def by_ids(
    store: Store, ids: Iterable[int], rates_now: TypedSettings | None = None
) -> list[dict[str, Any]]:
    """Sessions by id, oldest first (for exporting a selection)."""
    id_list = sorted({int(i) for i in ids})
    r = rates_now if rates_now is not None else rates()
    out: list[dict[str, Any]] = []
    for i in range(0, len(id_list), 500):  # stay far below SQLite's variable limit
        chunk = id_list[i : i + 500]
        marks = ", ".join("?" * len(chunk))
        rows = _execute(
            store, f"SELECT * FROM sessions WHERE id IN ({marks}) ORDER BY start_ts, id", chunk
        )
        out.extend(store_sessions.derive(row, r) for row in rows)
    out.sort(key=lambda s: (s["start_ts"], s["id"]))
    return out


def count(store: Store, flt: Filter) -> int:
    where, params = flt.where()
    return int(_execute(store, f"SELECT COUNT(*) FROM sessions{where}", params)[0][0])


def tools(store: Store) -> list[str]:
    """Tool ids seen in the store, most used first (served by the (tool, start_ts) index)."""
    rows = _execute(store, "SELECT tool, COUNT(*) AS n FROM sessions GROUP BY tool ORDER BY n DESC")
    return [r["tool"] for r in rows]


def period_extras(store: Store, since_ts: float | None) -> dict[str, Any]:
    """What `Store.totals` does not say: Wh per image over the sessions that counted images
    (sessions without a count would bias it), and how many figures are estimated or unknown."""
    row = _execute(
        store,
        "SELECT SUM(CASE WHEN images > 0 THEN total_wh END), "
        "SUM(CASE WHEN images > 0 AND total_wh IS NOT NULL THEN images END), "
        "SUM(energy_method IN ('estimated', 'mixed')), SUM(total_wh IS NULL) "
        "FROM sessions WHERE start_ts >= ?",
        [since_ts if since_ts is not None else float("-inf")],
    )[0]
    wh, images, estimated, unknown = row[0], row[1], row[2] or 0, row[3] or 0
    idle_wh, saved_wh = idle_and_saved(store, since_ts)
    return {
        "wh_per_image": wh / images if wh is not None and images else None,
        "estimated": int(estimated),
        "unknown": int(unknown),
        "idle_wh": idle_wh,
        "saved_wh": saved_wh,
    }


def idle_and_saved(store: Store, since_ts: float | None) -> tuple[float | None, float | None]:
    """(Wh drawn while tools sat idle, Wh saved by freeing their GPU memory, an estimate) for the
    sessions started since `since_ts`; None where no session says."""
    row = _execute(
        store, "SELECT SUM(idle_wh), SUM(saved_wh) FROM sessions WHERE start_ts >= ?",
        [since_ts if since_ts is not None else float("-inf")],
    )[0]
    return row[0], row[1]


def idle_by_day(store: Store, since_ts: float, day_start_hour: int) -> dict[str, tuple[float, float]]:
    """YYYY-MM-DD -> (idle Wh, saved Wh) per logical day (a session counts on the day it
    started, as in Store.daily_totals); days without either are absent."""
    shift = f"-{int(day_start_hour)} hours"
    rows = _execute(
        store,
        "SELECT date(start_ts, 'unixepoch', 'localtime', ?) AS d, COALESCE(SUM(idle_wh), 0), "
        "COALESCE(SUM(saved_wh), 0) FROM sessions WHERE start_ts >= ? GROUP BY d",
        [shift, since_ts],
    )
    return {r[0]: (float(r[1]), float(r[2])) for r in rows if r[1] or r[2]}


def session_reminders(store: Store, session: dict[str, Any]) -> list[dict[str, Any]]:
    """Reminders a session received, oldest first (the store lists them by time, newest first)."""
    found = store.list_reminders(since=session["start_ts"])
    return sorted(
        (r for r in found if r.get("session_id") == session["id"]), key=lambda r: r["ts"]
    )


def past_sessions(store: Store, since_ts: float, until_ts: float) -> list[sqlite3.Row]:
    """start_ts, gpu_wh, cpu_wh, images, active_s, tool of the sessions begun in [since, until],
    oldest first (the Settings window's "would have reminded you"; by the start_ts index)."""
    return _execute(
        store,
        "SELECT start_ts, gpu_wh, cpu_wh, images, active_s, tool FROM sessions "
        "WHERE start_ts >= ? AND start_ts <= ? ORDER BY start_ts",
        (since_ts, until_ts),
    )
