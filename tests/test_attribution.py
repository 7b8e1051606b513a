"""Which session gets which energy: synthetic snapshots with exact ground truth.

Each second, every source draws a chosen power; the driver's process list, each process's SM
use and the CPU times are chosen too, so every expected figure is plain arithmetic.
"""

from __future__ import annotations

import pytest

from tests.test_sessions import MemoryStore
from tray_app.measure.monitor import Snapshot, SourceState
from tray_app.measure.processes import CpuTimes, ProcessCpu
from tray_app.measure.sensors.base import GpuProcess, Kind, Method
from tray_app.sessions.labels import (
    ATTRIBUTED,
    CPU_TIME,
    CPU_WHOLE,
    GPU_EQUAL,
    GPU_UNAVAILABLE,
    GPU_UTILISATION,
    SHARED,
    WHOLE_MACHINE,
    summary,
)
from tray_app.sessions.tracker import SessionTracker, ToolSeen

COMFY = ToolSeen(tool="comfyui", label="ComfyUI", pid=100, pids=(100, 101))
LOOKALIKE = ToolSeen(tool="comfyui", label="ComfyUI", pid=200)  # started with --cpu
FORGE = ToolSeen(tool="forge", label="Forge", pid=300)
GAME = 900  # a program that is no tool


class Rig:
    """One GPU and one CPU package, one second per tick."""

    def __init__(self, per_process: bool = True, cores: int = 8) -> None:
        self.store = MemoryStore()
        self.tracker = SessionTracker(self.store, per_process=per_process)
        self.cores = cores
        self.t = 0.0
        self.energy = {"nvidia:0": 0.0, "rapl:package-0": 0.0}
        self.power = {"nvidia:0": 300.0, "rapl:package-0": 20.0}
        # pid -> SM % ; None for the list = the driver gives no process list
        self.gpu_procs: dict[int, float | None] | None = {}
        self.cpu_rate: dict[int, float] = {}  # pid -> CPU seconds per second
        self.machine_busy_rate = 0.0  # busy CPU seconds per second, all cores
        self.cpu_known = True
        self.busy_s = 0.0
        self.by_pid: dict[int, float] = {}
        self.cpu_every = 1  # CPU times read every this many ticks (the monitor: every 5 s)
        self._cpu: CpuTimes | None = None
        self._ticks = 0
        self.tick()

    def tick(self, seconds: int = 1) -> None:
        for _ in range(seconds):
            self.t += 1.0
            for k, w in self.power.items():
                self.energy[k] += w
            self.busy_s += self.machine_busy_rate
            for pid, rate in self.cpu_rate.items():
                self.by_pid[pid] = self.by_pid.get(pid, 0.0) + rate
            procs = None if self.gpu_procs is None else tuple(
                GpuProcess(pid, 1000.0, sm) for pid, sm in sorted(self.gpu_procs.items()))
            sources = (
                SourceState("nvidia:0", Kind.GPU, "GPU", Method.COUNTER, self.power["nvidia:0"],
                            self.energy["nvidia:0"], 0.0, busy=True, processes=procs,
                            pids=None if procs is None else tuple(p.pid for p in procs)),
                SourceState("rapl:package-0", Kind.CPU, "CPU", Method.COUNTER,
                            self.power["rapl:package-0"], self.energy["rapl:package-0"], 0.0),
            )
            self._ticks += 1
            if self._cpu is None or self._ticks % self.cpu_every == 0:
                self._cpu = CpuTimes(self.busy_s, self.t * self.cores, dict(self.by_pid))
            # Between two reads a snapshot carries the last read's object again.
            cpu = self._cpu if self.cpu_known else None
            self.tracker.update(Snapshot(t=self.t, wall=1_000_000 + self.t, sources=sources,
                                         cpu_times=cpu))

    def tools(self, *tools: ToolSeen) -> None:
        self.tracker.set_tools(tools, 1_000_000 + self.t)

    def finish(self) -> list[dict]:
        self.tracker.close_all()
        return [self.store.sessions[k] for k in sorted(self.store.sessions)]


def test_a_tool_absent_from_the_process_list_gets_none_of_that_gpu():
    rig = Rig()
    rig.gpu_procs = {101: None}  # ComfyUI's worker holds the GPU alone: no utilisation asked
    rig.tools(COMFY, LOOKALIKE)
    rig.tick(100)
    comfy, lookalike = rig.finish()
    assert comfy["gpu_wh"] == pytest.approx(300 * 100 / 3600)
    assert lookalike["gpu_wh"] == 0.0
    assert comfy["gpu_attribution"] == GPU_UTILISATION
    assert lookalike["gpu_attribution"] is None  # it used no GPU: nothing to say how
    assert comfy["machine_wh"] == lookalike["machine_wh"] == pytest.approx(320 * 100 / 3600)


def test_a_shared_gpu_is_split_by_sm_use_and_a_game_keeps_its_share():
    rig = Rig()
    rig.gpu_procs = {100: 42.0, 300: 18.0, GAME: 20.0}  # 52.5 %, 22.5 %, 25 % of the SM use
    rig.tools(COMFY, FORGE)
    rig.tick(60)
    comfy, forge = rig.finish()
    assert comfy["gpu_wh"] == pytest.approx(300 * 60 * 0.525 / 3600)
    assert forge["gpu_wh"] == pytest.approx(300 * 60 * 0.225 / 3600)
    assert comfy["gpu_attribution"] == forge["gpu_attribution"] == GPU_UTILISATION


def test_without_per_process_use_the_programs_on_the_gpu_share_it_equally():
    rig = Rig()
    rig.gpu_procs = {100: None, 101: None, GAME: None}
    rig.tools(COMFY)
    rig.tick(60)
    [comfy] = rig.finish()
    assert comfy["gpu_wh"] == pytest.approx(300 * 60 / 2 / 3600)  # ComfyUI (2 pids) and the game
    assert comfy["gpu_attribution"] == GPU_EQUAL


def test_an_idle_shared_gpu_is_shared_equally_and_still_counts_as_measured_use():
    rig = Rig()
    rig.power["nvidia:0"] = 30.0
    rig.gpu_procs = {100: 0.0, GAME: 0.0}
    rig.tools(COMFY)
    rig.tick(60)
    [comfy] = rig.finish()
    assert comfy["gpu_wh"] == pytest.approx(30 * 60 / 2 / 3600)
    assert comfy["gpu_attribution"] == GPU_UTILISATION


def test_without_process_lists_every_session_shares_every_gpu_and_says_so():
    rig = Rig()
    rig.gpu_procs = None
    rig.tools(COMFY, LOOKALIKE)
    rig.tick(60)
    comfy, lookalike = rig.finish()
    assert comfy["gpu_wh"] == lookalike["gpu_wh"] == pytest.approx(300 * 60 / 2 / 3600)
    assert comfy["gpu_attribution"] == GPU_UNAVAILABLE == "shared (process list unavailable)"
    assert summary(comfy["gpu_attribution"], comfy["cpu_attribution"]) == SHARED


def test_cpu_energy_above_the_idle_floor_follows_cpu_time():
    rig = Rig()
    rig.tick(5)  # the machine idle: its package floor (20 W) is learned
    rig.power["rapl:package-0"] = 60.0
    rig.machine_busy_rate = 4.0  # 4 cores busy: ComfyUI 1 + 0.5 (two processes), a compile 2.5
    rig.cpu_rate = {100: 1.0, 101: 0.5, 200: 0.0, GAME: 2.5}
    rig.tools(COMFY, LOOKALIKE)
    rig.tick(1)  # first interval: the pids' previous CPU times are not known yet
    rig.tick(100)
    comfy, lookalike = rig.finish()
    floor_j, above_j = 20.0 * 100, 40.0 * 100
    # The floor in three equal parts (two sessions, the rest of the machine); above it, CPU time.
    expected = floor_j / 3 + above_j * 1.5 / 4.0
    first = 20.0 / 3 + 40.0 * 0.0  # the first interval: floor only
    assert comfy["cpu_wh"] == pytest.approx((expected + first) / 3600)
    assert lookalike["cpu_wh"] == pytest.approx((floor_j / 3 + 20.0 / 3) / 3600)
    assert comfy["cpu_attribution"] == CPU_TIME
    assert comfy["gpu_wh"] == 0.0 and comfy["gpu_attribution"] is None  # listed on no GPU
    assert summary(comfy["gpu_attribution"], comfy["cpu_attribution"]) == ATTRIBUTED
    total_cpu_j = sum(s["cpu_wh"] for s in (comfy, lookalike)) * 3600
    assert total_cpu_j < 60.0 * 101  # the compile keeps its share


@pytest.mark.parametrize("every", [5, 3])
def test_cpu_times_read_every_few_seconds_split_each_window_by_its_cpu_time(every):
    """The monitor reads the tools' CPU times every 5 s: each window's CPU energy goes by the
    CPU time within it, so a tool that burns CPU in bursts gets what 1 s reads would give it,
    and the sessions never get more than the package drew."""
    rig = Rig()
    rig.cpu_every = every
    rig.tick(10)  # idle machine: floor 20 W
    rig.power["rapl:package-0"] = 60.0
    rig.tools(COMFY, LOOKALIKE)
    rig.tracker.start_manual(1_000_000 + rig.t)
    rig.machine_busy_rate = 4.0
    pattern = [(3.0, 0.2), (3.0, 0.2), (0.5, 1.0), (0.5, 1.0), (0.5, 1.0)]  # (comfy, look-alike)
    truth = {"comfy": 0.0, "lookalike": 0.0}
    ticks = 10 * every * len(pattern)
    rig._ticks, rig._cpu = 0, None  # the watch changed: the monitor reads at the next snapshot
    for i in range(ticks):
        comfy_rate, other_rate = pattern[i % len(pattern)]
        rig.cpu_rate = {100: comfy_rate, 200: other_rate}
        rig.tick(1)
        # 1 s arithmetic: a third of the floor each (two sessions, the rest), above it by CPU time
        truth["comfy"] += 20.0 / 3 + 40.0 * comfy_rate / 4.0
        truth["lookalike"] += 20.0 / 3 + 40.0 * other_rate / 4.0
    assert rig._ticks % every == 0  # whole windows only: the last read closes the last one
    comfy, lookalike, manual = rig.finish()
    first = {"comfy": 40.0 * 3.0 / 4.0, "lookalike": 40.0 * 0.2 / 4.0}  # watching began: no CPU s
    assert comfy["cpu_wh"] * 3600 == pytest.approx(truth["comfy"] - first["comfy"], rel=1e-9)
    assert lookalike["cpu_wh"] * 3600 == pytest.approx(truth["lookalike"] - first["lookalike"],
                                                       rel=1e-9)
    measured = 60.0 * ticks
    assert comfy["cpu_wh"] + lookalike["cpu_wh"] + manual["cpu_wh"] == pytest.approx(measured / 3600)
    assert manual["cpu_wh"] > 0
    assert comfy["cpu_attribution"] == CPU_TIME


def test_the_cpu_floor_is_not_learned_from_a_busy_machine():
    rig = Rig()
    rig.power["rapl:package-0"] = 80.0
    rig.machine_busy_rate = 8.0  # every core busy from the start: no floor can be learned
    rig.cpu_rate = {100: 2.0}
    rig.tools(COMFY)
    rig.tick(1)
    rig.tick(50)
    [comfy] = rig.finish()
    # No floor known: everything by CPU time (2 of 8 busy cores), except the first interval.
    assert comfy["cpu_wh"] == pytest.approx((80.0 * 50 * 2 / 8 + 0.0) / 3600)


def test_the_interval_where_watching_begins_counts_no_cpu_time_and_keeps_the_label():
    rig = Rig()
    rig.cpu_known = False  # nothing watched before the tool is detected
    rig.tick(3)
    rig.cpu_known = True
    rig.power["rapl:package-0"] = 40.0
    rig.machine_busy_rate = 2.0
    rig.cpu_rate = {100: 1.0}
    rig.tools(COMFY)
    rig.tick(1)  # no previous CPU times: its part of the floor only
    rig.tick(10)
    [comfy] = rig.finish()
    # The floor (20 W, the lowest power seen) in two parts (ComfyUI, the rest of the machine);
    # above it, 1 of the 2 busy CPU seconds.
    first = 20.0 / 2
    assert comfy["cpu_wh"] == pytest.approx((first + 10 * (20.0 / 2 + 20.0 * 0.5)) / 3600)
    assert comfy["cpu_attribution"] == CPU_TIME


def test_without_cpu_times_the_sessions_share_the_cpu_and_it_is_labelled():
    rig = Rig()
    rig.cpu_known = False
    rig.gpu_procs = {100: None}
    rig.tools(COMFY, LOOKALIKE)
    rig.tick(60)
    comfy, lookalike = rig.finish()
    assert comfy["cpu_wh"] == lookalike["cpu_wh"] == pytest.approx(20 * 60 / 2 / 3600)
    assert comfy["cpu_attribution"] == CPU_WHOLE


def test_both_parts_attributed_give_the_attributed_label():
    rig = Rig()
    rig.gpu_procs = {100: None}
    rig.cpu_rate = {100: 0.5}
    rig.machine_busy_rate = 1.0
    rig.tools(COMFY)
    rig.tick(30)
    [comfy] = rig.finish()
    assert summary(comfy["gpu_attribution"], comfy["cpu_attribution"]) == ATTRIBUTED


def test_a_manual_session_gets_what_the_tools_did_not_and_totals_never_exceed_the_machine():
    rig = Rig()
    rig.gpu_procs = {100: 75.0, GAME: 25.0}
    rig.cpu_rate = {100: 1.0}
    rig.machine_busy_rate = 2.0
    rig.tools(COMFY)
    rig.tracker.start_manual(1_000_000 + rig.t)
    rig.tick(1)
    rig.tick(40)
    comfy, manual = rig.finish()
    measured_wh = 320 * 41 / 3600
    assert comfy["gpu_wh"] + manual["gpu_wh"] == pytest.approx(300 * 41 / 3600)
    assert comfy["total_wh"] + manual["total_wh"] == pytest.approx(measured_wh)
    assert manual["gpu_attribution"] == manual["cpu_attribution"] == WHOLE_MACHINE
    assert manual["machine_wh"] == pytest.approx(measured_wh)


def test_attribution_off_gives_every_session_the_whole_machine_shared():
    rig = Rig(per_process=False)
    rig.gpu_procs = {100: None}
    rig.tools(COMFY)
    rig.tick(30)
    [comfy] = rig.finish()
    assert comfy["total_wh"] == pytest.approx(320 * 30 / 3600)
    assert comfy["gpu_attribution"] == comfy["cpu_attribution"] == WHOLE_MACHINE
    assert summary(WHOLE_MACHINE, WHOLE_MACHINE) == WHOLE_MACHINE


def test_new_workers_are_followed_between_detections():
    rig = Rig()
    rig.gpu_procs = {102: None}  # a worker detection has not reported yet
    rig.tools(COMFY)
    rig.tick(10)
    rig.tools(ToolSeen(tool="comfyui", label="ComfyUI", pid=100, pids=(100, 101, 102)))
    rig.tick(10)
    [comfy] = rig.finish()
    assert comfy["gpu_wh"] == pytest.approx(300 * 10 / 3600)


def test_the_cpu_probe_reads_only_the_watched_processes(monkeypatch):
    read: list[int] = []

    class Proc:
        def __init__(self, pid: int) -> None:
            self.pid = pid

        def cpu_times(self):
            read.append(self.pid)
            if self.pid == 3:
                import psutil

                raise psutil.NoSuchProcess(3)
            return type("T", (), {"user": 1.0, "system": 0.5, "children_user": 0.25,
                                  "children_system": 0.0})()

    times = type("T", (tuple,), {"idle": 6.0, "iowait": 1.0})((3.0, 6.0, 1.0))
    probe = ProcessCpu(cpu_times=lambda: times, process=Proc)
    assert probe.read() is None  # nothing watched: nothing read
    probe.watch([1, 2, 3])
    got = probe.read()
    assert sorted(read) == [1, 2, 3]
    assert got.by_pid == {1: 1.75, 2: 1.75}  # the exited one is dropped
    assert (got.busy_s, got.total_s) == (3.0, 10.0)
    probe.watch([2])
    read.clear()
    probe.read()
    assert read == [2]
