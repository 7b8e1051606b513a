"""The whole app, as a user runs it: a ComfyUI process, its `/history`, a GPU whose power steps
with each prompt. Each prompt's recorded energy is compared with the trace's exact integral."""

from __future__ import annotations

import json
import sys
import threading
import time

import pytest

from tests.fixtures.fake_comfyui import FakeComfyUI
from tests.fixtures.fake_nvml import FakeGpu, FakeProcess, Segment
from tray_app.cli import main
from tray_app.detect.scanner import Scanner
from tray_app.runtime import engine as engine_module
from tray_app.runtime.engine import Engine


class OnlyThese:
    """The real scanner, blind to tool processes other than the test's own (on a shared test
    machine, another test's fake ComfyUI would be a second session sharing the GPU)."""

    def __init__(self, scanner: Scanner, pids: set[int]) -> None:
        self.scanner = scanner
        self.pids = pids

    def scan(self, gpu_pids: dict[int, set[int]]) -> list:
        return [t for t in self.scanner.scan(gpu_pids) if t.pid in self.pids]


@pytest.mark.slow
def test_each_prompt_of_a_live_comfyui_gets_its_own_energy_within_2_percent(
    fake_nvml, tool_layout, tool_process, fake_comfyui: FakeComfyUI, capsys, monkeypatch
):
    monkeypatch.setattr(engine_module, "IMAGES_EVERY_S", 2.0)  # a user's 15 s, shortened
    root = tool_layout("comfyui")
    proc = tool_process([sys.executable, "main.py", "--port", str(fake_comfyui.port)], cwd=root)
    # Idle, then three prompts of 7, 9 and 6 s at different powers, idle between them.
    plan = [(4.0, 30.0, None), (7.0, 290.0, 20), (3.0, 45.0, None), (9.0, 320.0, 30),
            (3.0, 45.0, None), (6.0, 260.0, 15), (600.0, 30.0, None)]  # fmt: skip
    trace = [Segment(s, w, 97.0 if steps else 0.0) for s, w, steps in plan]
    rig = fake_nvml(FakeGpu(trace=trace, processes=[FakeProcess(pid=proc.pid, used_mb=6000)]))
    offset = time.time() - time.monotonic()
    windows = []  # (monotonic start, end, steps)
    t = rig.anchor
    for seconds, _watts, steps in plan[:-1]:
        if steps:
            windows.append((t, t + seconds, steps))
            # ComfyUI writes the history entry when the prompt ends; ours is written ahead,
            # and the app must still wait for the samples that cover the whole window.
            fake_comfyui.add_prompt((t + seconds) + offset, started_at=t + offset, steps=steps)
        t += seconds
    engine = Engine(scanner=OnlyThese(Scanner(), {proc.pid}))
    stop = threading.Event()
    worker = threading.Thread(target=engine.run, args=(stop,))
    worker.start()
    try:
        time.sleep(max(0.0, windows[-1][1] + 5.0 - time.monotonic()))
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 40
        while engine.tracker is None or engine.tracker.sessions:
            assert time.monotonic() < deadline, "the session did not close after the tool exited"
            time.sleep(0.2)
    finally:
        stop.set()
        worker.join(timeout=10)
    capsys.readouterr()
    assert main(["generations", "--json"]) == 0
    rows = sorted(json.loads(capsys.readouterr().out), key=lambda r: r["start_ts"])
    assert [r["steps"] for r in rows] == [w[2] for w in windows]
    for row, (start, end, _steps) in zip(rows, windows, strict=True):
        assert row["window"] == "exact"
        assert row["start_ts"] == pytest.approx(start + offset, abs=0.01)
        truth_wh = rig.ground_truth_j(0, start, end) / 3600
        assert row["gpu_wh"] == pytest.approx(truth_wh, rel=0.02), (row, truth_wh)
