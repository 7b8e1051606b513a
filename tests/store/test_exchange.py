"""Export and import: round trips are idempotent; hostile files are refused whole."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tray_app.store import Store
from tray_app.store.exchange import (
    CODECARBON_FIELDS,
    ImportRefused,
    read_import,
    write_codecarbon,
    write_csv,
    write_json,
)

T0 = 1.7e9
GOOD = {"tool": "comfyui", "start_ts": T0, "end_ts": T0 + 60, "gpu_wh": 3.5, "cpu_wh": None}


@pytest.fixture
def store(isolated_dirs):
    s = Store.open()
    for i in range(3):
        sid = s.open_session("comfyui" if i % 2 else "forge", "python", [10 + i], [0], T0 + 100 * i)
        s.add_samples(sid, [(T0 + 100 * i + k, 150.0, None, 1) for k in range(31)])
        s.close_session(sid, T0 + 100 * i + 30)
    s.update_session(1, images=3, model_family="sdxl")
    yield s
    s.close()


@pytest.mark.parametrize("writer, name", [(write_json, "e.json"), (write_csv, "e.csv")])
def test_export_then_import_is_idempotent(store, tmp_path, writer, name):
    path = tmp_path / name
    with open(path, "w", newline="") as out:
        writer(store.list_sessions(), out)
    assert store.import_sessions(read_import(path)) == (0, 3)
    fresh = Store.open(tmp_path / "other.sqlite3")
    assert fresh.import_sessions(read_import(path)) == (3, 0)
    assert fresh.import_sessions(read_import(path)) == (0, 3)
    mine = {s["uid"]: s for s in store.list_sessions()}
    for s in fresh.list_sessions():
        o = mine[s["uid"]]
        for key in ("tool", "start_ts", "end_ts", "gpu_wh", "cpu_wh", "total_wh", "images",
                    "model_family", "pids", "energy_method", "status"):  # fmt: skip
            assert s[key] == o[key], key
    fresh.close()


def test_records_without_uid_match_on_tool_and_times(store, tmp_path):
    path = tmp_path / "plain.json"
    path.write_text(json.dumps([GOOD, dict(GOOD, tool="forge")]))
    assert store.import_sessions(read_import(path)) == (2, 0)
    assert store.import_sessions(read_import(path)) == (0, 2)
    s = store.list_sessions(tool="comfyui", since=T0, until=T0 + 1)[0]
    assert s["cpu_wh"] is None and s["total_wh"] == 3.5 and s["status"] == "complete"


def test_sessions_json_output_imports(store, tmp_path):
    buf = io.StringIO()
    write_json(store.list_sessions(), buf)
    data = json.loads(buf.getvalue())
    data[0]["co2_g"] = 1e300  # derived fields are ignored, not trusted
    (tmp_path / "s.json").write_text(json.dumps(data))
    assert len(read_import(tmp_path / "s.json")) == 3


def _hostile_cases():
    huge = "9" * 5000
    return {
        "nan": ('[{"tool":"x","start_ts":NaN,"end_ts":1,"gpu_wh":1,"cpu_wh":1}]', "JSON"),
        "infinity": (json.dumps([dict(GOOD, gpu_wh=1e999)]).replace("Infinity", "1e999"), "gpu_wh"),
        "huge int": (
            f'[{{"tool":"x","start_ts":{T0},"end_ts":{T0 + 1},"gpu_wh":{huge},"cpu_wh":0}}]',
            "JSON",
        ),
        "huge energy": (json.dumps([dict(GOOD, gpu_wh=5e9)]), "gpu_wh"),
        "negative energy": (
            json.dumps([GOOD, dict(GOOD, cpu_wh=-1.0)]),
            "record 2, field 'cpu_wh'",
        ),
        "end before start": (json.dumps([dict(GOOD, end_ts=T0 - 1)]), "end_ts"),
        "missing field": (json.dumps([{k: v for k, v in GOOD.items() if k != "gpu_wh"}]), "gpu_wh"),
        "wrong type": (json.dumps([dict(GOOD, start_ts="yesterday")]), "start_ts"),
        "bool as number": (json.dumps([dict(GOOD, gpu_wh=True)]), "gpu_wh"),
        "not a list": (json.dumps({"sessions": [GOOD]}), "list of sessions"),
        "not objects": (json.dumps([1, 2]), "record 1"),
        "not json": ("{ this is not json", "JSON"),
        "deep nesting": ("[" * 100_000 + "]" * 100_000, "JSON"),
        "foreign csv": ("timestamp,project_name,emissions\n2024-01-01,x,0.1\n", "missing column"),
        "ragged csv": ("tool,start_ts,end_ts,gpu_wh,cpu_wh\nx,1,2,3,4,5\n", "CSV"),
        "csv nan": (f"tool,start_ts,end_ts,gpu_wh,cpu_wh\nx,{T0},{T0 + 1},nan,1\n", "gpu_wh"),
        "bad status": (json.dumps([dict(GOOD, status="open")]), "status"),
        "bad pids": (json.dumps([dict(GOOD, pids="1 2 3")]), "pids"),
        "control chars": (json.dumps([dict(GOOD, tool="x\x1b[2J")]), "tool"),
        "future": (json.dumps([dict(GOOD, start_ts=4e9, end_ts=4e9 + 1)]), "end_ts"),
        "too long": (json.dumps([dict(GOOD, end_ts=T0 + 400 * 86400)]), "end_ts"),
    }


@pytest.mark.parametrize("text, expected", _hostile_cases().values(), ids=_hostile_cases().keys())
def test_hostile_files_are_refused_naming_the_problem(store, tmp_path, text, expected):
    path = tmp_path / "hostile.json"
    path.write_text(text)
    before = store.list_sessions()
    with pytest.raises(ImportRefused) as info:
        store.import_sessions(read_import(path))
    assert str(path) in str(info.value) and expected in str(info.value)
    assert store.list_sessions() == before


def test_binary_and_oversized_files_are_refused(tmp_path, monkeypatch):
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 100)
    with pytest.raises(ImportRefused, match="not a text file"):
        read_import(binary)
    from tray_app.store import exchange

    monkeypatch.setattr(exchange, "MAX_FILE_BYTES", 100)
    big = tmp_path / "big.json"
    big.write_text(json.dumps([GOOD] * 10))
    with pytest.raises(ImportRefused, match="too large"):
        read_import(big)


def test_codecarbon_export_has_their_columns_and_units(store):
    buf = io.StringIO()
    write_codecarbon(store.list_sessions(order="start_ts ASC"), buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert tuple(rows[0].keys()) == CODECARBON_FIELDS
    first = rows[0]
    assert float(first["duration"]) == 30.0
    assert float(first["gpu_energy"]) == pytest.approx(150 * 30 / 3600 / 1000)  # kWh
    assert float(first["gpu_power"]) == pytest.approx(150.0)  # W
    assert float(first["emissions"]) == pytest.approx(150 * 30 / 3600 / 1000 * 475 / 1000)  # kg
    assert first["cpu_energy"] == "" and first["ram_energy"] == ""  # unknown stays empty, not 0
    assert first["timestamp"] == "2023-11-14T22:13:50"
