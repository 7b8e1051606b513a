"""`raison-garder monitor` in a terminal: what it prints on stderr, said once."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_settings_problem_is_printed_once(isolated_dirs):
    """A bad value in settings.json: one "warning: …" line, not also Python's bare log echo."""
    isolated_dirs["config"].mkdir(parents=True)
    (isolated_dirs["config"] / "settings.json").write_text(
        json.dumps({"reminders": {"session_wh": "lots"}, "cpu_tdp_w": -5})
    )
    run = subprocess.run(
        [sys.executable, "-m", "tray_app", "monitor", "--quiet", "--duration", "0.6"],
        env=dict(os.environ), cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    for key in ("cpu_tdp_w", "reminders.session_wh"):
        said = [line for line in lines if f": {key} must be" in line]
        assert len(said) == 1, run.stderr
        assert said[0].startswith("warning: In "), said
    assert "Traceback" not in run.stderr


def test_other_warnings_still_reach_the_terminal(capsys):
    """Only the echo of a problem the listener says is dropped, not every warning."""
    from tray_app.commands import monitor

    handler = monitor._log_to_stderr()
    try:
        logging.getLogger("tray_app.runtime.desk").warning("could not store a reminder: disk full")
        logging.getLogger("tray_app.runtime.engine").warning("told by the listener")
    finally:
        logging.getLogger("tray_app").removeHandler(handler)
    err = capsys.readouterr().err
    assert "could not store a reminder: disk full" in err
    # logged from a function other than Engine._problem, so still shown: the filter is precise
    assert "told by the listener" in err
