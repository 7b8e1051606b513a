"""Telling a nested PID namespace (container, Flatpak) from the host's (measure/pidns.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tray_app.measure.pidns import nested_in

ROOT = Path(__file__).resolve().parents[1]


def test_nspid_with_one_pid_is_the_hosts_namespace():
    assert not nested_in("Name:\tpython\nNSpid:\t4242\nNSpgid:\t4242\n")
    assert nested_in("Name:\tpython\nNSpid:\t4242\t7\n")
    assert not nested_in("Name:\tpython\n")  # an old kernel without the line: assume the host


def test_a_real_child_namespace_is_recognised():
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("needs util-linux's unshare")
    code = "from tray_app.measure.pidns import in_nested_pid_namespace as f; print(f())"
    outside = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, timeout=30)  # fmt: skip
    assert outside.stdout.strip() == "False", outside.stderr
    inside = subprocess.run([unshare, "--pid", "--fork", "--mount-proc", sys.executable, "-c", code],
                            cwd=ROOT, capture_output=True, text=True, timeout=30)  # fmt: skip
    if inside.returncode != 0 and "Operation not permitted" in inside.stderr:
        pytest.skip("unshare --pid needs root or user namespaces here")
    assert inside.stdout.strip() == "True", inside.stderr
