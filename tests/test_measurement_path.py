"""Nothing another program does may stall the measurement: a hung local server on a tool's port
does not stop the sampling, nor a stop request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.fixtures.fake_comfyui import TricklingServer
from tests.fixtures.fake_nvml import FakeGpu, FakeProcess, steady


def lines_over(proc: subprocess.Popen, seconds: float) -> list[str]:
    """The monitor's per-interval lines printed during the next `seconds`."""
    got: list[str] = []
    stop = time.monotonic() + seconds

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if time.monotonic() > stop:
                return
            got.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=seconds + 1)
    return [line for line in got if "total" in line and "GPU" in line]


@pytest.mark.slow
def test_a_comfyui_that_trickles_its_answers_neither_stalls_sampling_nor_delays_a_stop(
    fake_nvml, tool_layout, tool_process, trickling_server: TricklingServer
):
    root = tool_layout("comfyui")
    tool = tool_process([sys.executable, "main.py", "--port", str(trickling_server.port)], cwd=root)
    fake_nvml(FakeGpu(trace=steady(250.0), processes=[FakeProcess(pid=tool.pid)]))
    monitor = subprocess.Popen(
        [sys.executable, "-m", "tray_app", "monitor", "--headless", "--interval", "0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    try:
        # The session opens at the first detection and image counting asks the port at once.
        deadline = time.monotonic() + 20
        while trickling_server.connections == 0:
            assert time.monotonic() < deadline, "the monitor never asked the tool's port"
            assert monitor.poll() is None
            time.sleep(0.1)
        lines = lines_over(monitor, 6.0)
        # 2 lines a second while the server trickles: sampling did not wait for it.
        assert len(lines) >= 10, lines
        assert "ComfyUI" in lines[-1]  # and the session is being measured
        assert trickling_server.connections >= 1
        start = time.monotonic()
        monitor.send_signal(signal.SIGTERM)
        monitor.wait(timeout=10)
        assert time.monotonic() - start < 1.0  # honoured at once, whatever the server does
        assert monitor.returncode == 0
        assert "Traceback" not in (monitor.stderr.read() if monitor.stderr else "")
    finally:
        if monitor.poll() is None:
            monitor.kill()
            monitor.wait()
        for pipe in (monitor.stdout, monitor.stderr):
            if pipe is not None:
                pipe.close()


class ComfyOnPort:
    """A scanner that sees one ComfyUI, listening on `port` (a hung one here)."""

    def __init__(self, port: int) -> None:
        from pathlib import Path

        from tray_app.detect.scanner import DetectedTool

        self.tool = DetectedTool(tool="comfyui", label="ComfyUI", pid=os.getpid(), exe_name="python3",
                                 root=Path("/nonexistent/ComfyUI"), gpu_indices=frozenset(), port=port,
                                 pids=(os.getpid(),))

    def scan(self, gpu_pids=None):
        return [self.tool]


def test_quit_is_honoured_within_a_second_while_a_tool_hangs(trickling_server: TricklingServer):
    """The tray's Quit calls request_stop(): the engine ends at once, the hung request is left
    to its own thread."""
    from tray_app.runtime.engine import Engine

    snapshots: list[float] = []

    class Listener:
        def on_status(self, status) -> None:
            snapshots.append(time.monotonic())

        def on_reminder(self, reminder) -> None:
            pass

        def on_problem(self, message: str) -> None:
            pass

    engine = Engine(Listener(), interval_s=0.2, scanner=ComfyOnPort(trickling_server.port))
    worker = threading.Thread(target=engine.run, daemon=True)
    worker.start()
    deadline = time.monotonic() + 10
    while trickling_server.connections == 0:
        assert time.monotonic() < deadline, "the engine never asked the tool's port"
        time.sleep(0.05)
    asked = time.monotonic()
    time.sleep(1.0)
    # Sampling went on while the server trickled (5 snapshots a second).
    assert len([t for t in snapshots if t > asked]) >= 4
    start = time.monotonic()
    engine.request_stop()
    worker.join(timeout=5)
    assert not worker.is_alive() and time.monotonic() - start < 1.0
