"""The monitor over the real pynvml and the fake driver, against the trace's exact integral."""

from __future__ import annotations

import threading

import pytest

from tests.fixtures.fake_nvml import FakeGpu, Segment, bursty_diffusion, steady
from tray_app.measure.monitor import Monitor
from tray_app.measure.sensors.nvml import discover_nvidia


def measure(rig, seconds: float, interval_s: float = 1.0):
    found = discover_nvidia()
    assert found.error is None, found.error
    monitor = Monitor(found.sensors, interval_s=interval_s)
    try:
        monitor.run(lambda snap: None, threading.Event(), duration_s=seconds)
        monitor.poll()
    finally:
        for s in found.sensors:
            s.close()
    acc = monitor._sources[0].acc
    truth = rig.ground_truth_j(0, acc.first_t, acc.last.t)
    return acc, truth, monitor


@pytest.mark.slow
def test_counter_path_is_within_a_tenth_of_a_percent(fake_nvml):
    rig = fake_nvml(FakeGpu(trace=bursty_diffusion(duration_s=60.0)))
    acc, truth, monitor = measure(rig, 6.0)
    assert acc.energy_j == pytest.approx(truth, rel=0.001)
    assert acc.method.value == "counter"
    assert monitor.reads <= 8  # a counter needs no fast sampling


@pytest.mark.slow
def test_sampled_path_on_a_steady_load_is_within_one_percent(fake_nvml):
    rig = fake_nvml(FakeGpu(trace=steady(250.0), energy="unsupported"))
    acc, truth, _ = measure(rig, 6.0)
    assert acc.energy_j == pytest.approx(truth, rel=0.01)
    assert acc.method.value == "sampled"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 7])
def test_sampled_path_on_sub_second_bursts_is_within_one_percent(fake_nvml, seed):
    """No counter (a board answering NOT_SUPPORTED), Ampere or later: its 1 s power average
    tiles the time, so once a second is enough even on sub-second bursts."""
    rig = fake_nvml(FakeGpu(trace=bursty_diffusion(duration_s=60.0, seed=seed), energy="unsupported"))
    acc, truth, monitor = measure(rig, 15.0)
    assert acc.energy_j == pytest.approx(truth, rel=0.01)
    assert monitor.reads <= 18  # no fast sampling needed


@pytest.mark.slow
def test_before_ampere_without_counter_the_monitor_samples_fast_while_the_gpu_works(fake_nvml):
    """Pascal-era boards: no counter and no average, only instantaneous power. Fast sampling
    engages while the GPU works. The known limit: a burst that starts between two idle reads
    (1 s apart) is caught up to 1 s late; the trapezoid makes that error unbiased (its spread
    is about ΔP/√12 per start), so it shrinks over long sessions but not within 20 s."""
    images = [Segment(1.5, 30.0, 0.0)]
    for work in (4.0, 3.5, 4.5):
        images += [*bursty_diffusion(work, high_w=300.0, low_w=200.0), Segment(2.5, 35.0, 0.0)]
    rig = fake_nvml(FakeGpu(name="NVIDIA GeForce GTX 1080 Ti", trace=images, energy="unsupported",
                            architecture=4))
    acc, truth, monitor = measure(rig, 20.0)
    assert acc.energy_j == pytest.approx(truth, rel=0.05)
    assert monitor.reads > 70  # ~7 Hz while the GPU works, 1 Hz when idle


@pytest.mark.slow
def test_before_ampere_the_drivers_power_samples_make_one_read_a_second_exact(fake_nvml):
    """The same board and bursts, but its driver keeps its power samples (nvmlDeviceGetSamples,
    every 20 ms): read once a second they cover the time between reads, so the energy is within
    half a percent where fast sampling erred by up to 5 %, with a seventh of the wake-ups."""
    images = [Segment(1.5, 30.0, 0.0)]
    for work in (4.0, 3.5, 4.5):
        images += [*bursty_diffusion(work, high_w=300.0, low_w=200.0), Segment(2.5, 35.0, 0.0)]
    rig = fake_nvml(FakeGpu(name="NVIDIA GeForce GTX 1080 Ti", trace=images, energy="unsupported",
                            architecture=4, power_samples=True))
    acc, truth, monitor = measure(rig, 20.0)
    assert acc.energy_j == pytest.approx(truth, rel=0.005)
    assert acc.method.value == "sampled"  # integrated samples, said so: not a counter
    assert monitor.reads <= 24  # once a second (the first read only marks where samples start)
    assert monitor._sources[0].sensor.describe()["power_samples"]


@pytest.mark.slow
def test_a_frozen_counter_is_detected_and_power_is_integrated_instead(fake_nvml):
    rig = fake_nvml(FakeGpu(trace=steady(200.0), energy="frozen"))
    acc, truth, _ = measure(rig, 5.0)
    assert acc.energy_j == pytest.approx(truth, rel=0.01)
    assert acc.method.value == "sampled"


@pytest.mark.slow
def test_a_gpu_lost_mid_run_leaves_the_measured_part_and_counts_the_rest_unknown(fake_nvml):
    rig = fake_nvml(FakeGpu(trace=steady(200.0), gpu_lost_after_s=3.0))
    acc, _, monitor = measure(rig, 6.0)
    measurable = rig.ground_truth_j(0, acc.first_t, rig.anchor + 3.0)
    # Everything up to the last good reading (at most one interval short), nothing after.
    assert measurable - 200.0 * 1.05 <= acc.energy_j <= measurable * 1.001
    assert acc.unknown_s >= acc.last.t - (rig.anchor + 3.0) - 1.05
    assert monitor.last.sources[0].error
