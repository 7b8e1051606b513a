"""Opening the store file: creation, every migration path, and files that are not (yet) ours."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from tray_app.store import Store, StoreError, schema
from tray_app.store.db import STORE_FILENAME


def _build_at_version(path: Path, version: int) -> None:
    """A store file exactly as release `version` left it, holding one finished session."""
    conn = sqlite3.connect(path, isolation_level=None)
    for stmt in schema.V1:
        conn.execute(stmt)
    for step in schema.MIGRATIONS[: version - 1]:
        for stmt in step:
            conn.execute(stmt)
    conn.execute(f"PRAGMA user_version={version}")
    conn.execute(
        "INSERT INTO sessions (uid, tool, exe_name, pids, gpu_indices, start_ts, end_ts, "
        "duration_s, gpu_wh, cpu_wh, total_wh, energy_method, status) "
        "VALUES ('u-1', 'comfyui', 'python3', '[42]', '[0]', 1.7e9, 1.7e9 + 600, 600, 30, 5, 35, "
        "'counter', 'complete')"
    )
    conn.close()


def test_fresh_store_is_current_private_and_wal(isolated_dirs):
    with Store.open() as store:
        path = store.path
        assert path == isolated_dirs["data"] / STORE_FILENAME
        assert store.problems == []
        conn = store._conn
        assert schema.user_version(conn) == schema.SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize("version", range(1, schema.SCHEMA_VERSION))
def test_migrates_from_every_earlier_version_keeping_data(tmp_path, version):
    path = tmp_path / "old.sqlite3"
    _build_at_version(path, version)
    with Store.open(path) as store:
        assert store.problems == []
        assert schema.user_version(store._conn) == schema.SCHEMA_VERSION
        [s] = store.list_sessions()
        assert (s["uid"], s["tool"], s["total_wh"], s["pids"]) == ("u-1", "comfyui", 35.0, [42])
        assert s["images"] is None  # a v2 column, null for old sessions
        store.update_session(s["id"], images=7, model_family="sdxl")
        assert store.get_session(s["id"])["wh_per_image"] == pytest.approx(5.0)
        # v4: how the energy was attributed is not known for sessions recorded before.
        assert (s["machine_wh"], s["gpu_attribution"], s["attribution"]) == (None, None, None)
        store.update_session(s["id"], machine_wh=80.0, gpu_attribution="process list + utilisation",
                             cpu_attribution="cpu time")
        again = store.get_session(s["id"])
        assert again["machine_wh"] == 80.0
        assert again["attribution"] == "attributed: process list + utilisation"


def test_migrated_schema_equals_fresh_schema(tmp_path):
    def shape(path: Path) -> list:
        conn = sqlite3.connect(path)
        rows = sorted(
            conn.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL")
        )
        conn.close()
        return rows

    old = tmp_path / "old.sqlite3"
    _build_at_version(old, 1)
    Store.open(old).close()
    Store.open(tmp_path / "new.sqlite3").close()
    assert shape(old) == shape(tmp_path / "new.sqlite3")


def test_newer_store_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / STORE_FILENAME
    _build_at_version(path, schema.SCHEMA_VERSION)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={schema.SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError) as info:
        Store.open(path)
    assert info.value.kind == "newer"
    assert str(path) in str(info.value) and "newer version" in str(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [STORE_FILENAME]


def test_garbage_file_is_moved_aside_with_its_wal(tmp_path):
    path = tmp_path / STORE_FILENAME
    path.write_bytes(b"\x00garbage, not a database" * 100)
    (tmp_path / (STORE_FILENAME + "-wal")).write_bytes(b"old wal")
    with Store.open(path) as store:
        [problem] = store.problems
        assert store.list_sessions() == []
    aside = sorted(tmp_path.glob(STORE_FILENAME + ".corrupt-*"))
    assert [p.name.endswith("-wal") for p in aside] == [False, True]
    assert aside[0].read_bytes().startswith(b"\x00garbage")
    assert str(path) in problem and str(aside[0]) in problem


def test_damaged_sqlite_file_is_moved_aside(tmp_path):
    path = tmp_path / STORE_FILENAME
    Store.open(path).close()
    data = bytearray(path.read_bytes())
    data[16:100] = b"\xff" * 84  # keep the magic header, break the rest of page 1's header
    path.write_bytes(bytes(data))
    with Store.open(path) as store:
        assert len(store.problems) == 1
        sid = store.open_session("comfyui", "python", [1], [0], 1.7e9)
        assert store.get_session(sid)["status"] == "open"
    assert len(list(tmp_path.glob(STORE_FILENAME + ".corrupt-*"))) == 1


def test_foreign_sqlite_file_is_moved_aside(tmp_path):
    path = tmp_path / STORE_FILENAME
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE bookmarks (url TEXT)")
    conn.execute("INSERT INTO bookmarks VALUES ('https://example.org')")
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert "another program" in store.problems[0]
        assert schema.user_version(store._conn) == schema.SCHEMA_VERSION
    [aside] = tmp_path.glob(STORE_FILENAME + ".corrupt-*")
    conn = sqlite3.connect(aside)
    assert conn.execute("SELECT url FROM bookmarks").fetchall() == [("https://example.org",)]
    conn.close()


def _make_unwritable(folder: Path) -> None:
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return
    # root ignores permission bits: an immutable folder refuses root too, where supported.
    if os.system(f"chattr +i '{folder}' 2>/dev/null") != 0:
        pytest.skip("cannot make a folder unwritable for root here (no chattr +i)")


def _make_writable(folder: Path) -> None:
    if os.geteuid() == 0:
        os.system(f"chattr -i '{folder}' 2>/dev/null")
    folder.chmod(0o755)


def test_read_only_folder_gives_a_clear_store_error(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    _make_unwritable(folder)
    try:
        with pytest.raises(StoreError) as info:
            Store.open(folder / STORE_FILENAME)
    finally:
        _make_writable(folder)
    assert info.value.kind == "readonly"
    message = str(info.value)
    assert str(folder / STORE_FILENAME) in message and "RAISON_GARDER_DATA_DIR" in message


@pytest.mark.parametrize("version", range(1, schema.SCHEMA_VERSION))
def test_an_upgraded_store_keeps_generations_as_long_as_their_session(tmp_path, version):
    path = tmp_path / "old.sqlite3"
    _build_at_version(path, version)
    with Store.open(path) as store:
        [s] = store.list_sessions()
        row = {"session_id": s["id"], "key": "p-1", "tool": "comfyui", "start_ts": 1.7e9 + 10,
               "end_ts": 1.7e9 + 16, "window": "exact", "images": 2, "gpu_wh": 0.5,
               "cpu_wh": 0.1, "steps": 30}  # fmt: skip
        assert store.add_generations([row]) == 1
        assert store.add_generations([row]) == 0  # the same prompt read again: kept once
        assert store.apply_retention(0, now=2e9) == 0  # retention aggregates samples only
        [g] = store.list_generations()
        assert (g["window"], g["total_wh"], g["wh_per_image"]) == ("exact", 0.6, 0.3)
        store.delete_sessions([s["id"]])
        assert store.list_generations() == []
