"""Attribution end to end: the fake NVIDIA driver (process lists, per-process SM use) through
the real pynvml, the monitor, the session tracker, the store and `sessions --json`.

Ground truth: the fake's energy counter is the exact integral of its trace, and it reports each
process's SM use as round(sm_pct x trace utilisation / 100).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.fixtures.fake_nvml import FakeGpu, FakeNvml, FakeProcess, steady
from tray_app.cli import main
from tray_app.measure.monitor import Monitor, Snapshot
from tray_app.measure.sensors.nvml import NvmlGpuSensor, discover_nvidia
from tray_app.sessions.labels import ATTRIBUTED, GPU_UNAVAILABLE, GPU_UTILISATION, SHARED
from tray_app.sessions.tracker import SessionTracker, ToolSeen
from tray_app.store import Store

COMFY = ToolSeen(tool="comfyui", label="ComfyUI", pid=1111, pids=(1111,))
LOOKALIKE = ToolSeen(tool="comfyui", label="ComfyUI", pid=2222, pids=(2222,))  # `--cpu`
FORGE = ToolSeen(tool="forge", label="Forge", pid=3333, pids=(3333,))
SECONDS = 0.8


@pytest.fixture
def gpu() -> Iterator[list[NvmlGpuSensor]]:
    opened: list[NvmlGpuSensor] = []
    yield opened
    for sensor in opened:
        sensor.close()


def run(rig: FakeNvml, opened: list, store: Store, *tools: ToolSeen) -> tuple[list[dict], float]:
    """Monitor the fake GPU for SECONDS with these tools running; (sessions, measured span)."""
    found = discover_nvidia()
    assert found.error is None
    opened.extend(found.sensors)
    monitor = Monitor(found.sensors, interval_s=0.1)
    tracker = SessionTracker(store)
    snaps: list[Snapshot] = []
    end = time.monotonic() + SECONDS
    while time.monotonic() < end:
        snap = monitor.poll()
        if snap is not None:
            tracker.update(snap)
            if not snaps:
                tracker.set_tools(tools, snap.wall)
            snaps.append(snap)
        time.sleep(max(0.0, monitor.next_wakeup() - time.monotonic()))
    tracker.close_all()
    return store.list_sessions(order="id ASC"), snaps[-1].t - snaps[0].t


def test_the_gpu_tool_gets_the_gpu_and_a_cpu_only_lookalike_none(fake_nvml, gpu, isolated_dirs):
    rig = fake_nvml(FakeGpu(trace=steady(300.0), processes=[FakeProcess(1111, used_mb=6000)]))
    with Store.open() as store:
        (comfy, lookalike), span = run(rig, gpu, store, COMFY, LOOKALIKE)
    assert comfy["gpu_wh"] * 3600 == pytest.approx(300.0 * span, rel=0.02)
    assert lookalike["gpu_wh"] == 0.0
    assert comfy["gpu_attribution"] == GPU_UTILISATION
    assert comfy["machine_wh"] == lookalike["machine_wh"] == pytest.approx(comfy["gpu_wh"])


def test_two_gpu_processes_at_70_30_get_70_30(fake_nvml, gpu, isolated_dirs):
    rig = fake_nvml(FakeGpu(trace=steady(300.0), processes=[
        FakeProcess(1111, used_mb=6000, sm_pct=70.0), FakeProcess(3333, used_mb=4000, sm_pct=30.0),
    ]))
    with Store.open() as store:
        (comfy, forge), span = run(rig, gpu, store, COMFY, FORGE)
    measured = comfy["machine_wh"]
    assert measured * 3600 == pytest.approx(300.0 * span, rel=0.02)
    assert comfy["gpu_wh"] == pytest.approx(0.70 * measured, rel=0.02)
    assert forge["gpu_wh"] == pytest.approx(0.30 * measured, rel=0.02)
    assert comfy["gpu_wh"] + forge["gpu_wh"] <= measured * (1 + 1e-9)
    assert comfy["gpu_attribution"] == forge["gpu_attribution"] == GPU_UTILISATION


def test_a_game_beside_the_tool_keeps_its_share(fake_nvml, gpu, isolated_dirs):
    rig = fake_nvml(FakeGpu(trace=steady(300.0), processes=[
        FakeProcess(1111, sm_pct=60.0), FakeProcess(4444, kind="graphics", sm_pct=40.0),
    ]))
    with Store.open() as store:
        (comfy,), _span = run(rig, gpu, store, COMFY)
    assert comfy["gpu_wh"] == pytest.approx(0.60 * comfy["machine_wh"], rel=0.02)


def test_without_process_lists_the_fallback_is_used_and_labelled(fake_nvml, gpu, isolated_dirs,
                                                                capsys):
    rig = fake_nvml(FakeGpu(trace=steady(300.0), process_lists=False,
                            processes=[FakeProcess(1111, used_mb=6000)]))
    with Store.open() as store:
        (comfy, lookalike), span = run(rig, gpu, store, COMFY, LOOKALIKE)
    for s in (comfy, lookalike):
        assert s["gpu_wh"] * 3600 == pytest.approx(300.0 * span / 2, rel=0.02)
        assert s["gpu_attribution"] == GPU_UNAVAILABLE
    assert main(["sessions", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["gpu_attribution"] for r in rows} == {"shared (process list unavailable)"}
    assert {r["attribution"] for r in rows} == {SHARED}
    assert all(r["machine_wh"] == pytest.approx(2 * r["gpu_wh"]) for r in rows)


def test_sessions_json_shows_both_figures_and_the_method(fake_nvml, gpu, isolated_dirs, capsys):
    rig = fake_nvml(FakeGpu(trace=steady(300.0), processes=[FakeProcess(1111, sm_pct=50.0),
                                                            FakeProcess(4444, sm_pct=50.0)]))
    with Store.open() as store:
        run(rig, gpu, store, COMFY)
    assert main(["sessions", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["gpu_wh"] == pytest.approx(row["machine_wh"] / 2, rel=0.02)
    assert row["total_wh"] == pytest.approx(row["gpu_wh"])
    assert row["gpu_attribution"] == "process list + utilisation"
    assert row["attribution"] == ATTRIBUTED == "attributed: process list + utilisation"


BURNER = (  # a ComfyUI started with --cpu, generating: about half a core, in short slices
    "import time\n"
    "while True:\n"
    "    end = time.monotonic() + 0.05\n"
    "    while time.monotonic() < end:\n"
    "        pass\n"
    "    time.sleep(0.05)\n"
)


@pytest.mark.slow
def test_the_whole_app_bills_the_gpu_to_the_gpu_tool_and_cpu_time_to_whoever_used_it(
    fake_nvml, fake_powercap, tool_layout, tool_process, tmp_path, capsys
):
    import sys
    import threading

    from tests.images import free_port
    from tray_app.runtime.engine import Engine

    # Free ports: never the developer's own ComfyUI at 8188 (tests/test_end_to_end.py checks).
    gpu_tool = tool_process([sys.executable, "main.py", "--port", str(free_port())],
                            cwd=tool_layout("comfyui", tmp_path / "a"))
    cpu_tool = tool_process([sys.executable, "main.py", "--port", str(free_port()), "--cpu"],
                            cwd=tool_layout("comfyui", tmp_path / "b", script=BURNER))
    rig = fake_nvml(FakeGpu(trace=steady(300.0), processes=[FakeProcess(gpu_tool.pid, 6000)]))
    package = fake_powercap.add_package(0, watts=20.0)  # the floor, seen before any tool runs
    offset = time.time() - time.monotonic()
    engine = Engine()
    stop = threading.Event()
    with fake_powercap.live():
        worker = threading.Thread(target=engine.run, args=(stop,))
        worker.start()
        try:
            time.sleep(3.0)
            package.watts = 50.0  # the package rises once work begins: 30 W above its floor
            time.sleep(6.0)
        finally:
            stop.set()
            worker.join(timeout=20)
    capsys.readouterr()
    assert main(["sessions", "--json"]) == 0
    rows = {r["pids"][0]: r for r in json.loads(capsys.readouterr().out)}
    gpu_s, cpu_s = rows[gpu_tool.pid], rows[cpu_tool.pid]
    truth_wh = rig.ground_truth_j(0, gpu_s["start_ts"] - offset, gpu_s["end_ts"] - offset) / 3600
    assert gpu_s["gpu_wh"] == pytest.approx(truth_wh, rel=0.02)
    assert cpu_s["gpu_wh"] == 0.0  # absent from the GPU's process list: none of it
    assert gpu_s["gpu_attribution"] == GPU_UTILISATION
    assert gpu_s["cpu_attribution"] == cpu_s["cpu_attribution"] == "cpu time"
    # Both get a part of the floor; the one that burned CPU time gets most of the rest. (The
    # machine's other load, other programs on this shared box, keeps a share: not exact.)
    assert cpu_s["cpu_wh"] > 1.2 * gpu_s["cpu_wh"]
    machine_cpu_wh = 50.0 * (gpu_s["end_ts"] - gpu_s["start_ts"]) / 3600  # at most
    assert gpu_s["cpu_wh"] + cpu_s["cpu_wh"] < machine_cpu_wh
    assert truth_wh < gpu_s["machine_wh"] < truth_wh + machine_cpu_wh


def test_in_a_pid_namespace_of_its_own_the_tool_shares_the_gpu_instead_of_getting_none(
        fake_nvml, gpu, isolated_dirs, monkeypatch):  # fmt: skip
    # In a container or Flatpak the driver names the tool by its host PID, which this app
    # cannot match: the tool would get 0 Wh of a GPU it kept busy. The list is set aside.
    from tray_app.measure import pidns

    monkeypatch.setattr("tray_app.measure.sensors.nvml.in_nested_pid_namespace", lambda: True)
    monkeypatch.setattr(pidns, "in_nested_pid_namespace", lambda: True)
    host_pid = 987_654  # what the driver lists; the app sees the tool as 1111
    rig = fake_nvml(FakeGpu(trace=steady(300.0), processes=[FakeProcess(host_pid, used_mb=6000)]))
    with Store.open() as store:
        (comfy,), span = run(rig, gpu, store, COMFY)
    assert comfy["gpu_wh"] * 3600 == pytest.approx(300.0 * span, rel=0.02)
    assert comfy["gpu_attribution"] == GPU_UNAVAILABLE
    assert gpu[0].describe()["pid_namespace"] is True
    assert gpu[0].describe()["process_list"] is False
