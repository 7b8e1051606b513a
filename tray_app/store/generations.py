"""Generation rows: writing them (each once), reading them with derived fields, and the
per-settings groups of the "What costs what" view.

Derived when read, as for sessions: `wh_per_image`, `duration_s`, `started_at`. The column is
`window_kind` (WINDOW is an SQL keyword); callers see `window`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tray_app.store.sessions import iso_utc

COLUMNS = (
    "session_id", "key", "tool", "start_ts", "end_ts", "window_kind", "images", "batch",
    "gpu_wh", "cpu_wh", "total_wh", "model_name", "model_family", "steps", "sampler", "width",
    "height",
)  # fmt: skip
# What `raison-garder generations --json/--csv` prints, in this order.
PUBLIC_FIELDS = (
    "id", "session_id", "tool", "start_ts", "end_ts", "started_at", "duration_s", "images",
    "gpu_wh", "cpu_wh", "total_wh", "wh_per_image", "model_name", "model_family", "steps",
    "width", "height", "batch", "sampler", "window",
)  # fmt: skip


def insert_many(conn: sqlite3.Connection, rows: Iterable[dict[str, Any]]) -> int:
    """Insert generations; one already stored (same session and key) is left as it is."""
    params = []
    for row in rows:
        fields = dict(row)
        fields["window_kind"] = fields.pop("window", fields.get("window_kind"))
        if fields.get("total_wh") is None and (
            fields.get("gpu_wh") is not None or fields.get("cpu_wh") is not None
        ):
            fields["total_wh"] = (fields.get("gpu_wh") or 0.0) + (fields.get("cpu_wh") or 0.0)
        params.append(tuple(fields.get(c) for c in COLUMNS))
    before = conn.total_changes
    conn.executemany(
        f"INSERT OR IGNORE INTO generations ({', '.join(COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(COLUMNS))})",
        params,
    )
    return conn.total_changes - before


def derive(row: sqlite3.Row) -> dict[str, Any]:
    d = {k: row[k] for k in row.keys()}  # sqlite3.Row is not a mapping
    d["window"] = d.pop("window_kind")
    total, images = d.get("total_wh"), d.get("images")
    d["wh_per_image"] = total / images if total is not None and images else None
    d["duration_s"] = max(0.0, d["end_ts"] - d["start_ts"])
    d["started_at"] = iso_utc(d["start_ts"])
    return d


def select(
    conn: sqlite3.Connection,
    session_id: int | None = None,
    since: float | None = None,
    limit: int | None = None,
    oldest_first: bool = False,
    with_session_uid: bool = False,
) -> list[dict[str, Any]]:
    where: list[str] = []
    params: list[Any] = []
    if session_id is not None:
        where.append("g.session_id = ?")
        params.append(int(session_id))
    if since is not None:
        where.append("g.start_ts >= ?")
        params.append(since)
    cols = "g.*, s.uid AS session_uid" if with_session_uid else "g.*"
    sql = f"SELECT {cols} FROM generations g"
    if with_session_uid:
        sql += " JOIN sessions s ON s.id = g.session_id"
    if where:
        sql += " WHERE " + " AND ".join(where)
    order = "ASC" if oldest_first else "DESC"
    sql += f" ORDER BY g.start_ts {order}, g.id {order} LIMIT ?"  # start_ts is indexed
    params.append(-1 if limit is None else int(limit))
    cur = conn.cursor()
    cur.row_factory = sqlite3.Row
    rows = cur.execute(sql, params).fetchall()
    cur.close()
    return [derive(r) for r in rows]


@dataclass(frozen=True, slots=True)
class Group:
    """Generations made with the same model family, size and steps."""

    family: str | None
    width: int | None
    height: int | None
    steps: int | None
    count: int  # generations
    images: int
    median_wh_per_image: float | None  # over generations whose energy is known
    median_s_per_image: float | None
    exact: int  # how many of them had an exact window


def groups(conn: sqlite3.Connection, since: float | None = None) -> list[Group]:
    """Group generations by family x size x steps, most images first. Medians, not means: one
    prompt that also loaded a model must not make a whole setting look expensive."""
    from statistics import median  # with fractions, decimal, random: for the History window only

    rows = conn.execute(
        "SELECT model_family, width, height, steps, images, total_wh, end_ts - start_ts, "
        "window_kind = 'exact' FROM generations WHERE images > 0 AND start_ts >= ?",
        (since if since is not None else float("-inf"),),
    ).fetchall()
    acc: dict[tuple, list[Any]] = {}  # key -> [Wh per image], [s per image], n, images, exact
    for family, width, height, steps, images, total, seconds, exact in rows:
        entry = acc.get((family, width, height, steps))
        if entry is None:
            entry = acc[(family, width, height, steps)] = [[], [], 0, 0, 0]
        if total is not None:
            entry[0].append(total / images)
        entry[1].append(max(0.0, seconds) / images)
        entry[2] += 1
        entry[3] += images
        entry[4] += exact
    out = [
        Group(
            family, width, height, steps, count, images,
            median(whs) if whs else None, median(secs) if secs else None, exact,
        )  # fmt: skip
        for (family, width, height, steps), (whs, secs, count, images, exact) in acc.items()
    ]
    out.sort(key=lambda g: (-g.images, g.family or "~", g.steps or 0))
    return out
