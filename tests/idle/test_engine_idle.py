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
from tray_app.runtime.images import ImageCounts
from tray_app.store import Store

TOOL_PID = 424242


LABELS = {"comfyui": "ComfyUI", "a1111": "AUTOMATIC1111 Stable Diffusion WebUI"}


class OneTool:
    """A scanner that always sees one tool (pid TOOL_PID); no process needed."""

    def __init__(self, tool: str = "comfyui", port: int | None = None) -> None:
        self.tool = DetectedTool(tool, LABELS[tool], TOOL_PID, "python3", Path("/opt/tool"),
                                 frozenset({0}), port, (TOOL_PID,))

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

    def on_settings(self, settings, changed) -> None:
        pass


def make_engine(fake_nvml, processes, settings: dict, generating_s: float = 3.0, trace=None,
                port: int | None = None, tool: str = "comfyui"):
    trace = trace or [Segment(generating_s, 300.0, 97.0), Segment(36000.0, 65.0, 0.0)]
    rig = fake_nvml(FakeGpu(trace=trace, processes=processes))
    save_settings({"idle_power_w": 20.0, "reminders.idle_waste_min": 1, **settings})
    clock = Clock()
    monitor = Monitor(list(discover_nvidia().sensors), interval_s=1.0,
                      clock=lambda: clock.mono, wall=lambda: clock.wall)
    listener = Recorder()
    engine = Engine(listener, monitor, interval_s=1.0, store=Store.open(),
                    scanner=OneTool(tool, port), clock=lambda: clock.wall)
    engine.images = ImageCounts(NoCounting)  # no image counting against a port nobody owns
    engine.start()
    return rig, clock, engine, listener


class NoCounting:
    def submit(self, jobs, dirs, now) -> bool:
        return False

    def take(self) -> None:
        return None

    def close(self) -> None:
        pass


def step(engine: Engine, clock: Clock) -> object:
    clock.tick()
    parts = engine.parts
    assert parts is not None and isinstance(parts.monitor, Monitor)
    snap = parts.monitor.poll()
    assert snap is not None
    engine.tick(snap, parts)
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
    assert "5.0\u00a0GB" in rem.body and "45\u00a0W" in rem.body
    assert (rem.values["idle_tool"], rem.values["idle_pid"]) == ("comfyui", TOOL_PID)
    # Recorded in the history, as `raison-garder reminders` lists it.
    (row,) = [r for r in engine.parts.store.list_reminders() if r["rule"] == "idle_waste"]
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


def wait_for_answer(engine: Engine, clock: Clock, listener: Recorder, timeout_s: float = 10.0) -> None:
    """Step (without letting wall time run) until the release thread's answer is taken in."""
    deadline = time.monotonic() + timeout_s
    idle = engine.parts.idle
    while idle._pending and not any(j.answer for j in idle._pending.values()):
        assert time.monotonic() < deadline, "the release request never came back"
        time.sleep(0.05)
        engine.run_commands()  # where the worker takes the answer in, between two snapshots


def test_free_gpu_memory_asks_comfyui_measures_30_s_and_counts_what_it_saves(fake_nvml, fake_comfyui):
    rig, clock, engine, listener = make_engine(
        fake_nvml, [FakeProcess(TOOL_PID, 5120, held_w=45.0)], {"reminders.cooldown_min": 0},
        trace=[Segment(36000.0, 20.0, 0.0)], port=fake_comfyui.port)
    fake_comfyui.on_free = lambda body: rig.set_processes(0, [FakeProcess(TOOL_PID, 400)])
    for _ in range(5):
        status = step(engine, clock)
    assert status.idle_waste  # holding 5 GB at 65 W, 45 W above the floor
    engine.free_gpu_memory(status.idle_waste[0].key)
    step(engine, clock)  # the command runs: the request leaves on its own thread
    wait_for_answer(engine, clock, listener)
    assert fake_comfyui.posts == [("/free", {"unload_models": True, "free_memory": True})]
    asked_at = clock.wall
    while not listener.releases:
        status = step(engine, clock)
        time.sleep(0.1)  # real time: the fake unloads 0.3 s after answering; NVML caches pids 2 s
        assert clock.wall - asked_at <= 32, "no outcome after the 30 s window"
    (outcome,) = listener.releases
    assert 29 <= clock.wall - asked_at <= 32
    assert (outcome.accepted, outcome.http_status) == (True, 200)
    assert (outcome.before_w, outcome.after_w) == (pytest.approx(65.0, abs=1), pytest.approx(20.0, abs=1))
    assert (outcome.before_mem_mb, outcome.after_mem_mb) == (pytest.approx(5120), pytest.approx(400))
    assert outcome.message() == "Freed 4.6\u00a0GB; idle draw fell from 65\u00a0W to 20\u00a0W."
    assert status.idle_waste == ()  # nothing wasted any more
    # Every idle second after that is 45 W not drawn: an estimate, written to the session.
    for _ in range(120):
        step(engine, clock)
    engine.shutdown()
    with Store.open() as store:
        (session,) = store.list_sessions()
    assert session["saved_wh"] == pytest.approx(45.0 * 120 / 3600, rel=0.05)


def test_a_webui_without_its_api_is_explained_not_forced(fake_nvml, fake_webui):
    webui = fake_webui(api=False)
    rig, clock, engine, listener = make_engine(
        fake_nvml, [FakeProcess(TOOL_PID, 5120, held_w=45.0)], {},
        trace=[Segment(36000.0, 20.0, 0.0)], port=webui.port, tool="a1111")
    step(engine, clock)
    engine.free_gpu_memory(("a1111", TOOL_PID))
    step(engine, clock)
    wait_for_answer(engine, clock, listener)
    step(engine, clock)
    (outcome,) = listener.releases
    assert not outcome.accepted and outcome.http_status == 404
    assert "Add --api to its start options" in outcome.message()
    assert outcome.after_w is None  # nothing was done: nothing measured after


def test_auto_free_frees_after_the_delay_without_asking(fake_nvml, fake_comfyui):
    rig, clock, engine, listener = make_engine(
        fake_nvml, [FakeProcess(TOOL_PID, 5120, held_w=45.0)],
        {"reminders.idle_waste_auto_free": True, "reminders.cooldown_min": 0},
        trace=[Segment(36000.0, 20.0, 0.0)], port=fake_comfyui.port)
    for _ in range(59):
        step(engine, clock)
    assert fake_comfyui.posts == []  # not before the delay
    for _ in range(3):
        step(engine, clock)
    wait_for_answer(engine, clock, listener)
    assert [p for p, _b in fake_comfyui.posts] == ["/free"]
    assert not [r for r in listener.reminders if r.rule == "idle_waste"]  # freed, not asked
