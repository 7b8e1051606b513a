"""The engine's idle cadence: with nothing to attribute the monitor wakes every 5 s; a tool that
appears is picked up at the usual detection cadence, and a click is acted on at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_monitor import Clock, CounterGpu
from tray_app.detect.scanner import DetectedTool
from tray_app.measure.monitor import Monitor
from tray_app.runtime.engine import Engine
from tray_app.store import Store


class FakeScanner:
    def __init__(self) -> None:
        self.tools: list[DetectedTool] = []
        self.scans: list[float] = []
        self.clock: Clock | None = None

    def scan(self, gpu_pids=None) -> list[DetectedTool]:
        self.scans.append(self.clock.t if self.clock else 0.0)
        return list(self.tools)


def comfyui() -> DetectedTool:
    return DetectedTool(tool="comfyui", label="ComfyUI", pid=4242, exe_name="python3",
                        root=Path("/nowhere"), gpu_indices=frozenset(), port=None, pids=(4242,))


def rig():
    clock = Clock()
    gpu = CounterGpu(clock, lambda t: 40.0)
    monitor = Monitor([gpu], interval_s=1.0, clock=clock, wall=clock)
    scanner = FakeScanner()
    scanner.clock = clock
    engine = Engine(monitor=monitor, store=Store.open(":memory:"), scanner=scanner, clock=clock)
    engine.start()
    return clock, gpu, monitor, scanner, engine


def drive(engine: Engine, monitor: Monitor, clock: Clock, seconds: float) -> int:
    """Run the loop on the fake clock; returns how many snapshots were taken."""
    snaps = 0
    end = clock.t + seconds
    while clock.t < end:
        snap = monitor.poll()
        if snap is not None:
            snaps += 1
            engine.tick(snap, engine.parts)
        clock.t = max(monitor.next_wakeup(), clock.t + 1e-6)
    return snaps


def test_with_no_tool_the_engine_wakes_every_5_s_and_still_scans_every_5_s():
    clock, gpu, monitor, scanner, engine = rig()
    drive(engine, monitor, clock, 10)
    reads, scans = gpu.reads, len(scanner.scans)
    assert 11 <= drive(engine, monitor, clock, 60) <= 13  # a snapshot every 5 s, not every second
    assert gpu.reads - reads <= 13
    assert 11 <= len(scanner.scans) - scans <= 13  # tool detection keeps its 5 s cadence


def test_a_tool_that_appears_opens_a_session_within_one_detection_and_brings_1_s_ticks_back():
    clock, gpu, monitor, scanner, engine = rig()
    drive(engine, monitor, clock, 20)
    assert monitor.idle
    scanner.tools = [comfyui()]
    appeared = clock.t
    drive(engine, monitor, clock, 6)
    assert engine.tracker.sessions and not monitor.idle
    (session,) = engine.tracker.sessions.values()
    assert session.start_ts - appeared <= 5.5
    snaps = drive(engine, monitor, clock, 10)
    assert 9 <= snaps <= 11  # one a second for the session's samples and the tray's figure
    scanner.tools = []
    drive(engine, monitor, clock, 12)
    assert not engine.tracker.sessions and monitor.idle


def test_a_manual_session_starts_at_the_click_not_at_the_next_idle_snapshot():
    clock, gpu, monitor, scanner, engine = rig()
    drive(engine, monitor, clock, 12)
    clock.t = monitor.last.t + 2.0  # between two idle snapshots
    clicked = clock.t
    engine.start_manual_session()  # wakes the monitor
    snap = monitor.poll()
    assert snap is not None
    engine.tick(snap, engine.parts)
    (session,) = engine.tracker.sessions.values()
    assert session.manual and session.start_ts == clicked and not monitor.idle
    drive(engine, monitor, clock, 10)
    # Only what was drawn since the click: 40 W x ~10 s, not the idle interval before it.
    assert session.gpu_j <= 40.0 * (clock.t - clicked) + 1e-6


class Collecting:
    """A listener that shows nothing live: a status at most every 60 s, and the last one."""

    status_every_s = 60.0

    def __init__(self) -> None:
        self.statuses: list = []

    def on_status(self, status) -> None:
        self.statuses.append(status)

    def on_reminder(self, reminder) -> None:
        pass

    def on_problem(self, message) -> None:
        pass

    def on_release(self, outcome) -> None:
        pass


def test_a_listener_that_shows_nothing_live_gets_a_status_a_minute_and_the_last_one_at_stop():
    clock, gpu, monitor, scanner, engine = rig()
    listener = engine.listener = Collecting()
    scanner.tools = [comfyui()]
    snaps = drive(engine, monitor, clock, 125)
    assert snaps >= 115  # a session: 1 s snapshots all the same
    assert 2 <= len(listener.statuses) <= 3  # not 120 statuses built for nobody
    last = listener.statuses[-1]
    engine.shutdown()
    final = listener.statuses[-1]
    assert final is not last and final.snapshot is monitor.last  # the last snapshot, at the end
    assert final.session is not None and final.session.total_wh > 0  # built before closing
    assert final.session.total_wh == pytest.approx(40.0 * (final.snapshot.t - 100.0) / 3600,
                                                   rel=0.06)
