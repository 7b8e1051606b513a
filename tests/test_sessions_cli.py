"""`raison-garder sessions | export | import` as a user sees them."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest

from tray_app.cli import main
from tray_app.store import Store

JSON_KEYS = {
    "id", "tool", "start_ts", "end_ts", "started_at", "ended_at", "duration_s", "active_s",
    "gpu_wh", "cpu_wh", "total_wh", "idle_wh", "peak_w", "avg_w", "energy_method", "status",
    "images", "wh_per_image", "co2_g", "cost",
}  # fmt: skip


@pytest.fixture
def recorded(isolated_dirs):
    """Three sessions on three days, the newest with images counted."""
    with Store.open() as s:
        for day in (8, 9, 10):
            start = datetime(2024, 5, day, 14, 30).timestamp()
            sid = s.open_session("comfyui" if day != 9 else "a1111", "python3", [1], [0], start)
            s.add_samples(sid, [(start + i, 240.0, 60.0, 1) for i in range(601)])
            s.close_session(sid, start + 600)
        s.update_session(sid, images=25)
    return isolated_dirs


def test_empty_store_explains_how_sessions_appear(isolated_dirs, capsys):
    assert main(["sessions"]) == 0
    out = capsys.readouterr().out
    assert "No sessions recorded yet" in out and "monitor" in out
    assert main(["sessions", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_table_is_compact_newest_first(recorded, capsys):
    assert main(["sessions"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "ID",
        "Started",
        "Tool",
        "Duration",
        "Wh",
        "Method",
        "Status",
        "Images",
    ]
    assert lines[1].split() == [
        "3",
        "2024-05-10",
        "14:30",
        "comfyui",
        "0:10:00",
        "50.0",
        "sampled",
        "complete",
        "25",
    ]
    assert lines[2].split()[-1] == "-"  # images not counted: not 0
    assert len(lines) == 4 and max(map(len, lines)) <= 80


def test_json_objects_carry_the_documented_fields(recorded, capsys):
    assert main(["sessions", "--json", "--limit", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data) == 2 and JSON_KEYS <= set(data[0])
    first = data[0]
    assert isinstance(first["start_ts"], float) and first["started_at"].endswith("+00:00")
    assert first["total_wh"] == pytest.approx(50.0) and first["images"] == 25
    assert first["wh_per_image"] == pytest.approx(2.0)
    assert data[1]["images"] is None and data[1]["wh_per_image"] is None


def test_csv_and_since(recorded, capsys):
    assert main(["sessions", "--csv", "--since", "2024-05-09"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["tool"] for r in rows] == ["comfyui", "a1111"]


def test_bad_arguments_are_usage_errors(isolated_dirs, capsys):
    with pytest.raises(SystemExit) as info:
        main(["sessions", "--since", "10/05/2024"])
    assert info.value.code == 2 and "not a date" in capsys.readouterr().err


def test_export_import_round_trip_and_refusal(recorded, tmp_path, capsys):
    out = tmp_path / "all.json"
    assert main(["export", "--format", "json", "--output", str(out)]) == 0
    assert main(["import", str(out)]) == 0
    assert "Imported 0 sessions (3 were already there)." in capsys.readouterr().out
    bad = json.loads(out.read_text())
    bad[1]["gpu_wh"] = -5
    out.write_text(json.dumps(bad))
    assert main(["import", str(out)]) == 2
    err = capsys.readouterr().err
    assert (
        "nothing was changed" in err
        and "record 2, field 'gpu_wh'" in err
        and "Traceback" not in err
    )


def test_export_codecarbon_to_stdout(recorded, capsys):
    assert main(["export", "--format", "codecarbon"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith("timestamp,project_name,run_id,experiment_id,duration,emissions,")


def test_unreadable_store_is_a_message_not_a_traceback(isolated_dirs, capsys):
    data = isolated_dirs["data"]
    data.mkdir(parents=True)
    (data / "raison-garder.sqlite3").write_bytes(b"")  # a fresh empty file is fine...
    with Store.open() as s:  # ...and one from a newer version is refused
        s._conn.execute("PRAGMA user_version=99")
    assert main(["sessions"]) == 1
    err = capsys.readouterr().err
    assert "newer version" in err and "Traceback" not in err


def test_moving_from_codecarbon_keeps_its_runs(isolated_dirs, tmp_path, capsys):
    from tests.store.test_exchange import _emissions_csv, _run

    path = tmp_path / "emissions.csv"
    path.write_text(_emissions_csv([_run(), _run(run_id="r2", project_name="flux-lora")]))
    assert main(["import", str(path)]) == 0
    assert "Imported 2 sessions (0 were already there)." in capsys.readouterr().out
    assert main(["sessions", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["tool"] for r in rows) == ["codecarbon:flux-lora", "codecarbon:my-sdxl-finetune"]
    assert all(r["energy_method"] == "estimated" and r["total_wh"] > 0 for r in rows)
