"""The idle tray loads only what it needs before a window opens (issue 4: idle RSS <= 1.5x a bare
QSystemTrayIcon's; benchmarks/bench_tray.py measures it, this test keeps the causes away).

A child process starts the real tray (`raison-garder` with no command) on the offscreen platform,
waits for its engine thread, and reports its modules and linecache: no window's modules, no Qt
module the idle tray does not use, and no module source kept by PySide6's import hook.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, linecache, os, sys, threading, time

OUT = sys.argv[1]

def report():
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(t.name == "engine" for t in threading.enumerate()):
        time.sleep(0.05)
    time.sleep(1.0)  # the engine's first ticks, and the tray's first status
    with open(OUT, "w", encoding="utf-8") as fh:
        threads = [t.name for t in threading.enumerate()]
        json.dump({"modules": sorted(sys.modules), "linecache": sorted(linecache.cache),
                   "threads": threads}, fh)
    os._exit(0)

threading.Thread(target=report, daemon=True).start()
sys.argv = ["raison-garder"]
from tray_app.cli import main
sys.exit(main())
"""

# Loaded when their window, dialog or feature is first used, never by the idle tray.
NOT_AT_IDLE = (
    "tray_app.ui.history.window",
    "tray_app.ui.history.charts",
    "tray_app.ui.settings.dialog",
    "tray_app.ui.settings.rule_notes",
    "tray_app.ui.about",
    "tray_app.ui.reminders.presenter",  # made at the first reminder (QtDBus)
    "tray_app.metrics.server",  # /metrics is off unless asked for
    "PySide6.QtDBus",
    "PySide6.QtSvg",
    "PySide6.QtNetwork",
    "_hashlib",  # OpenSSL's libcrypto: ~3 MiB of RSS for one blake2b
    "difflib",
    "plistlib",
)


def test_idle_tray_loads_no_window_and_keeps_no_module_source(tmp_path):
    out = tmp_path / "idle.json"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.run([sys.executable, "-c", CHILD, str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert out.exists(), f"the tray did not get to idle (rc {proc.returncode}):\n{proc.stderr[-3000:]}"
    seen = json.loads(out.read_text(encoding="utf-8"))
    modules = set(seen["modules"])
    assert "engine" in seen["threads"], proc.stderr[-3000:]  # the child did run the tray
    assert sorted(m for m in NOT_AT_IDLE if m in modules) == []
    # PySide6 reads each later module's source to look for its name; that copy must not stay.
    kept = [f for f in seen["linecache"] if f.endswith(".py") and "tray_app" in f]
    assert kept == []
