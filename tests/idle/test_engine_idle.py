"""Idle waste through the real engine: fake GPU driver, a detected tool, a frozen wall clock that
advances one second per snapshot (the driver's trace runs in real time)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.fixtures.fake_nvml import FakeGpu, FakeProcess, Segment
from tray_app.config.file import save_settings
from tray_app.detect.scanner import DetectedTool
from tray_app.measure.monitor import Monitor
from tray_app.measure.sensors.nvml import discover_nvidia
from tray_app.runtime.engine import Engine
from tray_app.store import Store

TOOL_PID = 424242


class OneTool:
    """A scanner that always sees one ComfyUI (pid TOOL_PID); no process needed."""

    def __init__(self) -> None:
        self.tool = DetectedTool("comfyui", "ComfyUI", TOOL_PID, "python3", Path("/opt/ComfyUI"),
                                 frozenset({0}), None, (TOOL_PID,))

    def scan(self, gpu_pids: object = None) -> list[DetectedTool]:
        return [self.tool]

    def set_patterns(self, patterns: object) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.mono, self.wall = 1000.0, 1_800_000_000.0

    def tick(self) -> None:
        self.mono += 1.0
        self.wall += 1.0


class Recorder:
    def __init__(self) -> None:
        self.statuses: list = []
        self.reminders: list = []
        self.releases: list = []

    def on_status(self, status) -> None:
        self.statuses.append(status)

    def on_reminder(self, reminder) -> None:
        self.reminders.append(reminder)

    def on_problem(self, message: str) -> None:
        pass

    def on_release(self, outcome) -> None:
        self.releases.append(outcome)


def make_engine(fake_nvml, processes, settings: dict, generating_s: float = 3.0):
    trace = [Segment(generating_s, 300.0, 97.0), Segment(36000.0, 65.0, 0.0)]
    rig = fake_nvml(FakeGpu(trace=trace, processes=processes))
    save_settings({"idle_power_w": 20.0, "reminders.idle_waste_min": 1, **settings})
    clock = Clock()
    monitor = Monitor(list(discover_nvidia().sensors), interval_s=1.0,
                      clock=lambda: clock.mono, wall=lambda: clock.wall)
    listener = Recorder()
    engine = Engine(listener, monitor, interval_s=1.0, store=Store.open(":memory:"),
                    scanner=OneTool(), clock=lambda: clock.wall)
    engine._count_images = lambda now: None  # no image counting against a port nobody owns
    engine._setup()
    return rig, clock, engine, listener


def step(engine: Engine, clock: Clock) -> object:
    clock.tick()
    snap = engine._monitor.poll()
    assert snap is not None
    engine._on_snapshot(snap)
    return engine.listener.statuses[-1]


def test_a_tool_holding_the_gpu_idle_is_due_after_a_minute_of_idleness_not_before(fake_nvml):
    rig, clock, engine, listener = make_engine(
        fake_nvml, [FakeProcess(TOOL_PID, 5120)], {"reminders.cooldown_min": 0})
    generating = 0
    while rig.t() < 2.5:  # generating at 300 W: never waste
        status = step(engine, clock)
        assert status.idle_waste == ()
        generating += 1
        time.sleep(0.1)
    assert generating >= 5
    while rig.t() < 3.1:
        time.sleep(0.05)  # now idle at 65 W, holding 5 GB
    first_idle = None
    for _ in range(120):
        status = step(engine, clock)
        if status.idle_waste and first_idle is None:
            first_idle = clock.wall
        if status.idle_waste and status.idle_waste[0].due:
            break
    (waste,) = status.idle_waste
    assert first_idle is not None and clock.wall - first_idle == pytest.approx(60.0, abs=1.0)
    assert (waste.tool, waste.holding_mb, waste.floor_w) == ("comfyui", 5120, 20.0)
    assert waste.power_w == pytest.approx(65.0)
    for _ in range(6):  # reminders are evaluated every 5 s
        step(engine, clock)
    (rem,) = [r for r in listener.reminders if r.rule == "idle_waste"]
    assert 60.0 <= rem.ts - first_idle <= 65.0  # after a minute of idleness, and not before
    assert "ComfyUI" in rem.title + rem.body
    assert "5.0 GB" in rem.body and "45 W" in rem.body
    assert (rem.values["idle_tool"], rem.values["idle_pid"]) == ("comfyui", TOOL_PID)
    # Recorded in the history, as `raison-garder reminders` lists it.
    (row,) = [r for r in engine._store.list_reminders() if r["rule"] == "idle_waste"]
    assert row["ts"] == rem.ts
    for _ in range(120):  # once per idle stretch, however long it lasts
        step(engine, clock)
    assert len([r for r in listener.reminders if r.rule == "idle_waste"]) == 1


def test_a_tool_that_does_not_hold_the_gpu_never_wastes(fake_nvml):
    # Another program holds the 65 W; the tool runs but is not on the GPU.
    rig, clock, engine, listener = make_engine(fake_nvml, [FakeProcess(999, 5120)], {}, generating_s=0.1)
    time.sleep(0.2)
    for _ in range(200):
        assert step(engine, clock).idle_waste == ()
    assert not [r for r in listener.reminders if r.rule == "idle_waste"]
