"""CPU power estimated from utilisation and TDP, for machines without a readable RAPL counter.

The idea comes from CodeCarbon's fallback (a TDP table, power = TDP x CPU load), with one change:
a package never draws 0 W, so we start from an idle floor:

    power = TDP x (IDLE_FRACTION + (1 - IDLE_FRACTION) x utilisation)

It is a model, not a measurement: every reading says `estimated`, and `details` say which TDP
was used and where it came from. Utilisation is psutil's non-blocking `cpu_percent`, i.e. the
average since the previous read, so power x interval is the interval's estimated energy.
"""

from __future__ import annotations

import math
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import psutil

from tray_app.measure.sensors.base import Discovery, Kind, Method, Reading
from tray_app.system.i18n import _

# Package power at idle as a share of TDP. Measured idle package power spans roughly 5 % of TDP
# (recent Intel desktop parts, laptops in deep C-states) to 25 % (Ryzen desktops, whose I/O die
# stays awake). 0.15 sits in the middle; it also keeps an idle machine from reading as 0 W.
IDLE_FRACTION = 0.15
BUSY_PCT = 5.0  # the same "doing work" threshold the GPU sensors use
DEFAULT_DESKTOP_TDP_W = 65.0  # the most common desktop TDP class (Intel non-K, Ryzen non-X)
DEFAULT_LAPTOP_TDP_W = 28.0  # the common thin-and-light class (Intel P/G7, Ryzen U at 28 W)

# Vendor TDP (Intel "Processor Base Power", AMD "Default TDP"), watts. Small on purpose: common
# desktop/laptop parts of the last few generations. Suffix F (no iGPU) shares the TDP.
TDP_TABLE: dict[str, float] = {
    "i9-14900K": 125, "i7-14700K": 125, "i5-14600K": 125, "i5-14400": 65,
    "i9-13900K": 125, "i7-13700K": 125, "i5-13600K": 125, "i5-13400": 65,
    "i9-12900K": 125, "i7-12700K": 125, "i5-12600K": 125, "i5-12400": 65,
    "i7-12700": 65, "i7-13700": 65, "i9-9900K": 95, "i7-9700K": 95, "i7-8700K": 95,
    "i7-13700H": 45, "i7-12700H": 45, "i9-13900H": 45, "i5-12500H": 45,
    "i7-1360P": 28, "i7-1260P": 28, "i5-1240P": 28, "i7-1165G7": 28, "i5-1135G7": 28,
    "i7-1185G7": 28, "i7-10750H": 45, "i7-9750H": 45,
    "Ryzen 9 7950X": 170, "Ryzen 9 7900X": 170, "Ryzen 7 7700X": 105, "Ryzen 5 7600X": 105,
    "Ryzen 7 7800X3D": 120, "Ryzen 7 7700": 65, "Ryzen 5 7600": 65,
    "Ryzen 9 5950X": 105, "Ryzen 9 5900X": 105, "Ryzen 7 5800X": 105, "Ryzen 7 5800X3D": 105,
    "Ryzen 7 5700X": 65, "Ryzen 5 5600X": 65, "Ryzen 5 5600": 65, "Ryzen 5 3600": 65,
    "Ryzen 7 3700X": 65, "Ryzen 9 3900X": 105,
    "Ryzen 7 5800H": 45, "Ryzen 9 5900HX": 45, "Ryzen 7 5800U": 15, "Ryzen 5 5500U": 15,
}  # fmt: skip


def _normalise(model: str) -> str:
    model = re.sub(r"\((?:R|TM|tm|r)\)", " ", model)
    return " ".join(model.upper().split())


def tdp_from_table(model: str | None) -> tuple[str, float] | None:
    """(table key, TDP) for a CPU model string such as /proc/cpuinfo's, or None."""
    if not model:
        return None
    text = _normalise(model)
    for key, tdp in TDP_TABLE.items():
        # The key, optionally followed by F, and then not by more of a model number:
        # "I7-12700K" matches "I7-12700KF" but not "I7-12700" nor "RYZEN 7 5800X3D" for 5800X.
        if re.search(rf"(?<![\w-]){re.escape(key.upper())}F?(?![\w-])", text):
            return key, float(tdp)
    return None


@lru_cache(maxsize=4)  # the model never changes while we run: read it once
def cpu_model_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """The CPU's marketing name, read once and cheaply; None when the platform will not say."""
    try:
        if sys.platform.startswith("linux"):
            for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
                key, _sep, value = line.partition(":")
                if key.strip() in ("model name", "Model") and value.strip():
                    return value.strip()
        elif sys.platform == "darwin":
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True, text=True, timeout=2, check=False,
            )  # fmt: skip
            if out.stdout.strip():
                return out.stdout.strip()
        elif sys.platform == "win32":
            import winreg

            key = r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, key) as handle:
                return str(winreg.QueryValueEx(handle, "ProcessorNameString")[0]).strip()
    except (OSError, subprocess.SubprocessError, ValueError):
        pass
    return platform.processor() or None


def has_battery() -> bool:
    try:
        return psutil.sensors_battery() is not None
    except (AttributeError, NotImplementedError, OSError, RuntimeError):
        return False


def _valid_tdp(value: float | None) -> bool:
    # Settings are validated upstream; still, a bad value means "automatic", never a crash.
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    return math.isfinite(value) and value > 0


class CpuEstimateSensor:
    """Whole-CPU power estimated from utilisation and TDP. Always labelled `estimated`."""

    source = "cpu:estimate"
    kind = Kind.CPU
    method = Method.ESTIMATED

    def __init__(
        self,
        tdp_w: float | None = None,
        *,
        model: str | None = None,
        laptop: bool | None = None,
        cpu_percent: Callable[[], float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """tdp_w: the `cpu_tdp_w` setting (0/None = automatic). model/laptop/cpu_percent/clock
        are detected (or psutil's) unless given, which tests use."""
        self.model = model if model is not None else cpu_model_name()
        self._laptop = laptop
        self.set_tdp(tdp_w)
        self._cpu_percent = cpu_percent or (lambda: psutil.cpu_percent(interval=None))
        self._clock = clock
        self._energy_j = 0.0
        self._last_t: float | None = None
        self._prime()

    def set_tdp(self, tdp_w: float | None) -> None:
        """The `cpu_tdp_w` setting (0/None = automatic: the built-in table, else a default);
        a change applies from the next reading on."""
        self._default_kind: str | None = None  # "laptop"/"desktop" when the default TDP is used
        if _valid_tdp(tdp_w):
            assert tdp_w is not None
            self.tdp_w, self.tdp_source = float(tdp_w), "settings"
        elif (hit := tdp_from_table(self.model)) is not None:
            self.tdp_w, self.tdp_source = hit[1], f"table:{hit[0]}"
        else:
            laptop = has_battery() if self._laptop is None else self._laptop
            self.tdp_w = DEFAULT_LAPTOP_TDP_W if laptop else DEFAULT_DESKTOP_TDP_W
            self.tdp_source = "default"
            self._default_kind = "laptop" if laptop else "desktop"
        self.idle_w = self.tdp_w * IDLE_FRACTION
        self.label = _("CPU (estimated from load, {tdp:.0f} W TDP)").format(tdp=self.tdp_w)

    def _prime(self) -> None:
        # psutil's first non-blocking call only records a starting point and returns 0.0.
        try:
            self._cpu_percent()
            self._last_t = self._clock()
        except Exception:  # noqa: BLE001 - read() retries; a sensor never raises
            self._last_t = None

    def power_at(self, utilisation_pct: float) -> float:
        load = min(max(utilisation_pct, 0.0), 100.0) / 100.0
        return self.idle_w + (self.tdp_w - self.idle_w) * load

    def describe(self) -> dict:
        """For doctor: the method, the TDP used and where it came from."""
        info: dict = {
            "method": Method.ESTIMATED.value,
            "tdp_w": self.tdp_w,
            "tdp_source": self.tdp_source,
            "cpu_model": self.model,
            "idle_fraction": IDLE_FRACTION,
        }
        if self._default_kind == "laptop":
            info["why"] = _(
                "CPU model not in the built-in table; using the default laptop TDP. Set cpu_tdp_w for a better estimate."
            )
        elif self._default_kind == "desktop":
            info["why"] = _(
                "CPU model not in the built-in table; using the default desktop TDP. Set cpu_tdp_w for a better estimate."
            )
        return info

    @property
    def details(self) -> dict:
        """The same as describe(), for callers that look for a `details` attribute."""
        return self.describe()

    def read(self) -> Reading:
        t = self._clock()
        try:
            util = float(self._cpu_percent())
            if self._last_t is None:  # priming failed at start: this call was the priming one
                self._last_t = t
                return Reading(self.source, self.kind, t, self.method, energy_j=self._energy_j)
        except Exception as exc:  # noqa: BLE001 - a sensor never raises
            return Reading(
                self.source, self.kind, t, self.method,
                energy_j=self._energy_j,
                error=_("Could not read the CPU load: {reason}").format(reason=exc),
            )  # fmt: skip
        power = self.power_at(util)
        # cpu_percent is the mean load since the previous call, hence the mean power over dt.
        self._energy_j += power * max(t - self._last_t, 0.0)
        self._last_t = t
        return Reading(
            self.source,
            self.kind,
            t,
            self.method,
            power_w=power,
            energy_j=self._energy_j,
            busy=util > BUSY_PCT,
            utilisation_pct=util,
        )

    def close(self) -> None:
        pass


def discover_cpu_estimate(tdp_w: float | None = None) -> Discovery:
    """The estimate as a one-sensor family, with its TDP and source in details."""
    sensor = CpuEstimateSensor(tdp_w)
    return Discovery((sensor,), error=None, details=sensor.describe())
