"""The learned idle floor of a GPU without utilisation survives a restart (sessions/floor.py):
started in the middle of a generation, the app still sees work, not rest."""

from __future__ import annotations

import json
import stat

import pytest

from tests.test_sessions import COMFY, Rig
from tray_app.sessions.floor import load_floors, save_floors


def test_floors_round_trip_privately(tmp_path):
    path = tmp_path / "gpu_idle_floor.json"
    assert save_floors(path, {"nvidia:0": ("NVIDIA GeForce RTX 4090", 21.5)}) is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_floors(path) == ({"nvidia:0": ("NVIDIA GeForce RTX 4090", 21.5)}, None)
    assert load_floors(tmp_path / "absent.json") == ({}, None)


def test_a_damaged_file_is_set_aside_and_named(tmp_path):
    path = tmp_path / "gpu_idle_floor.json"
    path.write_text("{not json")
    floors, message = load_floors(path)
    assert floors == {}
    assert str(path) in message and "set aside" in message
    assert (tmp_path / "gpu_idle_floor.json.corrupt").exists() and not path.exists()


def test_hostile_values_are_ignored(tmp_path):
    path = tmp_path / "gpu_idle_floor.json"
    path.write_text(json.dumps({"floors": {
        "nvidia:0": {"name": "A", "w": 1e9}, "nvidia:1": {"name": "B", "w": -3},
        "nvidia:2": {"name": "C", "w": "20"}, "nvidia:3": {"name": "D", "w": True},
        "nvidia:4": {"name": "E", "w": 18.0}, "nvidia:5": [1, 2]}}))  # fmt: skip
    assert load_floors(path) == ({"nvidia:4": ("E", 18.0)}, None)


def started_mid_generation(floors) -> float:
    """A GPU that never reports utilisation, at 250 W from the app's first second."""
    rig = Rig()
    rig.tracker.restore_floors(floors)
    rig.busy["nvidia:0"] = None
    rig.tools(COMFY)
    rig.power["nvidia:0"] = 250.0
    rig.tick(120)
    rig.power["nvidia:0"] = 20.0
    rig.tick(30)
    (s,) = rig.tracker.sessions.values()
    return s.active_s


def test_a_restored_floor_tells_a_generation_running_at_start_from_rest():
    assert started_mid_generation({"nvidia:0": ("nvidia:0", 20.0)}) == pytest.approx(120, abs=2)
    # Without it (first start ever), the first reading was all it had to go on.
    assert started_mid_generation({}) < 10


def test_a_floor_serves_only_the_board_it_was_learned_on():
    assert started_mid_generation({"nvidia:0": ("Another board", 20.0)}) < 10


def test_what_is_saved_keeps_floors_of_boards_not_seen_this_run():
    rig = Rig()
    rig.tracker.restore_floors({"nvidia:7": ("unplugged eGPU", 9.0)})
    rig.idle(watts=25.0, seconds=5)
    saved = rig.tracker.floors()
    assert saved["nvidia:7"] == ("unplugged eGPU", 9.0)
    assert saved["nvidia:0"] == ("nvidia:0", 25.0)
