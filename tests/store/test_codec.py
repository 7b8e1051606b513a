"""Packed samples read back as written; energy integrates honestly (unknown is never 0 W)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tray_app.store import codec

T0 = 1.7e9


def test_pack_roundtrip_keeps_unknown_as_unknown():
    rows = [(T0, 250.3, None, 1), (T0 + 1.0, None, 41.7, 0), (T0 + 2.5, 0.0, 0.0, None)]
    back = list(codec.unpack(T0, codec.pack(T0, rows)))
    assert back == [codec.quantise(r) for r in rows]
    assert back[0][2] is None and back[1][1] is None  # not 0 W
    assert back[2][1] == 0.0 and back[2][3] is None


def test_appending_to_a_chunk_does_not_drift():
    rows = [(T0 + i * 1.003, 100.0, 10.0, 1) for i in range(600)]
    blob = codec.pack(T0, rows[:300]) + codec.pack(T0, rows[300:], last_ts=rows[299][0])
    back = list(codec.unpack(T0, blob))
    assert max(abs(a[0] - b[0]) for a, b in zip(rows, back, strict=True)) <= 0.0051


def test_integration_trapezoids_and_counts_unknown_time():
    rows = [
        (T0, 100.0, 20.0, 1),
        (T0 + 10, 200.0, 20.0, 1),
        (T0 + 20, None, None, 0),  # nothing known: both intervals touching it are unknown
        (T0 + 30, 300.0, 20.0, 0),
    ]
    tot = codec.integrate(rows)
    assert tot.gpu_wh == pytest.approx(150.0 * 10 / 3600)  # only the first interval is known
    assert tot.cpu_wh == pytest.approx(20.0 * 10 / 3600)
    assert tot.unknown_s == pytest.approx(20.0)
    assert tot.active_s == pytest.approx(20.0)
    assert tot.peak_w == 320.0


def test_a_long_silence_is_unknown_not_extrapolated():
    tot = codec.integrate([(T0, 100.0, None, 1), (T0 + 3600, 100.0, None, 1)])
    assert tot.gpu_wh is None and tot.total_wh is None
    assert tot.unknown_s == 3600


def test_nothing_known_gives_none_not_zero():
    tot = codec.integrate([(T0 + i, None, None, 1) for i in range(10)])
    assert tot.total_wh is None and tot.peak_w is None


sample_rows = st.lists(
    st.tuples(
        st.floats(0.05, 12.0),
        st.one_of(st.none(), st.floats(0, 1500)),
        st.one_of(st.none(), st.floats(0, 400)),
        st.sampled_from([0, 1, None]),
    ),
    min_size=2,
    max_size=400,
)


@settings(max_examples=60, deadline=None)
@given(sample_rows, st.floats(0, 3600))
def test_minute_aggregates_preserve_energy(steps, offset):
    t, rows = T0 + offset, []
    for dt, gpu, cpu, act in steps:
        t += dt
        rows.append(codec.quantise((t, gpu, cpu, act)))
    tot = codec.integrate(rows)
    minutes = [
        m
        for hour, blob in codec.minute_records(rows).items()
        for m in codec.unpack_minutes(hour, blob)
    ]
    gpu = sum(m[1] or 0.0 for m in minutes)
    cpu = sum(m[2] or 0.0 for m in minutes)
    assert gpu == pytest.approx(tot.gpu_wh or 0.0, abs=1e-6 * (len(minutes) + 1))
    assert cpu == pytest.approx(tot.cpu_wh or 0.0, abs=1e-6 * (len(minutes) + 1))
    assert sum(m[6] for m in minutes) == pytest.approx(tot.active_s, abs=0.5 * len(minutes) + 1e-9)
