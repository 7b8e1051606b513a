"""Guard against Qt bindings that corrupt the interpreter (PySide6 6.12.0 on Python 3.11)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_void_qt_calls_do_not_leak_references_to_none():
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication, QLabel\n"
        "app = QApplication([])\n"
        "label = QLabel()\n"
        "before = sys.getrefcount(None)\n"
        "for _ in range(2000):\n"
        "    label.setText('x')\n"
        "print(before - sys.getrefcount(None))\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=60)
    assert run.returncode == 0, run.stderr[-500:]
    assert abs(int(run.stdout.strip())) < 50, "this PySide6 build leaks references to None"
