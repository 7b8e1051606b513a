"""CPU package energy from Linux powercap (Intel RAPL; AMD Zen uses the same layout, kernel >= 5.8).

Only the top-level package zones `intel-rapl:N` named `package-N` are counted: the sub-domains
`intel-rapl:N:M` (core, uncore, dram) are parts of the package or beside it, and `psys` is the
whole platform *including* the package, so adding any of them would count energy twice. The
MMIO view (`intel-rapl-mmio:N`) mirrors the same package and is ignored for the same reason.

`energy_uj` has been readable by root only on most distributions since 2020 (CVE-2020-8694,
"PLATYPUS"); we then say exactly how to grant read access, and the caller falls back to the
CPU estimate. Each sensor keeps its file open and re-reads it with `pread` at offset 0 (sysfs
regenerates the value on every read from offset 0), so one read costs one syscall.

Also home of the two small sysfs helpers the hwmon sensors share: `SysfsFile` (an open attribute
re-read with pread) and `EnergyCounter` (unwraps a cumulative counter into joules and watts).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from tray_app.measure.sensors.base import Discovery, Kind, Method, Reading
from tray_app.system.i18n import _
from tray_app.system.paths import powercap_root

_PACKAGE_ZONE = re.compile(r"intel-rapl:(\d+)")  # fullmatch: excludes intel-rapl:N:M sub-domains
_READ_SIZE = 64  # a sysfs integer attribute is at most ~21 bytes


# --- the only two places that touch the files: tests replace them to inject faults -----------


def _open_ro(path: Path) -> int:
    return os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))


def _pread(fd: int) -> bytes:
    return os.pread(fd, _READ_SIZE, 0)


class SysfsFile:
    """One sysfs attribute kept open; `read_int()` re-reads it from offset 0.

    Opening raises OSError (PermissionError for root-only files) so discovery can explain;
    `read_int()` raises OSError (e.g. EINVAL/ENODATA from a driver) or ValueError (garbage).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None  # set first: __del__ runs even when the open below fails
        self._fd = _open_ro(path)

    def read_int(self) -> int:
        if self._fd is None:
            raise OSError(f"{self.path} is closed")
        return int(_pread(self._fd).decode("ascii", "replace").strip())

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.close(fd)
            except OSError:
                pass

    def __del__(self) -> None:  # a forgotten close must not leak a descriptor
        try:
            self.close()
        except Exception:  # noqa: BLE001 - at interpreter exit `os` may already be gone
            pass


def read_text(path: Path) -> str | None:
    """A small attribute read once (name, product_name...): stripped text, None if unreadable."""
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except (OSError, ValueError):
        return None


def read_int(path: Path) -> int | None:
    text = read_text(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


class EnergyCounter:
    """Turns successive raw counter values (in `unit_j` joules) into cumulative joules and watts.

    A counter that goes backwards wrapped at `max_raw` (RAPL's max_energy_range_uj); without a
    known range it was reset (driver reload), and that one interval is counted as nothing rather
    than guessed. Several wraps between two reads cannot be seen: poll well within
    max_energy_range_uj / power (about 20 min at 200 W for the usual 262 kJ range).
    """

    def __init__(self, unit_j: float, max_raw: int | None = None) -> None:
        self.unit_j = unit_j
        self.max_raw = max_raw if max_raw and max_raw > 0 else None
        self.energy_j = 0.0
        self._last_raw: int | None = None
        self._last_t: float | None = None
        self._last_power: float | None = None

    def update(self, raw: int, t: float) -> tuple[float, float | None]:
        """Feed one raw value read at monotonic time t; returns (energy_j, power_w or None)."""
        if self._last_raw is None or self._last_t is None:
            self._last_raw, self._last_t = raw, t
            return self.energy_j, None  # one value gives no rate
        delta = raw - self._last_raw
        dt = t - self._last_t
        power: float | None
        if delta < 0 and self.max_raw is None:
            power = None  # reset: this interval's energy is unknown, neither guessed nor 0 W
        else:
            if delta < 0 and self.max_raw is not None:
                delta += self.max_raw  # wrapped once at max_raw
            joules = delta * self.unit_j
            self.energy_j += joules
            power = joules / dt if dt > 0 else self._last_power
        self._last_raw, self._last_t, self._last_power = raw, t, power
        return self.energy_j, power


class CounterFileSensor:
    """A sensor reading one sysfs energy counter (RAPL `energy_uj`, hwmon `energy1_input`):
    energy from the unwrapped counter, power from successive deltas. Subclasses set `source`,
    `label`, `kind`, `_clock`, `_file` and `_counter`."""

    method = Method.COUNTER
    source: str
    label: str
    kind: Kind
    _clock: Callable[[], float]
    _file: SysfsFile
    _counter: EnergyCounter

    def read(self) -> Reading:
        t = self._clock()
        try:
            raw = self._file.read_int()
        except (OSError, ValueError) as exc:
            return Reading(
                self.source,
                self.kind,
                t,
                self.method,
                error=_("Could not read {path}: {reason}").format(
                    path=self._file.path, reason=reason(exc)
                ),
            )
        energy_j, power_w = self._counter.update(raw, t)
        return Reading(self.source, self.kind, t, self.method, power_w=power_w, energy_j=energy_j)

    def close(self) -> None:
        self._file.close()


class RaplPackageSensor(CounterFileSensor):
    """One CPU package's RAPL energy counter. Method COUNTER; power from successive deltas."""

    kind = Kind.CPU
    method = Method.COUNTER

    def __init__(
        self,
        zone: Path,
        name: str,
        max_range_uj: int | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.zone = zone
        self.name = name
        self.source = f"rapl:{name}"
        index = name.removeprefix("package-")
        self.label = _("CPU package {index} (RAPL)").format(index=index)
        self._clock = clock
        self._file = SysfsFile(zone / "energy_uj")  # may raise PermissionError: discovery handles
        self._counter = EnergyCounter(unit_j=1e-6, max_raw=max_range_uj)



def reason(exc: BaseException) -> str:
    """The OS's short reason ("Permission denied") rather than the whole exception text."""
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def _package_zones(root: Path) -> tuple[list[tuple[int, Path, str]], list[dict]]:
    """Package zones (number, dir, name), deduplicated; and what was skipped, for doctor."""
    # /sys/class/powercap lists every zone as a symlink; the same zones also sit nested under
    # the control type dir `intel-rapl/`. Look in both, keep each real directory once.
    # The class-level entry comes first so doctor shows the familiar path.
    candidates = [
        p for base in (root, root / "intel-rapl") if base.is_dir() for p in sorted(base.iterdir())
    ]
    seen: set[Path] = set()
    packages: list[tuple[int, Path, str]] = []
    ignored: list[dict] = []
    for path in candidates:
        if not path.name.startswith("intel-rapl:") or not path.is_dir():
            continue
        real = path.resolve()
        if real in seen:
            continue
        seen.add(real)
        name = read_text(path / "name") or ""
        match = _PACKAGE_ZONE.fullmatch(path.name)
        if match and name.startswith("package-"):
            packages.append((int(match.group(1)), path, name))
        else:
            # Sub-domains (core/uncore/dram) and psys overlap the package: never added.
            ignored.append({"name": name, "path": str(path)})
    packages.sort()
    return packages, ignored


def permission_fix(root: Path) -> str:
    """The exact commands that make the package counters readable, now and after reboot."""
    files = f"{root}/intel-rapl:*/energy_uj {root}/intel-rapl:*/max_energy_range_uj"
    rule = (
        'SUBSYSTEM=="powercap", KERNEL=="intel-rapl:*", ACTION=="add", '
        'RUN+="/bin/chmod a+r /sys%p/energy_uj /sys%p/max_energy_range_uj"'
    )
    return "\n".join(
        (
            _("Until the next reboot: sudo chmod a+r {files}").format(files=files),
            _(
                "To keep it after a reboot, put this line in /etc/udev/rules.d/70-raison-garder-rapl.rules:"
            ),
            rule,
            _(
                "This lets local users see the CPU's power use, which the kernel hides by default since CVE-2020-8694 (a side channel); on a personal computer it is usually an acceptable trade."
            ),
        )
    )


def discover_rapl(
    root: Path | None = None, *, clock: Callable[[], float] = time.monotonic
) -> Discovery:
    """One sensor per CPU package, or an error saying why none (with the fix when there is one)."""
    root = powercap_root() if root is None else root
    if not root.is_dir():
        return Discovery(
            (),
            error=_(
                "RAPL is not available on this machine ({path} does not exist): CPU energy will be estimated."
            ).format(path=root),
            details={"root": str(root), "domains": [], "readable": False},
        )
    try:
        packages, ignored = _package_zones(root)
    except OSError as exc:
        return Discovery(
            (),
            error=_("Could not list {path}: {reason}").format(path=root, reason=reason(exc)),
            details={"root": str(root), "domains": [], "readable": False},
        )
    domains: list[dict[str, object]] = [
        {"name": name, "path": str(path)} for _n, path, name in packages
    ]
    details: dict = {"root": str(root), "domains": domains, "ignored": ignored, "readable": False}
    if not packages:
        return Discovery(
            (),
            error=_("No RAPL package domain under {path}: CPU energy will be estimated.").format(
                path=root
            ),
            details=details,
        )
    sensors: list[RaplPackageSensor] = []
    for (_n, path, name), domain in zip(packages, domains, strict=True):
        max_range = read_int(path / "max_energy_range_uj")
        domain["max_energy_range_uj"] = max_range
        try:
            sensors.append(RaplPackageSensor(path, name, max_range, clock))
        except PermissionError:
            for sensor in sensors:
                sensor.close()
            # Counting only some packages would under-report: all or nothing.
            return Discovery(
                (),
                error=_(
                    "The CPU energy counter {path} is readable by root only (the default since 2020), so CPU energy will be estimated."
                ).format(path=path / "energy_uj")
                + "\n"
                + permission_fix(root),
                details=details,
            )
        except OSError as exc:
            for sensor in sensors:
                sensor.close()
            return Discovery(
                (),
                error=_("Could not open {path}: {reason}").format(
                    path=path / "energy_uj", reason=reason(exc)
                ),
                details=details,
            )
    details["readable"] = True
    return Discovery(tuple(sensors), error=None, details=details)
