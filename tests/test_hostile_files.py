"""Hostile files: exports a spreadsheet cannot turn into formulas, imports that cannot crash,
hang or half-import. Every refusal is one line naming the file, never a traceback."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tray_app.cli import main
from tray_app.store import Store
from tray_app.store.exchange import write_csv

T0 = 1_750_000_000.0
FORMULAS = ["=cmd|' /C calc'!A0", "=HYPERLINK(\"http://x\",\"y\")", "@SUM(A1:A2)", "+1+2",
            "-2+3", "\tx", "'=already quoted"]  # (a CR is refused on import: not in this list)


def session(**fields) -> dict:
    base = {"tool": "comfyui", "start_ts": T0, "end_ts": T0 + 60, "gpu_wh": 1.5, "cpu_wh": 0.25}
    return {**base, **fields}


def exported_csv(isolated_dirs, capsys) -> str:
    capsys.readouterr()
    assert main(["export", "--format", "csv"]) == 0
    return capsys.readouterr().out


def import_file(path: Path, capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["import", str(path)])
    return code, capsys.readouterr().err


def test_csv_exports_neutralise_formulas_and_keep_numbers_numeric(tmp_path, isolated_dirs, capsys):
    records = [session(start_ts=T0 + i * 100, end_ts=T0 + i * 100 + 60, notes=text, model_name=text,
                       exe_name=text[:200]) for i, text in enumerate(FORMULAS)]
    source = tmp_path / "hostile.json"
    source.write_text(json.dumps(records))
    assert import_file(source, capsys)[0] == 0
    with Store.open() as store:  # a negative number in a numeric column stays a number
        store.update_session(store.list_sessions()[0]["id"], idle_baseline_w=-0.0)
    out = exported_csv(isolated_dirs, capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    for row in rows:
        for key, value in row.items():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (key, value)
    notes = sorted(r["notes"] for r in rows)
    assert notes == sorted("'" + t for t in FORMULAS)
    assert all(float(r["gpu_wh"]) == 1.5 for r in rows)
    # Our own CSV comes back exactly as it was: the apostrophe is ours, not the user's text.
    again = tmp_path / "again.csv"
    again.write_text(out)
    os.environ["RAISON_GARDER_DATA_DIR"] = str(tmp_path / "fresh")
    try:
        assert import_file(again, capsys)[0] == 0
        with Store.open() as fresh:
            assert sorted(s["notes"] for s in fresh.list_sessions()) == sorted(FORMULAS)
    finally:
        os.environ["RAISON_GARDER_DATA_DIR"] = str(isolated_dirs["data"])


def test_a_number_cell_keeps_its_minus_sign():
    buf = io.StringIO()
    write_csv([session(idle_baseline_w=-5, notes="-5")], buf)
    row = next(csv.DictReader(io.StringIO(buf.getvalue())))
    assert row["idle_baseline_w"] == "-5"  # numeric column: a number, as spreadsheets read it
    assert row["notes"] == "'-5"  # text column: text, never a formula
    buf = io.StringIO()
    write_csv([session(notes="\r=1+1")], buf)
    assert ",'\r=1+1\n" in buf.getvalue()  # notes: the last column


def test_a_csv_cell_nested_1200_deep_is_refused_in_one_line(tmp_path, capsys):
    path = tmp_path / "deep.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["tool", "start_ts", "end_ts", "gpu_wh", "cpu_wh", "pids"])
        writer.writerow(["comfyui", T0, T0 + 60, 1.0, 0.5, "[" * 1200 + "]" * 1200])
    code, err = import_file(path, capsys)
    assert code == 2 and "Traceback" not in err and "RecursionError" not in err
    assert str(path) in err and "pids" in err and len(err.strip().splitlines()) == 1


def test_importing_dev_zero_is_refused_at_once(capsys):
    start = time.monotonic()
    code, err = import_file(Path("/dev/zero"), capsys)
    assert code == 2 and "not a regular file" in err and "/dev/zero" in err
    assert time.monotonic() - start < 2.0


def test_importing_a_named_pipe_does_not_wait_for_a_writer(tmp_path, capsys):
    fifo = tmp_path / "sessions.json"
    os.mkfifo(fifo)
    result: list = []
    worker = threading.Thread(target=lambda: result.append(import_file(fifo, capsys)), daemon=True)
    worker.start()
    worker.join(timeout=5)
    if worker.is_alive():  # unblock the old code's open() so the test run can go on
        with open(fifo, "w"):
            pass
        worker.join(timeout=5)
        pytest.fail("import waited for a writer on a named pipe")
    code, err = result[0]
    assert code == 2 and "not a regular file" in err


def test_a_file_growing_past_the_limit_is_not_read_whole(tmp_path, monkeypatch, capsys):
    from tray_app.store import exchange

    monkeypatch.setattr(exchange, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "big.json"
    path.write_text(json.dumps([session(notes="x" * 2000)]))
    code, err = import_file(path, capsys)
    assert code == 2 and "too large" in err


def test_a_failure_half_way_leaves_nothing_imported(tmp_path, isolated_dirs, monkeypatch, capsys):
    from tray_app.store import generations

    gen = {"key": "p1", "start_ts": T0 + 1, "end_ts": T0 + 20, "window": "exact", "images": 4}
    path = tmp_path / "with-generations.json"
    path.write_text(json.dumps([session(uid="u-1", generations=[gen])]))

    def full_disk(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(generations, "insert_many", full_disk)
    code, err = import_file(path, capsys)
    assert code == 1 and "full" in err and "Traceback" not in err
    with Store.open() as store:
        assert store.list_sessions() == []  # the sessions went back out with the generations


@pytest.mark.slow
def test_import_of_dev_zero_in_a_real_process_ends_with_one_line():
    run = subprocess.run([sys.executable, "-m", "tray_app", "import", "/dev/zero"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "Traceback" not in run.stderr and "MemoryError" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
