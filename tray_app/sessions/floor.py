"""The learned idle floor of each GPU, kept across restarts.

Where a GPU reports no utilisation, its power is all that tells work from rest, measured against
its idle floor (`SessionTracker`). A floor learned from scratch at every start takes the first
reading as the floor: started during a generation, the app would take that generation for rest.
So the floors are saved (at each session close and at exit) and read back at start, each for
the board it was learned on (same source and same name), never for another.

A missing file is a first start; a damaged one is set aside and said once; values outside
0..2000 W are ignored. Written atomically and privately (0600) like every state file.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from tray_app.system.i18n import _

log = logging.getLogger(__name__)

FILE_NAME = "gpu_idle_floor.json"
MAX_W = 2000.0

Floors = dict[str, tuple[str, float]]  # source -> (board name, watts)


def default_path() -> Path:
    from tray_app.system.paths import data_dir

    return data_dir() / FILE_NAME


def load_floors(path: Path) -> tuple[Floors, str | None]:
    """The saved floors, and a message for the user when the file had to be set aside."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("floors"), dict):
            raise ValueError("not a floors file")
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        log.warning("could not read %s: %s", path, exc)
        return {}, None  # unreadable: learned afresh, and the save will say what is wrong
    except ValueError as exc:
        from tray_app.system.atomic import set_aside

        aside = set_aside(path)
        return {}, _(
            "The learned idle power of your GPUs {path} was damaged ({error}) and was set aside as {aside}; it is learned again."
        ).format(path=path, error=exc, aside=aside)
    floors: Floors = {}
    for source, entry in data["floors"].items():
        if not (isinstance(entry, dict) and isinstance(source, str)):
            continue
        name, watts = entry.get("name"), entry.get("w")
        if (isinstance(name, str) and isinstance(watts, (int, float)) and not isinstance(watts, bool)
                and math.isfinite(watts) and 0.0 <= watts <= MAX_W):  # fmt: skip
            floors[source] = (name, float(watts))
    return floors, None


def save_floors(path: Path, floors: Floors) -> str | None:
    """Write atomically; a message for the user on failure (the app keeps running)."""
    from tray_app.system.atomic import atomic_write

    data = {"version": 1, "floors": {s: {"name": n, "w": round(w, 2)} for s, (n, w) in floors.items()}}
    try:
        atomic_write(path, json.dumps(data, ensure_ascii=False))
    except OSError as exc:
        return _("Could not save the learned idle power of your GPUs to {path} ({error}).").format(
            path=path, error=exc.strerror or exc
        )
    return None
