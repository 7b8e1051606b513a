"""Packing samples into blobs, and integrating them into energy. Pure functions, no SQLite.

Why packed: one SQLite row per 1 s sample costs ~40 bytes, so 30 days at full rate alone would
take ~100 MB. Packed, a sample costs 6 bytes and a per-minute aggregate 16 bytes.

Full-rate record `<HHH`: the time since the previous sample in centiseconds (14 bits; each
sample's offset from t0 is rounded on its own, so rounding never drifts) with the activity in
the top 2 bits (0, 1, 2 = unknown); then GPU and CPU power in tenths of a watt
(0.1 W steps, up to 6553.4 W; `0xFFFF` = unknown). Minute record `<BIIHHHB`: minute of the
hour, GPU and CPU energy in µWh, seconds with a known GPU / CPU reading in tenths, peak power in
0.1 W, active seconds.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

Sample = tuple[float, "float | None", "float | None", "int | None"]  # ts, gpu_w, cpu_w, active

SAMPLE = struct.Struct("<HHH")
MINUTE = struct.Struct("<BIIHHHB")
NONE16 = 0xFFFF
MAX_DW = NONE16 - 1
MAX_STEP = 0x3FFF  # centiseconds: two samples of a chunk are at most 163.8 s apart
MAX_STEP_S = MAX_STEP / 100
# 660 samples x 6 bytes fill one 4 KiB page with a single row: no page is left part-empty.
CHUNK_MAX_N = 660
# A longer silence between two samples is a gap (monitor stopped, machine asleep): its energy
# is unknown, never assumed.
MAX_GAP_S = 10.0


def _dw(watts: float | None) -> int:
    if watts is None or not math.isfinite(watts):
        return NONE16
    return min(MAX_DW, max(0, round(watts * 10)))


def _w(dw: int) -> float | None:
    return None if dw == NONE16 else dw / 10


def pack(t0: float, rows: Iterable[Sample], last_ts: float | None = None) -> bytes:
    """Pack rows of a chunk starting at t0; `last_ts` is the chunk's last sample when appending.
    Rows must be in time order, each within MAX_STEP_S of the one before."""
    out = bytearray()
    prev = round((last_ts - t0) * 100) if last_ts is not None else 0
    for ts, gpu, cpu, active in rows:
        offset = round((ts - t0) * 100)
        step = min(MAX_STEP, max(0, offset - prev))
        prev += step
        flag = 2 if active is None else int(bool(active))
        out += SAMPLE.pack(step | flag << 14, _dw(gpu), _dw(cpu))
    return bytes(out)


def unpack(t0: float, data: bytes) -> Iterator[Sample]:
    offset = 0
    for word, gpu, cpu in SAMPLE.iter_unpack(data):
        offset += word & MAX_STEP
        flag = word >> 14
        yield (t0 + offset / 100, _w(gpu), _w(cpu), None if flag == 2 else flag)


def quantise(row: Sample) -> Sample:
    """The sample as it reads back after packing (timestamps are kept to 10 ms)."""
    ts, gpu, cpu, active = row
    return ts, _w(_dw(gpu)), _w(_dw(cpu)), None if active is None else int(bool(active))



def known_total(gpu_wh: float | None, cpu_wh: float | None) -> float | None:
    """GPU + CPU where at least one is known; None (unknown, never 0) when neither is."""
    if gpu_wh is None and cpu_wh is None:
        return None
    return (gpu_wh or 0.0) + (cpu_wh or 0.0)

@dataclass(slots=True)
class Totals:
    """Energy and time integrated from samples. Energies are None when never known."""

    gpu_wh: float | None = None
    cpu_wh: float | None = None
    active_s: float = 0.0
    unknown_s: float = 0.0
    peak_w: float | None = None
    first_ts: float | None = None
    last_ts: float | None = None

    @property
    def total_wh(self) -> float | None:
        return known_total(self.gpu_wh, self.cpu_wh)

    @property
    def duration_s(self) -> float:
        if self.first_ts is None or self.last_ts is None:
            return 0.0
        return self.last_ts - self.first_ts


def _peak(gpu: float | None, cpu: float | None) -> float | None:
    # Peak of the measured parts: an unknown part is left out, not counted as 0 W.
    if gpu is None and cpu is None:
        return None
    return (gpu or 0.0) + (cpu or 0.0)


def intervals(
    samples: Sequence[Sample],
) -> Iterator[tuple[float, float, float | None, float | None, bool, bool]]:
    """(start, seconds, gpu_wh, cpu_wh, active, gap) per pair of consecutive samples.

    Trapezoids between two known readings; an interval with an unknown end is unknown.
    """
    for (t_a, g_a, c_a, act), (t_b, g_b, c_b, _act) in zip(samples, samples[1:], strict=False):
        dt = t_b - t_a
        if dt <= 0:
            continue
        if dt > MAX_GAP_S:
            yield t_a, dt, None, None, False, True
            continue
        gpu = (g_a + g_b) * dt / 7200 if g_a is not None and g_b is not None else None
        cpu = (c_a + c_b) * dt / 7200 if c_a is not None and c_b is not None else None
        yield t_a, dt, gpu, cpu, bool(act), False


def integrate(samples: Sequence[Sample]) -> Totals:
    tot = Totals()
    if not samples:
        return tot
    tot.first_ts, tot.last_ts = samples[0][0], samples[-1][0]
    for _t, dt, gpu, cpu, active, _gap in intervals(samples):
        if gpu is not None:
            tot.gpu_wh = (tot.gpu_wh or 0.0) + gpu
        if cpu is not None:
            tot.cpu_wh = (tot.cpu_wh or 0.0) + cpu
        if gpu is None and cpu is None:
            tot.unknown_s += dt
        if active:
            tot.active_s += dt
    peaks = [p for p in (_peak(s[1], s[2]) for s in samples) if p is not None]
    tot.peak_w = max(peaks) if peaks else None
    return tot


def _tenths(seconds: float) -> int:
    # Never round a known stretch down to 0: 0 means "no known reading in this minute".
    return min(NONE16, max(1, round(seconds * 10))) if seconds > 0 else 0


def minute_records(samples: Sequence[Sample]) -> dict[int, bytes]:
    """Per-minute aggregates packed per hour: {hour epoch s: blob}. Each interval counts in the
    minute it starts in, so the sum over minutes equals `integrate()` to the µWh."""
    acc: dict[int, list[float]] = {}  # minute epoch -> gpu_wh, cpu_wh, gpu_s, cpu_s, peak, act_s
    for t, dt, gpu, cpu, active, gap in intervals(samples):
        if gap:
            continue
        m = acc.setdefault(int(t // 60) * 60, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
        if gpu is not None:
            m[0] += gpu
            m[2] += dt
        if cpu is not None:
            m[1] += cpu
            m[3] += dt
        if active:
            m[5] += dt
    for ts, gpu_w, cpu_w, _a in samples:
        p = _peak(gpu_w, cpu_w)
        slot = acc.get(int(ts // 60) * 60)
        if p is not None and slot is not None:
            slot[4] = max(slot[4], p)
    hours: dict[int, bytearray] = {}
    for minute in sorted(acc):
        g, c, gs, cs, peak, act = acc[minute]
        hour = minute - minute % 3600
        hours.setdefault(hour, bytearray()).extend(
            MINUTE.pack(
                (minute - hour) // 60,
                min(0xFFFFFFFF, round(g * 1e6)),
                min(0xFFFFFFFF, round(c * 1e6)),
                _tenths(gs),
                _tenths(cs),
                _dw(peak),
                min(0xFF, round(act)),
            )
        )
    return {hour: bytes(blob) for hour, blob in hours.items()}


MinuteRecord = tuple[int, "float | None", "float | None", float, float, "float | None", float]


def unpack_minutes(hour: int, data: bytes) -> Iterator[MinuteRecord]:
    """(minute epoch, gpu_wh, cpu_wh, gpu_s, cpu_s, peak_w, active_s); energy None when unknown."""
    for minute, g, c, gs, cs, peak, act in MINUTE.iter_unpack(data):
        yield (
            hour + minute * 60,
            g / 1e6 if gs else None,
            c / 1e6 if cs else None,
            gs / 10,
            cs / 10,
            _w(peak),
            float(act),
        )
