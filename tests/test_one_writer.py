"""One writer per data dir: a second monitor (or a tray beside a monitor) says who records
already, exits non-zero and writes nothing."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.fixtures.fake_nvml import FakeGpu, FakeProcess, steady
from tests.images import free_port
from tray_app.commands import monitor
from tray_app.store.db import STORE_FILENAME
from tray_app.system.instance import INFO_NAME, KIND_MONITOR, InstanceLock

MONITOR = [sys.executable, "-m", "tray_app", "monitor", "--headless", "--quiet"]


def statuses(data_dir, pid: int) -> list[str]:
    """The statuses of the sessions of tool process `pid` (other ComfyUIs may run on this
    machine: the detector sees them too)."""
    if not (data_dir / STORE_FILENAME).exists():
        return []
    conn = sqlite3.connect(f"file:{data_dir / STORE_FILENAME}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT status, pids FROM sessions ORDER BY id").fetchall()
    finally:
        conn.close()
    return [status for status, pids in rows if pid in json.loads(pids or "[]")]


@pytest.mark.slow
def test_a_second_monitor_on_the_same_data_dir_names_the_first_and_writes_nothing(
    fake_nvml, tool_layout, tool_process, isolated_dirs
):
    data = isolated_dirs["data"]
    tool = tool_process([sys.executable, "main.py", "--port", str(free_port())],
                        cwd=tool_layout("comfyui"))  # never the developer's own ComfyUI
    fake_nvml(FakeGpu(trace=steady(250.0), processes=[FakeProcess(pid=tool.pid)]))
    first = subprocess.Popen(MONITOR, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 20
        while statuses(data, tool.pid) != ["open"]:
            assert time.monotonic() < deadline, "the first monitor never opened a session"
            time.sleep(0.2)
        second = subprocess.run([*MONITOR, "--duration", "3"], env=dict(os.environ),
                                capture_output=True, text=True, timeout=30)
        assert second.returncode != 0
        assert f"process {first.pid}" in second.stderr and "headless monitor" in second.stderr
        assert "Traceback" not in second.stderr
        # The first one's live session was not "recovered" by the second, nor a new one opened.
        assert statuses(data, tool.pid) == ["open"]
        assert json.loads((data / INFO_NAME).read_text())["pid"] == first.pid
    finally:
        first.terminate()
        first.wait(timeout=20)
    assert first.returncode == 0
    assert statuses(data, tool.pid) == ["complete"]  # one session, counted once


def test_the_monitor_does_not_start_beside_a_running_tray(isolated_dirs, capsys):
    data = isolated_dirs["data"]
    with InstanceLock(data) as tray:
        assert tray.acquire()
        args = monitor.default_args()
        args.duration = 1.0
        assert monitor.run(args) == 1
    err = capsys.readouterr().err
    assert f"the tray, process {os.getpid()}" in err and str(data) in err
    assert not (data / STORE_FILENAME).exists()  # refused before the store was opened


def test_the_tray_does_not_start_beside_a_running_monitor(isolated_dirs, capsys):
    from tray_app.ui.app import run_tray

    data = isolated_dirs["data"]
    with InstanceLock(data, kind=KIND_MONITOR) as headless:
        assert headless.acquire(listen=False)
        start = time.monotonic()
        assert run_tray(None) == 1
        assert time.monotonic() - start < 2.0  # told at once, not after waiting for an answer
    err = capsys.readouterr().err
    assert f"a headless monitor, process {os.getpid()}" in err and "kill" in err
    assert not (data / STORE_FILENAME).exists()


def test_a_monitor_lock_takes_no_commands(tmp_path):
    from tray_app.system.instance import send_command

    with InstanceLock(tmp_path, kind=KIND_MONITOR) as headless:
        assert headless.acquire(listen=False)
        assert not list(tmp_path.glob("*.sock"))  # nothing listens
        start = time.monotonic()
        assert not send_command("history", tmp_path, timeout_s=3.0)
        assert time.monotonic() - start < 1.0  # `history` opens its own window at once
