"""Idle waste on a real desktop (Xvfb + trayer + dunst), with the real app: a ComfyUI-shaped tool
generates, then sits idle holding 5 GB that keep the fake GPU 45 W above its 20 W rest. After
`reminders.idle_waste_min` (1) the reminder comes with its own buttons; the tray menu says what
the tool costs; "Free GPU memory" asks ComfyUI's /free, and the app says what it measured.
Screenshots are kept for a human (/tmp/rg-shots/idle-*.png)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.fake_nvml import FakeGpu, FakeProcess, Segment
from tray_app.config.file import save_settings

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.xvfb, pytest.mark.slow]


def wait(predicate, timeout_s: float, step_s: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())


def test_idle_tool_reminder_menu_line_and_free_gpu_memory(
    dunst_desktop, tmp_path, fake_nvml, fake_comfyui, tool_layout, tool_process
):
    if subprocess.run(["which", "xdotool"], capture_output=True).returncode != 0:
        pytest.skip("needs xdotool")
    desktop = dunst_desktop
    desktop.x.start_tray()
    root = tool_layout("comfyui")
    tool = tool_process([sys.executable, "main.py", "--port", str(fake_comfyui.port)], cwd=root)
    rig = fake_nvml(FakeGpu(trace=[Segment(4.0, 255.0, 97.0), Segment(36000.0, 20.0, 0.0)],
                            processes=[FakeProcess(tool.pid, 5120, held_w=45.0)]))
    fake_comfyui.on_free = lambda body: rig.set_processes(0, [FakeProcess(tool.pid, 400)])
    save_settings({"idle_power_w": 20.0, "reminders.idle_waste_min": 1, "reminders.cooldown_min": 0,
                   "reminders.session_wh": 100000.0, "start_at_login": False})
    env = desktop.env(XDG_CONFIG_HOME=str(tmp_path / "xdg"), LANGUAGE="en", PYTHONPATH=str(ROOT))
    app = subprocess.Popen([sys.executable, "-m", "tray_app"], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        start = time.monotonic()
        # Generating for 4 s, then idle: the reminder waits a minute of idleness, and not less.
        assert wait(lambda: desktop.displayed() > 0, 100), "no reminder was shown"
        waited = time.monotonic() - start
        assert waited >= 60, f"the reminder came after {waited:.0f} s, before a minute of idleness"
        time.sleep(0.5)
        desktop.screenshot(tmp_path / "reminder.png", copy_as="idle-reminder.png")

        # The tray menu says what the idle tool costs.
        width = int(desktop.x.x("xdotool", "getdisplaygeometry").split()[0])
        desktop.x.x("xdotool", "mousemove", str(width - 12), "12", "click", "1")
        time.sleep(1.0)
        desktop.screenshot(tmp_path / "menu.png", copy_as="idle-menu.png")
        desktop.x.x("xdotool", "key", "Escape")

        # "Free GPU memory" on the reminder: ComfyUI is asked, then 30 s of measurement.
        desktop.choose_action("Free GPU memory")
        assert wait(lambda: fake_comfyui.posts, 15), desktop.menu_lines()
        asked = time.monotonic()
        assert fake_comfyui.posts == [("/free", {"unload_models": True, "free_memory": True})]
        time.sleep(34.0)  # the 30 s watch, then the tray says what it measured
        desktop.screenshot(tmp_path / "freed.png", copy_as="idle-freed.png")
        time.sleep(3.0)  # a few seconds freed and idle: energy saved
    finally:
        ended = time.monotonic()
        app.terminate()
        out, err = app.communicate(timeout=20)
    assert "Traceback" not in err, err[-3000:]
    reminders = subprocess.run([sys.executable, "-m", "tray_app", "reminders", "--json"], cwd=ROOT,
                               env=env, capture_output=True, text=True, timeout=30)
    rules = [r["rule"] for r in json.loads(reminders.stdout)]
    assert rules.count("idle_waste") == 1, rules
    sessions = subprocess.run([sys.executable, "-m", "tray_app", "sessions", "--json"], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=30)
    (session,) = json.loads(sessions.stdout)
    assert session["idle_wh"] > 0
    # 45 W less for every second after the 30 s watch, until the app stopped (an estimate).
    counted_s = ended - asked - 30.0
    assert 45.0 * 2 / 3600 <= session["saved_wh"] <= 45.0 * (counted_s + 2) / 3600
