"""Energy per generation: each ComfyUI prompt, or each image (batch) a tool saved, with its
own time window and the energy the session drew over it. Pure: no store, no clock, no I/O.

Windows:
- `exact`: the tool stated both ends (ComfyUI's `execution_start` and `execution_success`
  timestamps). Everything the session drew inside counts, idle moments included: the prompt
  really was running.
- `approximate`: a saved image (or a batch saved together), or a ComfyUI prompt without
  timestamps. The work happened somewhere between the previous generation's end (or the
  session's start) and the moment the file appeared, so the window is that stretch, and only
  its *active* time counts: a coffee break between two images is not charged to the second.
  Consecutive approximate windows tile the session, so they add up to its active energy.
  (An undated ComfyUI prompt is only known to have finished between two of our looks; a prompt
  longer than the gap between looks began earlier, so we take the same tiling window.)

Energy comes from the session's own stored samples, which already hold only its share of each
source (the attribution rules of tray_app.sessions.tracker): two tools working side by side
each get their share, never the whole machine twice.

Edges: a generation starts and ends where the power steps (the GPU ramps up as the prompt
starts and drops when it ends). With 1 s samples, interpolating across that step would blur
it, so for exact windows the sample inside the window is held up to the edge. Approximate
windows interpolate linearly, as the session total does, so that they add up to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tray_app.images.counter import Unit
from tray_app.store.codec import MAX_GAP_S, Sample, known_total

EXACT = "exact"
APPROXIMATE = "approximate"
WINDOWS = (EXACT, APPROXIMATE)
# Images of one batch are written one after the other within a second or so.
BATCH_GAP_S = 1.5
# A saved image this recent may still get batch mates: it waits for the next look. The folder
# counter sees every complete file older than 2 s at each look, so 10 s is safe.
SETTLE_S = 10.0
# An exact window is integrated once the samples after its end exist (snapshots every second).
SAMPLES_LAG_S = 2.0
# An exact window the samples cover less than this short of its length (a prompt that began
# before the session was noticed, a monitor asleep meanwhile) has an unknown energy: part of a
# prompt's energy is not that prompt's energy.
COVERAGE_SLACK_S = 2.0


@dataclass(frozen=True, slots=True)
class Generation:
    session_id: int
    tool: str
    key: str
    start_ts: float
    end_ts: float
    window: str  # EXACT | APPROXIMATE
    images: int
    gpu_wh: float | None  # None: no known reading in the window (never 0 for unknown)
    cpu_wh: float | None
    batch: int | None = None
    model_name: str | None = None
    model_family: str | None = None
    steps: int | None = None
    sampler: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def total_wh(self) -> float | None:
        return known_total(self.gpu_wh, self.cpu_wh)

    @property
    def wh_per_image(self) -> float | None:
        total = self.total_wh
        return total / self.images if total is not None and self.images else None

    def fields(self) -> dict[str, Any]:
        """The columns the store keeps (derived values are recomputed when read)."""
        return {
            "session_id": self.session_id, "tool": self.tool, "key": self.key,
            "start_ts": self.start_ts, "end_ts": self.end_ts, "window": self.window,
            "images": self.images, "batch": self.batch, "gpu_wh": self.gpu_wh,
            "cpu_wh": self.cpu_wh, "total_wh": self.total_wh, "model_name": self.model_name,
            "model_family": self.model_family, "steps": self.steps, "sampler": self.sampler,
            "width": self.width, "height": self.height,
        }  # fmt: skip


@dataclass(slots=True)
class WindowEnergy:
    gpu_wh: float | None = None
    cpu_wh: float | None = None
    active_s: float = 0.0
    first_active_ts: float | None = None
    covered_s: float = 0.0  # seconds of the window between two readings (not in a gap)


def _part(
    a: float | None, b: float | None, t_a: float, t_b: float, lo: float, hi: float, hold: bool
) -> float | None:
    """Watt-seconds between lo and hi (inside [t_a, t_b]) of one sample interval."""
    if a is None or b is None:
        return None
    if hold and (lo > t_a or hi < t_b):
        # The window's edge falls inside this interval: hold the sample that is inside it.
        level = b if lo > t_a else a
        return level * (hi - lo)
    span = t_b - t_a
    p_lo = a + (b - a) * (lo - t_a) / span
    p_hi = a + (b - a) * (hi - t_a) / span
    return (p_lo + p_hi) / 2 * (hi - lo)


def integrate_window(
    samples: Sequence[Sample],
    start: float,
    end: float,
    *,
    hold_edges: bool = False,
    active_only: bool = False,
) -> WindowEnergy:
    """GPU and CPU Wh the samples hold between `start` and `end`.

    Same rules as the session total (tray_app.store.codec.integrate): trapezoids between two
    known readings, a silence longer than MAX_GAP_S is unknown, an unknown reading leaves its
    interval unknown. `active_only` counts only intervals whose first sample was active.
    """
    out = WindowEnergy()
    if end <= start:
        return out
    gpu_ws = cpu_ws = 0.0
    gpu_known = cpu_known = False
    for (t_a, g_a, c_a, act), (t_b, g_b, c_b, _act) in zip(samples, samples[1:], strict=False):
        if t_b <= start:
            continue
        if t_a >= end:
            break
        dt = t_b - t_a
        if dt <= 0 or dt > MAX_GAP_S:
            continue
        lo, hi = max(t_a, start), min(t_b, end)
        out.covered_s += hi - lo
        if active_only and not act:
            continue
        if act:
            out.active_s += hi - lo
            # Where the work began: the first active reading inside the window (the tail of an
            # interval begun before it is the end of the previous generation's work).
            if out.first_active_ts is None and t_a >= start:
                out.first_active_ts = lo
        gpu = _part(g_a, g_b, t_a, t_b, lo, hi, hold_edges)
        cpu = _part(c_a, c_b, t_a, t_b, lo, hi, hold_edges)
        if gpu is not None:
            gpu_ws += gpu
            gpu_known = True
        if cpu is not None:
            cpu_ws += cpu
            cpu_known = True
    out.gpu_wh = gpu_ws / 3600 if gpu_known else None
    out.cpu_wh = cpu_ws / 3600 if cpu_known else None
    return out


def group_batches(units: Sequence[Unit], gap_s: float = BATCH_GAP_S) -> list[list[Unit]]:
    """Consecutive images with the same settings written within `gap_s` of each other: one
    batch (A1111 and its kin save a batch's images one after the other)."""
    groups: list[list[Unit]] = []
    for unit in sorted(units, key=lambda u: u.end_ts):
        last = groups[-1][-1] if groups else None
        if (
            last is not None
            and last.start_ts is None
            and unit.start_ts is None
            and last.source == unit.source == "folders"
            and unit.end_ts - last.end_ts <= gap_s
            and unit.meta == last.meta
        ):
            groups[-1].append(unit)
        else:
            groups.append([unit])
    return groups


SamplesFn = Callable[[float, float], Sequence[Sample]]


@dataclass(slots=True)
class GenerationRecorder:
    """One session's generations: turns what its image counter reports into generations, each
    once, when the samples that cover it exist. Not thread-safe: the engine's worker calls it."""

    session_id: int
    tool: str
    session_start: float
    _done: set[str] = field(default_factory=set)
    _last_end: float | None = None
    _units: tuple[Unit, ...] = ()

    def collect(
        self, units: Sequence[Unit], now: float, samples: SamplesFn, final: bool = False
    ) -> list[Generation]:
        """New generations among `units` (all the session's units so far), oldest first.
        `final`: the session is over, nothing waits for batch mates any more."""
        if units:
            self._units = tuple(units)
        fresh = [u for u in self._units if u.key not in self._done]
        if not fresh:
            return []
        ready: list[list[Unit]] = []
        for group in group_batches(fresh):
            last = group[-1]
            wait = SAMPLES_LAG_S if last.start_ts is not None else SETTLE_S
            if not final and last.end_ts > now - wait:
                break  # later ones wait too: windows are cut in order
            ready.append(group)
        if not ready:
            return []
        lo = min(self._window_start(), min(g[0].start_ts or g[0].end_ts for g in ready))
        hi = max(g[-1].end_ts for g in ready)
        rows = samples(lo - MAX_GAP_S, hi + MAX_GAP_S)
        out = []
        for group in ready:
            out.append(self._build(group, rows))
            for unit in group:
                self._done.add(unit.key)
        return out

    def _window_start(self) -> float:
        return self.session_start if self._last_end is None else self._last_end

    def _build(self, group: list[Unit], rows: Sequence[Sample]) -> Generation:
        first, last = group[0], group[-1]
        images = sum(u.images for u in group)
        if first.start_ts is not None and len(group) == 1:
            start, end, window = first.start_ts, first.end_ts, EXACT
            energy = integrate_window(rows, start, end, hold_edges=True)
            if energy.covered_s < (end - start) - COVERAGE_SLACK_S:
                energy.gpu_wh = energy.cpu_wh = None  # only part of it was measured
        else:
            window = APPROXIMATE
            start = max(self._window_start(), self.session_start)
            end = last.end_ts
            energy = integrate_window(rows, start, end, active_only=True)
            if energy.first_active_ts is not None:
                start = energy.first_active_ts  # clipped to active time
            else:
                start = min(start, end)
        self._last_end = max(self._last_end or end, end)
        meta = last.meta
        batch = meta.batch or (images if len(group) > 1 else None)
        return Generation(
            session_id=self.session_id, tool=self.tool, key=first.key, start_ts=start,
            end_ts=end, window=window, images=images, gpu_wh=energy.gpu_wh,
            cpu_wh=energy.cpu_wh, batch=batch, model_name=meta.model_name,
            model_family=meta.family, steps=meta.steps, sampler=meta.sampler,
            width=meta.width, height=meta.height,
        )  # fmt: skip
