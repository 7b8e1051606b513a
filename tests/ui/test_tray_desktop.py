"""The real app on a real X server with a real tray (Xvfb + trayer): it docks, a second launch
hands over, the menu opens, Quit ends the process cleanly. Screenshots are kept for a human."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tray_app.system.instance import send_command

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.xvfb, pytest.mark.slow]
DOCKED_W = 20  # trayer's panel: 2 px empty, ~24 px with one icon


def launch(desktop, tmp_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tray_app"], cwd=ROOT, env=launch_env(desktop, tmp_path),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def launch_env(desktop, tmp_path: Path) -> dict[str, str]:
    # XDG_CONFIG_HOME: the first-run autostart entry lands in the test's folder, not ~/.config.
    return desktop.env(XDG_CONFIG_HOME=str(tmp_path / "xdg"), LANGUAGE="en",
                       PYTHONPATH=str(ROOT))


def finish(proc: subprocess.Popen[str], timeout: float = 15) -> tuple[int, str]:
    try:
        _out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
        pytest.fail(f"the tray did not quit within {timeout} s; stderr:\n{err}")
    return proc.returncode, err


def need_xdotool() -> None:
    if shutil.which("xdotool") is None or shutil.which("import") is None:
        pytest.skip("xdotool and ImageMagick's import are needed (apt install xdotool imagemagick)")


def test_docks_hands_over_opens_its_menu_and_quits(x_desktop, tmp_path):
    need_xdotool()
    t0 = time.monotonic()
    proc = launch(x_desktop, tmp_path)
    try:
        assert x_desktop.wait_for(lambda: (x_desktop.panel_width() or 0) >= DOCKED_W, 10), (
            "the icon never docked in trayer"
        )
        dock_s = time.monotonic() - t0
        time.sleep(1.5)  # let a status or two arrive
        x_desktop.screenshot(tmp_path / "tray.png", copy_as="tray.png")

        # A second launch exits 0 at once, and the first one shows something.
        before = set(x_desktop.visible_windows(proc.pid))
        second = subprocess.run([sys.executable, "-m", "tray_app"], cwd=ROOT, timeout=20,
                                env=launch_env(x_desktop, tmp_path), capture_output=True)
        assert second.returncode == 0, second.stderr
        assert x_desktop.wait_for(
            lambda: set(x_desktop.visible_windows(proc.pid)) - before, 5
        ), "the running tray did not react to the second launch"
        x_desktop.screenshot(tmp_path / "second-launch.png", copy_as="second-launch.png")
        # Without a window manager nothing keeps the panel on top: put the new window away.
        for window in set(x_desktop.visible_windows(proc.pid)) - before:
            x_desktop.x("xdotool", "windowunmap", "--sync", window)

        # Open the menu with a click on the icon, then choose Quit from the keyboard.
        width = int(x_desktop.x("xdotool", "getdisplaygeometry").split()[0])
        before_click = set(x_desktop.visible_windows(proc.pid))
        x_desktop.x("xdotool", "mousemove", str(width - 12), "12", "click", "1")
        assert x_desktop.wait_for(
            lambda: set(x_desktop.visible_windows(proc.pid)) - before_click, 5
        ), "a click on the icon did not open the menu"
        time.sleep(0.3)
        x_desktop.screenshot(tmp_path / "menu.png", copy_as="menu.png")
        x_desktop.x("xdotool", "key", "Up", "Return")  # Up from the top lands on the last item
        rc, err = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert rc == 0, err
    assert "Traceback" not in err
    assert dock_s < 5
    assert (tmp_path / "xdg" / "autostart" / "raison-garder.desktop").exists()  # on by default


def test_a_tray_that_comes_up_later_still_gets_the_icon(x_display, tmp_path):
    proc = launch(x_display, tmp_path)
    try:
        time.sleep(3)  # logged in, panel not there yet
        x_display.start_tray()
        assert x_display.wait_for(lambda: (x_display.panel_width() or 0) >= DOCKED_W, 6), (
            "the icon did not dock once the tray appeared"
        )
        assert send_command("quit", Path(os.environ["RAISON_GARDER_DATA_DIR"]))
        rc, err = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert rc == 0, err


def open_sessions() -> list[dict]:
    from tray_app.store import Store, StoreError

    try:
        with Store.open() as store:
            return [s for s in store.list_sessions() if s["status"] == "open"]
    except StoreError:
        return []  # not created yet


def test_sigterm_ends_the_tray_cleanly(x_desktop, tmp_path, fake_nvml, tool_layout, tool_process):
    """A logout sends SIGTERM: the engine closes the open session (complete, not left to be
    "recovered" at the next start) and leaves no socket behind."""
    from tests.fixtures.fake_nvml import FakeGpu, FakeProcess, Segment
    from tests.images import free_port
    from tray_app.store import Store

    tool = tool_process([sys.executable, "main.py", "--port", str(free_port())],
                        cwd=tool_layout("comfyui"))
    fake_nvml(FakeGpu(trace=[Segment(3600.0, 250.0, 97.0)], processes=[FakeProcess(pid=tool.pid)]))
    proc = launch(x_desktop, tmp_path)
    try:
        assert x_desktop.wait_for(lambda: (x_desktop.panel_width() or 0) >= DOCKED_W, 10)
        assert x_desktop.wait_for(open_sessions, 20, 0.5), "the tray never opened a session"
        time.sleep(6)  # at least one 5 s batch of readings
        proc.send_signal(signal.SIGTERM)
        rc, err = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert rc == 0, err
    assert "Traceback" not in err
    assert not (Path(os.environ["RAISON_GARDER_DATA_DIR"]) / "instance.sock").exists()
    with Store.open() as store:
        (s,) = store.list_sessions()
        assert store.recover_open_sessions() == []
    assert s["tool"] == "comfyui" and s["status"] == "complete", s
    assert s["gpu_wh"] and s["gpu_wh"] > 0
