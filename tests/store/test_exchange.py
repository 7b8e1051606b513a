"""Export and import: round trips are idempotent; hostile files are refused whole."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

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
    s.update_session(1, images=3, model_family="sdxl", machine_wh=9.5,
                     gpu_attribution="shared (process list unavailable)", cpu_attribution="cpu time")
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
                    "model_family", "pids", "energy_method", "status", "machine_wh",
                    "gpu_attribution", "cpu_attribution", "attribution"):  # fmt: skip
            assert s[key] == o[key], key
    fresh.close()


def test_records_without_uid_match_on_tool_and_times(store, tmp_path):
    path = tmp_path / "plain.json"
    path.write_text(json.dumps([GOOD, dict(GOOD, tool="forge")]))
    assert store.import_sessions(read_import(path)) == (2, 0)
    assert store.import_sessions(read_import(path)) == (0, 2)
    s = store.list_sessions(tool="comfyui", since=T0, until=T0 + 1)[0]
    assert s["cpu_wh"] is None and s["total_wh"] == 3.5 and s["status"] == "complete"


def test_an_unknown_attribution_is_refused(store, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([dict(GOOD, gpu_attribution="by magic")]))
    with pytest.raises(ImportRefused, match="gpu_attribution"):
        read_import(path)


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
    # The run's end in local time without offset, as CodeCarbon writes `datetime.now()`.
    assert first["timestamp"] == datetime.fromtimestamp(T0 + 30).strftime("%Y-%m-%dT%H:%M:%S")


@pytest.fixture
def far_from_utc(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_codecarbon_times_are_local_both_ways(store, tmp_path, far_from_utc):
    buf = io.StringIO()
    write_codecarbon(store.list_sessions(order="start_ts ASC"), buf)
    first = next(csv.DictReader(io.StringIO(buf.getvalue())))
    assert first["timestamp"] == "2023-11-14T14:13:50"  # 22:13:50 UTC, in Los Angeles
    path = tmp_path / "emissions.csv"
    path.write_text(buf.getvalue())
    with Store.open(tmp_path / "fresh.sqlite3") as fresh:
        fresh.import_sessions(read_import(path))
        back = min(fresh.list_sessions(), key=lambda s: s["end_ts"])
    assert back["end_ts"] == T0 + 30 and back["start_ts"] == pytest.approx(T0)


# Columns of CodeCarbon 3.3.2's emissions.csv, in its order (its EmissionsData dataclass), typed
# out from the released package so the test does not trust our own constant.
CODECARBON_3_3_2 = (
    "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,"
    "gpu_power,ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,water_consumed,"
    "country_name,country_iso_code,region,cloud_provider,cloud_region,os,python_version,"
    "codecarbon_version,cpu_count,cpu_model,gpu_count,gpu_model,longitude,latitude,"
    "ram_total_size,tracking_mode,cpu_utilization_percent,gpu_utilization_percent,"
    "ram_utilization_percent,ram_used_gb,on_cloud,pue,wue"
).split(",")


def test_codecarbon_export_has_every_column_of_codecarbon_3(store):
    buf = io.StringIO()
    write_codecarbon(store.list_sessions(order="start_ts ASC"), buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert list(rows[0]) == CODECARBON_3_3_2
    first = rows[0]
    for unknown in ("cpu_utilization_percent", "gpu_utilization_percent", "ram_utilization_percent",
                    "ram_used_gb", "water_consumed", "wue", "ram_power", "country_name"):
        assert first[unknown] == "", unknown  # unknown: empty, never 0
    assert (first["pue"], first["on_cloud"], first["run_id"]) == ("1", "N", store.get_session(1)["uid"])


def _sessions_sharing_start_and_end(store: Store, n: int = 10) -> None:
    # A tool restarted within a second, or split at an idle pause, gives equal start and end.
    for i in range(n):
        start = T0 + 1000 + 100 * (i // 2)
        sid = store.open_session("comfyui", "python", [20 + i], [0], start)
        store.add_samples(sid, [(start + k, 100.0 + i, None, 1) for k in range(31)])
        store.close_session(sid, start + 30)


@pytest.mark.parametrize("writer, name", [(write_json, "e.json"), (write_csv, "e.csv")])
def test_every_session_survives_export_then_import(isolated_dirs, tmp_path, writer, name):
    with Store.open(tmp_path / "mine.sqlite3") as mine:
        _sessions_sharing_start_and_end(mine)
        exported = mine.list_sessions()
    assert len({(s["tool"], s["start_ts"], s["end_ts"]) for s in exported}) == 5  # pairs
    path = tmp_path / name
    with open(path, "w", newline="") as out:
        writer(exported, out)
    with Store.open(tmp_path / "fresh.sqlite3") as fresh:
        assert fresh.import_sessions(read_import(path)) == (10, 0)
        assert fresh.import_sessions(read_import(path)) == (0, 10)
        got = sorted(s["gpu_wh"] for s in fresh.list_sessions())
    assert got == sorted(s["gpu_wh"] for s in exported)


def test_a_file_without_uids_gets_them_once(store, tmp_path):
    path = tmp_path / "plain.json"
    path.write_text(json.dumps([GOOD, GOOD, dict(GOOD, gpu_wh=1.0)]))  # two identical sessions
    assert store.import_sessions(read_import(path)) == (3, 0)
    assert store.import_sessions(read_import(path)) == (0, 3)  # the same uids, derived again
    uids = [s["uid"] for s in store.list_sessions(tool="comfyui", since=T0, until=T0 + 1)]
    assert len(uids) == len(set(uids)) == 3


def _emissions_csv(rows: list[dict[str, object]], columns: list[str] = CODECARBON_3_3_2) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in columns})
    return buf.getvalue()


def _run(**kw: object) -> dict[str, object]:
    """A row as CodeCarbon 3.3.2 writes it (pandas' float formatting, local naive timestamp)."""
    row: dict[str, object] = {
        "timestamp": "2024-05-10T14:40:00", "project_name": "my-sdxl-finetune",
        "run_id": "5b0fa12a-3dd7-45bb-9766-cc326314d9f1",
        "experiment_id": "5b0fa12a-3dd7-45bb-9766-cc326314d9f1", "duration": 600.123,
        "emissions": 0.0285, "emissions_rate": 4.75e-05, "cpu_power": 42.5, "gpu_power": 240.0,
        "ram_power": 10.0, "cpu_energy": 0.00708, "gpu_energy": 0.04, "ram_energy": 0.00166,
        "energy_consumed": 0.04874, "water_consumed": 0.0, "country_name": "France",
        "country_iso_code": "FRA", "region": "", "cloud_provider": "", "cloud_region": "",
        "os": "Linux-6.8.0-x86_64-with-glibc2.39", "python_version": "3.11.9",
        "codecarbon_version": "3.3.2", "cpu_count": 16, "cpu_model": "AMD Ryzen 9 7950X",
        "gpu_count": 1, "gpu_model": "1 x NVIDIA GeForce RTX 4090", "longitude": 2.35,
        "latitude": 48.85, "ram_total_size": 62.5, "tracking_mode": "machine",
        "cpu_utilization_percent": 12.5, "gpu_utilization_percent": 97.0,
        "ram_utilization_percent": 40.1, "ram_used_gb": 25.0, "on_cloud": "N", "pue": 1.0,
        "wue": 0.0,
    }
    row.update(kw)
    return row


def test_codecarbons_own_emissions_csv_imports_as_sessions(store, tmp_path):
    from datetime import datetime

    path = tmp_path / "emissions.csv"
    path.write_text(_emissions_csv([
        # "append" mode: a flush half-way, then the run's final row (the one to keep)
        _run(duration=300.0, energy_consumed=0.02, timestamp="2024-05-10T14:35:00"),
        _run(),
        _run(run_id="0e6f0c4d-1111-4c1e-9d7b-1a2b3c4d5e6f", project_name="", gpu_count="",
             gpu_energy=0.0, gpu_power=0.0, energy_consumed=0.01, cpu_energy=0.01),  # no GPU
    ]))
    records = read_import(path)
    assert store.import_sessions(records) == (2, 0)
    assert store.import_sessions(read_import(path)) == (0, 2)
    runs = {s["tool"]: s for s in store.list_sessions() if s["tool"].startswith("codecarbon:")}
    run = runs["codecarbon:my-sdxl-finetune"]
    end = datetime(2024, 5, 10, 14, 40).timestamp()  # local time, as CodeCarbon writes it
    assert (run["start_ts"], run["end_ts"]) == (pytest.approx(end - 600.123), end)
    assert run["total_wh"] == pytest.approx(48.74)  # energy_consumed, RAM included
    assert (run["gpu_wh"], run["cpu_wh"]) == (pytest.approx(40.0), pytest.approx(7.08))
    assert run["energy_method"] == "estimated"  # the file does not say how it was measured
    assert run["uid"] == "5b0fa12a-3dd7-45bb-9766-cc326314d9f1"
    no_gpu = runs["codecarbon:codecarbon"]
    assert no_gpu["gpu_wh"] is None and no_gpu["total_wh"] == pytest.approx(10.0)


def test_an_older_codecarbon_file_without_the_3x_columns_imports(store, tmp_path):
    old_columns = [c for c in CODECARBON_3_3_2 if not c.endswith(("_percent", "ram_used_gb"))
                   and c not in ("water_consumed", "wue")]
    path = tmp_path / "emissions.csv"
    path.write_text(_emissions_csv([_run()], old_columns))
    assert store.import_sessions(read_import(path)) == (1, 0)


def test_our_codecarbon_export_imports_back(store, tmp_path):
    path = tmp_path / "emissions.csv"
    with open(path, "w", newline="") as out:
        write_codecarbon(store.list_sessions(), out)
    assert store.import_sessions(read_import(path)) == (0, 3)  # the same uids: already here
    with Store.open(tmp_path / "fresh.sqlite3") as fresh:
        assert fresh.import_sessions(read_import(path)) == (3, 0)
        got = {s["uid"]: s for s in fresh.list_sessions()}
    for s in store.list_sessions():
        o = got[s["uid"]]
        assert o["tool"] == f"codecarbon:{s['tool']}"
        assert o["gpu_wh"] == pytest.approx(s["gpu_wh"]) and o["cpu_wh"] is None
        assert o["end_ts"] == pytest.approx(s["end_ts"], abs=1)  # the file keeps whole seconds


@pytest.mark.parametrize("field, value", [("duration", "soon"), ("timestamp", "yesterday"),
                                          ("energy_consumed", "-1"), ("gpu_energy", "inf")])
def test_a_bad_codecarbon_row_refuses_the_file_naming_it(store, tmp_path, field, value):
    path = tmp_path / "emissions.csv"
    path.write_text(_emissions_csv([_run(), _run(run_id="x", **{field: value})]))
    with pytest.raises(ImportRefused) as info:
        read_import(path)
    assert f"record 2, field '{field}'" in str(info.value) and str(path) in str(info.value)
