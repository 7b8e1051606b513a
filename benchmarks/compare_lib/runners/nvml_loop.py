"""What `nvidia-smi --loop=1` users do: read nvmlDeviceGetPowerUsage once a second (sleeping one
second after each read, so the period drifts by the call time) and integrate by the trapezoid
rule. Needs only pynvml (the nvidia-ml-py package)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common


def measure(args: Any) -> dict[str, Any]:
    import pynvml

    pynvml.nvmlInit()
    try:
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        common.sleep_until(args.start)
        end = args.start + args.duration
        samples: list[tuple[float, float]] = []
        while True:
            before = time.monotonic()
            watts = pynvml.nvmlDeviceGetPowerUsage(handle) / 1000.0
            t = (before + time.monotonic()) / 2
            samples.append((t, watts))
            if t >= end:
                break
            time.sleep(1.0)
    finally:
        pynvml.nvmlShutdown()
    energy = sum((t1 - t0) * (w0 + w1) / 2 for (t0, w0), (t1, w1) in zip(samples[:-1], samples[1:], strict=True))
    return {
        "gpu_energy_j": energy,
        "window": [samples[0][0], samples[-1][0]],
        "window_outer": [samples[0][0], samples[-1][0]],
        "method": "1 Hz PowerUsage, trapezoid",
        "reads": len(samples),
    }


if __name__ == "__main__":
    sys.exit(common.run(common.parse(), measure))
