"""History window benchmark: from the request to a painted window, over 10 000 sessions and a year
of power samples, beside an empty QMainWindow shown in the same process; and the memory the open
window adds.

    .venv/bin/python benchmarks/bench_history.py [--quick]

Runs on a private Xvfb display when Xvfb is installed (real xcb painting), else offscreen.
Prints a markdown table and writes it to benchmarks/results_history.md (not with --quick).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGET_MS = 500.0
DAY = 86400.0


def build_store(path: Path, n: int, full_rate_days: int) -> dict[str, float]:
    """n sessions over a year. Sessions of the last `full_rate_days` days carry 1 s samples written
    through the store; older ones carry per-minute aggregates (what retention leaves), copied from
    one template session aggregated by the real retention code."""
    from tests.fixtures.history_store import curve, session_records
    from tray_app.store import Store

    now = time.time()
    t = time.perf_counter()
    store = Store.open(path)
    store.import_sessions(session_records(n, 365, now, seed=7))
    template = store.open_session("comfyui", "python3", [1], [0], now - 400 * DAY)
    store.add_samples(template, curve(now - 400 * DAY, 4 * 3600, seed=1, period_s=1.0))
    store.close_session(template, now - 400 * DAY + 4 * 3600)
    store.apply_retention(full_rate_days, now=now)
    conn = store._conn  # a benchmark may reach in, as bench_store.py does
    blobs = [row for row in conn.execute(
        "SELECT n, data FROM samples_minute WHERE session_id = ? ORDER BY hour", (template,))]
    store.delete_sessions([template])
    sessions = store.list_sessions(order="start_ts ASC")
    cutoff = now - full_rate_days * DAY
    conn.execute("BEGIN")
    for s in sessions:
        if s["end_ts"] >= cutoff:
            continue
        hour0 = int(s["start_ts"] // 3600 * 3600)
        hours = math.ceil((s["end_ts"] - hour0) / 3600)
        conn.executemany(
            "INSERT INTO samples_minute (session_id, hour, n, data) VALUES (?, ?, ?, ?)",
            [(s["id"], hour0 + 3600 * k, *blobs[k % len(blobs)]) for k in range(hours)],
        )
    conn.execute("COMMIT")
    for k, s in enumerate(x for x in sessions if x["end_ts"] >= cutoff):
        store.add_samples(s["id"], curve(s["start_ts"], s["duration_s"], seed=k, period_s=1.0))
    store.flush()
    stats = {
        "sessions": store.count_sessions(),
        "full_samples": conn.execute("SELECT COALESCE(SUM(n), 0) FROM samples").fetchone()[0],
        "minute_points": conn.execute("SELECT COALESCE(SUM(n), 0) FROM samples_minute").fetchone()[0],
        "build_s": time.perf_counter() - t,
    }
    store.close()
    stats["size_mb"] = path.stat().st_size / 1e6
    return stats


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e6


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1 000 sessions (a smoke test)")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    n = 1000 if args.quick else 10_000

    tmp = Path(tempfile.mkdtemp(prefix="rg-bench-history-"))
    os.environ["RAISON_GARDER_DATA_DIR"] = str(tmp / "data")
    os.environ["RAISON_GARDER_CONFIG_DIR"] = str(tmp / "config")
    (tmp / "data").mkdir()
    from tray_app.store import STORE_FILENAME

    stats = build_store(tmp / "data" / STORE_FILENAME, n, 30)

    desktop = None
    try:
        from tests.fixtures.xvfb import XDesktop, XDesktopMissing

        try:
            desktop = XDesktop("1280x900x24").start()
            os.environ["DISPLAY"] = desktop.display
            os.environ["QT_QPA_PLATFORM"] = "xcb"
        except XDesktopMissing:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        result = measure(args.runs)
    finally:
        if desktop is not None:
            desktop.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    platform_name = os.environ["QT_QPA_PLATFORM"]
    table = report(stats, result, platform_name, n)
    print(table)
    if not args.quick:
        (REPO / "benchmarks" / "results_history.md").write_text(table + "\n", encoding="utf-8")
    return 0


def measure(runs: int) -> dict[str, object]:
    from PySide6.QtCore import QCoreApplication, QEvent, QObject
    from PySide6.QtWidgets import QApplication, QMainWindow

    app = QApplication(["raison-garder"])
    class PaintWatch(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.painted: set[int] = set()

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.painted.add(id(obj))
            return False

    watch = PaintWatch()
    app.installEventFilter(watch)

    def until_painted(widgets: list[QObject], timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not all(id(w) in watch.painted for w in widgets):
            app.processEvents()
            if time.monotonic() > deadline:
                raise TimeoutError("the window was never painted")

    def close(w: QMainWindow) -> None:
        w.close()
        w.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        app.processEvents()

    def empty_window() -> float:
        watch.painted.clear()
        t = time.perf_counter()
        w = QMainWindow()
        w.resize(1200, 860)
        w.show()
        until_painted([w])
        elapsed = time.perf_counter() - t
        close(w)
        return elapsed

    def history_window() -> tuple[float, float, float]:
        import tray_app.ui.history.window as history

        watch.painted.clear()
        before = rss_mb()
        t = time.perf_counter()
        w = history.open_history()  # opens the store itself, as from the tray menu
        until_painted([w.day_chart, w.table.viewport(), w.cards["all"]])
        elapsed = time.perf_counter() - t
        after = rss_mb()
        close(w)
        return elapsed, after - before, after

    empty_first = empty_window()  # pays for the platform connection and fonts
    rss_before_import = rss_mb()
    import_t = time.perf_counter()
    import tray_app.ui.history.window  # noqa: F401 - the import is part of the first request

    import_s = time.perf_counter() - import_t
    first_s, _added, rss_open = history_window()
    first_s += import_s
    first_mb = rss_open - rss_before_import  # imports, fonts, caches and the window
    warm, empty, added = [], [], []
    for _ in range(runs):
        empty.append(empty_window())
        s, mb, _rss = history_window()
        warm.append(s)
        added.append(mb)
    return {
        "empty_first_ms": empty_first * 1000,
        "first_ms": first_s * 1000,
        "import_ms": import_s * 1000,
        "first_mb": first_mb,
        "warm_ms": statistics.median(warm) * 1000,
        "empty_ms": statistics.median(empty) * 1000,
        "added_mb": statistics.median(added),
        "rss_mb": rss_mb(),
        "runs": runs,
    }


def report(stats: dict[str, float], r: dict[str, object], platform_name: str, n: int) -> str:
    from PySide6 import __version__ as pyside

    warm, empty = float(r["warm_ms"]), float(r["empty_ms"])  # type: ignore[arg-type]
    first = float(r["first_ms"])  # type: ignore[arg-type]
    return "\n".join([
        f"History window benchmark ({platform.python_implementation()} {platform.python_version()}, "
        f"PySide6 {pyside}, Qt platform `{platform_name}`, {platform.machine()}, {os.cpu_count()} CPUs)",
        "",
        "Command: `.venv/bin/python benchmarks/bench_history.py`",
        "",
        f"Store: {stats['sessions']:.0f} sessions over 365 days; {stats['full_samples']:,.0f} full-rate "
        f"samples (last 30 days) and {stats['minute_points']:,.0f} per-minute points (older days); "
        f"{stats['size_mb']:.1f} MB.",
        "",
        "| Measure | Value | Compared with (same run) | Ratio |",
        "|---|---|---|---|",
        f"| Request → painted History window, first time (imports included) | {first:.0f} ms "
        f"| target {TARGET_MS:.0f} ms | {first / TARGET_MS:.2f}× |",
        f"| Request → painted History window, again (median of {r['runs']}) | {warm:.0f} ms "
        f"| empty QMainWindow shown and painted: {empty:.1f} ms | {warm / empty:.1f}× |",
        f"| — of which importing the window's modules (first time only) | {float(r['import_ms']):.0f} ms | | |",  # type: ignore[arg-type]
        f"| Memory added by the first open (RSS; modules, fonts and window) | "
        f"{float(r['first_mb']):.1f} MB | | |",  # type: ignore[arg-type]
        f"| Memory added by the open window, again (RSS, median of {r['runs']}) | "
        f"{float(r['added_mb']):.1f} MB | process RSS after the runs: {float(r['rss_mb']):.0f} MB | |",  # type: ignore[arg-type]
        "",
        "The window reads aggregates (totals, 371 daily sums, one page of 200 sessions); no sample "
        "is read until a session's detail is opened.",
    ])


if __name__ == "__main__":
    sys.exit(main())
