"""A tiny JSON file where the tray records facts that `doctor` reports (tray availability)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

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
    path = _path(directory)
    tmp = path.with_suffix(".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
