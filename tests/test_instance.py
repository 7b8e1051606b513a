"""One tray per data dir: a second launch hands its command to the first and leaves."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tray_app.system.instance import INFO_NAME, LOCK_NAME, InstanceLock, send_command

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def received():
    return queue.Queue()


@pytest.mark.parametrize("unix", [True, False], ids=["unix-socket", "loopback-tcp"])
def test_second_instance_hands_over_its_command(tmp_path, received, unix):
    first = InstanceLock(tmp_path, use_unix_socket=unix)
    assert first.acquire()
    first.serve(received.put)
    try:
        second = InstanceLock(tmp_path, use_unix_socket=unix)
        assert not second.acquire()
        assert send_command("history", tmp_path)
        assert received.get(timeout=2) == "history"
    finally:
        first.close()
    # The first one left: the next launch becomes the instance.
    third = InstanceLock(tmp_path)
    assert third.acquire()
    third.close()


def test_separate_data_dirs_are_separate_instances(tmp_path):
    a, b = InstanceLock(tmp_path / "a"), InstanceLock(tmp_path / "b")
    try:
        assert a.acquire() and b.acquire()
    finally:
        a.close()
        b.close()


def test_wrong_token_and_unknown_command_are_refused(tmp_path, received):
    lock = InstanceLock(tmp_path)
    assert lock.acquire()
    lock.serve(received.put)
    try:
        assert not send_command("format-disk", tmp_path, timeout_s=0.2)
        info = json.loads((tmp_path / INFO_NAME).read_text())
        (tmp_path / INFO_NAME).write_text(json.dumps({**info, "token": "guess"}))
        assert not send_command("quit", tmp_path, timeout_s=0.2)
        assert received.empty()
    finally:
        lock.close()


def test_info_file_is_private(tmp_path):
    with InstanceLock(tmp_path) as lock:
        assert lock.acquire()
        assert (tmp_path / INFO_NAME).stat().st_mode & 0o077 == 0


def test_nobody_listening_is_reported(tmp_path):
    assert not send_command("show", tmp_path, timeout_s=0.2)


def test_a_crashed_instance_does_not_block_the_next_start(tmp_path):
    """A process that took the lock and died (SIGKILL: no clean-up at all) leaves files behind;
    the OS released its lock, so we start anyway and replace its socket."""
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from tray_app.system.instance import InstanceLock
        lock = InstanceLock(Path({str(tmp_path)!r}))
        assert lock.acquire()
        os.kill(os.getpid(), 9)
    """)
    proc = subprocess.run([sys.executable, "-c", code], timeout=20)
    assert proc.returncode == -9
    assert (tmp_path / LOCK_NAME).exists() and (tmp_path / INFO_NAME).exists()
    assert not send_command("show", tmp_path, timeout_s=0.2)  # the old endpoint is dead
    lock = InstanceLock(tmp_path)
    try:
        assert lock.acquire()
        got = queue.Queue()
        lock.serve(got.put)
        assert send_command("show", tmp_path)
        assert got.get(timeout=2) == "show"
    finally:
        lock.close()


def test_long_data_dir_falls_back_to_loopback(tmp_path, received):
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    with InstanceLock(deep) as lock:
        assert lock.acquire()
        assert "tcp" in json.loads((deep / INFO_NAME).read_text())
        lock.serve(received.put)
        assert send_command("ping", deep)
        assert received.get(timeout=2) == "ping"
