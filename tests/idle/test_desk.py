"""The engine's idle-waste part on hand-made snapshots: what freeing saved goes to the right
session, auto-free happens once per idle stretch, and nothing blocks the caller."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from tray_app.idle.desk import IdleDesk
from tray_app.idle.release import Answer
from tray_app.measure.monitor import Snapshot, SourceState
from tray_app.measure.sensors.base import Kind, Method

PID = 4242
KEY = ("comfyui", PID)


@dataclass(frozen=True)
class Tool:
    tool: str = "comfyui"
    pid: int = PID
    pids: tuple[int, ...] = (PID,)
    port: int | None = 8188

    def display_name(self) -> str:
        return "ComfyUI"


def snap(wall: float, watts: float, mb: float | None, busy: bool = False) -> Snapshot:
    procs = ((PID, mb),) if mb is not None else ()
    gpu = SourceState(source="nvidia:0", kind=Kind.GPU, label="RTX", method=Method.COUNTER,
                      power_w=watts, energy_j=0.0, unknown_s=0.0, busy=busy,
                      pids=tuple(p for p, _ in procs), process_memory_mb=procs)
    return Snapshot(t=wall, wall=wall, sources=(gpu,))


ACCEPTED = Answer("http://127.0.0.1:8188/free", 200, True)


class Rig:
    def __init__(self, answer: Answer = ACCEPTED) -> None:
        self.queue: list = []
        self.sent: list = []
        self.writes: list = []
        self.answered = threading.Event()
        self.answer = answer
        self.desk = IdleDesk(self.submit, self, idle_waste_min=1, idle_power_w=20.0,
                             window_s=30.0, sender=self.send)

    def submit(self, fn) -> None:
        self.queue.append(fn)
        self.answered.set()

    def send(self, target, ports):
        self.sent.append((target.tool, list(ports)))
        return self.answer

    def update_session(self, session_id: int, **fields) -> None:
        self.writes.append((session_id, fields))

    def drain(self) -> None:
        assert self.answered.wait(5), "the release thread never answered"
        while self.queue:
            self.queue.pop(0)()


def test_saved_energy_goes_to_the_tools_last_session_even_after_a_split():
    rig = Rig()
    tools = {KEY: Tool()}
    rig.desk.step(snap(0.0, 65.0, 5120), tools, {KEY: 7})
    rig.desk.step(snap(1.0, 65.0, 5120), tools, {})  # the tracker split the idle session
    assert rig.desk.request(Tool(), None, "user", snap(1.0, 65.0, 5120))
    assert not rig.desk.request(Tool(), None, "user", None)  # one at a time
    rig.drain()
    t = 2.0
    while not rig.desk.finished:
        rig.desk.step(snap(t, 20.0, 400), tools, {})
        t += 1.0
    (outcome,) = rig.desk.finished
    assert (outcome.before_w, outcome.after_w, outcome.freed_mb) == (65.0, 20.0, 4720.0)
    for _ in range(120):
        rig.desk.step(snap(t, 20.0, 400), tools, {})
        t += 1.0
    rig.desk.step(snap(t, 300.0, 5120, busy=True), tools, {})  # it generates again: stop counting
    session, fields = rig.writes[-1]
    assert session == 7
    assert fields["saved_wh"] == pytest.approx(45.0 * 121 / 3600, rel=0.02)
    assert rig.desk.saved_wh(7) == pytest.approx(fields["saved_wh"])


def test_a_refusal_is_reported_with_the_before_figures_and_nothing_after():
    rig = Rig(Answer("http://127.0.0.1:7860/sdapi/v1/unload-checkpoint", 404, False, "no API"))
    tools = {KEY: Tool()}
    rig.desk.step(snap(0.0, 65.0, 5120), tools, {KEY: 7})
    rig.desk.request(Tool(), 7, "user", snap(0.0, 65.0, 5120))
    rig.drain()
    rig.desk.step(snap(1.0, 65.0, 5120), tools, {KEY: 7})
    (outcome,) = rig.desk.finished
    assert (outcome.accepted, outcome.before_w, outcome.after_w) == (False, 65.0, None)
    assert outcome.message() == "no API" and rig.writes == []


def test_auto_free_asks_once_per_idle_stretch():
    rig = Rig(Answer(None, None, False, "no answer"))
    tools = {KEY: Tool()}
    for t in range(200):
        rig.desk.step(snap(float(t), 65.0, 5120), tools, {KEY: 7}, auto_free=True)
        rig.queue and rig.drain()
    assert len(rig.sent) == 1  # a tool that did not answer is not asked again and again
    rig.desk.step(snap(200.0, 300.0, 5120, busy=True), tools, {KEY: 7}, auto_free=True)
    for t in range(201, 300):  # a new idle stretch after it worked
        rig.desk.step(snap(float(t), 65.0, 5120), tools, {KEY: 7}, auto_free=True)
        rig.queue and rig.drain()
    assert len(rig.sent) == 2


def test_a_tool_that_leaves_the_gpu_entirely_is_measured_on_the_gpu_it_was_on():
    rig = Rig()
    tools = {KEY: Tool()}
    rig.desk.step(snap(0.0, 65.0, 5120), tools, {KEY: 7})
    rig.desk.request(Tool(), None, "user", snap(0.0, 65.0, 5120))
    rig.drain()
    t = 1.0
    while not rig.desk.finished:
        rig.desk.step(snap(t, 20.0, None), tools, {KEY: 7})  # no longer in the process list
        t += 1.0
    (outcome,) = rig.desk.finished
    assert (outcome.after_w, outcome.after_mem_mb, outcome.freed_mb) == (20.0, 0.0, 5120.0)
    assert outcome.message() == "Freed 5.0\u00a0GB; idle draw fell from 65\u00a0W to 20\u00a0W."
