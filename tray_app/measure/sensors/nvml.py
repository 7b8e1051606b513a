"""NVIDIA GPUs through NVML (the driver's management library, via the official `pynvml` bindings).

Energy comes from `nvmlDeviceGetTotalEnergyConsumption` (a hardware counter, Volta and later)
when the driver answers it AND the counter is seen to move; a counter that stands still while
the board draws power is treated as absent and the sensor switches to SAMPLED for good (the
integrator then integrates `power_w`). Power comes from the instantaneous field
NVML_FI_DEV_POWER_INSTANT where supported, else `nvmlDeviceGetPowerUsage` (on Ampere and later a
1 s moving average, which smears sub-second bursts; see research-notes.md).

Public API:
    discover_nvidia() -> Discovery          one NvmlGpuSensor per GPU, `details["gpus"]` for doctor
    NvmlGpuSensor.read() -> Reading         full reading: power, energy, utilisation, memory,
                                            power limit (cached 60 s), pids and each one's
                                            GPU memory (cached 2 s), and `processes`
                                            (GpuProcess: pid, used MiB) with each one's SM use
                                            since the previous full read
                                            (nvmlDeviceGetProcessUtilization, asked only while
                                            two or more processes share the GPU)
    NvmlGpuSensor.read_power() -> Reading   (alias read_power_only)
                                            fast path for 5-10 Hz sampling: power and energy
                                            only (2 driver calls); busy/utilisation/memory/pids
                                            are None there because they were not read, not 0.
    Readings carry `power_avg_w` + `avg_window_s` (1 s) when the driver gives the 1 s average
    (field 185 in the same call as the instant field, or PowerUsage on Ampere+ except GA100).
    A board with neither counter nor average (before Ampere) whose driver keeps its buffer of
    power samples (`nvmlDeviceGetSamples`, NVML_TOTAL_POWER_SAMPLES: one every ~20 ms, the last
    ~2.4 s) gets them all at each read: their trapezoid since the previous read is given as
    `power_avg_w` over `avg_window_s` = the time they span, so reads once a second tile the time
    as on Ampere (energy.py), instead of sampling fast (NVIDIA's words: "higher frequency data
    at lower polling cost"). The driver's answer decides: NOT_SUPPORTED, and it is not asked again.
    NvmlGpuSensor.describe() -> dict        live facts (the counter probe may have changed them)
    NvmlGpuSensor.lost / .note / .power_source / .method

`read()` never raises. A GPU that falls off the bus (GPU_IS_LOST or any hard failure) gives
readings with power None and an `error`, and `lost` becomes True for good: the monitor may call
discover_nvidia() again later to pick the GPU up after a driver recovery.

`RAISON_GARDER_NVML_LIBRARY` forces one library file (tests point it at a fake driver); then no
other driver is ever tried.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pynvml

from tray_app.measure.pidns import in_nested_pid_namespace
from tray_app.measure.sensors.base import Discovery, GpuProcess, Kind, Method, Reading
from tray_app.system.i18n import _
from tray_app.system.paths import ENV_NVML_LIBRARY

log = logging.getLogger(__name__)

BUSY_UTIL_PCT = 5.0  # gpu utilisation at or above this counts as busy
LIMIT_TTL_S = 60.0  # the power limit changes rarely (user or thermal policy)
PIDS_TTL_S = 2.0  # callers may ask often; the process list is two driver calls each
# The counter probe: a counter that has not moved after PROBE_MIN_S of readings during which the
# board drew more than PROBE_MIN_W on average is frozen (reported as present, never advancing).
PROBE_MIN_S = 0.5
PROBE_MIN_W = 5.0
# Spelled out: older bindings lack the constant, and the value is fixed by NVIDIA's nvml.h.
FIELD_POWER_INSTANT = 186
FIELD_POWER_AVERAGE = 185  # the 1 s average (Ampere and later), in the same driver call
_POWER_FIELDS = [FIELD_POWER_INSTANT, FIELD_POWER_AVERAGE]
# The energy counter as a field (mJ since the driver loaded, what
# nvmlDeviceGetTotalEnergyConsumption returns), asked in the same call as the power fields.
FIELD_TOTAL_ENERGY = 83
AVG_WINDOW_S = 1.0
# The driver's power samples (nvmlDeviceGetSamples): a buffer for more than it keeps (~120), and
# the longest step between two samples still bridged; a longer one means samples were lost (a
# read came later than the buffer lasts): the window then starts after it, and the integrator
# bridges the rest from the readings around it.
POWER_SAMPLES_BUFFER = 256
POWER_SAMPLES_MAX_STEP_US = 250_000
_GA100_NAME = re.compile(r"\bA(100|30)\b")  # GA100 boards report instantaneous PowerUsage
_MIB = 1024 * 1024

# Errors after which this GPU (or the whole driver) is gone for this session.
_HARD_ERRORS = frozenset(
    {
        pynvml.NVML_ERROR_GPU_IS_LOST,
        pynvml.NVML_ERROR_RESET_REQUIRED,
        pynvml.NVML_ERROR_UNINITIALIZED,
        pynvml.NVML_ERROR_DRIVER_NOT_LOADED,
        pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH,
        pynvml.NVML_ERROR_UNKNOWN,
    }
)


# Raised by pynvml's unversioned wrappers when the driver lacks the function (newer bindings).
_LIBRARY_MISMATCH: type[Exception] = getattr(
    pynvml, "NVMLLibraryMismatchError", pynvml.NVMLError_FunctionNotFound
)


class _GpuLost(Exception):
    """A hard failure: the device or the driver no longer answers."""


@dataclass(frozen=True, slots=True)
class Unavailable:
    """What the funnel returns instead of a value. `permanent`: never worth asking again."""

    reason: str
    permanent: bool
    missing_function: bool = False
    code: int | None = None  # the nvmlReturn_t, when the driver answered with an error


# ---- the library ---------------------------------------------------------------------------

_library_lock = threading.Lock()
_forced_loaded: str | None = None  # the forced path currently installed into pynvml


def _install_library(lib: ctypes.CDLL | None, path: str | None) -> None:
    global _forced_loaded
    pynvml.nvmlLib = lib
    # pynvml caches function pointers by name; stale ones would call into the previous library.
    cache = getattr(pynvml, "_nvmlGetFunctionPointer_cache", None)
    if isinstance(cache, dict):
        cache.clear()
    _forced_loaded = path


def _prepare_library() -> str | None:
    """Make pynvml use the forced library when one is set. Returns an error for the user."""
    forced = os.environ.get(ENV_NVML_LIBRARY, "").strip()
    with _library_lock:
        if not forced:
            if _forced_loaded is not None:
                _install_library(None, None)  # back to pynvml's own search
            return None
        if _forced_loaded == forced and pynvml.nvmlLib is not None:
            return None
        if not os.path.exists(forced):
            return _(
                "No NVIDIA library at {path}, the file named by {var}. No other driver was tried: fix the path or unset {var}."
            ).format(path=forced, var=ENV_NVML_LIBRARY)
        try:
            lib = ctypes.CDLL(forced)
        except OSError as exc:
            return _(
                "The NVIDIA library {path} (named by {var}) could not be loaded: {reason}. No other driver was tried."
            ).format(path=forced, var=ENV_NVML_LIBRARY, reason=exc)
        # pynvml's _LoadNvmlLibrary only searches when nvmlLib is None: this pins our file.
        _install_library(lib, forced)
        return None


def _init_error_message(exc: pynvml.NVMLError, forced: str | None) -> str:
    code = exc.value
    if code == pynvml.NVML_ERROR_LIBRARY_NOT_FOUND:
        return _(
            "No NVIDIA driver library (NVML) was found: this computer has no NVIDIA GPU, or its driver is not installed."
        )
    if code == pynvml.NVML_ERROR_DRIVER_NOT_LOADED:
        return _(
            "The NVIDIA driver is installed but not running. Restart the computer, or check that the driver matches the running kernel."
        )
    if code == pynvml.NVML_ERROR_NO_PERMISSION:
        return _(
            "No permission to talk to the NVIDIA driver ({reason}). Check the permissions of /dev/nvidia*."
        ).format(reason=exc)
    if code == pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH:
        return _(
            "The NVIDIA driver was updated but the old one is still running: restart the computer to finish the update."
        )
    if forced:
        return _("The NVIDIA library {path} could not be started: {reason}.").format(
            path=forced, reason=exc
        )
    return _("The NVIDIA driver could not be started: {reason}.").format(reason=exc)


# ---- the funnel ----------------------------------------------------------------------------


class NvmlSession:
    """One funnel for every NVML call: lazy init, one error mapping, missing functions and
    unsupported queries remembered (asked once), values or `Unavailable` instead of crashes.

    Reference-counted: discovery holds one reference and each sensor one; NVML is shut down
    when the last is released (NVML itself counts nvmlInit/nvmlShutdown pairs too).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refs = 0
        self._started = False
        self._missing: set[str] = set()
        self._unsupported: dict[tuple[str, object], Unavailable] = {}
        self.library: str | None = None  # the forced path, None for the system search

    def start(self) -> str | None:
        """Load and initialise NVML (once) and take a reference. Returns an error or None."""
        with self._lock:
            if not self._started:
                error = _prepare_library()
                if error:
                    return error
                self.library = _forced_loaded
                try:
                    pynvml.nvmlInit()
                except pynvml.NVMLError as exc:
                    return _init_error_message(exc, self.library)
                except (OSError, AttributeError) as exc:  # a broken library file
                    return _("The NVIDIA driver could not be started: {reason}.").format(reason=exc)
                self._started = True
            self._refs += 1
            return None

    def acquire(self) -> None:
        with self._lock:
            self._refs += 1

    def release(self) -> None:
        with self._lock:
            if self._refs == 0:
                return
            self._refs -= 1
            if self._refs == 0 and self._started:
                self._started = False
                try:
                    pynvml.nvmlShutdown()
                except Exception:  # a driver gone at shutdown is no news
                    log.debug("nvmlShutdown failed", exc_info=True)

    def call(self, name: str, *args: Any, key: object = None) -> Any:
        """`pynvml.<name>(*args)`, or an Unavailable. Raises _GpuLost on hard failures.

        `key` (usually the device index) scopes a NOT_SUPPORTED answer: it is remembered per key.
        """
        if name in self._missing:
            return Unavailable(_("the driver lacks this function"), True, True)
        known = self._unsupported.get((name, key))
        if known is not None:
            return known
        if not self._started:
            raise _GpuLost(_("the NVIDIA driver is not initialised"))
        fn: Callable[..., Any] | None = getattr(pynvml, name, None)
        if fn is None:
            return self._remember_missing(name)
        try:
            return fn(*args)
        except (pynvml.NVMLError_FunctionNotFound, _LIBRARY_MISMATCH):
            return self._remember_missing(name)
        except pynvml.NVMLError as exc:
            if exc.value in _HARD_ERRORS:
                raise _GpuLost(str(exc)) from exc
            if exc.value == pynvml.NVML_ERROR_NOT_SUPPORTED:
                answer = Unavailable(_("not supported by this GPU or driver"), True, code=exc.value)
                self._unsupported[(name, key)] = answer
                return answer
            return Unavailable(str(exc), False, code=exc.value)
        except (OSError, ctypes.ArgumentError, ValueError, TypeError) as exc:
            raise _GpuLost(str(exc)) from exc

    def first(self, names: tuple[str, ...], *args: Any, key: object = None) -> Any:
        """The first of several versions of a function that the driver has (newest first)."""
        answer: Any = Unavailable(_("the driver lacks this function"), True, True)
        for name in names:
            answer = self.call(name, *args, key=key)
            if not (isinstance(answer, Unavailable) and answer.missing_function):
                return answer
        return answer

    def _remember_missing(self, name: str) -> Unavailable:
        if name not in self._missing:
            self._missing.add(name)
            log.info("NVML function %s is missing in this driver; not asking again", name)
        return Unavailable(_("the driver lacks this function"), True, True)


# nvmlValueType_t -> the member of the nvmlValue_t union that holds the number
_VALUE_MEMBER = {
    pynvml.NVML_VALUE_TYPE_DOUBLE: "dVal",
    pynvml.NVML_VALUE_TYPE_UNSIGNED_INT: "uiVal",
    pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG: "ulVal",
    pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG: "ullVal",
    pynvml.NVML_VALUE_TYPE_SIGNED_LONG_LONG: "sllVal",
    pynvml.NVML_VALUE_TYPE_SIGNED_INT: "siVal",
}


def _field_number(value: Any) -> float:
    """The number in an nvmlFieldValue_t, whatever type the driver chose for it."""
    return float(getattr(value.value, _VALUE_MEMBER.get(value.valueType, "uiVal")))


class _FieldValue(ctypes.Structure):
    """nvmlFieldValue_t, as pynvml lays it out, without its Python-level attribute hook
    (pynvml's structures run a __getattribute__ of their own on every field read)."""

    _fields_ = pynvml.c_nvmlFieldValue_t._fields_


class _Utilization(ctypes.Structure):
    _fields_ = [("gpu", ctypes.c_uint), ("memory", ctypes.c_uint)]


class _DirectCall:
    """One NVML getter with its answer's buffer made once (nvmlDeviceGetUtilizationRates,
    nvmlDeviceGetPowerUsage): `fn(handle, ref)` fills `value`. Raises NVMLError when the driver
    lacks the function."""

    __slots__ = ("fn", "value", "ref")

    def __init__(self, name: str, value: Any) -> None:
        self.fn = pynvml._nvmlGetFunctionPointer(name)  # noqa: SLF001 - pynvml's cached lookup
        self.value = value
        self.ref = ctypes.byref(value)


class _FieldCall:
    """One nvmlDeviceGetFieldValues call for fixed fields, its buffer and arguments made once:
    each tick re-uses them (pynvml's wrapper builds an array type, fills it through a caught
    TypeError per field and wraps the answer: most of a read's cost on a fast driver)."""

    __slots__ = ("energy", "fn", "count", "values", "ref")

    def __init__(self, energy: bool) -> None:
        ids = ([FIELD_TOTAL_ENERGY] if energy else []) + _POWER_FIELDS
        self.energy = energy
        # pynvml's own cached lookup: raises NVMLError when the driver lacks the function.
        self.fn = pynvml._nvmlGetFunctionPointer("nvmlDeviceGetFieldValues")  # noqa: SLF001
        self.count = ctypes.c_int32(len(ids))
        self.values = (_FieldValue * len(ids))()
        for i, field_id in enumerate(ids):
            self.values[i].fieldId = field_id
        self.ref = ctypes.byref(self.values)


class _Sample(ctypes.Structure):
    _fields_ = pynvml.c_nvmlSample_t._fields_


class _SamplesCall:
    """nvmlDeviceGetSamples(NVML_TOTAL_POWER_SAMPLES) with its buffer made once, and where the
    previous read stopped: `last_seen` (the driver's microsecond stamp) and that sample's mW."""

    __slots__ = ("fn", "val_type", "count", "samples", "last_seen", "last_mw")

    def __init__(self) -> None:
        self.fn = pynvml._nvmlGetFunctionPointer("nvmlDeviceGetSamples")  # noqa: SLF001
        self.val_type = ctypes.c_uint()
        self.count = ctypes.c_uint()
        self.samples = (_Sample * POWER_SAMPLES_BUFFER)()
        self.last_seen = 0
        self.last_mw: float | None = None


# ---- the sensor ----------------------------------------------------------------------------

_PROBING, _TRUSTED, _ABSENT = "probing", "trusted", "absent"


class NvmlGpuSensor:
    """One NVIDIA GPU. Energy: counter (probed) or sampled power. See the module docstring."""

    kind = Kind.GPU

    def __init__(
        self, session: NvmlSession, index: int, handle: Any, driver_version: str | None
    ) -> None:
        self._session = session
        self._handle = handle
        self._lock = threading.Lock()
        self._closed = False
        self.index = index
        self.source = f"nvidia:{index}"
        self.driver_version = driver_version
        self.lost = False
        self.note: str | None = None  # why energy is sampled, for doctor and the UI
        self._lost_error: str | None = None

        self.label = _text(session.call("nvmlDeviceGetName", handle, key=index)) or _(
            "NVIDIA GPU {index}"
        ).format(index=index)
        self.uuid = _text(session.call("nvmlDeviceGetUUID", handle, key=index))
        self._limit_w: float | None = None
        self._limit_t = -LIMIT_TTL_S
        self._procs: dict[int, float | None] | None = None  # pid -> used MiB, None = no list
        self._pids: tuple[int, ...] | None = None
        self._process_mb: tuple[tuple[int, float | None], ...] | None = None
        self._pids_t = -PIDS_TTL_S
        self._processes_cache: tuple[GpuProcess, ...] | None = None
        self._memory_mb: float | None = None  # the board's used memory, read with the process list
        self._util_seen = 0  # NVML's CPU timestamp (us) of the last per-process sample read

        # Power: try the instantaneous field once; its answer decides the source for good.
        self.power_source: str | None = "instant"
        self._fields: _FieldCall | None = None  # counter + power in one call (see _read_fields)
        self._fields_usable = True
        self._util: _DirectCall | None = None
        self._usage: _DirectCall | None = None  # nvmlDeviceGetPowerUsage, where it is the source
        self._util_usable = True
        self._energy_field = True  # False once field 83 did not answer: the function is asked
        self._samples: _SamplesCall | None = None  # the driver's power samples (see above)
        self._samples_usable = True
        self._usage_is_average = self._power_usage_is_average()
        t = time.monotonic()
        power = self._read_power()[0]
        # Energy: the counter value now is the zero of `energy_j` ("since the sensor was opened").
        self.method = Method.COUNTER
        self._counter_state = _PROBING
        self._acc_mj = 0.0
        self._last_mj: int | None = None
        self._last_mj_t = t
        self._probe_t0 = t
        self._probe_drawn_j = 0.0
        self._probe_last: tuple[float, float | None] = (t, power)
        self._read_energy(t, power)
        if self._counter_state == _ABSENT:  # no counter: does the driver keep power samples?
            self._samples_since()  # (doctor says; this first call marks where they start)
        self._power_limit(t)
        # What attribution can rely on, asked once (doctor says it): the process list, and the
        # per-process utilisation (NOT_SUPPORTED is remembered by the funnel, so never re-asked).
        self._running(t)
        util = session.call("nvmlDeviceGetProcessUtilization", handle, 0, key=index)
        self.process_utilisation = not (isinstance(util, Unavailable) and util.permanent)
        session.acquire()

    # -- public --------------------------------------------------------------------------------

    def read(self, full: bool = True) -> Reading:
        """A reading now. `full=False` is `read_power_only()`. Never raises."""
        with self._lock:
            t = time.monotonic()
            if self.lost or self._closed:
                return self._lost_reading(t)
            try:
                return self._read(t, full)
            except _GpuLost as exc:
                self._mark_lost(str(exc))
            except Exception as exc:  # a sensor must never take the app down
                log.exception("unexpected failure reading %s", self.source)
                self._mark_lost(str(exc))
            return self._lost_reading(t)

    def read_power(self) -> Reading:
        """Fast path for frequent sampling (the monitor's 5-10 Hz): power and energy only, two
        driver calls. busy, utilisation, memory, power limit and pids are None here: not read,
        not zero."""
        return self.read(full=False)

    read_power_only = read_power

    def describe(self) -> dict[str, Any]:
        """Facts for doctor --json, as known now (the counter probe may have run since)."""
        return {
            "source": self.source,
            "index": self.index,
            "name": self.label,
            "uuid": self.uuid,
            "energy_counter": self._counter_state != _ABSENT,
            "power_limit_w": self._limit_w,
            "power_source": self.power_source,
            "driver_version": self.driver_version,
            "method": self.method.value,
            "lost": self.lost,
            "note": self.note,
            # False: sessions share this GPU equally ("shared (process list unavailable)").
            "process_list": self._procs is not None,
            # True: the list is not used because this app runs in its own PID namespace.
            "pid_namespace": in_nested_pid_namespace(),
            # False: programs holding this GPU together are counted equally, not by their use.
            "process_utilisation": self.process_utilisation,
            # True: without counter nor average, power comes from the driver's own samples.
            "power_samples": self._samples is not None and self._counter_state == _ABSENT,
        }

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._session.release()

    # -- the reads -----------------------------------------------------------------------------

    def _read(self, t: float, full: bool) -> Reading:
        call = self._session.call
        power: float | None
        fused = self._read_fields() if self._fields_usable and self.power_source == "instant" else None
        if fused is not None:  # one driver call: counter (where it is a field) and power
            counter, power, average = fused
            if counter is None and self._counter_state != _ABSENT:  # field 83 does not answer
                counter = call("nvmlDeviceGetTotalEnergyConsumption", self._handle, key=self.index)
        else:
            # The counter first, nearest to `t`: it is the figure that must be exact.
            counter = (
                call("nvmlDeviceGetTotalEnergyConsumption", self._handle, key=self.index)
                if self._counter_state != _ABSENT
                else None
            )
            power, average = self._read_power()
        energy = self._fold_counter(t, counter, power) if counter is not None else None
        error = None if power is not None else _("The driver did not report this GPU's power.")
        window = AVG_WINDOW_S if average is not None else None
        if average is None and self._samples_usable and self._counter_state == _ABSENT:
            average, window = self._samples_since()
        if not full:
            return Reading(self.source, self.kind, t, self.method, power_w=power, energy_j=energy,
                           power_avg_w=average, avg_window_s=window, error=error)

        util_pct = self._read_util()
        processes = self._processes(t)
        # One Reading built once (a copy through dataclasses.replace re-runs __init__ by name).
        return Reading(
            self.source, self.kind, t, self.method, power_w=power, energy_j=energy,
            power_avg_w=average, avg_window_s=window, error=error,
            busy=None if util_pct is None else util_pct >= BUSY_UTIL_PCT,
            utilisation_pct=util_pct,
            memory_used_mb=self._memory_mb,
            power_limit_w=self._power_limit(t),
            pids=self._pids,
            process_memory_mb=self._process_mb,
            processes=processes,
        )

    def _read_power(self) -> tuple[float | None, float | None]:
        """(watts now, watts averaged over the last AVG_WINDOW_S or None)."""
        if self.power_source == "instant":
            answer = self._session.call(
                "nvmlDeviceGetFieldValues", self._handle, _POWER_FIELDS, key=self.index
            )
            if not isinstance(answer, Unavailable):
                instant, average = answer[0], answer[1]
                for field in (instant, average):
                    if field.nvmlReturn in _HARD_ERRORS:
                        raise _GpuLost(str(pynvml.NVMLError(field.nvmlReturn)))
                if instant.nvmlReturn == pynvml.NVML_SUCCESS:
                    avg = average.nvmlReturn == pynvml.NVML_SUCCESS
                    return _field_number(instant) / 1000.0, (
                        _field_number(average) / 1000.0 if avg else None
                    )
            elif not answer.permanent:
                return self._usage_power(remember=False)  # a hiccup: this once, the other source
            # Missing function, NOT_SUPPORTED, or a per-field error: PowerUsage, from now on.
            log.info("%s: instantaneous power field unavailable; using PowerUsage", self.source)
            self.power_source = "average"
        if self.power_source == "average":
            return self._usage_power()
        return None, None

    def _read_fields(self) -> tuple[Any, float, float | None] | None:
        """(counter mJ or None when not used, watts now, 1 s average or None) in one
        nvmlDeviceGetFieldValues call; None when anything is off (the call failed, or one field
        did not answer): the caller then asks the funnel as before, which decides what to do
        (a field that does not answer is not asked this way again)."""
        energy = self._counter_state != _ABSENT and self._energy_field
        f = self._fields
        if f is None or f.energy != energy:
            try:
                f = self._fields = _FieldCall(energy)
            except pynvml.NVMLError:  # no such function: the funnel's path, which says so
                self._fields_usable = False
                return None
        rc = f.fn(self._handle, f.count, f.ref)
        if rc != pynvml.NVML_SUCCESS:
            if rc in _HARD_ERRORS:
                raise _GpuLost(str(pynvml.NVMLError(rc)))
            return None  # a hiccup: the funnel's path, this once
        values = f.values
        for field in values:
            if field.nvmlReturn in _HARD_ERRORS:
                raise _GpuLost(str(pynvml.NVMLError(field.nvmlReturn)))
        counter = None
        first = 0
        if energy:
            if values[0].nvmlReturn != pynvml.NVML_SUCCESS:
                self._energy_field = False  # from now on the counter comes from its function
                return None
            counter = int(getattr(values[0].value, _VALUE_MEMBER.get(values[0].valueType, "ullVal")))
            first = 1
        instant, average = values[first], values[first + 1]
        if instant.nvmlReturn != pynvml.NVML_SUCCESS:
            return None  # the funnel's _read_power asks again and decides the source
        watts = getattr(instant.value, _VALUE_MEMBER.get(instant.valueType, "uiVal")) / 1000.0
        if average.nvmlReturn != pynvml.NVML_SUCCESS:
            return counter, watts, None
        return counter, watts, getattr(average.value, _VALUE_MEMBER.get(average.valueType, "uiVal")) / 1000.0

    def _samples_since(self) -> tuple[float | None, float | None]:
        """(mean W, seconds) of the driver's power samples since the previous read: their
        trapezoid, over the time they span. (None, None) when there is nothing new, at the first
        read (it only marks where the next one starts), or when the driver does not keep them."""
        c = self._samples
        if c is None:
            try:
                c = self._samples = _SamplesCall()
            except pynvml.NVMLError:  # no such function in this driver
                self._samples_usable = False
                return None, None
        c.count.value = POWER_SAMPLES_BUFFER
        rc = c.fn(self._handle, pynvml.NVML_TOTAL_POWER_SAMPLES, ctypes.c_ulonglong(c.last_seen),
                  ctypes.byref(c.val_type), ctypes.byref(c.count), c.samples)  # fmt: skip
        if rc != pynvml.NVML_SUCCESS:
            if rc in _HARD_ERRORS:
                raise _GpuLost(str(pynvml.NVMLError(rc)))
            if rc in (pynvml.NVML_ERROR_NOT_SUPPORTED, pynvml.NVML_ERROR_FUNCTION_NOT_FOUND):
                log.info("%s: the driver keeps no power samples; sampling power", self.source)
                self._samples_usable = False
                self._samples = None
            return None, None  # NOT_FOUND: nothing new since the last read; else a hiccup
        member = _VALUE_MEMBER.get(c.val_type.value, "uiVal")
        first_read = c.last_mw is None
        prev_us, prev_mw = c.last_seen, c.last_mw
        start_us = prev_us
        mj_us = 0.0  # mW x us
        for i in range(c.count.value):
            sample = c.samples[i]
            ts, mw = sample.timeStamp, float(getattr(sample.sampleValue, member))
            if prev_mw is None or ts - prev_us > POWER_SAMPLES_MAX_STEP_US:
                start_us, mj_us = ts, 0.0  # the first sample, or after lost ones: start here
            else:
                mj_us += 0.5 * (prev_mw + mw) * (ts - prev_us)
            prev_us, prev_mw = ts, mw
        c.last_seen, c.last_mw = prev_us, prev_mw
        span_us = prev_us - start_us
        if first_read or span_us <= 0:
            return None, None
        return mj_us / span_us / 1000.0, span_us / 1e6

    def _read_util(self) -> float | None:
        """GPU utilisation in %, None when unknown. One driver call through a buffer made once;
        anything but success goes through the funnel, which remembers and maps errors."""
        u = self._util
        if u is None and self._util_usable:
            try:
                u = self._util = _DirectCall("nvmlDeviceGetUtilizationRates", _Utilization())
            except pynvml.NVMLError:
                self._util_usable = False
        if u is not None:
            rc = u.fn(self._handle, u.ref)
            if rc == pynvml.NVML_SUCCESS:
                return float(u.value.gpu)
        util = self._session.call("nvmlDeviceGetUtilizationRates", self._handle, key=self.index)
        if isinstance(util, Unavailable):
            if util.permanent:  # the funnel answers from memory from now on
                self._util, self._util_usable = None, False
            return None
        return float(util.gpu)

    def _usage_power(self, remember: bool = True) -> tuple[float | None, float | None]:
        u = self._usage
        if u is None and remember and self.power_source == "average":  # the source for good
            try:
                u = self._usage = _DirectCall("nvmlDeviceGetPowerUsage", ctypes.c_uint())
            except pynvml.NVMLError:
                pass  # the funnel says why, below
        if u is not None and u.fn(self._handle, u.ref) == pynvml.NVML_SUCCESS:
            watts = u.value.value / 1000.0
            return watts, (watts if self._usage_is_average else None)
        answer = self._session.call("nvmlDeviceGetPowerUsage", self._handle, key=self.index)
        if isinstance(answer, Unavailable):
            if answer.permanent and remember:
                self.power_source = None
            return None, None
        watts = answer / 1000.0
        return watts, (watts if self._usage_is_average else None)

    def _power_usage_is_average(self) -> bool:
        """nvml.h: "On Ampere (except GA100) or newer GPUs, the API returns power averaged over
        1 sec interval. On GA100 and older architectures, instantaneous power is returned." """
        arch = self._session.call("nvmlDeviceGetArchitecture", self._handle, key=self.index)
        if isinstance(arch, Unavailable) or arch == pynvml.NVML_DEVICE_ARCH_UNKNOWN:
            return False  # unknown: do not claim a window we cannot vouch for
        return arch >= pynvml.NVML_DEVICE_ARCH_AMPERE and not _GA100_NAME.search(self.label)

    def _read_energy(self, t: float, power: float | None) -> float | None:
        counter = self._session.call(
            "nvmlDeviceGetTotalEnergyConsumption", self._handle, key=self.index
        )
        return self._fold_counter(t, counter, power)

    def _fold_counter(self, t: float, counter: Any, power: float | None) -> float | None:
        """Turn a raw counter answer into joules since opening, probing it while unproven."""
        if isinstance(counter, Unavailable):
            if counter.permanent:
                if counter.missing_function:
                    self._drop_counter(
                        _(
                            "The NVIDIA driver is too old to have an energy counter; energy is integrated from power samples instead."
                        )
                    )
                else:
                    self._drop_counter(
                        _(
                            "This GPU has no energy counter; energy is integrated from power samples instead."
                        )
                    )
            return None  # a transient failure: the next good value covers the gap
        mj = int(counter)
        previous, previous_t = self._last_mj, self._last_mj_t
        self._last_mj, self._last_mj_t = mj, t
        if previous is not None:
            delta = mj - previous
            if delta < 0:
                # The counter went back: the driver was reloaded and restarted it from 0, so the
                # new value is what was drawn since. Count it only if physically plausible.
                ceiling_mj = max(t - previous_t, 0.0) * 2.0 * (self._limit_w or 1000.0) * 1000.0
                delta = mj if mj <= ceiling_mj else 0
                log.info("%s: energy counter went back (driver reset); continuing", self.source)
            self._acc_mj += delta
        if self._counter_state == _PROBING:
            self._probe(t, power)
        return self._acc_mj / 1000.0 if self._counter_state == _TRUSTED else None

    def _probe(self, t: float, power: float | None) -> None:
        if self._acc_mj > 0:
            self._counter_state = _TRUSTED
            return
        last_t, last_power = self._probe_last
        if power is not None and last_power is not None:
            self._probe_drawn_j += (power + last_power) / 2.0 * (t - last_t)
        self._probe_last = (t, power)
        span = t - self._probe_t0
        if span >= PROBE_MIN_S and self._probe_drawn_j / span > PROBE_MIN_W:
            self._drop_counter(
                _(
                    "The energy counter of this GPU does not advance while it draws power; energy is integrated from power samples instead."
                )
            )

    def _drop_counter(self, why: str) -> None:
        if self._counter_state != _ABSENT:
            log.info("%s: %s", self.source, why)
        self._counter_state = _ABSENT
        self.method = Method.SAMPLED
        self.note = why

    def _power_limit(self, t: float) -> float | None:
        if t - self._limit_t >= LIMIT_TTL_S:
            answer = self._session.call(
                "nvmlDeviceGetEnforcedPowerLimit", self._handle, key=self.index
            )
            self._limit_w = None if isinstance(answer, Unavailable) else answer / 1000.0
            self._limit_t = t
        return self._limit_w

    def _running(self, t: float) -> dict[int, float | None] | None:
        """pid -> used MiB of every process on this GPU (None: no list), cached PIDS_TTL_S;
        also refreshes `_pids` and `_process_mb`."""
        if t - self._pids_t < PIDS_TTL_S:
            return self._procs
        if in_nested_pid_namespace():
            # The driver's PIDs are the host's, ours are not: the list cannot be matched, so it
            # is not read at all (measure/pidns.py). Sessions share the GPU, labelled so.
            self._procs = self._pids = self._process_mb = None
            self._processes_cache = None
            self._pids_t = t
            self._read_memory()
            return None
        memory: dict[int, float | None] = {}
        answered = False
        for kind in ("Compute", "Graphics"):
            names = (
                f"nvmlDeviceGet{kind}RunningProcesses_v3",
                f"nvmlDeviceGet{kind}RunningProcesses_v2",
            )
            answer = self._session.first(names, self._handle, key=self.index)
            if not isinstance(answer, Unavailable):
                answered = True
                for p in answer:
                    # pynvml gives None for NVML_VALUE_NOT_AVAILABLE (WDDM): unknown, not 0.
                    used = None if p.usedGpuMemory is None else p.usedGpuMemory / _MIB
                    known = memory.get(int(p.pid))
                    # A process in both lists has one context: its figure, not their sum.
                    memory[int(p.pid)] = used if known is None else max(known, used or 0.0)
        self._procs = memory if answered else None
        self._pids = tuple(sorted(memory)) if answered else None
        self._process_mb = tuple(sorted(memory.items())) if answered else None
        self._processes_cache = None
        self._pids_t = t
        # The board's used memory moves with its processes: refreshed with their list, not
        # every tick (nothing per tick needs it; one driver call less a second).
        self._read_memory()
        return self._procs

    def _read_memory(self) -> None:
        used = self._session.call("nvmlDeviceGetMemoryInfo", self._handle, key=self.index)
        self._memory_mb = None if isinstance(used, Unavailable) else used.used / _MIB

    def _processes(self, t: float) -> tuple[GpuProcess, ...] | None:
        procs = self._running(t)
        if procs is None:
            return None
        if len(procs) <= 1:
            # One process (the common case) takes the whole GPU whatever its use: no need to
            # ask, and the same tuple serves until the list is read again.
            if self._processes_cache is None:
                self._processes_cache = tuple(GpuProcess(pid, mb, None) for pid, mb in procs.items())
            return self._processes_cache
        sm = self._process_sm(procs)
        return tuple(
            GpuProcess(pid, mb, None if sm is None else sm.get(pid, 0.0))
            for pid, mb in sorted(procs.items())
        )

    def _process_sm(self, procs: dict[int, float | None]) -> dict[int, float] | None:
        """pid -> mean SM % over the samples since the last call; None when unknown.

        NVML returns one sample per process that used the SM since `lastSeenTimeStamp`, and
        NOT_FOUND when none did (an idle GPU: every process at 0 %, not "unknown")."""
        answer = self._session.call(
            "nvmlDeviceGetProcessUtilization", self._handle, self._util_seen, key=self.index
        )
        if isinstance(answer, Unavailable):
            return {} if answer.code == pynvml.NVML_ERROR_NOT_FOUND else None
        sums: dict[int, list[float]] = {}
        for sample in answer:
            self._util_seen = max(self._util_seen, int(sample.timeStamp))
            acc = sums.setdefault(int(sample.pid), [0.0, 0.0])
            acc[0] += float(sample.smUtil)
            acc[1] += 1.0
        return {pid: total / n for pid, (total, n) in sums.items() if pid in procs}

    # -- failure -------------------------------------------------------------------------------

    def _mark_lost(self, reason: str) -> None:
        self.lost = True
        self._lost_error = _(
            "{name} (GPU {index}) stopped answering the driver ({reason}). Its power is unknown from now on; restart the app once the driver has recovered."
        ).format(name=self.label, index=self.index, reason=reason)
        log.warning("%s lost: %s", self.source, reason)

    def _lost_reading(self, t: float) -> Reading:
        error = self._lost_error or _("This sensor is closed.")
        return Reading(self.source, self.kind, t, self.method, error=error)


def _text(answer: Any) -> str | None:
    """A string NVML gave (bytes on older bindings); None when it gave none."""
    if isinstance(answer, Unavailable) or answer is None:
        return None
    return answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)


# ---- discovery -----------------------------------------------------------------------------


def discover_nvidia() -> Discovery:
    """Open every NVIDIA GPU NVML sees. Never raises; `error` says why there are none (or fewer)."""
    session = NvmlSession()
    details: dict[str, Any] = {
        "library": os.environ.get(ENV_NVML_LIBRARY) or None,
        "driver_version": None,
        "gpus": [],
    }
    error = session.start()
    if error:
        return Discovery((), error=error, details=details)
    try:
        return _open_devices(session, details)
    finally:
        session.release()  # the sensors hold their own references


def _open_devices(session: NvmlSession, details: dict[str, Any]) -> Discovery:
    try:
        count = session.call("nvmlDeviceGetCount")
        version = session.call("nvmlSystemGetDriverVersion")
    except _GpuLost as exc:
        return Discovery(
            (),
            error=_("The NVIDIA driver stopped answering: {reason}.").format(reason=exc),
            details=details,
        )
    if isinstance(count, Unavailable):
        return Discovery(
            (),
            error=_("The NVIDIA driver could not count its GPUs: {reason}.").format(
                reason=count.reason
            ),
            details=details,
        )
    driver = _text(version)
    details["driver_version"] = driver
    if count == 0:
        return Discovery(
            (), error=_("The NVIDIA driver is running but sees no GPU."), details=details
        )

    sensors: list[NvmlGpuSensor] = []
    problems: list[str] = []
    for index in range(count):
        try:
            handle = session.call("nvmlDeviceGetHandleByIndex", index)
            if isinstance(handle, Unavailable):
                problems.append(
                    _("GPU {index} could not be opened: {reason}.").format(
                        index=index, reason=handle.reason
                    )
                )
                continue
            sensor = NvmlGpuSensor(session, index, handle, driver)
        except _GpuLost as exc:
            problems.append(
                _("GPU {index} does not answer: {reason}.").format(index=index, reason=exc)
            )
            continue
        sensors.append(sensor)
        gpu = sensor.describe()
        details["gpus"].append(
            {
                k: gpu[k]
                for k in (
                    "source",
                    "index",
                    "name",
                    "uuid",
                    "energy_counter",
                    "power_limit_w",
                    "power_source",
                    "driver_version",
                    "process_list",
                    "process_utilisation",
                    "power_samples",
                )
            }
        )
    return Discovery(tuple(sensors), error=" ".join(problems) or None, details=details)
