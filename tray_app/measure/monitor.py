"""The Qt-free measurement loop: reads sensors, integrates energy, publishes snapshots.

Sampling is adaptive per source. Counter-backed sources (NVML total energy, RAPL) are read at
the base interval: the counter carries the energy, the reading only refreshes the display.
So are sources that report a trailing average over a known window (NVML power on Ampere+):
consecutive windows tile the time. A source with neither is sampled fast (~7 Hz) while it is
busy or its power moves, so the short bursts of diffusion steps are integrated, and slowly
otherwise, so an idle machine costs next to nothing. Snapshots are published at the base
interval only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tray_app.measure.energy import SourceEnergy
from tray_app.measure.processes import CpuTimes, ProcessCpu
from tray_app.measure.sensors.base import GpuProcess, Kind, Method, Reading, Sensor

FAST_INTERVAL_S = 0.15  # ~7 Hz: each wake-up costs ~100-150 us of CPU on a VM
FAST_HOLD_S = 3.0  # stay fast this long after the last sign of activity
CHANGE_W = 3.0  # a power step larger than this (or 3 %) counts as activity
CHANGE_FRAC = 0.03
SHORT_SLEEP_S = 0.25


@dataclass(frozen=True, slots=True)
class SourceState:
    source: str
    kind: Kind
    label: str
    method: Method  # how this source's energy is obtained now
    power_w: float | None
    energy_j: float  # integrated since the monitor started
    unknown_s: float  # seconds with no usable reading
    utilisation_pct: float | None = None
    power_limit_w: float | None = None
    pids: tuple[int, ...] | None = None
    process_memory_mb: tuple[tuple[int, float | None], ...] | None = None  # see Reading
    processes: tuple[GpuProcess, ...] | None = None  # None: the driver gives no process list
    busy: bool | None = None
    error: str | None = None
    seconds_by_method: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    t: float  # time.monotonic()
    wall: float  # time.time()
    sources: tuple[SourceState, ...]
    fast: bool = False  # some source is being sampled fast
    paused: bool = False
    # CPU time of the watched processes (the tools') and of the machine, read with the sensors;
    # None when nothing is watched or per-process attribution is off.
    cpu_times: CpuTimes | None = None

    def power_w(self, kind: Kind | None = None) -> float | None:
        """Sum of known powers; None when no source of that kind could be read."""
        values = [s.power_w for s in self.sources if (kind is None or s.kind is kind)]
        known = [v for v in values if v is not None]
        return sum(known) if known else None

    def energy_j(self, kind: Kind | None = None) -> float:
        return sum(s.energy_j for s in self.sources if kind is None or s.kind is kind)

    @property
    def gpu_w(self) -> float | None:
        return self.power_w(Kind.GPU)

    @property
    def cpu_w(self) -> float | None:
        return self.power_w(Kind.CPU)

    @property
    def total_w(self) -> float | None:
        return self.power_w()


class _Source:
    __slots__ = ("sensor", "acc", "next_due", "fast_until", "fast_read")

    def __init__(self, sensor: Sensor, now: float) -> None:
        self.sensor = sensor
        self.acc = SourceEnergy()
        self.next_due = now
        self.fast_until = 0.0
        # Sensors may offer a cheaper power-only read for the fast path.
        self.fast_read: Callable[[], Reading] = getattr(sensor, "read_power", sensor.read)

    def wants_fast(self) -> bool:
        return self.sensor.method is Method.SAMPLED

    def note_activity(self, prev: Reading | None, cur: Reading) -> None:
        if not self.wants_fast():
            return
        if cur.power_avg_w is not None and cur.avg_window_s:
            # The board integrates for us over a known window (NVML on Ampere+): reading once
            # per window tiles the time exactly (see energy.py), faster reads add nothing.
            self.fast_until = 0.0
            return
        active = bool(cur.busy)
        if prev is not None and prev.power_w is not None and cur.power_w is not None:
            step = abs(cur.power_w - prev.power_w)
            active = active or step > max(CHANGE_W, CHANGE_FRAC * prev.power_w)
        if active:
            self.fast_until = cur.t + FAST_HOLD_S


class Monitor:
    def __init__(
        self,
        sensors: Sequence[Sensor],
        interval_s: float = 1.0,
        fast_interval_s: float = FAST_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        processes: ProcessCpu | None = None,
    ) -> None:
        self.interval_s = interval_s
        self._processes = processes
        self.fast_interval_s = min(fast_interval_s, interval_s)
        self._clock = clock
        self._wall = wall
        now = clock()
        self._sources = [_Source(s, now) for s in sensors]
        self._next_snapshot = now
        self._last: Snapshot | None = None
        self._paused = False
        self.reads = 0  # for benchmarks and tests

    @property
    def sensors(self) -> list[Sensor]:
        return [s.sensor for s in self._sources]

    def set_interval(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.fast_interval_s = min(self.fast_interval_s, interval_s)

    def watch_pids(self, pids: set[int] | frozenset[int]) -> None:
        """The processes whose CPU time each snapshot carries (the tools', from detection)."""
        if self._processes is not None and pids != self._processes.watched:
            self._processes.watch(pids)

    def set_paused(self, paused: bool) -> None:
        """While paused nothing is read; the gap is neither measured nor invented."""
        self._paused = paused
        if not paused:
            for src in self._sources:
                src.acc.break_continuity()  # do not bridge the pause
                src.next_due = self._clock()

    def poll(self) -> Snapshot | None:
        """Read every source that is due. Returns a snapshot when a base tick is reached."""
        now = self._clock()
        if self._paused:
            if now >= self._next_snapshot:
                self._next_snapshot = now + self.interval_s
                self._last = self._build(now, paused=True)
                return self._last
            return None
        base_tick = now >= self._next_snapshot
        for src in self._sources:
            if base_tick or now >= src.next_due:
                prev = src.acc.last
                reading = src.sensor.read() if base_tick else src.fast_read()
                self.reads += 1
                src.acc.add(reading)
                src.note_activity(prev, reading)
                fast = src.wants_fast() and reading.t < src.fast_until
                src.next_due = now + (self.fast_interval_s if fast else self.interval_s)
        if not base_tick:
            return None
        self._next_snapshot += self.interval_s
        if self._next_snapshot <= now:  # we were late (suspend, heavy load): re-anchor
            self._next_snapshot = now + self.interval_s
        self._last = self._build(now)
        return self._last

    def next_wakeup(self) -> float:
        due = [self._next_snapshot]
        if not self._paused:
            due.extend(s.next_due for s in self._sources)
        return min(due)

    def _build(self, now: float, paused: bool = False) -> Snapshot:
        states = []
        fast = False
        for src in self._sources:
            r = src.acc.last
            sensor = src.sensor
            fast = fast or (src.wants_fast() and r is not None and r.t < src.fast_until)
            states.append(
                SourceState(
                    source=sensor.source,
                    kind=sensor.kind,
                    label=sensor.label,
                    method=sensor.method,
                    power_w=None if (r is None or paused) else r.power_w,
                    energy_j=src.acc.energy_j,
                    unknown_s=src.acc.unknown_s,
                    utilisation_pct=None if r is None else r.utilisation_pct,
                    power_limit_w=None if r is None else r.power_limit_w,
                    pids=None if r is None else r.pids,
                    process_memory_mb=None if r is None else r.process_memory_mb,
                    processes=None if r is None else r.processes,
                    busy=None if r is None else r.busy,
                    error=None if r is None else r.error,
                    seconds_by_method=tuple(sorted(src.acc.seconds_by_method.items())),
                )
            )
        # Read right after the sensors, so CPU time and energy cover the same interval.
        cpu = None if paused or self._processes is None else self._processes.read()
        return Snapshot(t=now, wall=self._wall(), sources=tuple(states), fast=fast, paused=paused,
                        cpu_times=cpu)

    @property
    def last(self) -> Snapshot | None:
        return self._last

    def run(
        self,
        on_snapshot: Callable[[Snapshot], None],
        stop: threading.Event,
        duration_s: float | None = None,
    ) -> None:
        """Loop until `stop` is set (or `duration_s` elapsed), sleeping until the next due read."""
        end = None if duration_s is None else self._clock() + duration_s
        while not stop.is_set():
            snap = self.poll()
            if snap is not None:
                on_snapshot(snap)
            now = self._clock()
            if end is not None and now >= end:
                break
            wake = self.next_wakeup()
            if end is not None:
                wake = min(wake, end)
            delay = wake - now
            if delay <= 0:
                continue
            if delay <= SHORT_SLEEP_S:
                # Fast ticks: a plain sleep costs a third less CPU per wake-up than Event.wait
                # (no Condition/lock allocation), and stopping waits at most this long.
                time.sleep(delay)
            else:
                stop.wait(delay)
