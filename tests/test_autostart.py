"""Start at login: each OS's entry is written, read back and removed, in a temp location."""

from __future__ import annotations

import plistlib
import shlex

import pytest

from tray_app.system import autostart
from tray_app.system.autostart import MacLaunchAgent, WindowsRunKey, XdgAutostart


class DictRegistry:
    """Stands in for HKCU\\...\\Run."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)


COMMAND = ["/opt/My Apps/python", "-m", "tray_app"]


def test_xdg_entry_starts_after_the_panel(tmp_path):
    backend = XdgAutostart(tmp_path / "autostart")
    assert not backend.is_enabled()
    backend.enable(COMMAND)
    text = backend.path.read_text()
    assert backend.is_enabled()
    assert "X-GNOME-Autostart-Delay=2" in text
    assert "X-KDE-autostart-after=panel" in text
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert shlex.split(exec_line[5:]) == COMMAND  # the space in the path is quoted
    backend.disable()
    assert not backend.is_enabled() and not backend.path.exists()


def test_xdg_entry_switched_off_by_the_desktop_counts_as_off(tmp_path):
    backend = XdgAutostart(tmp_path)
    backend.enable(COMMAND)
    backend.path.write_text(backend.path.read_text() + "Hidden=true\n")
    assert not backend.is_enabled()


def test_xdg_default_folder_follows_xdg_config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert XdgAutostart().path == tmp_path / "cfg" / "autostart" / "raison-garder.desktop"


def test_desktop_exec_quoting_escapes_specials():
    assert autostart._desktop_quote("plain") == "plain"
    assert autostart._desktop_quote('a "b" $c') == '"a \\"b\\" \\$c"'
    assert autostart._desktop_quote("50%") == "50%%"


def test_windows_run_key(tmp_path):
    registry = DictRegistry()
    backend = WindowsRunKey(registry)
    assert not backend.is_enabled()
    backend.enable(["C:\\Program Files\\Raison Garder\\raison-garder.exe"])
    assert registry.values == {"Raison Garder": '"C:\\Program Files\\Raison Garder\\raison-garder.exe"'}
    assert backend.is_enabled()
    backend.disable()
    assert registry.values == {} and not backend.is_enabled()


def test_mac_launch_agent(tmp_path):
    backend = MacLaunchAgent(tmp_path / "LaunchAgents")
    backend.enable(COMMAND)
    data = plistlib.loads(backend.path.read_bytes())
    assert data["ProgramArguments"] == COMMAND and data["RunAtLoad"] is True
    assert data["KeepAlive"] is False  # Quit means quit
    assert backend.is_enabled()
    backend.path.write_bytes(b"not a plist")  # damaged by hand: off, not a crash
    assert not backend.is_enabled()
    backend.disable()
    assert not backend.path.exists()


@pytest.mark.parametrize(("platform", "kind"), [("linux", XdgAutostart), ("win32", WindowsRunKey),
                                                 ("darwin", MacLaunchAgent)])
def test_backend_for_each_platform(platform, kind):
    assert isinstance(autostart.backend_for(platform), kind)


def test_on_by_default_at_first_run_only(tmp_path):
    backend = XdgAutostart(tmp_path / "autostart")
    marker_dir = tmp_path / "config"
    assert autostart.apply_first_run_default(backend, marker_dir) is True
    assert backend.is_enabled()
    backend.disable()  # the user removes it by hand...
    assert autostart.apply_first_run_default(backend, marker_dir) is False
    assert not backend.is_enabled()  # ...and it stays removed


def test_first_run_respects_a_setting_that_says_no(tmp_path):
    backend = XdgAutostart(tmp_path / "autostart")
    assert autostart.apply_first_run_default(backend, tmp_path, wanted=False) is False
    assert not backend.is_enabled()


def test_launch_command_runs_this_package():
    command = autostart.launch_command()
    assert command[-2:] == ["-m", "tray_app"] or command[0].endswith("raison-garder")
