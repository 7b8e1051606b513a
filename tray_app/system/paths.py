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


class FolderProblem(OSError):
    """Our data or settings folder cannot be used. `str()` is one line for the user: which
    folder, what is wrong, and what to do. An OSError, so callers that handle I/O failures
    already handle it."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        return str(self.args[0])


def _what(env: str) -> tuple[str, str]:
    from tray_app.system.i18n import _

    return (_("data folder") if env == ENV_DATA_DIR else _("settings folder")), env


def folder_problem(path: Path, env: str, error: OSError | None = None) -> str | None:
    """Why `path` cannot be our folder, in one line naming it, or None when it is usable (or
    can be created). Creates nothing: `doctor` asks this about folders it must not make."""
    from tray_app.system.i18n import _

    what, env = _what(env)
    if error is None or isinstance(error, (FileExistsError, NotADirectoryError)):
        blocker = next((p for p in (path, *path.parents) if p.exists() or p.is_symlink()), None)
        if blocker is not None and not blocker.is_dir():
            if blocker == path:
                return _("The {what} {path} is a file, not a folder. Move the file aside, or point "
                         "{env} at a folder.").format(what=what, path=path, env=env)
            return _("The {what} {path} cannot be created: {blocker} is a file. Move the file "
                     "aside, or point {env} at another folder.").format(
                what=what, path=path, blocker=blocker, env=env)
        target = path if path.is_dir() else blocker
        if target is not None and not os.access(target, os.W_OK | os.X_OK):
            return _("The {what} {path} is not writable by you ({folder}). Make it writable, or "
                     "point {env} at a writable folder.").format(
                what=what, path=path, folder=target, env=env)
        if error is None:
            return None
    detail = (error.strerror if error is not None else None) or str(error)
    return _("The {what} {path} cannot be used ({error}). Check that its disk is mounted and "
             "writable, or point {env} at another folder.").format(
        what=what, path=path, error=detail, env=env)


def _ensure_private_dir(path: Path, env: str) -> Path:
    # Our files describe the user's habits: readable by the user only.
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise FolderProblem(path, folder_problem(path, env, exc) or str(exc)) from exc
    return check_private_dir(path, env)


_checked: set[Path] = set()


def check_private_dir(path: Path, env: str = ENV_DATA_DIR) -> Path:
    """Refuse (FolderProblem) a folder someone else owns or may write to: they could plant
    links or swap our files (the instance token, the settings). A missing folder is fine."""
    if not hasattr(os, "getuid") or path in _checked:  # Windows: the profile's ACLs keep others out
        return path
    try:
        st = path.stat()
    except OSError:
        return path
    from tray_app.system.i18n import _

    if st.st_uid != os.getuid():
        raise FolderProblem(path, _(
            "{path} belongs to another user (uid {uid}), so Raison Garder will not use it. Point "
            "{variable} at a folder of yours, or remove that one."
        ).format(path=path, uid=st.st_uid, variable=env))
    if st.st_mode & 0o022:
        raise FolderProblem(path, _(
            "{path} can be written by other users, so Raison Garder will not use it. Make it "
            "yours only with: chmod 700 {path}"
        ).format(path=path))
    # Checked once per process: the monitor must not stop over a chmod made while it runs.
    _checked.add(path)
    return path


def data_dir(create: bool = True) -> Path:
    """Raises FolderProblem when `create` and the folder cannot be made, and when it is not
    private to the user (see check_private_dir)."""
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        path = Path(env).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir(APP_ID, appauthor=False))
    return _ensure_private_dir(path, ENV_DATA_DIR) if create else check_private_dir(path, ENV_DATA_DIR)


def config_dir(create: bool = True) -> Path:
    """Raises FolderProblem when `create` and the folder cannot be made, and when it is not
    private to the user (see check_private_dir)."""
    env = os.environ.get(ENV_CONFIG_DIR)
    if env:
        path = Path(env).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_config_dir(APP_ID, appauthor=False))
    return _ensure_private_dir(path, ENV_CONFIG_DIR) if create else check_private_dir(
        path, ENV_CONFIG_DIR)


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
