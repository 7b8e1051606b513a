"""The power traces every tool is measured against (a function of time since the anchor)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from tests.fixtures.fake_nvml import FakeGpu, Segment, steady

# nvmlDeviceArchitecture_t values (nvml.h): before Ampere, PowerUsage is an instantaneous value.
ARCH_PASCAL, ARCH_TURING, ARCH_ADA = 4, 6, 8


def diffusion_images(
    duration_s: float,
    high_w: tuple[float, float] = (280.0, 320.0),
    seed: int = 5,
) -> list[Segment]:
    """Image after image: a few seconds at high power while one image is denoised (3-5 s), then
    a pause while the user looks or types (1.5-8 s, near idle). Deterministic per seed."""
    rng = random.Random(seed)
    segments: list[Segment] = []
    total = 0.0
    while total < duration_s:
        work = round(rng.uniform(3.0, 5.0), 3)
        pause = round(rng.uniform(1.5, 8.0), 3)
        segments.append(Segment(work, round(rng.uniform(*high_w), 1), 98.0))
        segments.append(Segment(pause, round(rng.uniform(30.0, 45.0), 1), 1.0))
        total += work + pause
    return segments


def spikes(
    duration_s: float, high_w: float = 250.0, low_w: float = 60.0, high_s: float = 0.2
) -> list[Segment]:
    """Sub-second spikes once a second: a sampler that reads once a second keeps landing on
    the same phase of the cycle."""
    cycle = [Segment(high_s, high_w, 99.0), Segment(1.0 - high_s, low_w, 20.0)]
    return cycle * math.ceil(duration_s)


MAX_PIECES = 4000  # the fake driver holds at most 4096 segments per GPU


def with_noise(segments: list[Segment], frac: float = 0.02, seed: int = 3) -> list[Segment]:
    """Real power readings wander by a few watts from one ~100 ms sensor update to the next;
    perfectly flat segments would favour tools that only record changes (Zeus's power monitor
    drops repeated values). Each segment is cut into pieces of >= 0.1 s, each +-`frac`."""
    rng = random.Random(seed)
    total = sum(s.duration_s for s in segments)
    piece = max(0.1, total / MAX_PIECES * 1.2)
    out: list[Segment] = []
    for seg in segments:
        n = max(1, round(seg.duration_s / piece))
        length = round(seg.duration_s / n, 6)
        for i in range(n):
            d = length if i < n - 1 else round(seg.duration_s - length * (n - 1), 6)
            w = round(seg.watts * (1.0 + rng.uniform(-frac, frac)), 2)
            out.append(Segment(d, w, seg.util_pct))
    return out


def _pascal(duration_s: float, instant_field: bool, power_samples: bool = False) -> FakeGpu:
    return FakeGpu(name="NVIDIA GeForce GTX 1080 Ti", power_limit_w=250.0, memory_total_mb=11264,
                   architecture=ARCH_PASCAL, energy="unsupported", instant_field=instant_field,
                   power_samples=power_samples,
                   trace=with_noise(diffusion_images(duration_s, high_w=(200.0, 240.0))))


@dataclass(frozen=True)
class Trace:
    name: str
    title: str
    description: str
    gpu: Callable[[float], FakeGpu]  # trace length (s) -> the GPU that plays it


TRACES: dict[str, Trace] = {
    t.name: t
    for t in (
        Trace(
            "steady", "Steady load",
            "RTX 4090 (Ada), 250 W (+-2 % noise every 0.1 s), energy counter present.",
            lambda d: FakeGpu(trace=with_noise(steady(250.0, duration_s=d))),
        ),
        Trace(
            "diffusion", "Diffusion bursts",
            "RTX 4090 (Ada), images: 3-5 s at 280-320 W, pauses of 1.5-8 s at 30-45 W; "
            "energy counter present.",
            lambda d: FakeGpu(trace=with_noise(diffusion_images(d))),
        ),
        Trace(
            "spikes", "Sub-second spikes",
            "RTX 2080 Ti (Turing: PowerUsage is instantaneous), 0.2 s at 250 W once a second "
            "over 60 W; energy counter present.",
            lambda d: FakeGpu(name="NVIDIA GeForce RTX 2080 Ti", power_limit_w=260.0,
                              memory_total_mb=11264, architecture=ARCH_TURING,
                              instant_field=False, trace=with_noise(spikes(d))),
        ),
        Trace(
            "no-counter-ampere", "No counter, Ampere, sub-second spikes",
            "RTX 3060 (Ampere) whose energy counter answers NOT_SUPPORTED (as under some "
            "virtualised or laptop set-ups): 0.2 s at 250 W once a second over 60 W. "
            "PowerUsage is the 1 s average; field 186 answers.",
            lambda d: FakeGpu(name="NVIDIA GeForce RTX 3060", power_limit_w=170.0,
                              memory_total_mb=12288, architecture=7, energy="unsupported",
                              trace=with_noise(spikes(d))),
        ),
        Trace(
            "no-counter", "No energy counter",
            "GTX 1080 Ti (Pascal: no total-energy counter, PowerUsage instantaneous; the "
            "instant-power field 186 answers), the diffusion bursts at 200-240 W.",
            lambda d: _pascal(d, instant_field=True),
        ),
        Trace(
            "no-counter-nofield", "No counter, no power field",
            "The same GTX 1080 Ti, but field 186 (instant power) answers NOT_SUPPORTED: only "
            "nvmlDeviceGetPowerUsage gives power.",
            lambda d: _pascal(d, instant_field=False),
        ),
        Trace(
            "no-counter-samples", "No counter, the driver's power samples",
            "The same GTX 1080 Ti, whose driver keeps its buffer of power samples "
            "(nvmlDeviceGetSamples, one every 20 ms): read once a second, they give the power "
            "between reads.",
            lambda d: _pascal(d, instant_field=True, power_samples=True),
        ),
    )
}
