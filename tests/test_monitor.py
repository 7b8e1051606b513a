"""The monitor loop with scripted sensors and a fake clock: adaptive sampling and snapshots."""

from __future__ import annotations

import bisect
import itertools
import random
import threading
import time

import pytest

from tray_app.measure.monitor import Monitor
from tray_app.measure.sensors.base import Kind, Method, Reading


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


class ScriptedGpu:
    """A GPU without energy counter whose power follows `watts(t)`."""

    kind = Kind.GPU
    label = "Scripted GPU"

    def __init__(self, clock, watts, method=Method.SAMPLED, source="nvidia:0"):
        self.clock, self.watts, self.method, self.source = clock, watts, method, source
        self.reads = 0

    def read(self):
        self.reads += 1
        w = self.watts(self.clock.t)
        return Reading(source=self.source, kind=self.kind, t=self.clock.t, method=self.method,
                       power_w=w, busy=(w is not None and w > 100))

    def close(self):
        pass


class CounterGpu(ScriptedGpu):
    """A GPU with an energy counter (the integral of `watts`, by the rectangle rule per read)."""

    def __init__(self, clock, watts):
        super().__init__(clock, watts, method=Method.COUNTER)
        self.energy, self.last_t = 0.0, None

    def read(self):
        self.reads += 1
        t = self.clock() if callable(self.clock) else self.clock.t
        w = self.watts(t)
        if self.last_t is not None:
            self.energy += w * (t - self.last_t)
        self.last_t = t
        return Reading(source=self.source, kind=self.kind, t=t, method=self.method, power_w=w,
                       energy_j=self.energy, busy=False)


def drive(monitor, clock, seconds):
    snaps = []
    end = clock.t + seconds
    while clock.t < end:
        snap = monitor.poll()
        if snap is not None:
            snaps.append(snap)
        clock.t = max(monitor.next_wakeup(), clock.t + 1e-6)
    return snaps


def test_an_idle_gpu_is_read_once_per_interval():
    clock = Clock()
    gpu = ScriptedGpu(clock, lambda t: 30.0)
    snaps = drive(Monitor([gpu], interval_s=1.0, clock=clock, wall=clock), clock, 60)
    assert 59 <= gpu.reads <= 61
    assert len(snaps) in (60, 61)


def test_a_gpu_without_counter_is_sampled_fast_while_its_power_moves_and_less_on_a_plateau():
    clock = Clock()
    # Sub-second steps (0.3 s at 300 W, 0.3 s at 200 W) for 30 s, a 30 s plateau, then idle.
    gpu = ScriptedGpu(clock, lambda t: (300.0 if int((t - 100) / 0.3) % 2 else 200.0) if t < 130
                      else 300.0 if t < 160 else 30.0)
    monitor = Monitor([gpu], interval_s=1.0, clock=clock, wall=clock)
    drive(monitor, clock, 30)
    stepping = gpu.reads
    assert stepping >= 190  # ~7 Hz while the power steps
    drive(monitor, clock, 30)
    plateau = gpu.reads - stepping
    assert 100 <= plateau <= 135  # ~3 Hz (+ the 1 s snapshots) once it holds still, not 7 Hz
    drive(monitor, clock, 60)
    assert gpu.reads - stepping - plateau <= 60 + 20  # back to 1 Hz a few seconds after it stopped


def test_a_plateau_whose_readings_wander_by_a_few_percent_is_not_sampled_fast():
    """Readings of a busy board wander by a few % between sensor updates; that is not a step.
    Here 200 W and 208 W alternate every 0.1 s (4 %): each settled read (0.3 s apart) differs
    from the one before, and if that counted as a step the board would be read at ~7 Hz."""
    clock = Clock()
    gpu = ScriptedGpu(clock, lambda t: 208.0 if int((t - 100) / 0.1 + 1e-9) % 2 else 200.0)
    monitor = Monitor([gpu], interval_s=1.0, clock=clock, wall=clock)
    drive(monitor, clock, 30)
    assert gpu.reads <= 30 * 3.5 + 5  # settled: ~3.3 reads a second, not ~7
    # A real step (an image ends) still counts: the pause after it is read every 0.5 s.
    src = monitor._sources[0]
    before = src.last_step
    gpu.watts = lambda t: 40.0
    drive(monitor, clock, 2)
    assert src.last_step > before


def test_before_ampere_settling_costs_fewer_wake_ups_for_a_smaller_error_on_diffusion_images():
    """Scripted pre-Ampere board (instant power only) playing image after image (3-5 s at
    200-240 W, pauses of 1.5-8 s, +-2 % noise), 120 s per seed: 7 Hz throughout the activity used
    to cost ~5.5 wake-ups a second for an error of ~1.1 % (sd); settling on plateaus and sampling
    the pause twice as often costs fewer for a smaller error."""
    from benchmarks.compare_lib.traces import diffusion_images, with_noise

    errors, rates = [], []
    for seed in range(8):
        segments = with_noise(diffusion_images(200.0, high_w=(200.0, 240.0), seed=seed))
        ends = list(itertools.accumulate(s.duration_s for s in segments))

        def watts(t: float, ends=ends, segments=segments) -> float:
            return segments[min(bisect.bisect_right(ends, t - 100.0), len(segments) - 1)].watts

        def integral(a: float, b: float, ends=ends, segments=segments) -> float:
            total, start = 0.0, 100.0
            for end, seg in zip(ends, segments, strict=True):
                lo, hi = max(a, start), min(b, 100.0 + end)
                total += seg.watts * max(0.0, hi - lo)
                start = 100.0 + end
            return total

        clock = Clock()
        gpu = ScriptedGpu(clock, watts)
        gpu_busy = gpu.read

        def read(gpu_busy=gpu_busy):
            r = gpu_busy()
            return Reading(source=r.source, kind=r.kind, t=r.t, method=r.method, power_w=r.power_w,
                           busy=r.power_w > 100)

        gpu.read = read  # type: ignore[method-assign]
        monitor = Monitor([gpu], interval_s=1.0, clock=clock, wall=clock)
        jitter = random.Random(seed)
        wakes = 0
        while clock.t < 220.0:
            monitor.poll()
            clock.t = max(monitor.next_wakeup(), clock.t + 1e-6) + jitter.uniform(0.0, 0.002)
            wakes += 1
        acc = monitor._sources[0].acc
        truth = integral(acc.first_t, acc.last.t)
        errors.append(abs(acc.energy_j - truth) / truth)
        rates.append(wakes / 120.0)
    assert sum(errors) / len(errors) < 0.01
    assert max(errors) < 0.025
    assert sum(rates) / len(rates) < 4.2


def test_with_nothing_to_attribute_the_monitor_wakes_every_5_s_and_counters_stay_exact():
    clock = Clock()
    gpu = CounterGpu(clock, lambda t: 40.0)
    monitor = Monitor([gpu], interval_s=1.0, clock=clock, wall=clock)
    drive(monitor, clock, 10)
    monitor.set_idle(True)
    reads, energy, t0 = gpu.reads, monitor.last.energy_j(), monitor.last.t
    snaps = drive(monitor, clock, 60)
    assert 11 <= gpu.reads - reads <= 13 and 11 <= len(snaps) <= 13  # every 5 s
    assert monitor.last.energy_j() - energy == pytest.approx(40.0 * (monitor.last.t - t0))
    monitor.set_idle(False)
    reads = gpu.reads
    drive(monitor, clock, 10)
    assert 9 <= gpu.reads - reads <= 11  # back to 1 s at once


def test_an_idle_gpu_without_counter_is_read_every_5_s_but_again_every_second_once_busy():
    clock = Clock()

    class AveragingGpu(ScriptedGpu):
        def read(self):
            r = super().read()
            return Reading(source=r.source, kind=r.kind, t=r.t, method=r.method, power_w=r.power_w,
                           power_avg_w=r.power_w, avg_window_s=1.0, busy=r.busy)

    gpu = AveragingGpu(clock, lambda t: 30.0 if t < 160 else 250.0)
    monitor = Monitor([gpu], interval_s=1.0, clock=clock, wall=clock)
    monitor.set_idle(True)
    drive(monitor, clock, 50)
    assert gpu.reads <= 12
    reads = gpu.reads
    drive(monitor, clock, 30)  # busy from t=160: its 1 s averages tile the time again
    assert gpu.reads - reads >= 20


def test_in_the_idle_cadence_a_board_without_counter_nor_average_is_not_sampled_fast():
    """Nothing is attributed while no tool runs: once a second is enough for the totals."""
    clock = Clock()
    gpu = ScriptedGpu(clock, lambda t: 300.0 if int((t - 100) / 0.3) % 2 else 200.0)
    monitor = Monitor([gpu], interval_s=1.0, clock=clock, wall=clock)
    monitor.set_idle(True)
    drive(monitor, clock, 30)
    assert gpu.reads <= 33
    monitor.set_idle(False)  # a tool: its session gets the fast path at once
    reads = gpu.reads
    drive(monitor, clock, 10)
    assert gpu.reads - reads >= 60


def test_wake_takes_a_snapshot_at_once_even_in_the_idle_cadence():
    clock = Clock()
    gpu = CounterGpu(clock, lambda t: 40.0)
    monitor = Monitor([gpu], interval_s=1.0, clock=clock, wall=clock)
    drive(monitor, clock, 3)
    monitor.set_idle(True)
    drive(monitor, clock, 6)
    clock.t = monitor.last.t + 1.0
    assert monitor.poll() is None  # not due: the next idle snapshot is seconds away
    monitor.wake()
    snap = monitor.poll()
    assert snap is not None and snap.t == clock.t


def test_wake_ends_the_idle_wait_of_the_loop_from_another_thread():
    gpu = CounterGpu(time.monotonic, lambda t: 40.0)
    monitor = Monitor([gpu], interval_s=1.0)
    monitor.set_idle(True)
    stop = threading.Event()
    snaps: list[float] = []
    worker = threading.Thread(target=monitor.run, args=(lambda s: snaps.append(time.monotonic()), stop))
    worker.start()
    try:
        deadline = time.monotonic() + 5
        while not snaps and time.monotonic() < deadline:
            time.sleep(0.01)
        asked = time.monotonic()
        monitor.wake()
        while len(snaps) < 2 and time.monotonic() < deadline + 5:
            time.sleep(0.01)
        assert len(snaps) == 2 and snaps[1] - asked < 1.0  # not the 5 s idle interval
    finally:
        stop.set()
        monitor.wake()
        worker.join(timeout=5)
    assert not worker.is_alive()


def test_a_counter_gpu_is_never_sampled_fast():
    clock = Clock()
    gpu = ScriptedGpu(clock, lambda t: 300.0, method=Method.COUNTER)
    drive(Monitor([gpu], interval_s=1.0, clock=clock, wall=clock), clock, 30)
    assert gpu.reads <= 31


def test_snapshots_sum_known_power_and_keep_unknown_apart():
    clock = Clock()
    a = ScriptedGpu(clock, lambda t: 200.0, source="nvidia:0")
    b = ScriptedGpu(clock, lambda t: None, source="nvidia:1")
    snaps = drive(Monitor([a, b], interval_s=1.0, clock=clock, wall=clock), clock, 10)
    last = snaps[-1]
    assert last.gpu_w == 200.0  # the unreadable GPU adds nothing, and is not "0 W" either
    state_b = [s for s in last.sources if s.source == "nvidia:1"][0]
    assert state_b.power_w is None and state_b.unknown_s > 8
    assert last.cpu_w is None  # no CPU sensor: unknown, not 0


def test_pausing_neither_measures_nor_invents_the_gap():
    clock = Clock()
    gpu = ScriptedGpu(clock, lambda t: 100.0)
    monitor = Monitor([gpu], interval_s=1.0, clock=clock, wall=clock)
    drive(monitor, clock, 10)
    before = monitor.last.energy_j()
    monitor.set_paused(True)
    reads = gpu.reads
    drive(monitor, clock, 100)
    assert monitor.last.paused and monitor.last.energy_j() == before
    assert gpu.reads - reads <= 1  # paused: the sensor is left alone
    monitor.set_paused(False)
    drive(monitor, clock, 10)
    assert not monitor.last.paused
    # Measuring again after the resume (lower bound), and the 100 s gap is not filled in.
    assert 100.0 * 8 <= monitor.last.energy_j() - before <= 100.0 * 11


def test_a_gpu_reporting_its_one_second_average_needs_no_fast_sampling():
    """Windows of a known average tile the time exactly: 1 Hz is enough, even when busy."""
    clock = Clock()

    class AveragingGpu(ScriptedGpu):
        def read(self):
            r = super().read()
            return Reading(source=r.source, kind=r.kind, t=r.t, method=r.method, power_w=r.power_w,
                           power_avg_w=r.power_w, avg_window_s=1.0, busy=r.busy)

    gpu = AveragingGpu(clock, lambda t: 300.0 if int(t * 3) % 2 else 60.0)
    drive(Monitor([gpu], interval_s=1.0, clock=clock, wall=clock), clock, 30)
    assert gpu.reads <= 31


class CountingCpu:
    """ProcessCpu's interface: counts reads, each one a new CpuTimes."""

    def __init__(self):
        self.watched = frozenset()
        self.reads = 0

    def watch(self, pids):
        self.watched = frozenset(pids)

    def read(self):
        from tray_app.measure.processes import CpuTimes

        if not self.watched:
            return None
        self.reads += 1
        return CpuTimes(float(self.reads), 10.0 * self.reads, {p: 0.1 * self.reads for p in self.watched})


def test_the_tools_cpu_times_are_read_every_5_s_and_at_once_when_the_watch_changes():
    clock = Clock()
    gpu = CounterGpu(clock, lambda t: 250.0)
    cpu = CountingCpu()
    monitor = Monitor([gpu], interval_s=1.0, clock=clock, wall=clock, processes=cpu)
    monitor.watch_pids({4242})
    snaps = drive(monitor, clock, 60)
    assert len(snaps) >= 59
    assert 12 <= cpu.reads <= 13  # not 60: CPU times are counters, read once per window
    objects = [s.cpu_times for s in snaps]
    assert all(o is not None for o in objects)
    # Between two reads a snapshot carries the last read's object again (attribution sees that
    # the window goes on); each read starts a window of ~5 snapshots.
    runs = [len(list(g)) for _, g in itertools.groupby(objects, key=id)]
    assert all(r <= 5 for r in runs) and sum(r == 5 for r in runs) >= 10
    before = cpu.reads
    monitor.watch_pids({4242, 4243})  # detection found a new worker
    snap = None
    while snap is None:
        snap = monitor.poll()
        clock.t = max(monitor.next_wakeup(), clock.t + 1e-6)
    assert cpu.reads == before + 1 and snap.cpu_times.by_pid.keys() == {4242, 4243}
