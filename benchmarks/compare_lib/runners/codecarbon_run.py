"""CodeCarbon's OfflineEmissionsTracker (never touches the network) around a measurement
window; the energy is read back from the emissions.csv it writes (kWh)."""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

KWH_J = 3.6e6


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--interval", type=float, default=15.0, help="measure_power_secs")
    p.add_argument("--csv-dir", type=Path, required=True)


def measure(args: Any) -> dict[str, Any]:
    from codecarbon import OfflineEmissionsTracker

    args.csv_dir.mkdir(parents=True, exist_ok=True)
    tracker = OfflineEmissionsTracker(
        country_iso_code="FRA",
        measure_power_secs=args.interval,
        output_dir=str(args.csv_dir),
        save_to_file=True,
        log_level="warning",
        allow_multiple_runs=True,  # two trackers (two intervals) run side by side
    )
    common.sleep_until(args.start)
    a = time.monotonic()
    tracker.start()
    b = time.monotonic()
    # The span CodeCarbon integrates over runs from _start_time (set inside start(), after its
    # hardware set-up) to its last measurement; both are time.perf_counter() values, which is
    # CLOCK_MONOTONIC on Linux, the clock of the trace. Read, never changed.
    began = float(tracker._start_time)
    common.sleep_until(args.start + args.duration)
    c = time.monotonic()
    tracker.stop()
    d = time.monotonic()
    ended = float(tracker._last_measured_time)
    rows = list(csv.DictReader((args.csv_dir / "emissions.csv").open(encoding="utf-8")))
    if not rows:
        raise RuntimeError("CodeCarbon wrote no row to emissions.csv")
    row = rows[-1]
    return {
        "gpu_energy_j": float(row["gpu_energy"]) * KWH_J,
        "total_energy_j": float(row["energy_consumed"]) * KWH_J,
        "cpu_energy_j": float(row["cpu_energy"]) * KWH_J,
        "ram_energy_j": float(row["ram_energy"]) * KWH_J,
        "window": [began, ended],
        "window_outer": [a, d],
        "start_call_s": b - a,
        "stop_call_s": d - c,
        "method": f"measure_power_secs={args.interval:g}",
        "reported": {k: row.get(k) for k in ("duration", "gpu_model", "gpu_count", "gpu_power",
                                              "cpu_model", "tracking_mode")},
    }


if __name__ == "__main__":
    sys.exit(common.run(common.parse(options), measure))
