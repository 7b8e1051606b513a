"""The fallback popup on a real X server (Xvfb, no D-Bus session bus, so no notification
service): it appears while the user types in another window, does not take the keyboard focus
from it, and goes away by itself. A screenshot is kept for a human."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.xvfb, pytest.mark.slow]

# The user's work: a focused text field. Then a reminder arrives through the presenter.
HELPER = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLineEdit
from tray_app.reminders import Reminder
from tray_app.ui.reminders.presenter import ReminderPresenter

app = QApplication(sys.argv)
editor = QLineEdit("typing a prompt…")
editor.setWindowTitle("work")
editor.resize(400, 40)
editor.show()
editor.activateWindow()
editor.setFocus()
presenter = ReminderPresenter(None, lambda: None, lambda: None, lambda: None,
                              popup_timeout_ms=2500, refresh_ms=0)
reminder = Reminder(id="r", ts=0.0, rule="session_energy", follow_up=False, session_id=1,
    values={}, title="Quick energy check",
    body="This session has drawn 55 Wh so far. That's about 4 phone charges, "
         "or 0.4 km in an electric car.",
    tip="Tip: while you explore prompts, a smaller resolution saves most of the energy.")

def report(word):
    print(word, hex(int(editor.winId())), flush=True)

def popup():
    channel = presenter.show(reminder)
    print("channel", channel, flush=True)
    presenter.popup.destroyed.connect(lambda: (report("closed"), QTimer.singleShot(200, app.quit)))
    QTimer.singleShot(600, lambda: report("shown"))

QTimer.singleShot(800, lambda: report("ready"))
QTimer.singleShot(1500, popup)
QTimer.singleShot(15000, app.quit)
app.exec()
"""


def test_popup_does_not_steal_the_focus_and_goes_away(x_display, tmp_path):
    for tool in ("xdotool", "import"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            pytest.skip(f"{tool} is needed (apt install xdotool imagemagick)")
    env = x_display.env(PYTHONPATH=str(ROOT), LANGUAGE="en", QT_QPA_PLATFORM="xcb",
                        RAISON_GARDER_DATA_DIR=str(tmp_path / "data"),
                        RAISON_GARDER_CONFIG_DIR=str(tmp_path / "config"),
                        # No bus at all: without an address libdbus would autolaunch one on the
                        # X display, and its activation would start a notification daemon.
                        DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp_path}/no-bus")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", HELPER], env=env, cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        assert proc.stdout is not None
        word, editor = proc.stdout.readline().split()
        assert word == "ready"
        focus_before = x_display.x("xdotool", "getwindowfocus").strip()
        assert int(focus_before) == int(editor, 16), "the work window has the focus"

        assert proc.stdout.readline().split() == ["channel", "popup"]
        assert proc.stdout.readline().split()[0] == "shown"
        windows = x_display.visible_windows(proc.pid)
        assert len(windows) == 2, "the work window and the popup"
        assert x_display.x("xdotool", "getwindowfocus").strip() == focus_before
        shot = x_display.screenshot(tmp_path / "popup.png", copy_as="reminder-popup.png")
        assert shot.exists()

        # 2.5 s after it appeared, without a hover, it is gone, and the focus never moved.
        assert proc.stdout.readline().split()[0] == "closed"
        assert len(x_display.visible_windows(proc.pid)) == 1
        assert x_display.x("xdotool", "getwindowfocus").strip() == focus_before
        _out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
