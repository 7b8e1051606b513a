"""kill -9 at any moment loses at most 5 s of a session's energy, and counts none twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.fixtures.fake_nvml import FakeGpu, FakeProcess, steady
from tests.images import free_port
from tray_app.store import Store

REPO = Path(__file__).resolve().parents[1]
WATTS = 250.0
# The monitor, as `monitor --headless` runs it (`--quiet` when `quiet`: its snapshots worked out
# in 5 s batches), but seeing only this test's tool process: other ComfyUIs on the machine would
# share the GPU's energy and blur the ground truth.
CHILD = textwrap.dedent("""
    import sys, threading
    sys.path.insert(0, {repo!r})
    from tray_app.commands.monitor import PrintingListener
    from tray_app.detect.scanner import Scanner
    from tray_app.runtime.engine import Engine

    class OnlyOurs(Scanner):
        def scan(self, gpu_pids=None):
            return [t for t in super().scan(gpu_pids) if t.pid == {pid}]

    listener = PrintingListener(quiet=True) if {quiet} else None
    Engine(listener, scanner=OnlyOurs()).run(threading.Event())
""")


def open_session_start(path: Path, deadline: float) -> float:
    while True:
        if path.exists():
            with Store.open(path) as store:
                rows = store.list_sessions()
            if rows:
                return rows[0]["start_ts"]
        assert time.monotonic() < deadline, "no session was opened"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kill_at_s", "quiet"),
    [(0.5, False), (3.0, False), (5.3, False), (7.0, False), (11.3, False),
     # Quiet: the worst moments are just before a batch is worked out (5 s, 10 s after the start).
     (4.7, True), (9.6, True), (12.0, True)],
)  # fmt: skip
def test_a_monitor_killed_at_any_moment_loses_at_most_five_seconds(
    kill_at_s, quiet, fake_nvml, tool_layout, tool_process, isolated_dirs
):
    tool = tool_process([sys.executable, "main.py", "--port", str(free_port())],
                        cwd=tool_layout("comfyui"))  # never the developer's own ComfyUI
    rig = fake_nvml(FakeGpu(trace=steady(WATTS), processes=[FakeProcess(pid=tool.pid)]))
    offset = time.time() - time.monotonic()
    store_path = isolated_dirs["data"] / "raison-garder.sqlite3"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(repo=str(REPO), pid=tool.pid, quiet=quiet)],
        env=dict(os.environ),
    )
    try:
        start_wall = open_session_start(store_path, time.monotonic() + 30)
        time.sleep(max(0.0, start_wall + kill_at_s - time.time()))
    finally:
        child.send_signal(signal.SIGKILL)
        killed_mono = time.monotonic()
        child.wait()
    with Store.open(store_path) as store:
        assert len(store.recover_open_sessions()) == 1
        [s] = store.list_sessions()
    truth_wh = rig.ground_truth_j(0, start_wall - offset, killed_mono) / 3600
    lost_s = (truth_wh - (s["gpu_wh"] or 0.0)) * 3600 / WATTS  # None: no interval stored yet
    assert s["status"] == "recovered"
    assert lost_s <= 5.0, (kill_at_s, truth_wh, s["gpu_wh"])
    assert lost_s >= -0.2  # nothing counted twice
