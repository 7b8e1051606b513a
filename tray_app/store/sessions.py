"""Session rows: writing them, and reading them with derived fields.

Derived fields (`started_at`, `ended_at`, `co2_g`, `cost`, `currency`, `wh_per_image`) are
computed when read, from the settings in effect then: changing the carbon intensity or the price
re-prices the whole history consistently, and the store keeps only what was measured.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tray_app.config.settings import TypedSettings, default_settings
from tray_app.sessions.labels import summary
from tray_app.system.days import day_of, day_start

ENERGY_METHODS = ("counter", "sampled", "estimated", "mixed")
STATUSES = ("open", "complete", "recovered")
# Columns a caller may set through update_session/close_session (never id/uid/start_ts).
WRITABLE = frozenset(
    {
        "exe_name", "pids", "gpu_indices", "end_ts", "duration_s", "active_s", "gpu_wh", "cpu_wh",
        "total_wh", "idle_wh", "idle_baseline_w", "peak_w", "avg_w", "energy_method", "status",
        "manual", "unknown_s", "notes", "images", "wh_per_image", "model_family", "model_name",
        "gpu_method", "cpu_method", "machine_wh", "gpu_attribution", "cpu_attribution", "saved_wh",
    }
)  # fmt: skip
COLUMNS = ("id", "uid", "tool", "start_ts") + tuple(sorted(WRITABLE))
_ORDER = re.compile(r"^(id|start_ts|end_ts|total_wh|duration_s|tool)( (ASC|DESC))?$", re.I)


def current_settings() -> TypedSettings:
    """The settings in effect now (carbon, price, currency, day start, retention), read from the
    file each time so a change made by the dialog or `config set` re-prices at once."""
    from tray_app.config.file import load_settings

    try:
        return load_settings().typed
    except OSError:  # load_settings reports the file's problems itself; a broken disk: defaults
        return default_settings()


def iso_utc(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def encode(fields: dict[str, Any]) -> dict[str, Any]:
    """Python values -> column values (lists as JSON, bools as 0/1)."""
    out = dict(fields)
    for key in ("pids", "gpu_indices"):
        if key in out and not isinstance(out[key], str):
            out[key] = json.dumps([int(x) for x in (out[key] or [])])
    if "manual" in out:
        out["manual"] = int(bool(out["manual"]))
    return out


def derive(row: sqlite3.Row, rates: TypedSettings) -> dict[str, Any]:
    d = {k: row[k] for k in row.keys()}  # sqlite3.Row is not a mapping
    for key in ("pids", "gpu_indices"):
        try:
            d[key] = json.loads(d.get(key) or "[]")
        except ValueError:
            d[key] = []
    d["manual"] = bool(d.get("manual"))
    d["started_at"] = iso_utc(d.get("start_ts"))
    d["ended_at"] = iso_utc(d.get("end_ts"))
    total = d.get("total_wh")
    images = d.get("images")
    if d.get("wh_per_image") is None and total is not None and images:
        d["wh_per_image"] = total / images
    kwh = None if total is None else total / 1000
    d["co2_g"] = None if kwh is None else kwh * rates.carbon_g_per_kwh
    d["cost"] = None if kwh is None else kwh * rates.price_per_kwh
    d["currency"] = rates.currency
    d["attribution"] = summary(d.get("gpu_attribution"), d.get("cpu_attribution"))
    return d


def insert(conn: sqlite3.Connection, fields: dict[str, Any]) -> int:
    fields = encode(fields)
    cols = ", ".join(fields)
    marks = ", ".join(f":{k}" for k in fields)
    cur = conn.execute(f"INSERT INTO sessions ({cols}) VALUES ({marks})", fields)
    assert cur.lastrowid is not None
    return cur.lastrowid


def update(conn: sqlite3.Connection, session_id: int, fields: dict[str, Any]) -> None:
    unknown = set(fields) - WRITABLE
    if unknown:
        raise ValueError(f"not a writable session field: {sorted(unknown)}")
    if not fields:
        return
    fields = encode(fields)
    sets = ", ".join(f"{k} = :{k}" for k in fields)
    conn.execute(f"UPDATE sessions SET {sets} WHERE id = :_id", {**fields, "_id": session_id})


def select(
    conn: sqlite3.Connection,
    rates: TypedSettings,
    since: float | None = None,
    until: float | None = None,
    tool: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    order: str = "start_ts DESC",
    ids: Iterable[int] | None = None,
) -> list[dict[str, Any]]:
    if not _ORDER.match(order.strip()):
        raise ValueError(f"unsupported order: {order!r}")
    where: list[str] = []
    params: list[object] = []
    if since is not None:
        where.append("start_ts >= ?")
        params.append(since)
    if until is not None:
        where.append("start_ts < ?")
        params.append(until)
    if tool is not None:
        where.append("tool = ?")
        params.append(tool)
    if ids is not None:
        id_list = [int(i) for i in ids]
        where.append(f"id IN ({', '.join('?' * len(id_list))})")
        params.extend(id_list)
    sql = "SELECT * FROM sessions"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order}, id DESC LIMIT ? OFFSET ?"
    params += [-1 if limit is None else int(limit), int(offset)]
    cur = conn.cursor()
    cur.row_factory = sqlite3.Row
    rows = cur.execute(sql, params).fetchall()
    cur.close()
    return [derive(r, rates) for r in rows]


def logical_today(day_start_hour: int, now: float | None = None) -> date:
    return day_of(time.time() if now is None else now, day_start_hour)


def daily_totals(
    conn: sqlite3.Connection, days: int, day_start_hour: int, now: float | None = None
) -> list[tuple[str, float, float, int | None]]:
    """(YYYY-MM-DD, gpu_wh, cpu_wh, images) for each of the last `days` days, oldest first.

    A session counts on the day it started; a day begins at `day_start_hour` local time. Days
    without sessions read 0 Wh (nothing ran); images stay None where none were counted.
    """
    today = logical_today(day_start_hour, now)
    first = today - timedelta(days=days - 1)
    shift = f"-{int(day_start_hour)} hours"
    rows = conn.execute(
        "SELECT date(start_ts, 'unixepoch', 'localtime', ?) AS d, "
        "COALESCE(SUM(gpu_wh), 0), COALESCE(SUM(cpu_wh), 0), SUM(images) "
        "FROM sessions WHERE start_ts >= ? GROUP BY d",
        (shift, day_start(first, day_start_hour)),
    ).fetchall()
    by_day = {r[0]: (r[1], r[2], r[3]) for r in rows}
    out = []
    for i in range(days):
        key = (first + timedelta(days=i)).isoformat()
        gpu, cpu, images = by_day.get(key, (0.0, 0.0, None))
        out.append((key, float(gpu), float(cpu), images))
    return out


def totals(
    conn: sqlite3.Connection, rates: TypedSettings, since_ts: float | None
) -> dict[str, Any]:
    row = conn.execute(
        "SELECT COUNT(*), SUM(gpu_wh), SUM(cpu_wh), SUM(total_wh), SUM(images), SUM(duration_s), "
        "SUM(active_s) FROM sessions WHERE start_ts >= ?",
        (since_ts if since_ts is not None else float("-inf"),),
    ).fetchone()
    total = row[3]
    return {
        "sessions": row[0],
        "gpu_wh": row[1],
        "cpu_wh": row[2],
        "total_wh": total,
        "images": row[4],
        "duration_s": row[5],
        "active_s": row[6],
        "co2_g": None if total is None else total / 1000 * rates.carbon_g_per_kwh,
        "cost": None if total is None else total / 1000 * rates.price_per_kwh,
        "currency": rates.currency,
    }


def energy_since(conn: sqlite3.Connection, ts: float) -> float:
    """Wh measured since `ts`. A session that straddles `ts` counts pro rata of its duration
    (its energy is taken as evenly spread); open sessions count with their running totals."""
    row = conn.execute(
        """
        SELECT SUM(CASE
            WHEN start_ts >= :ts THEN total_wh
            ELSE total_wh * (stop - :ts) / (stop - start_ts) END)
        FROM (SELECT start_ts, total_wh,
                     COALESCE(end_ts, start_ts + duration_s, start_ts) AS stop
              FROM sessions WHERE total_wh IS NOT NULL)
        WHERE start_ts >= :ts OR (stop > :ts AND stop > start_ts)
        """,
        {"ts": ts},
    ).fetchone()
    return float(row[0] or 0.0)
