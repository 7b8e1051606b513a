"""Zeus's ZeusMonitor measurement window on GPU 0. No deep-learning framework is installed, and
there is no GPU work to wait for, so the windows are opened with sync_execution=False."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common


def measure(args: Any) -> dict[str, Any]:
    from zeus.monitor import ZeusMonitor

    monitor = ZeusMonitor(gpu_indices=[0])
    fallback = getattr(monitor, "power_monitor", None) is not None
    common.sleep_until(args.start)
    a = time.monotonic()
    monitor.begin_window("bench", sync_execution=False)
    b = time.monotonic()
    # Zeus stamps its window with time.time(); map it onto the monotonic clock of the trace.
    offset = time.time() - time.monotonic()
    began = monitor.measurement_states["bench"].time - offset
    common.sleep_until(args.start + args.duration)
    c = time.monotonic()
    result = monitor.end_window("bench", sync_execution=False)
    d = time.monotonic()
    samples = {}
    if fallback:
        # Diagnostics: how densely the power monitor covered the window (wall-clock stamps).
        monitor_start = began + offset
        timeline = monitor.power_monitor.get_power_timeline("device_instant").get(0, [])
        inside = [t for t, _ in timeline if monitor_start <= t <= monitor_start + result.time]
        gaps = [b - a for a, b in zip(inside[:-1], inside[1:], strict=True)]
        samples = {"samples_in_window": len(inside), "max_gap_s": max(gaps, default=None),
                   "first_sample_after_s": inside[0] - monitor_start if inside else None}
        monitor.power_monitor.stop()
    return {
        "gpu_energy_j": float(result.gpu_energy[0]),
        "window": [began, began + result.time],
        "window_outer": [a, d],
        "start_call_s": b - a,
        "stop_call_s": d - c,
        "method": "power polling (PowerMonitor)" if fallback else "energy counter",
        "zeus_time_s": result.time,
        **samples,
    }


if __name__ == "__main__":  # the guard matters: Zeus's power monitor starts spawned children
    sys.exit(common.run(common.parse(), measure))
