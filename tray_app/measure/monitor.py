"""The Qt-free measurement loop: reads sensors, integrates energy, publishes snapshots.

Sampling is adaptive per source. Counter-backed sources (NVML total energy, RAPL) are read at
the snapshot interval: the counter carries the energy, the reading only refreshes the display.
So are sources that report a trailing average over a known window (NVML power on Ampere+;
before Ampere, the mean of the driver's own power samples since the previous read, where it
keeps them): consecutive windows tile the time. A source with neither is read every 0.3 s while
it works and every 0.5 s in the pause after a generation (the edges of the bursts are what the
trapezoid needs; a plateau needs few points), fast (~7 Hz) only while its power keeps moving (a
step within 1.2 s of the previous one: sub-second bursts), and at the snapshot interval once
idle.
A read due just before a snapshot takes the snapshot along (one wake-up).

The tools' CPU times (for splitting the CPU's energy) are counters too: read every 5 s, and at
once when the watched processes change; the attribution splits each such window.

Two snapshot cadences: the base interval (1 s) while something is measured for a session, and
the idle interval (5 s, the tool detection cadence) when the engine says nothing runs
(`set_idle`). Counters keep idle energy exact; the wake-ups, not the reads, are what a
background process pays for. No fast sampling in the idle cadence: a busy board without
counter is read once a second until a tool is detected (its session starts with the fast path).
`wake()` takes a snapshot at once (a command from the UI).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tray_app.measure.energy import SourceEnergy
from tray_app.measure.processes import CpuTimes, ProcessCpu
from tray_app.measure.sensors.base import GpuProcess, Kind, Method, Reading, Sensor

FAST_INTERVAL_S = 0.15  # ~7 Hz after a power step: each wake-up costs ~100-300 us of CPU on a VM
# Once the power has held still this long, a plateau needs fewer points: every SETTLED_BUSY_S
# while the GPU works (half the ~0.6 s period of sub-second diffusion steps, so a train of
# bursts cannot alias into a false plateau), every SETTLED_IDLE_S in the pause after a
# generation, until FAST_HOLD_S after the last sign of activity. Simulated on diffusion-image
# traces (60 seeds x 120 s), this is a third fewer wake-ups than 7 Hz throughout with a smaller
# error (sd 0.8 % instead of 1.1 %): the pause is sampled twice as often, and the start of the
# next image, the dominant error, is seen sooner. Sub-second bursts never settle.
SETTLE_AFTER_S = 0.6
SETTLED_BUSY_S = 0.3
SETTLED_IDLE_S = 0.5
FAST_HOLD_S = 8.0
# Fast only while the power keeps moving: a step that follows the previous one within BOUNCE_S
# (sub-second bursts). A lone step (an image starts or ends) is already bracketed by the read
# before it and the one after it; more reads on the plateau that follows add nothing to the
# trapezoid. Simulated on the diffusion-image traces (150 seeds x 120 s), with PULL_S below:
# 2.75 wake-ups a second instead of 3.7, error sd 0.79 % either way.
BOUNCE_S = 1.2
# A read due this close before a snapshot takes the snapshot with it (one wake-up, not two).
PULL_S = 0.2
# A power step larger than CHANGE_W and CHANGE_FRAC of the power counts as activity (on boards
# with a 1 s average it only decides when the source goes quiet). Where the power is only read
# instantaneously (pre-Ampere), the bar is CHANGE_FRAC_INSTANT, 5 %: a busy board's readings
# wander by a few % from one ~100 ms sensor update to the next (+-2 % in the benchmark traces,
# so up to 4 % between two reads), and at 3 % one pair of reads in ~16 counted as a step, two
# of them within BOUNCE_S as "moving": 7 % of all reads on the diffusion-image traces were fast
# reads of a still plateau. Real steps (an image starts or ends, a sub-second burst) are tens
# of %. Simulated (Monitor driven by a scripted pre-Ampere board playing the diffusion-image
# traces of benchmarks/compare_lib/traces.py, 300 seeds x 120 s): 2.62 wake-ups a second
# instead of 2.75 (-4.5 %), error sd 0.79 % instead of 0.78 %, max 2.6 % instead of 2.1 %,
# 20 % of seeds beyond 1 % either way; 0.2 s spikes once a second unchanged (real steps).
CHANGE_W = 3.0
CHANGE_FRAC = 0.03
CHANGE_FRAC_INSTANT = 0.05
IDLE_INTERVAL_S = 5.0  # snapshots when nothing runs: the engine's tool detection cadence
# The tools' CPU times are read this often (and at once when the watched pids change): they are
# counters, so the CPU's energy is split over these windows (sessions/attribution.py) exactly
# as over 1 s ones. A snapshot in between carries the last read's CpuTimes object again.
CPU_TIMES_EVERY_S = 5.0


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
    __slots__ = ("sensor", "acc", "next_due", "active_until", "last_step", "prev_step", "busy",
                 "fast_read")

    def __init__(self, sensor: Sensor, now: float) -> None:
        self.sensor = sensor
        self.acc = SourceEnergy()
        self.next_due = now
        self.active_until = 0.0
        self.last_step = float("-inf")  # time of the last power step seen
        self.prev_step = float("-inf")  # and of the one before it
        self.busy = False  # as of the last full read (fast reads do not ask)
        # Sensors may offer a cheaper power-only read for the fast path.
        self.fast_read: Callable[[], Reading] = getattr(sensor, "read_power", sensor.read)

    def note_activity(self, prev: Reading | None, cur: Reading) -> None:
        if self.sensor.method is not Method.SAMPLED:
            return
        stepped = False
        if prev is not None and prev.power_w is not None and cur.power_w is not None:
            step = abs(cur.power_w - prev.power_w)
            frac = CHANGE_FRAC if cur.power_avg_w is not None else CHANGE_FRAC_INSTANT
            stepped = step > max(CHANGE_W, frac * prev.power_w)
        if stepped:
            self.prev_step, self.last_step = self.last_step, cur.t
        if cur.busy is not None:
            self.busy = cur.busy
        if stepped or cur.busy:
            self.active_until = cur.t + FAST_HOLD_S

    def averaged(self) -> bool:
        """The board integrates for us over a known window (NVML on Ampere+): reading once per
        window tiles the time exactly (see energy.py), faster reads add nothing."""
        r = self.acc.last
        return r is not None and r.power_avg_w is not None and bool(r.avg_window_s)

    def fast(self, t: float) -> bool:
        return self.sensor.method is Method.SAMPLED and t < self.active_until and not self.averaged()

    def interval(self, t: float, base_s: float, fast_s: float, quiet_s: float) -> float:
        """Seconds from a read at `t` to this source's next read. `quiet_s` is the snapshot
        interval: counters, and sampled sources that are neither busy nor moving, need no more."""
        if self.sensor.method is not Method.SAMPLED or t >= self.active_until:
            return quiet_s
        if self.averaged():
            return min(base_s, quiet_s)
        if t - self.last_step < SETTLE_AFTER_S and self.last_step - self.prev_step < BOUNCE_S:
            return fast_s
        return min(max(SETTLED_BUSY_S if self.busy else SETTLED_IDLE_S, fast_s), quiet_s)


class Monitor:
    def __init__(
        self,
        sensors: Sequence[Sensor],
        interval_s: float = 1.0,
        fast_interval_s: float = FAST_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        processes: ProcessCpu | None = None,
        idle_interval_s: float = IDLE_INTERVAL_S,
    ) -> None:
        self.interval_s = interval_s
        self._processes = processes
        self.fast_interval_s = min(fast_interval_s, interval_s)
        self.idle_interval_s = max(idle_interval_s, interval_s)
        self._clock = clock
        self._wall = wall
        now = clock()
        self._sources = [_Source(s, now) for s in sensors]
        self._next_snapshot = now
        self._last: Snapshot | None = None
        self._paused = False
        self._idle = False
        # Held while nobody asked for a wake-up: wake() releases it, the loop's timed acquire
        # returns at once. One C call per wait (Event.wait builds a Condition and a lock each
        # time: ~50 us more CPU per wake-up on this VM).
        self._wake = threading.Lock()
        self._wake.acquire()
        self._wake_requested = False
        self._cpu_last: CpuTimes | None = None
        self._cpu_due = 0.0
        self.cpu_times_every_s = CPU_TIMES_EVERY_S
        self.reads = 0  # for benchmarks and tests
        self.wakeups = 0  # loop iterations that slept first: what a background process pays for

    @property
    def sensors(self) -> list[Sensor]:
        return [s.sensor for s in self._sources]

    @property
    def idle(self) -> bool:
        return self._idle

    @property
    def snapshot_interval_s(self) -> float:
        return self.idle_interval_s if self._idle else self.interval_s

    def set_interval(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.fast_interval_s = min(self.fast_interval_s, interval_s)
        self.idle_interval_s = max(self.idle_interval_s, interval_s)
        self._reschedule()

    def set_idle(self, idle: bool) -> None:
        """Idle (no tool, no session): snapshots and quiet reads every `idle_interval_s`.
        Called from the loop's thread (the engine, after a snapshot)."""
        if idle != self._idle:
            self._idle = idle
            self._reschedule()

    def _reschedule(self) -> None:
        """Re-plan the next snapshot and reads from the last ones, for a changed cadence."""
        anchor = self._last.t if self._last is not None else self._clock()
        quiet = self.snapshot_interval_s
        self._next_snapshot = anchor + quiet
        for src in self._sources:
            r = src.acc.last
            if r is not None:
                src.next_due = r.t + src.interval(r.t, self.interval_s, self._fast_s(), quiet)

    def _fast_s(self) -> float:
        """The fast interval: none in the idle cadence, where nothing is attributed (a busy
        board without counter is read once a second then, enough for the totals)."""
        return self.interval_s if self._idle else self.fast_interval_s

    def wake(self) -> None:
        """From any thread: take a snapshot now instead of at the next tick (the engine has a
        command waiting, or is asked to stop)."""
        self._wake_requested = True
        try:
            self._wake.release()
        except RuntimeError:  # already released, the loop has not waited since
            pass

    def watch_pids(self, pids: set[int] | frozenset[int]) -> None:
        """The processes whose CPU time each snapshot carries (the tools', from detection)."""
        if self._processes is not None and pids != self._processes.watched:
            self._processes.watch(pids)
            self._cpu_due = 0.0  # a new window from the next snapshot

    def set_paused(self, paused: bool) -> None:
        """While paused nothing is read; the gap is neither measured nor invented."""
        self._paused = paused
        self._cpu_due = 0.0
        if not paused:
            for src in self._sources:
                src.acc.break_continuity()  # do not bridge the pause
                src.next_due = self._clock()

    def poll(self) -> Snapshot | None:
        """Read every source that is due. Returns a snapshot when a base tick is reached."""
        now = self._clock()
        forced = self._wake_requested
        self._wake_requested = False
        quiet = self.snapshot_interval_s
        if self._paused:
            if forced or now >= self._next_snapshot:
                self._next_snapshot = now + quiet
                self._last = self._build(now, paused=True)
                return self._last
            return None
        base_tick = forced or now >= self._next_snapshot
        if not base_tick and now >= self._next_snapshot - PULL_S:
            # A source is read now and the snapshot is due in a moment: one wake-up for both.
            base_tick = any(now >= src.next_due for src in self._sources)
        base_s = self.interval_s
        fast_s = self._fast_s()
        for src in self._sources:
            if base_tick or now >= src.next_due:
                prev = src.acc.last
                reading = src.sensor.read() if base_tick else src.fast_read()
                self.reads += 1
                src.acc.add(reading)
                src.note_activity(prev, reading)
                src.next_due = now + src.interval(reading.t, base_s, fast_s, quiet)
        if not base_tick:
            return None
        self._next_snapshot += quiet
        if forced or self._next_snapshot <= now:  # off-schedule, or late (suspend, heavy load)
            self._next_snapshot = now + quiet
        self._last = self._build(now)
        return self._last

    def next_wakeup(self) -> float:
        due = self._next_snapshot
        if not self._paused:
            for src in self._sources:
                if src.next_due < due:
                    due = src.next_due
        return due

    def _build(self, now: float, paused: bool = False) -> Snapshot:
        states = []
        fast = False
        for src in self._sources:
            r = src.acc.last
            sensor = src.sensor
            acc = src.acc
            by_method = acc.seconds_by_method
            methods = tuple(by_method.items()) if len(by_method) < 2 else tuple(sorted(by_method.items()))
            if r is None:
                state = SourceState(sensor.source, sensor.kind, sensor.label, sensor.method, None,
                                    acc.energy_j, acc.unknown_s, seconds_by_method=methods)
            else:
                fast = fast or src.fast(r.t)
                # Positional, in the field order: a frozen dataclass's keyword path costs more.
                state = SourceState(
                    sensor.source, sensor.kind, sensor.label, sensor.method,
                    None if paused else r.power_w, acc.energy_j, acc.unknown_s,
                    r.utilisation_pct, r.power_limit_w, r.pids, r.process_memory_mb,
                    r.processes, r.busy, r.error, methods,
                )  # fmt: skip
            states.append(state)
        # Read right after the sensors, so CPU time and energy cover the same window.
        cpu = None
        if not paused and self._processes is not None:
            if now >= self._cpu_due:
                self._cpu_last = self._processes.read()
                self._cpu_due = now + self.cpu_times_every_s - 0.25  # snapshots come a bit late
            cpu = self._cpu_last
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
            self.wakeups += 1
            # wake() (a command, a stop request) ends the wait early: in the idle cadence nobody
            # should wait 5 s for a click to take effect. A bare `stop.set()` is seen at the
            # next tick. A timed acquire of a held lock is one futex wait, as cheap as a sleep.
            self._wake.acquire(timeout=delay)
