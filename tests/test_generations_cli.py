"""`raison-garder generations`, and generations travelling through export and import."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest

from tray_app.cli import main
from tray_app.store import Store

JSON_FIELDS = {
    "id", "session_id", "tool", "start_ts", "end_ts", "images", "gpu_wh", "cpu_wh", "total_wh",
    "wh_per_image", "model_name", "model_family", "steps", "width", "height", "batch", "sampler",
    "window",
}  # fmt: skip


def _gen(sid: int, key: str, start: float, seconds: float, steps: int, wh: float, **kw) -> dict:
    return {"session_id": sid, "key": key, "tool": kw.pop("tool", "comfyui"), "start_ts": start,
            "end_ts": start + seconds, "window": kw.pop("window", "exact"),
            "images": kw.pop("images", 1), "gpu_wh": wh * 0.9, "cpu_wh": wh * 0.1,
            "model_name": "sd_xl_base_1.0.safetensors", "model_family": "sdxl", "steps": steps,
            "sampler": "euler", "width": 1024, "height": 1024, **kw}  # fmt: skip


@pytest.fixture
def recorded(isolated_dirs):
    """Two sessions on two days; the first with three prompts, the second with a batch."""
    with Store.open() as s:
        ids = []
        for day in (9, 10):
            start = datetime(2024, 5, day, 14, 30).timestamp()
            sid = s.open_session("comfyui" if day == 9 else "a1111", "python3", [1], [0], start)
            s.add_samples(sid, [(start + i, 240.0, 60.0, 1) for i in range(121)])
            s.close_session(sid, start + 120)
            ids.append((sid, start))
        (a, ta), (b, tb) = ids
        s.add_generations([
            _gen(a, "p1", ta + 5, 10, 20, 1.1), _gen(a, "p2", ta + 20, 20, 40, 2.1),
            _gen(a, "p3", ta + 50, 10, 20, 1.0),
            _gen(b, "img-1", tb + 2, 30, 30, 4.0, tool="a1111", window="approximate",
                 images=4, batch=4),
        ])  # fmt: skip
    return ids


def test_json_lists_every_field_newest_first(recorded, capsys):
    assert main(["generations", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 4 and JSON_FIELDS <= set(rows[0])
    assert [r["tool"] for r in rows] == ["a1111", "comfyui", "comfyui", "comfyui"]
    batch = rows[0]
    assert (batch["images"], batch["batch"], batch["window"]) == (4, 4, "approximate")
    assert batch["wh_per_image"] == pytest.approx(1.0)
    assert isinstance(batch["start_ts"], float)


def test_filters_by_session_day_and_limit(recorded, capsys):
    (a, _ta), _b = recorded
    assert main(["generations", "--json", "--session", str(a), "--limit", "2"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["steps"] for r in rows] == [20, 40] and {r["session_id"] for r in rows} == {a}
    assert main(["generations", "--json", "--since", "2024-05-10"]) == 0
    assert [r["tool"] for r in json.loads(capsys.readouterr().out)] == ["a1111"]


def test_csv_and_table(recorded, capsys):
    assert main(["generations", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 4 and rows[-1]["window"] == "exact" and rows[-1]["steps"] == "20"
    assert main(["generations"]) == 0
    out = capsys.readouterr().out
    assert "SDXL" in out and "1024×1024" in out and "approximate" in out


def test_empty_store_says_how_generations_appear(isolated_dirs, capsys):
    assert main(["generations"]) == 0
    assert "No generations recorded yet" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_then_import_elsewhere_brings_the_generations(recorded, isolated_dirs, capsys,
                                                             tmp_path, monkeypatch, fmt):
    out = tmp_path / f"export.{fmt}"
    assert main(["export", "--format", fmt, "--output", str(out)]) == 0
    if fmt == "csv":
        assert (tmp_path / "export.generations.csv").exists()
    monkeypatch.setenv("RAISON_GARDER_DATA_DIR", str(tmp_path / "elsewhere"))
    capsys.readouterr()
    assert main(["import", str(out)]) == 0
    said = capsys.readouterr().out
    assert "Imported 2 sessions" in said and "Imported 4 generations" in said
    assert main(["import", str(out)]) == 0  # again: nothing twice
    assert "Imported 0 generations (4 were already there)" in capsys.readouterr().out
    assert main(["generations", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["steps"] for r in rows) == [20, 20, 30, 40]
    assert {r["window"] for r in rows} == {"exact", "approximate"}
    batch = next(r for r in rows if r["tool"] == "a1111")
    assert (batch["images"], batch["batch"], batch["total_wh"]) == (4, 4, pytest.approx(4.0))


def test_an_import_with_a_bad_generation_is_refused_whole(recorded, capsys, tmp_path, monkeypatch):
    out = tmp_path / "export.json"
    assert main(["export", "--format", "json", "--output", str(out)]) == 0
    data = json.loads(out.read_text())
    data[0]["generations"][1]["window"] = "roughly"
    out.write_text(json.dumps(data))
    monkeypatch.setenv("RAISON_GARDER_DATA_DIR", str(tmp_path / "elsewhere"))
    capsys.readouterr()
    assert main(["import", str(out)]) == 2
    err = capsys.readouterr().err
    assert "record 1, field 'window'" in err and "nothing was changed" in err
