"""Whole-app runs: fake GPU + real tool processes + the real store, as a user would see them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.fixtures.fake_nvml import FakeGpu, FakeProcess, Segment
from tests.images import free_port
from tray_app.cli import main
from tray_app.runtime.engine import Engine
from tray_app.store import Store


def sessions(capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["sessions", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_a_tool_that_works_then_exits_is_one_session_with_the_gpu_energy_it_drew(
    fake_nvml, tool_layout, tool_process, capsys
):
    root = tool_layout("comfyui")
    proc = tool_process([sys.executable, "main.py", "--port", str(free_port())], cwd=root)
    trace = [Segment(4.0, 300.0, 97.0), Segment(3.0, 40.0, 0.0), Segment(3.0, 280.0, 95.0),
             Segment(600.0, 25.0, 0.0)]
    rig = fake_nvml(FakeGpu(trace=trace, processes=[FakeProcess(pid=proc.pid, used_mb=6000)]))
    offset = time.time() - time.monotonic()
    engine = Engine()
    stop = threading.Event()
    worker = threading.Thread(target=engine.run, args=(stop,))
    worker.start()
    try:
        time.sleep(11.0)
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 20  # detection runs every 5 s; CI machines are busy
        while engine.tracker is None or engine.tracker.sessions:
            assert time.monotonic() < deadline, "the session did not close after the tool exited"
            time.sleep(0.2)
    finally:
        stop.set()
        worker.join(timeout=10)
    (s,) = sessions(capsys)
    assert s["tool"] == "comfyui" and s["status"] == "complete"
    # GPU from its counter; the total is labelled by its weakest part, the estimated CPU.
    assert (s["gpu_method"], s["cpu_method"], s["energy_method"]) == ("counter", "estimated", "estimated")
    truth_wh = rig.ground_truth_j(0, s["start_ts"] - offset, s["end_ts"] - offset) / 3600
    assert s["gpu_wh"] == pytest.approx(truth_wh, rel=0.01)
    assert s["active_s"] >= 5.0  # the two bursts, not the pause between them
    assert s["peak_w"] >= 280.0
    # The GPU's idle floor was kept for the next start, under the board's own name.
    from tray_app.sessions.floor import default_path, load_floors

    floors, _message = load_floors(default_path())
    name, watts = floors["nvidia:0"]
    assert name and 20.0 <= watts <= 45.0


@pytest.mark.slow
def test_a_monitor_killed_mid_session_leaves_one_recovered_session_and_no_duplicate(
    fake_nvml, tool_layout, tool_process, capsys
):
    root = tool_layout("comfyui")
    tool = tool_process([sys.executable, "main.py", "--port", str(free_port())], cwd=root)
    fake_nvml(FakeGpu(trace=[Segment(3600.0, 250.0, 97.0)], processes=[FakeProcess(pid=tool.pid)]))
    cmd = [sys.executable, "-m", "tray_app", "monitor", "--headless", "--quiet"]
    first = subprocess.Popen(cmd, env=dict(os.environ))
    try:
        time.sleep(9.0)  # detected at the first scan, then more than one 5 s sample batch
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    second = subprocess.run([*cmd, "--duration", "3"], env=dict(os.environ), timeout=60)
    assert second.returncode == 0
    rows = sessions(capsys)
    statuses = sorted(r["status"] for r in rows)
    assert statuses == ["complete", "recovered"], rows  # the tool still runs: a new session
    recovered = next(r for r in rows if r["status"] == "recovered")
    assert recovered["duration_s"] >= 3.0  # closed at its last stored sample, at most 5 s lost
    assert recovered["gpu_wh"] > 0
    with Store.open() as store:
        assert store.recover_open_sessions() == []  # nothing left to recover twice


@pytest.mark.slow
def test_the_end_to_end_tests_pass_beside_a_developers_own_comfyui(foreign_comfyuis, tmp_path):
    from tray_app.detect.scanner import LinuxProcSource, Scanner

    theirs = foreign_comfyuis()
    # They are real ComfyUIs to an unscoped scanner (so this test can fail)...
    seen = {t.pid for t in Scanner(source=LinuxProcSource()).scan() if t.tool == "comfyui"}
    assert set(theirs) <= seen
    # ...and invisible to the scanner the tests use.
    assert not {p for t in Scanner().scan() for p in t.pids} & set(theirs)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAISON_GARDER_")}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "slow",
         "-k", "not beside", f"--basetemp={tmp_path / 'inner'}", __file__],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout, run.stdout[-2000:]


def doctor_json(capsys) -> dict:
    capsys.readouterr()
    assert main(["doctor", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_doctor_explains_a_machine_without_gpu_or_rapl(capsys, isolated_dirs, monkeypatch):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    report = doctor_json(capsys)
    assert report["gpus"] == []
    reason = report["cpu"]["reason"]
    assert f"({isolated_dirs['powercap']} does not exist)" in reason  # the folder it looked in
    assert "estimated" in reason
    assert "no-libnvidia-ml.so.1" in report["gpu_error"]  # the forced path is named
    assert report["cpu"]["method"] == "estimated"
    assert report["tray_available"] is False  # no display here
    assert report["data_dir"] == str(isolated_dirs["data"])
    assert report["config_dir"] == str(isolated_dirs["config"])
    assert set(report) >= {"gpus", "gpu_error", "cpu", "tray_available", "data_dir", "config_dir"}


def test_doctor_reports_a_gpu_with_and_without_energy_counter(capsys, fake_nvml):
    fake_nvml(FakeGpu(name="NVIDIA GeForce RTX 4090", power_limit_w=450.0),
              FakeGpu(name="NVIDIA GeForce GTX 1080", energy="unsupported", architecture=4))
    report = doctor_json(capsys)
    assert report["gpu_error"] is None
    a, b = report["gpus"]
    assert (a["index"], a["name"], a["energy_counter"], a["power_limit_w"]) == (0, "NVIDIA GeForce RTX 4090", True, 450.0)
    assert b["energy_counter"] is False and b["uuid"]
    assert (a["process_list"], a["process_utilisation"]) == (True, True)
    assert b["power_samples"] is False


def test_doctor_says_when_a_gpu_without_counter_gives_the_drivers_power_samples(capsys, fake_nvml):
    fake_nvml(FakeGpu(name="NVIDIA GeForce GTX 1080", energy="unsupported", architecture=4,
                      power_samples=True))
    (gpu,) = doctor_json(capsys)["gpus"]
    assert gpu["energy_counter"] is False and gpu["power_samples"] is True
    assert main(["doctor"]) == 0
    assert "GTX 1080: the driver's own power samples (no energy counter)" in capsys.readouterr().out


def test_doctor_says_when_a_gpu_cannot_be_split_between_programs(capsys, fake_nvml):
    fake_nvml(FakeGpu(name="NVIDIA GeForce RTX 4090", process_lists=False),
              FakeGpu(name="NVIDIA RTX A4000", process_util=False))
    a, b = doctor_json(capsys)["gpus"]
    assert (a["process_list"], b["process_list"], b["process_utilisation"]) == (False, True, False)
    capsys.readouterr()
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "no list of the programs using it: sessions share this GPU equally" in out
    assert "programs sharing it are counted equally" in out


def test_doctor_says_when_rapl_is_readable_and_when_it_needs_a_permission(capsys, fake_powercap, sysfs_faults):
    pkg = fake_powercap.add_package(0, watts=30.0)
    fake_powercap.add_subdomain(0, 0, "core")
    report = doctor_json(capsys)
    assert report["cpu"]["method"] == "rapl" and report["cpu"]["reason"] is None
    assert len(report["cpu"]["domains"]) == 1  # the package, not its core sub-domain
    fake_powercap.deny(pkg)
    report = doctor_json(capsys)
    assert report["cpu"]["method"] == "estimated"
    assert "chmod" in report["cpu"]["reason"]  # the one-line fix


def test_doctor_without_json_is_a_readable_explanation(capsys):
    capsys.readouterr()
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "estimated" in out and "not a measurement" in out


@pytest.mark.slow
def test_headless_monitor_prints_one_line_per_interval_and_nothing_with_quiet(fake_nvml):
    fake_nvml(FakeGpu())
    run = subprocess.run([sys.executable, "-m", "tray_app", "monitor", "--headless", "--duration", "2.5"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    lines = run.stdout.splitlines()
    ticks = [line for line in lines if "GPU " in line and not line.startswith("Measured")]
    assert 2 <= len(ticks) <= 4 and all(len(line) <= 80 for line in lines)
    assert lines[-1].startswith("Measured for ") and "GPU " in lines[-1]  # the summary
    wide = subprocess.run([sys.executable, "-m", "tray_app", "monitor", "--wide", "--duration", "1.5"],
                          capture_output=True, text=True, timeout=60)
    wide_lines = [line for line in wide.stdout.splitlines() if "nvidia:0" in line]
    assert wide_lines and "(counter)" in wide_lines[-1] and "W" in wide_lines[-1]
    quiet = subprocess.run([sys.executable, "-m", "tray_app", "monitor", "--headless", "--quiet",
                            "--duration", "1.5"], capture_output=True, text=True, timeout=60)
    assert quiet.returncode == 0 and len(quiet.stdout.splitlines()) == 1
    assert quiet.stdout.startswith("Measured for ")


@pytest.mark.slow
def test_without_a_display_the_app_says_so_in_one_line_and_monitors_headless():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.Popen([sys.executable, "-m", "tray_app"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(3.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    lines = out.splitlines()
    assert lines[0] == "No display found: running the headless monitor instead (Ctrl+C to stop)."
    assert any("CPU ≈" in line and "W" in line for line in lines[1:])
    assert proc.returncode in (0, 130) and "Traceback" not in err


def test_every_tool_a_test_starts_outside_the_scanner_tests_has_a_free_port():
    """A ComfyUI started without --port gets 8188: the engine under test would then count the
    images of the developer's own ComfyUI. Only the scanner's tests (no engine, no network) may
    rely on default ports."""
    import ast
    from pathlib import Path

    tests = Path(__file__).parent
    offenders = []
    for path in tests.rglob("*.py"):
        if "detect" in path.parts or "fixtures" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "tool_process"
                    and node.args and isinstance(node.args[0], ast.List)):
                words = [e.value for e in node.args[0].elts if isinstance(e, ast.Constant)]
                if "main.py" in words and "--port" not in words:
                    offenders.append(f"{path.relative_to(tests)}:{node.lineno}")
    assert offenders == []
