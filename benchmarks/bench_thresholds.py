"""Settings window, Reminders tab: the user's history beside each threshold (issue 19).

Over a store of 10 000 sessions (a year), times what the window does: reading the history once
(one indexed SELECT) and then, for every move of a threshold, re-counting each rule's "would have
reminded you in N of your last 40" and a suggestion. Side by side in the same run: the History
window's own first query (`queries.page` of 50 rows), as a yardstick of a query the app already
runs when a window opens.

    .venv/bin/python benchmarks/bench_thresholds.py

Prints a markdown table and writes it to benchmarks/results_thresholds.md.
"""

from __future__ import annotations

import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

N_SESSIONS = 10_000
TARGET_MS = 100.0
RUNS = 15


def main() -> int:
    from tests.fixtures.history_store import session_records
    from tray_app.config.settings import typed
    from tray_app.reminders import past as p
    from tray_app.reminders.rules import RULES
    from tray_app.store import Store
    from tray_app.store import queries as q

    now = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        store = Store.open(path)
        store.import_sessions(session_records(N_SESSIONS, 365, now, 7))
        store.close()
        settings = typed({"reminders.budget_period": "week"})
        load_ms, count_ms, warm_ms, page_ms = [], [], [], []
        for _ in range(RUNS):
            store = Store.open_for_reading(path)
            t = time.perf_counter()
            history = p.load(store, now, 0)
            load_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            q.page(store, q.Filter(), limit=50, rates_now=settings)
            page_ms.append((time.perf_counter() - t) * 1000)
            store.close()
            for times in (count_ms, warm_ms):  # first refresh (window opens), then a keystroke
                t = time.perf_counter()
                for rule in RULES:  # every rule's notes, and a click on every Suggest
                    series = rule.past(history, settings) if rule.past else None
                    if series is not None:
                        p.would_have(series, 50.0)
                        p.suggest(series, now, 1.0, 100_000.0)
                times.append((time.perf_counter() - t) * 1000)
    load, count, warm, page = (statistics.median(x) for x in (load_ms, count_ms, warm_ms, page_ms))
    table = "\n".join([
        f"Measured {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC on {platform.node()} "
        f"(Python {platform.python_version()}), {N_SESSIONS:,} sessions over a year, "
        f"median of {RUNS} runs, side by side in one process.",
        "",
        "| step | median | ÷ History's first page query | target |",
        "|---|---:|---:|---|",
        f"| read the history once (window opens) | {load:.1f} ms | {load / page:.1f}× | |",
        f"| every rule's count + suggestion, first time (cuts days and weeks) | {count:.1f} ms | "
        f"{count / page:.1f}× | |",
        f"| **window opens: both** | **{load + count:.1f} ms** | | < {TARGET_MS:.0f} ms |",
        f"| every rule's count + suggestion again (a keystroke) | {warm:.2f} ms | "
        f"{warm / page:.2f}× | |",
        f"| History window's `page(limit=50)` (yardstick) | {page:.1f} ms | 1× | |",
    ])
    print(table)
    (REPO / "benchmarks" / "results_thresholds.md").write_text(
        "# Reminders tab: the history beside each threshold (issue 19)\n\n"
        "Command: `.venv/bin/python benchmarks/bench_thresholds.py`\n\n" + table + "\n"
    )
    return 0 if load + count < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
