"""A tiny JSON file where the tray records facts that `doctor` reports (tray availability)."""

from __future__ import annotations

import json
import os
from typing import Any

from tray_app.paths import data_dir

FILE_NAME = "ui-state.json"


def read_ui_state() -> dict[str, Any]:
    try:
        data = json.loads((data_dir(create=False) / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_ui_state(**updates: Any) -> None:
    state = read_ui_state()
    state.update(updates)
    path = data_dir() / FILE_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state), encoding="utf-8")
    os.replace(tmp, path)
