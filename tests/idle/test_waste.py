"""The idle-waste detector, on hand-made snapshots with a frozen clock."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tray_app.idle.waste import IdleWasteDetector
from tray_app.measure.monitor import SourceState
from tray_app.measure.sensors.base import Kind, Method

COMFY = 4242


@dataclass(frozen=True)
class Tool:
    tool: str = "comfyui"
    pid: int = COMFY
    pids: tuple[int, ...] = (COMFY,)


def gpu(watts: float | None, busy: bool | None = False, procs: dict[int, float | None] | None = None,
        source: str = "nvidia:0") -> SourceState:
    memory = tuple(sorted((procs or {}).items()))
    return SourceState(source=source, kind=Kind.GPU, label="RTX", method=Method.COUNTER, power_w=watts,
                       energy_j=0.0, unknown_s=0.0, busy=busy, pids=tuple(p for p, _ in memory),
                       process_memory_mb=memory)


def run(det: IdleWasteDetector, seconds: int, start: float, **kw) -> float:
    """Feed the same state once per second; returns the wall time reached."""
    t = start
    for _ in range(seconds):
        det.update(t, **kw)
        t += 1.0
    return t


def test_a_loaded_idle_tool_is_due_after_the_delay_and_not_before():
    det = IdleWasteDetector(idle_waste_min=1)
    t = run(det, 30, 1000.0, sources=[gpu(20.0)], tools=[])  # learn the floor, no tool yet
    t = run(det, 5, t, sources=[gpu(300.0, busy=True, procs={COMFY: 5120})], tools=[Tool()])
    assert det.current == ()  # generating is not waste
    t = run(det, 59, t, sources=[gpu(65.0, procs={COMFY: 5120})], tools=[Tool()])
    (waste,) = det.current
    assert not waste.due and waste.idle_s == pytest.approx(58.0)
    det.update(t + 1.0, sources=[gpu(65.0, procs={COMFY: 5120})], tools=[Tool()])
    (waste,) = det.current
    assert waste.due
    assert (waste.holding_mb, waste.floor_w, waste.extra_w) == (5120, 20.0, 45.0)
    assert waste.kwh_per_day == pytest.approx(1.08)


def test_a_tool_that_does_not_hold_the_gpu_never_wastes():
    det = IdleWasteDetector(idle_waste_min=1, idle_power_w=20.0)
    # Running, but its process is not on the GPU (another program keeps it at 65 W).
    run(det, 600, 0.0, sources=[gpu(65.0, procs={999: 4000})], tools=[Tool()])
    assert det.current == ()
    # On the GPU with a bare CUDA context only: nothing worth freeing.
    run(det, 600, 600.0, sources=[gpu(65.0, procs={COMFY: 380})], tools=[Tool()])
    assert det.current == ()


def test_the_floor_is_learned_only_while_no_tool_holds_the_gpu():
    det = IdleWasteDetector(idle_waste_min=1)
    run(det, 10, 0.0, sources=[gpu(18.0, procs={77: 200})], tools=[])  # a desktop's compositor
    # Hours with the tool holding the GPU must not teach the floor its 65 W.
    run(det, 3600, 10.0, sources=[gpu(65.0, procs={COMFY: 5120})], tools=[Tool()])
    assert det.floor_w("nvidia:0") == 18.0
    assert det.current[0].extra_w == 47.0


def test_without_a_known_floor_or_utilisation_it_says_nothing():
    det = IdleWasteDetector(idle_waste_min=1)
    run(det, 120, 0.0, sources=[gpu(65.0, procs={COMFY: 5120})], tools=[Tool()])
    assert det.current == ()  # never saw the GPU without the tool: no floor, no claim
    det = IdleWasteDetector(idle_waste_min=1, idle_power_w=20.0)
    run(det, 120, 0.0, sources=[gpu(65.0, busy=None, procs={COMFY: 5120})], tools=[Tool()])
    assert det.current == ()  # utilisation unknown: it may be generating


def test_a_tool_whose_queue_is_busy_is_not_idle_and_the_delay_starts_again():
    det = IdleWasteDetector(idle_waste_min=1, idle_power_w=20.0)
    state = {"sources": [gpu(65.0, procs={COMFY: 5120})], "tools": [Tool()]}
    t = run(det, 50, 0.0, **state)
    t = run(det, 1, t, generating={("comfyui", COMFY): True}, **state)  # a prompt was queued
    assert det.current == ()
    run(det, 50, t, **state)
    assert not det.current[0].due  # 50 s since the queue emptied, not 100


def test_close_to_the_floor_is_not_waste():
    det = IdleWasteDetector(idle_waste_min=1, idle_power_w=20.0)
    run(det, 120, 0.0, sources=[gpu(27.0, procs={COMFY: 5120})], tools=[Tool()])
    assert det.current == ()


def test_memory_the_driver_cannot_tell_still_counts_as_holding():
    det = IdleWasteDetector(idle_waste_min=1, idle_power_w=20.0)
    run(det, 61, 0.0, sources=[gpu(65.0, procs={COMFY: None})], tools=[Tool()])
    (waste,) = det.current
    assert waste.due and waste.holding_mb is None


def test_a_tool_with_a_bare_context_does_not_stop_the_floor_being_learned():
    # ComfyUI loads models at the first prompt: started, it holds a context only. So does a
    # tool right after freeing. The floor learned then is the one freeing can reach.
    det = IdleWasteDetector(idle_waste_min=1)
    run(det, 10, 0.0, sources=[gpu(24.0, procs={COMFY: 380})], tools=[Tool()])
    assert det.floor_w("nvidia:0") == 24.0
    run(det, 61, 10.0, sources=[gpu(66.0, procs={COMFY: 6000})], tools=[Tool()])
    assert det.floor_w("nvidia:0") == 24.0 and det.current[0].due
    det2 = IdleWasteDetector(idle_waste_min=1)
    run(det2, 10, 0.0, sources=[gpu(24.0, procs={COMFY: None})], tools=[Tool()])
    assert det2.floor_w("nvidia:0") is None  # how much it holds is unknown: learn nothing
