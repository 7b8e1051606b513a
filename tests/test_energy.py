"""The integrator against exact ground truth, without any hardware or clock."""

from __future__ import annotations

import random

import pytest

from tray_app.measure.energy import SourceEnergy, weakest_method
from tray_app.measure.sensors.base import Kind, Method, Reading


def bursty_trace(seed: int, seconds: float) -> list[tuple[float, float, float]]:
    """Diffusion-like square bursts: 0.2-0.5 s at 320 W, 0.15-0.35 s at 60 W."""
    rnd = random.Random(seed)
    segs, t = [], 0.0
    while t < seconds:
        for lo, hi, watts in ((0.2, 0.5, 320.0), (0.15, 0.35, 60.0)):
            d = rnd.uniform(lo, hi)
            segs.append((t, t + d, watts))
            t += d
    return segs


def power_at(segs, t: float) -> float:
    for a, b, p in segs:
        if a <= t < b:
            return p
    return 0.0


def integral(segs, t0: float, t1: float) -> float:
    return sum(max(0.0, min(b, t1) - max(a, t0)) * p for a, b, p in segs)


def reading(t: float, **kw) -> Reading:
    return Reading(source="x", kind=Kind.GPU, t=t, method=kw.pop("method", Method.SAMPLED), **kw)


def test_counter_deltas_are_summed_exactly():
    acc = SourceEnergy()
    for i, e in enumerate([100.0, 150.0, 400.0, 400.0, 1000.0]):
        acc.add(reading(float(i), energy_j=e, method=Method.COUNTER))
    assert acc.energy_j == pytest.approx(900.0)
    assert acc.method is Method.COUNTER


def test_constant_power_integrates_exactly():
    acc = SourceEnergy()
    for i in range(11):
        acc.add(reading(i * 0.5, power_w=200.0))
    assert acc.energy_j == pytest.approx(1000.0)  # 200 W x 5 s


def test_unreadable_power_is_unknown_time_not_zero_energy():
    acc = SourceEnergy()
    acc.add(reading(0.0, power_w=100.0))
    acc.add(reading(1.0, power_w=100.0))
    acc.add(reading(2.0, power_w=None, error="lost"))
    acc.add(reading(3.0, power_w=None, error="lost"))
    acc.add(reading(4.0, power_w=100.0))
    acc.add(reading(5.0, power_w=100.0))
    assert acc.energy_j == pytest.approx(200.0)  # only the measured seconds
    assert acc.unknown_s == pytest.approx(3.0)


def test_a_long_suspend_is_not_bridged():
    acc = SourceEnergy()
    acc.add(reading(0.0, power_w=100.0))
    acc.add(reading(1.0, power_w=100.0))
    acc.add(reading(3601.0, power_w=100.0))
    assert acc.energy_j == pytest.approx(100.0)
    assert acc.unknown_s == pytest.approx(3600.0)


def test_a_decreasing_counter_never_yields_negative_energy():
    acc = SourceEnergy()
    acc.add(reading(0.0, energy_j=500.0, method=Method.COUNTER))
    acc.add(reading(1.0, energy_j=100.0, method=Method.COUNTER))
    assert acc.energy_j == 0.0
    assert acc.unknown_s == 1.0


@pytest.mark.parametrize("seed", range(8))
def test_windowed_averages_integrate_sub_second_bursts_within_half_a_percent(seed):
    """10 Hz jittered samples of instant power plus NVML's 1 s trailing average."""
    rnd = random.Random(1000 + seed)
    segs = bursty_trace(seed, 40.0)
    acc = SourceEnergy()
    t = 1.0 + rnd.random()
    t0 = t
    while t < 31.0:
        avg = integral(segs, t - 1.0, t)
        acc.add(reading(t, power_w=power_at(segs, t), power_avg_w=avg, avg_window_s=1.0))
        last = t
        t += 0.1 + rnd.uniform(0.0, 0.01)
    truth = integral(segs, t0, last)
    assert acc.energy_j == pytest.approx(truth, rel=0.005)


def test_point_samples_alone_are_unbiased_on_bursts():
    """Without averages the trapezoid is still right on average over many runs."""
    errors = []
    for seed in range(20):
        rnd = random.Random(seed)
        segs = bursty_trace(seed, 40.0)
        acc = SourceEnergy()
        t = t0 = rnd.random()
        while t < 30.0:
            acc.add(reading(t, power_w=power_at(segs, t)))
            last = t
            t += 0.1 + rnd.uniform(0.0, 0.01)
        truth = integral(segs, t0, last)
        errors.append((acc.energy_j - truth) / truth)
    assert abs(sum(errors) / len(errors)) < 0.005


def test_weakest_method_wins():
    assert weakest_method([Method.COUNTER, Method.ESTIMATED]) is Method.ESTIMATED
    assert weakest_method([Method.COUNTER, None]) is Method.COUNTER
    assert weakest_method([]) is None


def test_the_interval_before_a_counter_becomes_usable_comes_from_power():
    acc = SourceEnergy()
    acc.add(reading(0.0, power_w=100.0, method=Method.COUNTER))  # counter still being probed
    acc.add(reading(1.0, power_w=100.0, energy_j=0.0, method=Method.COUNTER))
    acc.add(reading(2.0, power_w=100.0, energy_j=100.0, method=Method.COUNTER))
    assert acc.energy_j == pytest.approx(200.0)
    assert acc.unknown_s == 0.0
