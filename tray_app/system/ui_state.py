"""A tiny JSON file where the tray records facts that `doctor` reports (tray availability)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tray_app.system.atomic import atomic_write
from tray_app.system.paths import data_dir

FILE_NAME = "tray_state.json"


def _path(directory: Path | None) -> Path:
    return (directory if directory is not None else data_dir(create=False)) / FILE_NAME


def read_ui_state(directory: Path | None = None) -> dict[str, Any]:
    try:
        data = json.loads(_path(directory).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_ui_state(directory: Path | None = None, **updates: Any) -> None:
    """Merge `updates` (plus `checked_at`) into the file, atomically. Failures are silent:
    doctor then says "unknown", which is better than stopping the tray over it."""
    state = read_ui_state(directory)
    state.update(updates, checked_at=time.time())
    try:
        atomic_write(_path(directory), json.dumps(state))
    except OSError:
        pass
