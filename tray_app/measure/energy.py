"""Energy integration per source, from counters where they exist, from power samples otherwise.

The integrator never invents energy: an interval with no usable reading is counted as
`unknown_s`, not as 0 W, so the user sees how much of a span was not measured.

Sampled sources are integrated in one of two ways:
- point samples (instantaneous power) by the trapezoid rule. On square sub-second bursts its
  error shrinks only as 1/sqrt(duration) (≈ 1 % after a minute at 10 Hz);
- where the device also reports a trailing average over a known window W (NVML power usage on
  Ampere+: 1 s), the span is tiled by consecutive windows: each window's energy is exactly
  W x average, and only the small gaps/overlaps between windows (and the open tail) come from
  point samples. The error then stays bounded instead of growing with time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tray_app.measure.sensors.base import Method, Reading

# A gap longer than this between two power samples is not bridged: the process may have been
# suspended (laptop sleep) and the power in between is unknown.
MAX_BRIDGE_S = 30.0


def _trapezoid(points: list[tuple[float, float]], a: float, b: float) -> float:
    """Integral over [a, b] of the piecewise-linear curve through `points` (sorted by time)."""
    total = 0.0
    for (x0, p0), (x1, p1) in zip(points, points[1:], strict=False):
        lo, hi = max(a, x0), min(b, x1)
        if hi <= lo:
            continue
        slope = (p1 - p0) / (x1 - x0)
        total += 0.5 * (2 * p0 + slope * ((lo - x0) + (hi - x0))) * (hi - lo)
    return total


@dataclass(slots=True)
class SourceEnergy:
    """Running energy of one source since the monitor started."""

    committed_j: float = 0.0  # energy up to `anchor_t`, final
    unknown_s: float = 0.0
    # Seconds integrated by each method, so a session can say how its energy was obtained.
    seconds_by_method: dict[str, float] = field(default_factory=dict)
    last: Reading | None = None
    first_t: float | None = None  # time of the first reading (the start of what was measured)
    anchor_t: float | None = None  # end of the last committed window (sampled sources)
    points: list[tuple[float, float]] = field(default_factory=list)  # (t, W) around the tail

    @property
    def energy_j(self) -> float:
        """Committed energy plus the provisional open tail (point samples since the anchor)."""
        if self.anchor_t is None or len(self.points) < 2:
            return self.committed_j
        return self.committed_j + _trapezoid(self.points, self.anchor_t, self.points[-1][0])

    def _credit(self, method: Method, seconds: float) -> None:
        key = method._value_  # the plain str; `.value` is a Python-level enum property (~0.3 us)
        self.seconds_by_method[key] = self.seconds_by_method.get(key, 0.0) + seconds

    def _close_tail(self) -> None:
        """Make the provisional tail final (before a gap, or when switching to a counter)."""
        self.committed_j = self.energy_j
        self.anchor_t = None
        self.points.clear()

    def break_continuity(self) -> None:
        """Forget the last reading: the next interval starts fresh (after a pause)."""
        self._close_tail()
        self.last = None

    def add(self, reading: Reading) -> None:
        prev, self.last = self.last, reading
        if self.first_t is None:
            self.first_t = reading.t
        dt = 0.0 if prev is None else reading.t - prev.t
        if prev is not None and dt <= 0:
            return
        if reading.energy_j is not None:
            self._close_tail()
            if prev is None:
                return
            if prev.energy_j is None:
                # The counter just became usable (probed, or back after a gap): this one
                # interval comes from power samples when both ends have one.
                if prev.power_w is not None and reading.power_w is not None and dt <= MAX_BRIDGE_S:
                    self.committed_j += 0.5 * (prev.power_w + reading.power_w) * dt
                    self._credit(Method.SAMPLED, dt)
                else:
                    self.unknown_s += dt
                return
            delta = reading.energy_j - prev.energy_j
            if delta < 0:  # sensors fold resets in; a decrease is unknown, never negative
                self.unknown_s += dt
                return
            self.committed_j += delta
            self._credit(Method.COUNTER, dt)
            return
        self._add_sampled(prev, reading, dt)

    def _add_sampled(self, prev: Reading | None, r: Reading, dt: float) -> None:
        method = Method.ESTIMATED if r.method is Method.ESTIMATED else Method.SAMPLED
        if r.power_w is None or dt > MAX_BRIDGE_S:
            if prev is not None:
                self.unknown_s += dt
            self._close_tail()
            if r.power_w is not None:  # restart after the gap
                self.anchor_t = r.t
                self.points.append((r.t, r.power_w))
            return
        if self.anchor_t is None:
            if prev is not None:  # the interval since the last (unusable) reading is unknown
                self.unknown_s += dt
            self.anchor_t = r.t
            self.points = [(r.t, r.power_w)]
            return
        self.points.append((r.t, r.power_w))
        self._credit(method, dt)
        window = r.avg_window_s
        if r.power_avg_w is not None and window and r.t - self.anchor_t >= 0.95 * window:
            # The window (r.t - W, r.t] is known exactly; bridge anchor -> window start.
            start = r.t - window
            if start >= self.anchor_t:
                bridge = _trapezoid(self.points, self.anchor_t, start)
            else:
                bridge = -_trapezoid(self.points, start, self.anchor_t)
            self.committed_j += bridge + r.power_avg_w * window
            self.anchor_t = r.t
        elif r.power_avg_w is None and r.t - self.anchor_t >= 2.0:
            # Point samples only: commit the trapezoid so the tail stays short.
            self.committed_j += _trapezoid(self.points, self.anchor_t, r.t)
            self.anchor_t = r.t
        # Keep just enough history to bridge an overlap of the next window.
        horizon = self.anchor_t - (window or 0.0) - 0.5
        while len(self.points) > 2 and self.points[1][0] < horizon:
            self.points.pop(0)

    @property
    def method(self) -> Method | None:
        """The least trustworthy method that contributed energy (None before any energy)."""
        return weakest_method([Method(k) for k, v in self.seconds_by_method.items() if v > 0])


def weakest_method(methods: list[Method | None]) -> Method | None:
    """The least trustworthy of several methods: a sum is only as good as its weakest part."""
    present = [m for m in methods if m is not None]
    for m in (Method.ESTIMATED, Method.SAMPLED, Method.COUNTER):
        if m in present:
            return m
    return None
