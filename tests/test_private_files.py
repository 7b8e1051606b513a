"""Our files are ours and private: 0600 files in 0700 folders, written through one atomic_write
that a planted symlink cannot redirect, and folders others could tamper with are refused."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tray_app.cli import main
from tray_app.system import paths
from tray_app.system.atomic import atomic_write


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


HELD: list = []  # instance locks kept until the test's end (closing removes instance.json)


def write_instance(directory: Path) -> Path:
    from tray_app.system.instance import INFO_NAME, InstanceLock

    lock = InstanceLock(directory)
    HELD.append(lock)
    assert lock.acquire()
    return directory / INFO_NAME


def write_reminders(directory: Path) -> Path:
    from tray_app.reminders import save_engine
    from tray_app.reminders.engine import ReminderEngine

    path = directory / "reminders-state.json"
    assert save_engine(ReminderEngine({}), path) is None
    return path


def write_ui_state(directory: Path) -> Path:
    from tray_app.system.ui_state import FILE_NAME, write_ui_state

    write_ui_state(directory, tray_available=True)
    return directory / FILE_NAME


def write_autostart(directory: Path) -> Path:
    from tray_app.system.autostart import XdgAutostart

    entry = XdgAutostart(directory)
    entry.enable(["raison-garder"])
    return entry.path


def write_settings(directory: Path) -> Path:
    from tray_app.config.file import save_settings

    return save_settings({"idle_split_min": 12}, directory / "settings.json")


WRITERS: dict[str, tuple[Callable[[Path], Path], str]] = {
    # writer, the fixed temporary name it used before
    "instance": (write_instance, "instance.json.tmp"),
    "reminders": (write_reminders, "reminders-state.json.tmp"),
    "ui_state": (write_ui_state, "tray_state.tmp"),
    "autostart": (write_autostart, "raison-garder.desktop.tmp"),
    "settings": (write_settings, "settings.json.tmp"),
}


@pytest.mark.parametrize("name", WRITERS)
def test_a_symlink_planted_at_the_old_temporary_name_is_not_followed(name, tmp_path):
    write, tmp_name = WRITERS[name]
    folder = tmp_path / "state"
    folder.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("the victim's own content\n")
    victim.chmod(0o644)
    (folder / tmp_name).symlink_to(victim)
    try:
        path = write(folder)
        assert victim.read_text() == "the victim's own content\n"  # nothing went through the link
        assert mode(victim) == 0o644
        assert stat.S_ISREG(path.lstat().st_mode) and mode(path) == 0o600
        leftovers = [p.name for p in folder.iterdir() if p.name.endswith(".tmp") and p.name != tmp_name]
        assert leftovers == []
    finally:
        while HELD:
            HELD.pop().close()


def test_atomic_write_leaves_the_old_content_and_no_temporary_file_when_it_fails(tmp_path, monkeypatch):
    path = tmp_path / "state.json"
    atomic_write(path, "old")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError):
        atomic_write(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_the_data_and_config_folders_are_created_private(isolated_dirs):
    assert mode(paths.data_dir()) == 0o700 and mode(paths.config_dir()) == 0o700


def test_the_instance_socket_and_the_reminder_memory_are_private(isolated_dirs):
    from tray_app.reminders import default_state_path, save_engine
    from tray_app.reminders.engine import ReminderEngine
    from tray_app.system.instance import SOCKET_NAME, InstanceLock

    old = os.umask(0o022)
    try:
        with InstanceLock() as lock:
            assert lock.acquire()
            assert mode(paths.data_dir() / SOCKET_NAME) == 0o600
        assert save_engine(ReminderEngine({}), default_state_path()) is None
        assert mode(default_state_path()) == 0o600
    finally:
        os.umask(old)


def test_an_export_file_is_private(isolated_dirs, tmp_path, capsys):
    out = tmp_path / "history.csv"
    old = os.umask(0o022)
    try:
        assert main(["export", "--format", "csv", "--output", str(out)]) == 0
    finally:
        os.umask(old)
    assert mode(out) == 0o600 and out.read_text().count("\n") == 1  # the header: no session yet


@pytest.mark.parametrize("which", ["data", "config"])
def test_a_folder_others_can_write_to_is_refused_with_the_fix(which, isolated_dirs, capsys):
    folder = isolated_dirs[which]
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    assert main(["sessions"] if which == "data" else ["config", "show"]) == 1
    err = capsys.readouterr().err
    assert f"chmod 700 {folder}" in err and "Traceback" not in err
    assert list(folder.iterdir()) == []  # nothing read or written there


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root")
def test_a_folder_of_another_user_is_refused(isolated_dirs, capsys):
    folder = isolated_dirs["data"]
    folder.mkdir(mode=0o700)
    os.chown(folder, 12345, 12345)
    assert main(["sessions"]) == 1
    err = capsys.readouterr().err
    assert str(folder) in err and "another user (uid 12345)" in err and "RAISON_GARDER_DATA_DIR" in err
    assert list(folder.iterdir()) == []
