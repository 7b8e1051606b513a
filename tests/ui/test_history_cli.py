"""`raison-garder history`: hands over to a running tray, else opens the window alone, and says
clearly what to do on a machine without a display."""

from __future__ import annotations

import threading
import time

from tray_app import cli
from tray_app.commands import history as history_cmd
from tray_app.system.instance import InstanceLock


def no_display(monkeypatch) -> None:
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)


def test_history_is_a_subcommand_with_help():
    parser = cli.build_parser()
    assert "history" in parser.format_help()
    assert parser.parse_args(["history"]).command == "history"


def test_without_display_or_tray_it_points_to_the_sessions_command(monkeypatch, capsys):
    no_display(monkeypatch)
    assert cli.main(["history"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "raison-garder sessions" in err and "display" in err


def test_a_running_tray_opens_its_window_instead(monkeypatch, isolated_dirs):
    no_display(monkeypatch)  # the tray shows it: this process needs no display at all
    got: list[str] = []
    seen = threading.Event()

    def on_command(command: str) -> None:
        got.append(command)
        seen.set()

    with InstanceLock(isolated_dirs["data"]) as lock:
        assert lock.acquire()
        lock.serve(on_command)
        assert cli.main(["history"]) == 0
        assert seen.wait(5)
    assert got == ["history"]


def test_with_a_display_and_no_tray_it_opens_the_window_alone(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    opened: list[bool] = []
    import tray_app.ui.history.window as window_module

    # A distinct exit code: 0 would also be what a hand-over to a tray returns.
    monkeypatch.setattr(window_module, "run_standalone", lambda: opened.append(True) or 42)
    assert history_cmd.run(cli.build_parser().parse_args(["history"])) == 42
    assert opened == [True]


def test_a_stale_instance_file_does_not_block(monkeypatch, isolated_dirs):
    """A crashed tray leaves instance.json behind: wait briefly, then open the window alone."""
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    data = isolated_dirs["data"]
    data.mkdir(parents=True, exist_ok=True)
    (data / "instance.json").write_text('{"unix": "/nonexistent/sock", "token": "x"}')
    import tray_app.ui.history.window as window_module

    opened: list[bool] = []
    monkeypatch.setattr(window_module, "run_standalone", lambda: opened.append(True) or 42)
    started = time.monotonic()
    assert history_cmd.run(cli.build_parser().parse_args(["history"])) == 42
    assert opened == [True]  # the window opened alone: the stale file was not taken for a tray
    assert time.monotonic() - started < 3.0  # "briefly": the user is not kept waiting
