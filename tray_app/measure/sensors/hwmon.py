"""AMD and Intel GPUs through the kernel's hwmon files under /sys/class/drm/cardN/device/hwmon/.

- amdgpu: `power1_average` or `power1_input` in microwatts. Kernels and boards differ: some expose
  only one, some expose a file that fails on read (EINVAL/ENODATA), so we try the other and keep
  whichever answers first next time. Method SAMPLED (the integrator integrates the watts).
- i915 / xe (Intel discrete GPUs): `energy1_input`, a cumulative counter in microjoules. Method
  COUNTER, power from deltas. Integrated Intel GPUs have no hwmon and are not listed.

Only `cardN` entries are GPUs (`card0-DP-1` are connectors), and two entries sharing one PCI
device are one GPU.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from tray_app.measure.sensors.base import Discovery, Kind, Method, Reading
from tray_app.measure.sensors.rapl import (
    CounterFileSensor,
    EnergyCounter,
    SysfsFile,
    read_int,
    read_text,
    reason,
)
from tray_app.system.i18n import _
from tray_app.system.paths import drm_root

_CARD = re.compile(r"card(\d+)")
AMD_POWER_FILES = ("power1_average", "power1_input")  # order of preference
INTEL_DRIVERS = ("i915", "xe")
BUSY_PCT = 5.0  # above this utilisation a GPU counts as working (idle desktops sit at 0-3 %)


def _open_optional(path: Path) -> SysfsFile | None:
    """Open an attribute that may be missing or unreadable; None then."""
    if not path.exists():
        return None
    try:
        return SysfsFile(path)
    except OSError:
        return None


def _label(device: Path, fallback: str) -> str:
    product = read_text(device / "product_name")
    return product if product else fallback


class AmdGpuSensor:
    """amdgpu power from hwmon (microwatts), with busy % and VRAM use when the driver offers them."""

    kind = Kind.GPU
    method = Method.SAMPLED

    def __init__(
        self,
        card: str,
        device: Path,
        hwmon: Path,
        power_files: list[SysfsFile],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = f"amdgpu:{card}"
        self.label = _label(device, _("AMD GPU ({card})").format(card=card))
        self._clock = clock
        self._power = power_files  # the one that answered last time is kept first
        self._busy = _open_optional(device / "gpu_busy_percent")
        self._vram = _open_optional(device / "mem_info_vram_used")
        cap_uw = read_int(hwmon / "power1_cap")
        self._cap_w = cap_uw / 1e6 if cap_uw and cap_uw > 0 else None

    def _read_power_w(self) -> tuple[float | None, str | None]:
        errors: list[str] = []
        for i, f in enumerate(self._power):
            try:
                value = f.read_int()
            except (OSError, ValueError) as exc:
                errors.append(f"{f.path.name}: {reason(exc)}")
                continue
            if i:
                self._power.insert(0, self._power.pop(i))
            return value / 1e6, None
        return None, _("Could not read the AMD GPU power ({reasons}).").format(
            reasons="; ".join(errors)
        )

    @staticmethod
    def _optional_int(f: SysfsFile | None) -> int | None:
        if f is None:
            return None
        try:
            return f.read_int()
        except (OSError, ValueError):
            return None

    def read(self) -> Reading:
        t = self._clock()
        power_w, error = self._read_power_w()
        busy_pct = self._optional_int(self._busy)
        vram = self._optional_int(self._vram)
        return Reading(
            self.source,
            self.kind,
            t,
            self.method,
            power_w=power_w,
            busy=None if busy_pct is None else busy_pct > BUSY_PCT,
            utilisation_pct=None if busy_pct is None else float(busy_pct),
            memory_used_mb=None if vram is None else vram / (1024 * 1024),
            power_limit_w=self._cap_w,
            error=error,
        )

    def close(self) -> None:
        for f in (*self._power, self._busy, self._vram):
            if f is not None:
                f.close()


class IntelGpuSensor(CounterFileSensor):
    """Intel discrete GPU energy counter (`energy1_input`, microjoules)."""

    kind = Kind.GPU
    method = Method.COUNTER

    def __init__(
        self,
        card: str,
        device: Path,
        energy: SysfsFile,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = f"intel:{card}"
        self.label = _label(device, _("Intel GPU ({card})").format(card=card))
        self._clock = clock
        self._file = energy
        # 64-bit in the driver: going backwards means a driver reload, not a wrap.
        self._counter = EnergyCounter(unit_j=1e-6, max_raw=None)


def _cards(root: Path) -> list[tuple[str, Path]]:
    """(cardN, its device dir) for each GPU, once per device, in card order."""
    found: list[tuple[int, str, Path]] = []
    for entry in root.iterdir():
        match = _CARD.fullmatch(entry.name)
        if match and (entry / "device").is_dir():
            found.append((int(match.group(1)), entry.name, entry / "device"))
    seen: set[Path] = set()
    cards: list[tuple[str, Path]] = []
    for _n, card, device in sorted(found):
        real = device.resolve()
        if real not in seen:
            seen.add(real)
            cards.append((card, device))
    return cards


def _hwmon_dirs(device: Path) -> list[Path]:
    base = device / "hwmon"
    return sorted(p for p in base.glob("hwmon*") if p.is_dir()) if base.is_dir() else []


def _driver(device: Path) -> str | None:
    try:
        return os.path.basename(os.readlink(device / "driver"))
    except OSError:
        return None


def _probe_card(
    card: str, device: Path, clock: Callable[[], float]
) -> tuple[AmdGpuSensor | IntelGpuSensor | None, dict]:
    """The sensor for one card (or None) and what doctor should know about it."""
    info: dict = {"card": card, "device": str(device), "driver": _driver(device), "hwmon": None}
    for hwmon in _hwmon_dirs(device):
        name = read_text(hwmon / "name")
        if name == "amdgpu":
            info.update(driver="amdgpu", hwmon=str(hwmon))
            files = [f for f in (_open_optional(hwmon / n) for n in AMD_POWER_FILES) if f]
            info["power_files"] = [f.path.name for f in files]
            if not files:
                info["error"] = _(
                    "This AMD GPU exposes no readable power1_average or power1_input in {path}."
                ).format(path=hwmon)
                return None, info
            return AmdGpuSensor(card, device, hwmon, files, clock), info
        if name in INTEL_DRIVERS:
            info.update(driver=name, hwmon=str(hwmon))
            energy = _open_optional(hwmon / "energy1_input")
            if energy is None:
                info["error"] = _(
                    "This Intel GPU exposes no readable energy1_input in {path}."
                ).format(path=hwmon)
                return None, info
            return IntelGpuSensor(card, device, energy, clock), info
    return None, info


def discover_hwmon_gpus(
    root: Path | None = None, *, clock: Callable[[], float] = time.monotonic
) -> Discovery:
    """AMD and Intel GPUs with a power or energy file. No such GPU is normal: no error then."""
    root = drm_root() if root is None else root
    details: dict = {"root": str(root), "cards": []}
    if not root.is_dir():
        return Discovery((), error=None, details=details)
    try:
        cards = _cards(root)
    except OSError as exc:
        return Discovery(
            (),
            error=_("Could not list {path}: {reason}").format(path=root, reason=reason(exc)),
            details=details,
        )
    sensors: list[AmdGpuSensor | IntelGpuSensor] = []
    problems: list[str] = []
    for card, device in cards:
        sensor, info = _probe_card(card, device, clock)
        details["cards"].append(info)
        if sensor is not None:
            sensors.append(sensor)
        elif "error" in info:
            problems.append(info["error"])
    return Discovery(tuple(sensors), error="\n".join(problems) or None, details=details)
