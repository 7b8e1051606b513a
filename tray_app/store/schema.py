"""The schema, versioned with `PRAGMA user_version`, and its migrations.

`V1` is the schema as first shipped and stays frozen; each later change is one entry of
`MIGRATIONS` (entry i upgrades version i+1 to i+2). A new store is built by running V1 and then
every migration, so the upgrade path is the one path, and it is exercised on every fresh start.

Samples are stored packed (see `codec.py`): one row per chunk of up to a minute of 1 s samples,
and one row per hour of per-minute aggregates, so a year of monitoring stays near 25 MB.
"""

from __future__ import annotations

import sqlite3

from tray_app.store.db import transaction

# Marks the file as ours ("RGAR"), so a foreign SQLite file at our path is recognised.
APPLICATION_ID = 0x52474152

V1: tuple[str, ...] = (
    f"PRAGMA application_id={APPLICATION_ID}",
    """CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        tool TEXT NOT NULL,
        exe_name TEXT,
        pids TEXT NOT NULL DEFAULT '[]',
        gpu_indices TEXT NOT NULL DEFAULT '[]',
        start_ts REAL NOT NULL,
        end_ts REAL,
        duration_s REAL,
        active_s REAL,
        gpu_wh REAL,
        cpu_wh REAL,
        total_wh REAL,
        idle_wh REAL,
        idle_baseline_w REAL,
        peak_w REAL,
        avg_w REAL,
        energy_method TEXT CHECK (energy_method IN ('counter', 'sampled', 'estimated', 'mixed')),
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'complete', 'recovered')),
        manual INTEGER NOT NULL DEFAULT 0,
        unknown_s REAL,
        notes TEXT
    )""",
    "CREATE INDEX sessions_start_ts ON sessions (start_ts)",
    "CREATE INDEX sessions_tool ON sessions (tool, start_ts)",
    # Full-rate samples: t0/t1 = first/last sample (epoch s), n samples packed in `data`.
    """CREATE TABLE samples (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        t0 REAL NOT NULL,
        t1 REAL NOT NULL,
        n INTEGER NOT NULL,
        data BLOB NOT NULL
    )""",
    "CREATE INDEX samples_session ON samples (session_id, t0)",
    # Per-minute aggregates of older sessions, one row per session-hour (`hour` = epoch s).
    """CREATE TABLE samples_minute (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        hour INTEGER NOT NULL,
        n INTEGER NOT NULL,
        data BLOB NOT NULL
    )""",
    "CREATE INDEX samples_minute_session ON samples_minute (session_id, hour)",
    """CREATE TABLE reminders (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        rule TEXT NOT NULL,
        session_id INTEGER REFERENCES sessions (id) ON DELETE SET NULL,
        values_json TEXT NOT NULL DEFAULT '{}',
        delivery TEXT,
        message TEXT
    )""",
    "CREATE INDEX reminders_ts ON reminders (ts)",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # v1 -> v2: what the image counter and model detection record.
    (
        "ALTER TABLE sessions ADD COLUMN images INTEGER",
        "ALTER TABLE sessions ADD COLUMN wh_per_image REAL",
        "ALTER TABLE sessions ADD COLUMN model_family TEXT",
        "ALTER TABLE sessions ADD COLUMN model_name TEXT",
        # Recovery at start-up looks for open sessions only: keep that lookup tiny.
        "CREATE INDEX sessions_open ON sessions (status) WHERE status = 'open'",
    ),
    # v2 -> v3: how each part was obtained, so "GPU measured, CPU estimated" can be shown.
    (
        "ALTER TABLE sessions ADD COLUMN gpu_method TEXT",
        "ALTER TABLE sessions ADD COLUMN cpu_method TEXT",
    ),
    # v3 -> v4: energy attributed to the tool beside what the whole machine drew, and how each
    # part was attributed (tray_app/sessions/attribution.py). Old sessions: NULL (not known).
    (
        "ALTER TABLE sessions ADD COLUMN machine_wh REAL",
        "ALTER TABLE sessions ADD COLUMN gpu_attribution TEXT",
        "ALTER TABLE sessions ADD COLUMN cpu_attribution TEXT",
    ),
    # v4 -> v5: energy saved by freeing an idle tool's GPU memory (an estimate: the measured
    # drop in draw times how long the tool then stayed idle).
    ("ALTER TABLE sessions ADD COLUMN saved_wh REAL",),
    # v5 -> v6: energy per generation (a ComfyUI prompt, or an image or batch a tool saved).
    # `key` (prompt id, or a hash of the image path) makes re-reads and re-imports idempotent.
    # Kept as long as their session (ON DELETE CASCADE; retention aggregates samples only).
    (
        """CREATE TABLE generations (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            tool TEXT NOT NULL,
            start_ts REAL NOT NULL,
            end_ts REAL NOT NULL,
            window_kind TEXT NOT NULL CHECK (window_kind IN ('exact', 'approximate')),
            images INTEGER NOT NULL DEFAULT 0,
            batch INTEGER,
            gpu_wh REAL,
            cpu_wh REAL,
            total_wh REAL,
            model_name TEXT,
            model_family TEXT,
            steps INTEGER,
            sampler TEXT,
            width INTEGER,
            height INTEGER,
            UNIQUE (session_id, key)
        )""",
        "CREATE INDEX generations_start ON generations (start_ts)",
    ),
)

SCHEMA_VERSION = 1 + len(MIGRATIONS)
OUR_TABLES = frozenset({"sessions", "samples", "samples_minute", "reminders"})


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def inspect(conn: sqlite3.Connection) -> str:
    """What the file is: 'empty', 'ours' (this version or older), 'newer' or 'foreign'."""
    version = user_version(conn)
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if version == 0 and not tables and app_id in (0, APPLICATION_ID):
        return "empty"
    if app_id != APPLICATION_ID or not OUR_TABLES <= tables or version == 0:
        return "foreign"
    return "newer" if version > SCHEMA_VERSION else "ours"


def _run(conn: sqlite3.Connection, statements: tuple[str, ...], version: int) -> None:
    with transaction(conn):
        # Re-read under the write lock: another process (monitor, CLI) may have just done it.
        if user_version(conn) != version - 1:
            return
        for statement in statements:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version={version}")


def migrate(conn: sqlite3.Connection) -> int:
    """Bring an empty or older store to SCHEMA_VERSION; each step is its own transaction."""
    steps = (V1, *MIGRATIONS)
    for target in range(user_version(conn) + 1, SCHEMA_VERSION + 1):
        _run(conn, steps[target - 1], target)
    return SCHEMA_VERSION
