"""The one small protocol every sensor speaks.

A reading is either valid or explicitly unknown: `power_w is None` means "could not be read",
never 0 W. Energy counters are reported already unwrapped (see `energy_j`), so the integrator
only ever subtracts two readings of the same sensor.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable


class Method(StrEnum):
    """How a figure was obtained, in decreasing order of trust. Shown to the user everywhere."""

    COUNTER = "counter"  # a hardware energy counter (NVML total energy, RAPL energy_uj, hwmon energy)
    SAMPLED = "sampled"  # integrated from measured power samples
    ESTIMATED = "estimated"  # a model (utilisation x TDP); never presented as a measurement


class Kind(StrEnum):
    GPU = "gpu"
    CPU = "cpu"


@dataclass(frozen=True, slots=True)
class GpuProcess:
    """A process holding a context on a GPU, as the driver lists it."""

    pid: int
    used_mb: float | None = None  # GPU memory it holds; None when the driver does not say (WDDM)
    # Its share of the GPU's streaming multiprocessors over the last interval, in % (NVML's
    # per-process utilisation). 0: listed but no SM use; None: not known (unsupported, or not
    # asked because it is the only process on the GPU).
    sm_pct: float | None = None


@dataclass(frozen=True, slots=True)
class Reading:
    """One read of one sensor at monotonic time `t` (time.monotonic(), seconds)."""

    source: str  # stable id, e.g. "nvidia:0", "rapl:package-0", "amdgpu:card1", "cpu:estimate"
    kind: Kind
    t: float
    method: Method
    power_w: float | None = None  # watts now; None = unknown (never 0 by default)
    # Cumulative joules since this sensor was opened: non-decreasing, wrap-arounds and driver
    # resets already folded in by the sensor. None when the source has no usable counter.
    energy_j: float | None = None
    # A trailing average the hardware computed over exactly `avg_window_s` seconds ending now
    # (NVML's power usage on Ampere and later: 1 s). Chaining such windows integrates bursts far
    # better than point samples can; see tray_app/measure/energy.py.
    power_avg_w: float | None = None
    avg_window_s: float | None = None
    busy: bool | None = None  # doing work now (utilisation above a few %), None if unknown
    utilisation_pct: float | None = None
    memory_used_mb: float | None = None
    power_limit_w: float | None = None
    pids: tuple[int, ...] | None = None  # processes holding a context on this device (GPUs)
    # (pid, MiB that process holds on this device), sorted by pid; the MiB is None where the
    # driver does not tell (Windows WDDM). None: no process list was read.
    process_memory_mb: tuple[tuple[int, float | None], ...] | None = None
    # The same processes with their memory and SM use; None when the driver gives no process
    # list (unsupported, WDDM, a PID namespace): "unknown", not "nobody".
    processes: tuple[GpuProcess, ...] | None = None
    error: str | None = None  # why this reading is (partly) unknown, for the user


@runtime_checkable
class Sensor(Protocol):
    """A source of power/energy readings. `read()` never raises: failures become `error`."""

    source: str
    kind: Kind
    label: str  # human-readable, e.g. "NVIDIA GeForce RTX 4090" or "CPU package 0 (RAPL)"
    method: Method  # how this sensor's energy is obtained

    def read(self) -> Reading: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Discovery:
    """What a sensor family found on this machine, and why not more (for `doctor`)."""

    sensors: tuple[Sensor, ...]
    error: str | None = None  # why this family is absent or degraded, with the fix when known
    details: dict | None = None  # family-specific facts for doctor --json
