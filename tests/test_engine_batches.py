"""Where nobody watches each snapshot (`monitor --quiet`), the engine works 1 s snapshots out in
5 s batches: the same samples and totals, committed as often as before (a kill -9 still loses
less than 5 s), a click acted on at once, nothing dropped at stop; a live listener still gets
every status."""

from __future__ import annotations

import pytest

from tests.test_engine_cadence import Collecting, FakeScanner, comfyui
from tests.test_monitor import Clock, CounterGpu
from tray_app.measure.monitor import Monitor
from tray_app.runtime.engine import BATCH_S, Engine
from tray_app.store import Store


def watts(t: float) -> float:
    """Bursty, so every sample differs: 60 W resting, 280 W in 3 s out of every 7."""
    return 280.0 if int(t) % 7 < 3 else 60.0


class Live(Collecting):
    """A listener that shows every status (the tray)."""

    status_every_s = 0.0


def rig(tmp_path, name: str, listener=None):
    clock = Clock()
    gpu = CounterGpu(clock, watts)
    monitor = Monitor([gpu], interval_s=1.0, clock=clock, wall=clock)
    scanner = FakeScanner()
    scanner.clock = clock
    scanner.tools = [comfyui()]
    path = tmp_path / f"{name}.sqlite3"
    engine = Engine(listener or Collecting(), monitor=monitor, store=Store.open(path),
                    scanner=scanner, clock=clock)  # fmt: skip
    parts = engine.start()
    ticks: list[float] = []
    tick = engine.tick

    def counted(snap, parts, held=()):
        ticks.append(snap.t)
        tick(snap, parts, held)

    engine.tick = counted  # type: ignore[method-assign]
    return clock, monitor, engine, parts, path, ticks


def drive(engine: Engine, monitor: Monitor, clock: Clock, seconds: float, *, batched: bool,
          each=None) -> None:  # fmt: skip
    """Run the loop on the fake clock: through on_snapshot as Engine.run does (batched), or a
    tick for every snapshot (the reference)."""
    end = clock.t + seconds
    while clock.t < end:
        snap = monitor.poll()
        if snap is not None:
            if batched:
                engine.on_snapshot(snap, engine.parts)
            else:
                engine.tick(snap, engine.parts)
            if each is not None:
                each(snap)
        clock.t = max(monitor.next_wakeup(), clock.t + 1e-6)


def committed(path, sid: int) -> list[tuple]:
    """What another process (recovery after a kill -9) would find in the file now."""
    with Store.open(path) as other:
        return other.session_curve(sid)


def test_quiet_batches_store_the_same_samples_and_totals_as_one_tick_a_second(tmp_path):
    _, ref_mon, ref, _, ref_path, ref_ticks = rig(tmp_path, "reference")
    clock, monitor, engine, parts, path, ticks = rig(tmp_path, "batched")
    drive(ref, ref_mon, ref_mon._clock, 120, batched=False)  # type: ignore[arg-type]
    drive(engine, monitor, clock, 120, batched=True)
    assert len(ref_ticks) >= 115
    # Worked out in batches: one pass every 5 s, not every second (the point of it).
    assert len(ticks) <= 120 / BATCH_S + 3
    (ref_s,) = ref.tracker.sessions.values()
    (s,) = engine.tracker.sessions.values()
    ref.shutdown()
    engine.shutdown()  # the seconds of the last batch, worked out at stop
    with Store.open(ref_path) as a, Store.open(path) as b:
        assert b.session_curve(s.id) == a.session_curve(ref_s.id)  # every 1 s sample, same values
        (row_a,), (row_b,) = a.list_sessions(), b.list_sessions()
    assert row_b["gpu_wh"] > 0
    for field in ("gpu_wh", "cpu_wh", "machine_wh", "active_s", "duration_s", "peak_w",
                  "start_ts", "end_ts"):  # fmt: skip
        assert row_b[field] == pytest.approx(row_a[field]), field


def test_a_quiet_batch_never_leaves_more_than_5_s_of_samples_uncommitted(tmp_path):
    clock, monitor, engine, parts, path, ticks = rig(tmp_path, "batched")
    drive(engine, monitor, clock, 3, batched=True)  # the session opens at the first detection
    (s,) = engine.tracker.sessions.values()
    lags: list[float] = []

    def lag(snap) -> None:
        curve = committed(path, s.id)
        lags.append(snap.wall - (curve[-1][0] if curve else s.start_ts))

    drive(engine, monitor, clock, 40, batched=True, each=lag)
    assert len(ticks) <= 40 / BATCH_S + 3  # batched all along
    # A kill -9 right now would lose what is not committed: under 5 s, as with a tick a second.
    assert max(lags) < BATCH_S + 0.01
    engine.shutdown()


def test_a_click_during_a_batch_is_acted_on_at_once_and_the_held_seconds_still_count(tmp_path):
    clock, monitor, engine, parts, path, ticks = rig(tmp_path, "batched")
    drive(engine, monitor, clock, 12, batched=True)
    (tool,) = engine.tracker.sessions.values()
    worked_until = tool.last_ts
    clock.t = monitor.last.t + 0.5
    clicked = clock.t
    engine.start_manual_session()  # wakes the monitor: the next poll is a snapshot now
    snap = monitor.poll()
    assert snap is not None
    engine.on_snapshot(snap, parts)
    manual = engine.tracker.sessions[("manual", 0)]
    assert manual.start_ts == clicked
    assert tool.last_ts == clicked > worked_until  # the seconds held back were worked out first
    drive(engine, monitor, clock, 10, batched=True)
    engine.shutdown()
    with Store.open(path) as store:
        rows = {r["tool"]: r for r in store.list_sessions()}
    assert rows["comfyui"]["end_ts"] >= clicked + 9


def test_stopping_in_the_middle_of_a_batch_loses_none_of_it(tmp_path):
    clock, monitor, engine, parts, path, ticks = rig(tmp_path, "batched")
    drive(engine, monitor, clock, 22.5, batched=True)
    (s,) = engine.tracker.sessions.values()
    held_until = monitor.last.wall
    assert s.last_ts < held_until  # some seconds are waiting for their batch
    engine.shutdown()
    with Store.open(path) as store:
        (row,) = store.list_sessions()
        curve = store.session_curve(s.id)
    assert row["end_ts"] == held_until and curve[-1][0] == held_until
    truth_wh = sum(watts(t) for t in range(int(s.start_ts) + 1, int(held_until) + 1)) / 3600
    assert row["gpu_wh"] == pytest.approx(truth_wh, rel=1e-6)


def test_a_live_listener_still_gets_every_snapshot_worked_out_and_shown(tmp_path):
    listener = Live()
    clock, monitor, engine, parts, path, ticks = rig(tmp_path, "live", listener)
    drive(engine, monitor, clock, 30, batched=True)
    assert len(ticks) >= 28 and len(listener.statuses) >= 28  # the tray's figure, each second
    engine.shutdown()
