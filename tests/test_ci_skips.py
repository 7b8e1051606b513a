"""A green CI run means every layer ran: with CI=true a skipped test fails the run; locally a
skip is allowed and listed at the end. And `scripts/system-deps.sh test` says when packages are
missing with a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = '''
import pytest

@pytest.fixture
def xserver():
    pytest.skip("no Xvfb here")

def test_runs():
    pass

def test_needs_a_tool():
    pytest.skip("no widget compiler here")

def test_needs_a_display(xserver):
    pass

@pytest.mark.skipif(True, reason="not on this platform")
def test_marked():
    pass

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_known_bug():
    assert False
'''


def run_probe(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_probe.py").write_text(PROBE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(ROOT)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
         "tests.fixtures.ci_skips", "test_probe.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )


def test_in_ci_every_kind_of_skip_fails_the_run(tmp_path):
    run = run_probe(tmp_path, "true")
    assert run.returncode == 1, run.stdout
    assert "1 passed" in run.stdout and "1 xfailed" in run.stdout  # xfail is no skip
    for reason in ("no widget compiler here", "no Xvfb here", "not on this platform"):
        assert f"skipped in CI (CI=true), where every layer must run: {reason}" in run.stdout
    assert "skipped" not in run.stdout.splitlines()[-1]


@pytest.mark.parametrize("ci", [None, "", "false"])
def test_locally_skips_are_allowed_and_listed(tmp_path, ci):
    run = run_probe(tmp_path, ci)
    assert run.returncode == 0, run.stdout
    assert "3 skipped" in run.stdout
    listed = run.stdout.split("not run here (these would fail in CI)", 1)[1]
    assert "test_probe.py::test_needs_a_tool: no widget compiler here" in listed
    assert "test_probe.py::test_needs_a_display: no Xvfb here" in listed


def test_system_deps_fails_in_test_mode_when_packages_are_missing(tmp_path):
    # A dpkg-query that knows no package: everything is missing, and we are not root-installing.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("dpkg-query", "exit 1"), ("apt-get", "exit 1"), ("id", "echo 1000")):
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        (bin_dir / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    script = str(ROOT / "scripts" / "system-deps.sh")
    test = subprocess.run(["bash", script, "test"], env=env, capture_output=True, text=True,
                          timeout=30)
    assert test.returncode != 0
    assert "xvfb" in test.stdout + test.stderr and "sudo apt-get install" in test.stdout + test.stderr
    run = subprocess.run(["bash", script, "run"], env=env, capture_output=True, text=True,
                         timeout=30)
    assert run.returncode == 0  # `make run` carries on: the app says what it lacks itself
