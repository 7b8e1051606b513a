"""Energy per generation: what it adds, per generation, to the monitor's work, and what the
"What costs what" view costs with 100 000 generations.

    .venv/bin/python benchmarks/bench_generations.py [--quick]

1. Recording: a 4-hour session of 1 s samples in a real store; the engine's generation part is
   fed its image counter's units as they arrive (one look every 15 s), ComfyUI prompts (exact)
   and A1111 images (approximate). Measured: CPU time per generation recorded (window choice,
   sample read from the store, integration, write), a look with nothing new, and the store's
   growth per generation.
2. The view: 100 000 generations over 2 000 sessions. Measured: the grouping query, filling the
   table (offscreen Qt), the detail list of one session with 500 generations, and the CLI's
   `generations --json --limit 30`.
Prints a markdown table and writes benchmarks/results_generations.md (not with --quick).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _cpu() -> float:
    return time.process_time()


def _db_bytes(store: object) -> int:
    """The database's own size once the WAL is folded in (what stays on disk)."""
    store.flush()  # type: ignore[attr-defined]
    conn = store._conn  # type: ignore[attr-defined] - a benchmark may reach in
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return (pages - free) * conn.execute("PRAGMA page_size").fetchone()[0]


def bench_recording(tmp: Path, prompts: int) -> dict[str, float]:
    from tests.fixtures.history_store import curve
    from tray_app.images.counter import Unit
    from tray_app.images.models import ImageMeta
    from tray_app.runtime.generations import GenerationLog
    from tray_app.sessions.tracker import OpenSession
    from tray_app.store import Store

    out: dict[str, float] = {}
    for tool in ("comfyui", "a1111"):
        store = Store.open(tmp / f"rec-{tool}.sqlite3")
        start = time.time() - 5 * 3600
        sid = store.open_session(tool, "python3", [1], [0], start)
        samples = curve(start, 4 * 3600, seed=3, period_s=1.0)
        store.add_samples(sid, samples)
        size0 = _db_bytes(store)
        session = OpenSession(id=sid, key=(tool, 1), tool=tool, label=tool, exe_name="python3",
                              pids=(1,), gpu_indices=frozenset(), manual=False, start_ts=start,
                              last_ts=start)  # fmt: skip
        log = GenerationLog(store, time.time)
        meta = ImageMeta("sd_xl_base_1.0", "sdxl", 1024, 1024, 30, "euler", 1)
        period = 4 * 3600 / prompts
        units: list[Unit] = []
        cpu_new = 0.0
        looks = 0
        t = start + 10
        end = start + 4 * 3600
        look = start + 15
        while look < end + 30:
            while t + period <= look - 12 and t + period < end:
                if tool == "comfyui":
                    units.append(Unit(f"p{len(units)}", t + period - 1, 1, meta, t + 0.5,
                                      source="comfyui-api"))  # fmt: skip
                else:
                    units.append(Unit(f"i{len(units)}", t + period - 1, 1, meta))
                t += period
            c0 = _cpu()
            log.units(session, list(units), look)
            cpu_new += _cpu() - c0
            looks += 1
            look += 15
        made = len(store.list_generations(session_id=sid))
        # A look with nothing new: every unit already recorded.
        quiet = []
        for _ in range(50):
            c0 = _cpu()
            log.units(session, list(units), look)
            quiet.append(_cpu() - c0)
        size1 = _db_bytes(store)
        store.close()
        out[f"{tool}_generations"] = made
        out[f"{tool}_us_per_generation"] = cpu_new / max(1, made) * 1e6
        out[f"{tool}_quiet_look_us"] = statistics.median(quiet) * 1e6
        out[f"{tool}_bytes_per_generation"] = (size1 - size0) / max(1, made)
        out[f"{tool}_looks"] = looks
    return out


def bench_view(tmp: Path, target: int) -> dict[str, float]:
    from PySide6.QtWidgets import QApplication

    from tests.fixtures.history_store import generation_rows, seed_generations, seed_store
    from tray_app.store import Store
    from tray_app.ui.history.costs import CostsView
    from tray_app.ui.history.panels import GenerationList

    out: dict[str, float] = {}
    store = Store.open(tmp / "view.sqlite3")
    seed_store(store, n=2000, samples_for=0)
    t = time.perf_counter()
    out["generations"] = seed_generations(store, target=target, per_session=60)
    out["seed_s"] = time.perf_counter() - t
    app = QApplication.instance() or QApplication(["bench"])
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        groups = store.generation_groups()
        runs.append(time.perf_counter() - t)
    out["groups_ms"] = statistics.median(runs) * 1000
    out["groups"] = len(groups)
    view = CostsView()
    view.resize(1100, 400)
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        view.set_groups(groups)
        app.processEvents()
        runs.append(time.perf_counter() - t)
    out["fill_ms"] = statistics.median(runs) * 1000
    # One long session's detail list.
    s = next(x for x in store.list_sessions() if x["tool"] == "comfyui")
    import random

    rows = generation_rows({**s, "end_ts": s["start_ts"] + 4 * 3600}, random.Random(1), 500)
    for r in rows:
        r["key"] += "-long"
    store.add_generations(rows)
    runs = []
    listing = GenerationList()
    for _ in range(5):
        t = time.perf_counter()
        gens = store.list_generations(session_id=s["id"], oldest_first=True)
        listing.set_generations(gens)
        app.processEvents()
        runs.append(time.perf_counter() - t)
    out["detail_rows"] = len(gens)
    out["detail_ms"] = statistics.median(runs) * 1000
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        store.list_generations(limit=30)
        runs.append(time.perf_counter() - t)
    out["cli_page_ms"] = statistics.median(runs) * 1000
    store.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    prompts = 200 if args.quick else 960  # one prompt every 15 s for 4 h
    target = 10_000 if args.quick else 100_000
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ["RAISON_GARDER_CONFIG_DIR"] = str(tmp / "config")
        rec = bench_recording(tmp, prompts)
        view = bench_view(tmp, target)
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        f" (shared; medians of 5 where repeated).",
        "",
        "| what | figure |",
        "| --- | --- |",
    ]
    for tool, label in (("comfyui", "ComfyUI prompt (exact window)"),
                        ("a1111", "A1111 image (approximate window)")):  # fmt: skip
        lines += [
            f"| {label}: CPU per generation recorded ({int(rec[f'{tool}_generations'])} over 4 h) "
            f"| {rec[f'{tool}_us_per_generation']:.0f} µs |",
            f"| {label}: a look with nothing new ({int(rec[f'{tool}_generations'])} known) "
            f"| {rec[f'{tool}_quiet_look_us']:.0f} µs |",
            f"| {label}: store growth per generation | {rec[f'{tool}_bytes_per_generation']:.0f} B |",
            f"| {label}: as a share of one core at one generation every 5 s "
            f"| {rec[f'{tool}_us_per_generation'] / 5e6 * 100:.4f} % |",
        ]
    lines += [
        f"| What costs what: grouping {int(view['generations'])} generations "
        f"({int(view['groups'])} groups) | {view['groups_ms']:.0f} ms |",
        f"| What costs what: filling the table | {view['fill_ms']:.0f} ms |",
        f"| Session detail: {int(view['detail_rows'])} generations read and listed "
        f"| {view['detail_ms']:.0f} ms |",
        f"| `generations --limit 30` query among {int(view['generations'])} "
        f"| {view['cli_page_ms']:.1f} ms |",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        (REPO / "benchmarks" / "results_generations.md").write_text(
            "# Energy per generation\n\nCommand: `.venv/bin/python benchmarks/bench_generations.py`"
            "\n\n" + text + "\n", encoding="utf-8")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
