"""What a user sees when the data or settings folder is a file, cannot be made, or is misused:
one line naming the folder and the fix, never a traceback; `doctor` always answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tray_app.cli import main
from tray_app.store import Store


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


@pytest.fixture(params=["is a file", "under a file"])
def broken_data_dir(request, isolated_dirs, monkeypatch, tmp_path) -> tuple[Path, str]:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("I am a file")
    folder = blocker if request.param == "is a file" else blocker / "data"
    monkeypatch.setenv("RAISON_GARDER_DATA_DIR", str(folder))
    expected = ("is a file, not a folder" if request.param == "is a file"
                else f"cannot be created: {blocker} is a file")
    return folder, expected


@pytest.mark.parametrize("argv", [
    ["sessions"], ["sessions", "--json"], ["export", "--format", "csv"], ["reminders"],
    ["monitor", "--headless", "--duration", "1", "--quiet"],
])
def test_a_data_folder_that_cannot_be_used_is_one_line_and_exit_1(broken_data_dir, capsys, argv):
    folder, expected = broken_data_dir
    assert main(argv) == 1
    err = one_line(capsys.readouterr().err)
    assert str(folder) in err and expected in err and "RAISON_GARDER_DATA_DIR" in err
    assert "Check the disk" not in err  # the disk is fine: the folder is the problem


def test_importing_into_an_unusable_data_folder_is_one_line(broken_data_dir, capsys, tmp_path):
    folder, expected = broken_data_dir
    path = tmp_path / "in.json"
    path.write_text(json.dumps([{"tool": "comfyui", "start_ts": 1.7e9, "end_ts": 1.7e9 + 60,
                                 "gpu_wh": 1.0, "cpu_wh": None}]))
    assert main(["import", str(path)]) == 1
    err = one_line(capsys.readouterr().err)
    assert str(folder) in err and expected in err


def test_doctor_answers_and_names_an_unusable_data_folder(broken_data_dir, capsys):
    folder, expected = broken_data_dir
    assert main(["doctor"]) == 0  # finding a problem is an answer
    out = capsys.readouterr().out
    assert f"Data folder: {folder}" in out and expected in out
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert expected in report["data_dir_problem"] and report["config_dir_problem"] is None
    assert not folder.is_dir()  # doctor made nothing


def test_a_settings_folder_that_is_a_file(isolated_dirs, monkeypatch, capsys, tmp_path):
    blocker = tmp_path / "settings-file-not-folder"
    blocker.write_text("{}")
    monkeypatch.setenv("RAISON_GARDER_CONFIG_DIR", str(blocker))
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert any(str(blocker) in p and "is a file, not a folder" in p
               for p in report["settings_problems"])
    assert main(["doctor"]) == 0
    assert "RAISON_GARDER_CONFIG_DIR" in capsys.readouterr().out
    assert main(["config", "show"]) == 0  # the defaults, with the problem said once
    assert capsys.readouterr().err.count(str(blocker)) == 1
    assert main(["config", "set", "phone_charge_wh", "12"]) == 1
    err = one_line(capsys.readouterr().err)
    assert str(blocker) in err and "is a file, not a folder" in err
    assert main(["sessions"]) == 0  # the history does not need the settings folder
    assert blocker.read_text() == "{}"  # left as it was


def test_doctor_says_what_the_metrics_endpoint_will_do(isolated_dirs, capsys):
    assert main(["config", "set", "metrics.enabled", "true"]) == 0
    capsys.readouterr()
    assert main(["doctor"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Metrics"))
    assert "http://127.0.0.1:9612/metrics while the tray or `raison-garder monitor` runs" in line
    assert "nothing listens otherwise" in line
    assert main(["config", "set", "metrics.token", "s3cret-token-0123456789", "metrics.bind", "0.0.0.0"]) == 0
    capsys.readouterr()
    assert main(["doctor"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Metrics"))
    assert "0.0.0.0" not in line  # not an address anyone can open
    assert "every address of this machine, port 9612" in line and "s3cret" not in line  # nor the token


def test_sessions_since_a_day_after_the_last_one_says_so(isolated_dirs, capsys):
    with Store.open() as s:
        for i in range(3):
            sid = s.open_session("comfyui", "python3", [1], [0], 1.7e9 + 1000 * i)
            s.close_session(sid, 1.7e9 + 1000 * i + 60)
    assert main(["sessions", "--since", "2030-01-01"]) == 0
    out = capsys.readouterr().out
    assert "No sessions since 1 January 2030 (3 earlier ones" in out
    assert "recorded yet" not in out


def test_sessions_since_on_an_empty_history_says_none_recorded_yet(isolated_dirs, capsys):
    assert main(["sessions", "--since", "2030-01-01"]) == 0
    assert "No sessions recorded yet" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "soon"])
def test_monitor_refuses_a_duration_that_is_not_positive(isolated_dirs, capsys, value):
    with pytest.raises(SystemExit) as info:
        main(["monitor", "--headless", f"--duration={value}"])
    assert info.value.code == 2
    assert f"'{value}' is not a positive number of seconds" in capsys.readouterr().err


def test_doctor_tells_how_to_measure_a_notebook(isolated_dirs, capsys):
    assert main(["doctor"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Tools:"))
    assert "Jupyter" in line and "manual session" in line
    pattern = line.split("tools.extra_patterns ", 1)[1].strip("`.'")
    # The pattern doctor suggests is one the settings accept as it is printed.
    assert main(["config", "set", "tools.extra_patterns", pattern]) == 0


def test_doctor_says_when_the_scanner_is_limited_to_some_processes(isolated_dirs, capsys, monkeypatch):
    # tests/conftest.py sets the testing aid: a user who copied it would see no tool at all.
    assert main(["doctor"]) == 0
    assert "RAISON_GARDER_SCAN_SCOPE is set" in capsys.readouterr().out
    monkeypatch.delenv("RAISON_GARDER_SCAN_SCOPE")
    assert main(["doctor", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["scan_scope"] is None


def test_a_data_folder_that_cannot_be_reached_is_one_line(isolated_dirs, monkeypatch, capsys):
    # Where nothing can be created (a vanished mount, a pseudo file system), mkdir's own reason.
    folder = "/proc/no-such-process/raison-garder"
    monkeypatch.setenv("RAISON_GARDER_DATA_DIR", folder)
    assert main(["sessions"]) == 1
    err = one_line(capsys.readouterr().err)
    assert f"The data folder {folder} cannot be used (" in err and "mounted" in err
