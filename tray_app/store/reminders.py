"""The reminder log: what was said, when, by which rule, through which channel."""

from __future__ import annotations

import json
import sqlite3
from typing import Any


def add(
    conn: sqlite3.Connection,
    ts: float,
    rule: str,
    values: dict[str, Any] | None = None,
    delivery: str | None = None,
    message: str | None = None,
    session_id: int | None = None,
) -> int:
    cur = conn.execute(
        "INSERT INTO reminders (ts, rule, session_id, values_json, delivery, message) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (ts, rule, session_id, json.dumps(values or {}, sort_keys=True), delivery, message),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def set_delivery(conn: sqlite3.Connection, reminder_id: int, delivery: str) -> None:
    conn.execute("UPDATE reminders SET delivery = ? WHERE id = ?", (delivery, reminder_id))


def select(
    conn: sqlite3.Connection,
    since: float | None = None,
    rule: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Newest first."""
    where: list[str] = []
    params: list[object] = []
    if since is not None:
        where.append("ts >= ?")
        params.append(since)
    if rule is not None:
        where.append("rule = ?")
        params.append(rule)
    sql = "SELECT id, ts, rule, session_id, values_json, delivery, message FROM reminders"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY ts DESC, id DESC LIMIT ?"
    params.append(-1 if limit is None else int(limit))
    out = []
    for rid, ts, rule_, sid, values, delivery, message in conn.execute(sql, params):
        try:
            decoded = json.loads(values)
        except ValueError:
            decoded = {}
        out.append(
            {
                "id": rid,
                "ts": ts,
                "rule": rule_,
                "session_id": sid,
                "values": decoded,
                "delivery": delivery,
                "message": message,
            }
        )
    return out
