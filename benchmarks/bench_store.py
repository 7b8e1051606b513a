"""Store benchmarks: write cost per sample, `sessions --limit 20` latency, a year's file size.

    .venv/bin/python benchmarks/bench_store.py [--quick]

Prints a markdown table and writes it to benchmarks/results_store.md. Every ratio compares two
figures measured side by side in this run, on this machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tray_app.store import Store  # noqa: E402
from tray_app.store.core import import_uid  # noqa: E402

DAY = 86400
T0 = 1.7e9


def trace(n: int, t0: float, seed: int = 1) -> list[tuple[float, float, float, int]]:
    """n samples, one a second: a GPU between 120 and 350 W, a CPU between 15 and 60 W."""
    rnd = random.Random(seed)
    return [
        (t0 + i + rnd.random() * 0.02, 120 + rnd.random() * 230, 15 + rnd.random() * 45, i % 7 != 0)
        for i in range(n)
    ]


def bench_writes(tmp: Path, n: int) -> dict[str, float]:
    rows = trace(n, T0)
    # The store: one add_samples call per sample, as the monitor makes them; commits every 5 s.
    store = Store.open(tmp / "w.sqlite3")
    sid = store.open_session("comfyui", "python3", [1], [0], T0)
    t = time.perf_counter()
    for r in rows:
        store.add_samples(sid, [r])
    store.flush()
    store_s = time.perf_counter() - t
    store.close()
    # Bare sqlite3, same rows, same pragmas and the same commit cadence (5 rows a transaction).
    conn = sqlite3.connect(tmp / "bare.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE samples (session_id INTEGER, ts REAL, gpu_w REAL, cpu_w REAL, active INTEGER)"
    )
    batches = [[(1, *r) for r in rows[i : i + 5]] for i in range(0, n, 5)]
    t = time.perf_counter()
    for batch in batches:
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?)", batch)
        conn.execute("COMMIT")
    bare5_s = time.perf_counter() - t
    conn.execute("DELETE FROM samples")
    flat = [(1, *r) for r in rows]
    t = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?)", flat)
    conn.execute("COMMIT")
    bare1_s = time.perf_counter() - t
    conn.close()
    return {
        "store_us": store_s / n * 1e6,
        "bare5_us": bare5_s / n * 1e6,
        "bare1_us": bare1_s / n * 1e6,
    }


def _median_run(cmd: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_cli(tmp: Path, sessions: int, runs: int) -> dict[str, float]:
    data = tmp / "cli-data"
    env = dict(
        os.environ,
        RAISON_GARDER_DATA_DIR=str(data),
        RAISON_GARDER_CONFIG_DIR=str(tmp / "cli-config"),
    )
    os.environ["RAISON_GARDER_CONFIG_DIR"] = env["RAISON_GARDER_CONFIG_DIR"]
    data.mkdir()
    records = []
    for i in range(sessions):
        start = T0 + i * 3600.0
        gpu = 20 + (i % 50)
        records.append(
            {"uid": import_uid("comfyui", start, start + 1800), "tool": ("comfyui", "a1111", "forge")[i % 3],
             "start_ts": start, "end_ts": start + 1800, "duration_s": 1800.0, "gpu_wh": float(gpu),
             "cpu_wh": 5.0, "total_wh": gpu + 5.0, "energy_method": "counter", "status": "complete"}
        )  # fmt: skip
    with Store.open(data / "raison-garder.sqlite3") as store:
        store.import_sessions(records)
    py = sys.executable
    baseline = _median_run([py, "-c", "pass"], env, runs)
    cli = _median_run([py, "-m", "tray_app", "sessions", "--limit", "20"], env, runs)
    in_process = []
    for _ in range(runs):
        t = time.perf_counter()
        with Store.open(data / "raison-garder.sqlite3") as store:
            store.list_sessions(limit=20)
        in_process.append(time.perf_counter() - t)
    return {"cli_s": cli, "python_s": baseline, "query_s": statistics.median(in_process)}


def bench_year(tmp: Path, full_rate_days: int, days: int) -> dict[str, float]:
    """A year of continuous 1 s monitoring, one session a day, after retention.

    The last `full_rate_days` days are written sample by sample through the store. Older days
    are in per-minute aggregates: one day is written at full rate and aggregated by the real
    retention code; the other old days are copies of its aggregates, shifted in time.
    """
    path = tmp / "year.sqlite3"
    store = Store.open(path)
    now = T0 + days * DAY
    old_days = days - full_rate_days
    t = time.perf_counter()
    # One old day, through the writer, then retention.
    first = store.open_session("comfyui", "python3", [1], [0], T0)
    for i in range(0, DAY, 5):
        store.add_samples(first, trace(5, T0 + i, seed=i))
    store.close_session(first, T0 + DAY - 1)
    store.apply_retention(full_rate_days, now=now)
    conn = store._conn
    template = conn.execute(
        "SELECT hour, n, data FROM samples_minute WHERE session_id = ?", (first,)
    ).fetchall()
    session = conn.execute("SELECT * FROM sessions WHERE id = ?", (first,)).fetchone()
    conn.execute("BEGIN")
    for d in range(1, old_days):
        cur = conn.execute(
            "INSERT INTO sessions (uid, tool, exe_name, pids, gpu_indices, start_ts, end_ts, duration_s, "
            "gpu_wh, cpu_wh, total_wh, energy_method, status) "
            "VALUES (?, 'comfyui', 'python3', '[1]', '[0]', ?, ?, ?, ?, ?, ?, 'sampled', 'complete')",
            (
                f"copy-{d}",
                T0 + d * DAY,
                T0 + d * DAY + DAY - 1,
                DAY - 1,
                session[10],
                session[11],
                session[12],
            ),
        )
        conn.executemany(
            "INSERT INTO samples_minute (session_id, hour, n, data) VALUES (?, ?, ?, ?)",
            [(cur.lastrowid, hour + d * DAY, n, blob) for hour, n, blob in template],
        )
    conn.execute("COMMIT")
    # The recent days at full rate, sample by sample as the monitor writes them.
    for d in range(old_days, days):
        start = T0 + d * DAY
        sid = store.open_session("comfyui", "python3", [1], [0], start)
        for r in trace(DAY, start, seed=d):
            store.add_samples(sid, [r])
        store.close_session(sid, start + DAY - 1)
    store.apply_retention(full_rate_days, now=now)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    elapsed = time.perf_counter() - t
    full_bytes = conn.execute("SELECT SUM(length(data)) FROM samples").fetchone()[0] or 0
    minute_bytes = conn.execute("SELECT SUM(length(data)) FROM samples_minute").fetchone()[0] or 0
    free = (
        conn.execute("PRAGMA freelist_count").fetchone()[0]
        * conn.execute("PRAGMA page_size").fetchone()[0]
    )
    store.close()
    return {
        "size_mb": path.stat().st_size / 1e6,
        "full_mb": full_bytes / 1e6,
        "minute_mb": minute_bytes / 1e6,
        "free_mb": free / 1e6,
        "days": days,
        "full_rate_days": full_rate_days,
        "elapsed_s": elapsed,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller runs (for a smoke test)")
    args = ap.parse_args()
    n_samples, n_sessions, runs, days = (
        (20_000, 10_000, 5, 365) if not args.quick else (5000, 2000, 3, 40)
    )
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        w = bench_writes(tmp, n_samples)
        c = bench_cli(tmp, n_sessions, runs)
        y = bench_year(tmp, 30, days)
    table = "\n".join(
        [
            f"Store benchmarks ({platform.python_implementation()} {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, {platform.machine()}, {os.cpu_count()} CPUs)",
            "",
            "| Measure | Value | Compared with (same run) | Ratio |",
            "|---|---|---|---|",
            f"| Store write, per sample (`add_samples`, {n_samples} samples, commit every 5 s of samples) "
            f"| {w['store_us']:.1f} µs | bare `executemany`, 5 rows a transaction: {w['bare5_us']:.1f} µs "
            f"| {w['store_us'] / w['bare5_us']:.2f}× |",
            f"| | | bare `executemany`, all rows in one transaction: {w['bare1_us']:.2f} µs "
            f"| {w['store_us'] / w['bare1_us']:.1f}× |",
            f"| `raison-garder sessions --limit 20`, {n_sessions} sessions (median of {runs}) "
            f"| {c['cli_s'] * 1000:.0f} ms | `python -c pass`: {c['python_s'] * 1000:.0f} ms "
            f"| {c['cli_s'] / c['python_s']:.1f}× |",
            f"| — of which opening the store and the query (in process) | {c['query_s'] * 1000:.1f} ms "
            f"| the rest is interpreter and CLI start-up (imports) | |",
            f"| Store file after {y['days']} days of 1 s monitoring, retention {y['full_rate_days']} days "
            f"| {y['size_mb']:.1f} MB | target: about 25 MB | {y['size_mb'] / 25:.2f}× |",
            f"| — of which packed full-rate samples ({y['full_rate_days']} days) | {y['full_mb']:.1f} MB | | |",
            f"| — of which packed per-minute aggregates ({y['days'] - y['full_rate_days']} days) "
            f"| {y['minute_mb']:.1f} MB | | |",
            f"| — free pages (reused by the next samples) | {y['free_mb']:.1f} MB | | |",
        ]
    )
    print(table)
    if not args.quick:
        (REPO / "benchmarks" / "results_store.md").write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
