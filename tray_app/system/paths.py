"""Where files live: platformdirs defaults, each overridable by an environment variable.

Tests and portable installs set RAISON_GARDER_DATA_DIR / RAISON_GARDER_CONFIG_DIR so a run is
fully isolated (its own store, settings and single-instance lock).
"""

from __future__ import annotations

import os
from pathlib import Path

from tray_app import APP_ID

ENV_DATA_DIR = "RAISON_GARDER_DATA_DIR"
ENV_CONFIG_DIR = "RAISON_GARDER_CONFIG_DIR"
ENV_POWERCAP_ROOT = "RAISON_GARDER_POWERCAP_ROOT"
ENV_DRM_ROOT = "RAISON_GARDER_DRM_ROOT"
ENV_NVML_LIBRARY = "RAISON_GARDER_NVML_LIBRARY"

PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # tray_app/
REPO_ROOT = PACKAGE_ROOT.parent


def _ensure_private_dir(path: Path) -> Path:
    # Our files describe the user's habits: readable by the user only.
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def data_dir(create: bool = True) -> Path:
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        path = Path(env).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir(APP_ID, appauthor=False))
    return _ensure_private_dir(path) if create else path


def config_dir(create: bool = True) -> Path:
    env = os.environ.get(ENV_CONFIG_DIR)
    if env:
        path = Path(env).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_config_dir(APP_ID, appauthor=False))
    return _ensure_private_dir(path) if create else path


def powercap_root() -> Path:
    return Path(os.environ.get(ENV_POWERCAP_ROOT, "/sys/class/powercap"))


def drm_root() -> Path:
    return Path(os.environ.get(ENV_DRM_ROOT, "/sys/class/drm"))


def resources_dir() -> Path:
    """The shipped resources: beside the package in a bundle, else the repository's `resources/`."""
    for candidate in (PACKAGE_ROOT / "resources", REPO_ROOT / "resources"):
        if candidate.is_dir():
            return candidate
    return REPO_ROOT / "resources"
