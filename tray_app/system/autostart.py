"""Start at login, the way each OS expects it. Qt-free, stdlib only.

- Linux/BSD: an XDG autostart entry `$XDG_CONFIG_HOME/autostart/raison-garder.desktop`, delayed
  a little and after the panel so the tray exists when we ask for it (as KeePassXC does).
- Windows: a value in the per-user Run key, HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run.
- macOS: a LaunchAgent plist in `~/Library/LaunchAgents`.

The OS entry is the truth: `is_enabled()` reads it back every time, because the user may have
removed it by hand. Every backend takes its target (folder or registry accessor) as an argument
so tests never touch the real session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from tray_app import APP_ID, APP_NAME
from tray_app.system.atomic import atomic_write

DESKTOP_FILE = f"{APP_ID}.desktop"
MAC_LABEL = "org.raison-garder.tray"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = APP_NAME
FIRST_RUN_MARKER = "autostart-initialised"


class Backend(Protocol):
    def is_enabled(self) -> bool: ...

    def enable(self, command: Sequence[str]) -> None: ...

    def disable(self) -> None: ...

    def location(self) -> str: ...


def launch_command() -> list[str]:
    """How to start the tray again: the installed script, else this interpreter with `-m`."""
    if getattr(sys, "frozen", False):  # a bundled executable
        return [sys.executable]
    script = shutil.which(APP_ID)
    if script:
        return [script]
    python = sys.executable
    if sys.platform == "win32":  # no console window at login
        pythonw = Path(python).with_name("pythonw.exe")
        python = str(pythonw) if pythonw.exists() else python
    return [python, "-m", "tray_app"]


def _source_root() -> str | None:
    """The folder to start in when we run from a source checkout (package not installed)."""
    root = Path(__file__).resolve().parents[2]
    return str(root) if (root / "pyproject.toml").exists() else None


# ---- Linux and other XDG desktops ------------------------------------------------------------
_DESKTOP_RESERVED = set(' \t\n"\'\\><~|&;$*?#()`')


def _desktop_quote(arg: str) -> str:
    """Quote one Exec argument as the Desktop Entry spec asks (and double a literal %)."""
    arg = arg.replace("%", "%%")
    if not arg or any(c in _DESKTOP_RESERVED for c in arg):
        escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
        return f'"{escaped}"'
    return arg


def xdg_autostart_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autostart"


class XdgAutostart:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else xdg_autostart_dir()

    @property
    def path(self) -> Path:
        return self.directory / DESKTOP_FILE

    def location(self) -> str:
        return str(self.path)

    def is_enabled(self) -> bool:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
        # Desktops honour these two keys to switch an entry off without deleting it.
        lines = {line.strip().replace(" ", "").lower() for line in text.splitlines()}
        return "hidden=true" not in lines and "x-gnome-autostart-enabled=false" not in lines

    def enable(self, command: Sequence[str]) -> None:
        from tray_app.system.paths import resources_dir

        lines = [
            "[Desktop Entry]",
            "Type=Application",
            f"Name={APP_NAME}",
            "Comment=Measure what local AI image generation really draws",
            "Comment[fr]=Mesure ce que la génération d'images par IA locale consomme vraiment",
            "Exec=" + " ".join(_desktop_quote(a) for a in command),
            f"Icon={resources_dir() / 'icons' / 'raison-garder.svg'}",
            "Terminal=false",
            "Categories=Utility;Monitor;",
            # Give the panel time to come up, so the tray icon has somewhere to go.
            "X-GNOME-Autostart-enabled=true",
            "X-GNOME-Autostart-Delay=2",
            "X-KDE-autostart-after=panel",
            "X-KDE-autostart-phase=2",
        ]
        root = _source_root()
        if root and command[1:2] == ["-m"]:
            lines.append(f"Path={root}")
        atomic_write(self.path, "\n".join(lines) + "\n")

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)


# ---- macOS -----------------------------------------------------------------------------------
class MacLaunchAgent:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else Path.home() / "Library" / "LaunchAgents"

    @property
    def path(self) -> Path:
        return self.directory / f"{MAC_LABEL}.plist"

    def location(self) -> str:
        return str(self.path)

    def is_enabled(self) -> bool:
        import plistlib  # macOS only; with it, expat: not for every platform's start-up

        try:
            with self.path.open("rb") as fh:
                data = plistlib.load(fh)
        except (OSError, plistlib.InvalidFileException, ValueError):
            return False
        return bool(data.get("RunAtLoad")) and not data.get("Disabled", False)

    def enable(self, command: Sequence[str]) -> None:
        plist: dict[str, object] = {
            "Label": MAC_LABEL,
            "ProgramArguments": list(command),
            "RunAtLoad": True,
            "ProcessType": "Interactive",
            # Quit means quit: do not let launchd restart us.
            "KeepAlive": False,
        }
        root = _source_root()
        if root and list(command[1:2]) == ["-m"]:
            plist["WorkingDirectory"] = root
        import plistlib

        atomic_write(self.path, plistlib.dumps(plist).decode("utf-8"))

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)


# ---- Windows ---------------------------------------------------------------------------------
class RunKeyAccess(Protocol):
    """The three registry operations we need, so tests can hand in a dict-backed fake."""

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> None: ...


class WinregRunKey:
    """HKCU\\...\\Run through `winreg` (Windows only)."""

    def get(self, name: str) -> str | None:
        if sys.platform != "win32":  # the backend chosen on Windows only
            raise OSError("the Windows registry exists on Windows only")
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                value, _kind = winreg.QueryValueEx(key, name)
        except OSError:
            return None
        return str(value)

    def set(self, name: str, value: str) -> None:
        if sys.platform != "win32":  # the backend chosen on Windows only
            raise OSError("the Windows registry exists on Windows only")
        import winreg

        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
            winreg.SetValueEx(key, name, 0, winreg.REG_SZ, value)

    def delete(self, name: str) -> None:
        if sys.platform != "win32":  # the backend chosen on Windows only
            raise OSError("the Windows registry exists on Windows only")
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
                winreg.DeleteValue(key, name)
        except FileNotFoundError:
            pass


class WindowsRunKey:
    def __init__(self, registry: RunKeyAccess | None = None) -> None:
        self.registry = registry if registry is not None else WinregRunKey()

    def location(self) -> str:
        return f"HKEY_CURRENT_USER\\{RUN_KEY}\\{RUN_VALUE}"

    def is_enabled(self) -> bool:
        return bool(self.registry.get(RUN_VALUE))

    def enable(self, command: Sequence[str]) -> None:
        self.registry.set(RUN_VALUE, subprocess.list2cmdline(list(command)))

    def disable(self) -> None:
        self.registry.delete(RUN_VALUE)


# ---- choosing and first run ------------------------------------------------------------------
def backend_for(platform: str | None = None) -> Backend:
    platform = platform or sys.platform
    if platform == "win32":
        return WindowsRunKey()
    if platform == "darwin":
        return MacLaunchAgent()
    return XdgAutostart()


def apply_first_run_default(backend: Backend, marker_dir: Path, wanted: bool = True) -> bool:
    """Switch start-at-login on at the very first run (when `wanted`), never again afterwards,
    so an entry the user removed by hand stays removed. Returns True when it wrote the entry."""
    marker = marker_dir / FIRST_RUN_MARKER
    if marker.exists():
        return False
    wrote = False
    if wanted and not backend.is_enabled():
        backend.enable(launch_command())
        wrote = True
    atomic_write(marker, "1\n")
    return wrote



