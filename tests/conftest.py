"""Shared test set-up: every test gets its own data and config dirs, English, and no real
hardware. Fixture modules in tests/fixtures/ are loaded automatically."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Fixture modules import each other (dbus_dunst uses xvfb): rewrite their asserts up front.
pytest.register_assert_rewrite("tests.fixtures")

pytest_plugins = sorted(
    f"tests.fixtures.{p.stem}"
    for p in (Path(__file__).parent / "fixtures").glob("*.py")
    if p.stem != "__init__"
)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Redirect every path the app touches into the test's temp dir."""
    dirs = {
        "data": tmp_path / "data",
        "config": tmp_path / "config",
        "powercap": tmp_path / "no-powercap",
        "drm": tmp_path / "no-drm",
    }
    monkeypatch.setenv("RAISON_GARDER_DATA_DIR", str(dirs["data"]))
    monkeypatch.setenv("RAISON_GARDER_CONFIG_DIR", str(dirs["config"]))
    # No real sysfs: a test that wants RAPL or hwmon builds a fake tree and points these at it.
    monkeypatch.setenv("RAISON_GARDER_POWERCAP_ROOT", str(dirs["powercap"]))
    monkeypatch.setenv("RAISON_GARDER_DRM_ROOT", str(dirs["drm"]))
    # No real driver either: point NVML at a file that does not exist unless a test says otherwise.
    monkeypatch.setenv("RAISON_GARDER_NVML_LIBRARY", str(tmp_path / "no-libnvidia-ml.so.1"))
    # Start-at-login writes under XDG_CONFIG_HOME on first run: never the real one.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("LANGUAGE", "en")
    # The scanner sees only this pytest process and what it starts, never the ComfyUI the
    # developer runs beside the suite (subprocesses such as a headless monitor inherit it).
    monkeypatch.setenv("RAISON_GARDER_SCAN_SCOPE", str(os.getpid()))
    from tray_app.system import i18n

    i18n.set_language("en")
    return dirs
