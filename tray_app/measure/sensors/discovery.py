"""Find every sensor this machine offers, and say why the others are missing.

GPUs: NVIDIA through NVML, AMD/Intel through hwmon. CPU: RAPL package counters, else the
utilisation estimate (always labelled `estimated`). Windows EMI and Apple IOReport would slot in
here as further families without touching the monitor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tray_app.measure.sensors.base import Discovery, Kind, Sensor


@dataclass(slots=True)
class SensorSet:
    sensors: list[Sensor] = field(default_factory=list)
    gpu_error: str | None = None
    gpus: list[dict[str, Any]] = field(default_factory=list)
    cpu: dict[str, Any] = field(default_factory=dict)
    other_gpu_error: str | None = None

    @property
    def gpu_sensors(self) -> list[Sensor]:
        return [s for s in self.sensors if s.kind is Kind.GPU]

    def close(self) -> None:
        for s in self.sensors:
            try:
                s.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass


def _safe(fn, *args: Any) -> Discovery:  # noqa: ANN001
    """A sensor family that blows up is a family that is absent, with the reason shown."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - never let one family stop the app
        return Discovery(sensors=(), error=f"{type(exc).__name__}: {exc}")


def discover(cpu_tdp_w: float | None = None) -> SensorSet:
    from tray_app.measure.sensors.cpu_estimate import CpuEstimateSensor
    from tray_app.measure.sensors.hwmon import discover_hwmon_gpus
    from tray_app.measure.sensors.nvml import discover_nvidia
    from tray_app.measure.sensors.rapl import discover_rapl

    found = SensorSet()
    nv = _safe(discover_nvidia)
    found.sensors.extend(nv.sensors)
    found.gpu_error = nv.error
    found.gpus = list((nv.details or {}).get("gpus", []))

    hw = _safe(discover_hwmon_gpus)
    found.sensors.extend(hw.sensors)
    for s in hw.sensors:
        found.gpus.append(
            {
                "index": None,
                "name": s.label,
                "uuid": None,
                "source": s.source,
                "energy_counter": s.method.value == "counter",
                "power_limit_w": None,
            }
        )
    found.other_gpu_error = hw.error

    rapl = _safe(discover_rapl)
    if rapl.sensors:
        found.sensors.extend(rapl.sensors)
        found.cpu = {
            "method": "rapl",
            "domains": [s.label for s in rapl.sensors],
            "reason": None,
        }
    else:
        est = CpuEstimateSensor(cpu_tdp_w or None)
        found.sensors.append(est)
        details = dict(getattr(est, "details", {}) or {})
        found.cpu = {
            "method": "estimated",
            "domains": [],
            "reason": rapl.error,
            **{k: v for k, v in details.items() if k not in ("method",)},
        }
    return found
