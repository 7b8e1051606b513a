"""The monitor loop with scripted sensors and a fake clock: adaptive sampling and snapshots."""

from __future__ import annotations

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


def test_a_busy_gpu_without_counter_is_sampled_fast_then_slows_down():
    clock = Clock()
    gpu = ScriptedGpu(clock, lambda t: 300.0 if t < 130 else 30.0)
    monitor = Monitor([gpu], interval_s=1.0, clock=clock, wall=clock)
    drive(monitor, clock, 30)
    busy_reads = gpu.reads
    assert busy_reads >= 190  # ~7 Hz while generating
    drive(monitor, clock, 60)
    assert gpu.reads - busy_reads <= 60 + 35  # back to 1 Hz a few seconds after it stopped


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
