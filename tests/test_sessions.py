"""Session tracking from synthetic snapshots, with an in-memory store."""

from __future__ import annotations

import pytest

from tray_app.measure.monitor import Snapshot, SourceState
from tray_app.measure.sensors.base import Kind, Method
from tray_app.sessions.tracker import SessionTracker, ToolSeen


class MemoryStore:
    def __init__(self):
        self.sessions: dict[int, dict] = {}
        self.samples: dict[int, list] = {}

    def open_session(self, tool, exe_name, pids, gpu_indices, start_ts, manual=False):
        sid = len(self.sessions) + 1
        self.sessions[sid] = {"tool": tool, "start_ts": start_ts, "status": "open", "manual": manual,
                              "gpu_indices": list(gpu_indices)}
        self.samples[sid] = []
        return sid

    def add_samples(self, sid, rows):
        self.samples[sid].extend(rows)

    def update_session(self, sid, **fields):
        self.sessions[sid].update(fields)

    def close_session(self, sid, end_ts, status="complete", **totals):
        self.sessions[sid].update(totals, end_ts=end_ts, status=status)


class Rig:
    """Drives a tracker one second at a time with GPUs at chosen powers."""

    def __init__(self, gpus=1, split_min=10.0):
        self.store = MemoryStore()
        self.tracker = SessionTracker(self.store, idle_split_min=split_min)
        self.t = 0.0
        self.energy = {f"nvidia:{i}": 0.0 for i in range(gpus)} | {"rapl:package-0": 0.0}
        self.power = {k: 0.0 for k in self.energy}
        self.busy = {k: False for k in self.energy}
        self.tick()

    def tick(self, seconds: int = 1):
        for _ in range(seconds):
            self.t += 1.0
            for k, w in self.power.items():
                self.energy[k] += w
            sources = tuple(
                SourceState(source=k, kind=Kind.GPU if k.startswith("nvidia") else Kind.CPU, label=k,
                            method=Method.COUNTER, power_w=self.power[k], energy_j=self.energy[k],
                            unknown_s=0.0, busy=self.busy[k], power_limit_w=300.0 if k.startswith("nvidia") else None)
                for k in self.energy
            )
            self.tracker.update(Snapshot(t=self.t, wall=1_000_000 + self.t, sources=sources))

    def work(self, gpu="nvidia:0", watts=250.0, seconds=60):
        self.power[gpu], self.busy[gpu] = watts, True
        self.tick(seconds)

    def idle(self, gpu="nvidia:0", watts=30.0, seconds=60):
        self.power[gpu], self.busy[gpu] = watts, False
        self.tick(seconds)

    def tools(self, *tools):
        self.tracker.set_tools(tools, 1_000_000 + self.t)


COMFY = ToolSeen(tool="comfyui", label="ComfyUI", pid=4242, exe_name="python3")


def test_a_tool_run_becomes_one_session_with_its_energy():
    rig = Rig()
    rig.power["rapl:package-0"] = 20.0
    rig.tools(COMFY)
    rig.work(seconds=120)
    rig.idle(seconds=60)
    rig.tools()  # ComfyUI exits
    (sid, s), = rig.store.sessions.items()
    assert s["status"] == "complete" and s["tool"] == "comfyui"
    assert s["gpu_wh"] == pytest.approx((250 * 120 + 30 * 60) / 3600)
    assert s["cpu_wh"] == pytest.approx(20 * 180 / 3600)
    assert s["active_s"] == pytest.approx(120)
    assert s["idle_wh"] == pytest.approx((30 + 20) * 60 / 3600)
    assert s["duration_s"] == pytest.approx(180)
    assert s["energy_method"] == "counter"
    assert len(rig.store.samples[sid]) == 181  # one per second, and one at the start
    assert rig.store.samples[sid][0][0] == rig.store.sessions[sid]["start_ts"]


def test_a_tool_left_idle_is_split_and_reopens_when_it_works_again():
    rig = Rig(split_min=10)
    rig.tools(COMFY)
    rig.work(seconds=300)
    rig.idle(seconds=11 * 60)  # the user went to dinner
    assert rig.store.sessions[1]["status"] == "complete"
    assert rig.tracker.sessions == {}
    rig.idle(seconds=3600)  # still idle an hour later: no new session
    assert len(rig.store.sessions) == 1
    rig.work(seconds=60)
    rig.tools(COMFY)
    assert len(rig.store.sessions) == 2 and rig.store.sessions[2]["status"] == "open"


def test_two_tools_on_one_gpu_share_its_energy_without_double_counting():
    rig = Rig()
    rig.tools(COMFY, ToolSeen(tool="a1111", label="A1111", pid=99))
    rig.work(seconds=100)
    rig.tools()
    total = sum(s["gpu_wh"] for s in rig.store.sessions.values())
    assert total == pytest.approx(250 * 100 / 3600)


def test_a_tool_is_charged_only_for_the_gpu_it_uses():
    rig = Rig(gpus=2)
    tool = ToolSeen(tool="comfyui", label="ComfyUI", pid=1, gpu_indices=frozenset({1}))
    rig.tools(tool)
    rig.power["nvidia:0"], rig.busy["nvidia:0"] = 200.0, True  # a game on GPU 0
    rig.work(gpu="nvidia:1", watts=100.0, seconds=36)
    rig.tools()
    assert rig.store.sessions[1]["gpu_wh"] == pytest.approx(1.0)


def test_a_manual_session_covers_everything_until_stopped():
    rig = Rig()
    rig.tracker.start_manual(1_000_000 + rig.t)
    rig.work(seconds=36)
    rig.idle(watts=0.0, seconds=20 * 60)  # manual sessions are never split for idleness
    assert rig.tracker.sessions
    rig.tracker.stop_manual(1_000_000 + rig.t)
    s = rig.store.sessions[1]
    assert s["manual"] and s["status"] == "complete" and s["gpu_wh"] == pytest.approx(2.5)


def test_continuous_activity_survives_short_pauses_but_not_ten_minutes():
    rig = Rig()
    rig.tools(COMFY)
    rig.work(seconds=600)
    rig.idle(seconds=120)
    rig.work(seconds=60)
    s = rig.tracker.current()
    assert s.continuous_active_s(1_000_000 + rig.t) == pytest.approx(780, abs=2)
    rig.idle(seconds=9 * 60 + 59)
    rig.work(seconds=60)
    assert rig.tracker.current().continuous_active_s(1_000_000 + rig.t) < 120


def test_a_model_left_loaded_is_idle_from_its_first_second_though_it_draws_well_above_the_floor():
    # 65 W with the GPU doing nothing (utilisation known, low): the tool sits idle holding a
    # model. It is idle time and idle energy at once, not the first two minutes of "activity"
    # it took the learned floor to climb to 65 W.
    rig = Rig()
    rig.tools(COMFY)
    rig.idle(watts=20.0, seconds=30)  # the floor: 20 W
    rig.work(seconds=60)
    rig.idle(watts=65.0, seconds=120)
    (s,) = rig.tracker.sessions.values()
    assert s.active_s == pytest.approx(60)
    assert s.idle_j / 3600 == pytest.approx((20 * 30 + 65 * 120) / 3600)


def test_a_gpu_that_never_reports_utilisation_learns_its_floor_from_power_alone():
    # Intel and some AMD boards give power but no utilisation: busy is never known. The floor
    # is learned from the quiet stretches, and a long generation does not become the floor.
    rig = Rig()
    rig.busy["nvidia:0"] = None
    rig.tools(COMFY)
    rig.power["nvidia:0"] = 20.0
    rig.tick(30)
    rig.power["nvidia:0"] = 250.0
    rig.tick(600)  # ten minutes of work: the floor must not climb to 250 W meanwhile
    rig.power["nvidia:0"] = 22.0
    rig.tick(30)
    (s,) = rig.tracker.sessions.values()
    assert s.active_s == pytest.approx(600, abs=2)


def test_without_a_utilisation_reading_the_power_still_tells_work_from_rest():
    rig = Rig()
    rig.tools(COMFY)
    rig.idle(watts=20.0, seconds=30)
    rig.power["nvidia:0"], rig.busy["nvidia:0"] = 250.0, None  # a GPU that reports no utilisation
    rig.tick(60)
    (s,) = rig.tracker.sessions.values()
    assert s.active_s == pytest.approx(60)
