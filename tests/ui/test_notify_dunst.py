"""Reminders through a real notification daemon (dunst on Xvfb, private D-Bus session bus):
the notification arrives with our name, text and buttons, the buttons reach the engine's
callbacks, dunst's do-not-disturb holds reminders back, and a screenshot is kept for a human."""

from __future__ import annotations

import subprocess

import pytest

from tray_app.reminders import Reminder
from tray_app.ui.reminders.notify import DesktopNotifier
from tray_app.ui.reminders.presenter import (
    DND,
    FULLSCREEN,
    ReminderPresenter,
    x11_fullscreen_active,
)

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]


def reminder(**over) -> Reminder:
    fields = dict(
        id="r1",
        ts=0.0,
        rule="session_energy",
        follow_up=False,
        session_id=7,
        values={"value": 55.2, "threshold": 50.0},
        title="Quick energy check",
        body="This session has drawn 55 Wh so far. That's about 4 phone charges.",
        tip="Tip: a smaller batch size while exploring saves energy.",
    )
    fields.update(over)
    return Reminder(**fields)


class Calls:
    def __init__(self) -> None:
        self.log: list[str] = []

    def presenter(self, qtbot, bus) -> ReminderPresenter:
        notifier = DesktopNotifier(bus=bus)
        p = ReminderPresenter(
            None, lambda: self.log.append("snooze"), lambda: self.log.append("not_today"),
            lambda: self.log.append("history"), notifier=notifier, platform="linux",
            fullscreen_probe=lambda: False, dnd_probe=lambda: False, refresh_ms=0,
        )  # fmt: skip
        return p


def test_reminder_is_a_desktop_notification_whose_buttons_reach_the_engine(
    qtbot, dunst_desktop, tmp_path
):
    calls = Calls()
    presenter = calls.presenter(qtbot, dunst_desktop.qt_bus())
    assert presenter.notifier.server_info()[0] == "dunst"

    assert presenter.show(reminder()) == "dbus"
    assert dunst_desktop.wait(lambda: dunst_desktop.displayed() == 1)
    assert presenter.popup is None  # no second window when the desktop shows it
    qtbot.wait(400)  # let dunst draw before the screenshot
    dunst_desktop.screenshot(tmp_path / "dunst.png", copy_as="reminder-dunst.png")

    dunst_desktop.choose_action("Snooze 1\u00a0h")
    qtbot.waitUntil(lambda: calls.log == ["snooze"], timeout=5000)
    # The menu dunst offered holds our three buttons, under our keys.
    menu = "\n".join(dunst_desktop.menu_lines())
    for label, key in (("Snooze 1\u00a0h", "snooze-hour"), ("Not today", "not-today"),
                       ("Open history", "open-history")):  # fmt: skip
        assert f"#{label} (Quick energy check)" in menu and f",{key}]" in menu

    # After the action the notification is gone; history keeps what the user saw.
    qtbot.waitUntil(lambda: dunst_desktop.displayed() == 0, timeout=5000)
    shown = dunst_desktop.history()[0]
    assert shown["appname"] == "Raison Garder"
    assert shown["summary"] == "Quick energy check"
    assert "55 Wh" in shown["body"] and "smaller batch size" in shown["body"]
    assert shown["category"] == "x-raison-garder.reminder"


def test_not_today_and_history_buttons(qtbot, dunst_desktop):
    calls = Calls()
    presenter = calls.presenter(qtbot, dunst_desktop.qt_bus())
    presenter.show(reminder(id="a"))
    assert dunst_desktop.wait(lambda: dunst_desktop.displayed() == 1)
    dunst_desktop.choose_action("Not today")
    qtbot.waitUntil(lambda: calls.log == ["not_today"], timeout=5000)
    presenter.show(reminder(id="b"))
    assert dunst_desktop.wait(lambda: dunst_desktop.displayed() == 1)
    dunst_desktop.choose_action("Open history")
    qtbot.waitUntil(lambda: calls.log == ["not_today", "history"], timeout=5000)


def test_a_preview_does_not_snooze_anything(qtbot, dunst_desktop):
    calls = Calls()
    presenter = calls.presenter(qtbot, dunst_desktop.qt_bus())
    assert presenter.show(reminder(), preview=True) == "dbus"
    assert dunst_desktop.wait(lambda: dunst_desktop.displayed() == 1)
    dunst_desktop.choose_action("Not today")
    qtbot.waitUntil(lambda: dunst_desktop.displayed() == 0, timeout=5000)  # answered: closed
    qtbot.wait(300)
    assert calls.log == []


def test_dunst_paused_is_do_not_disturb(qtbot, dunst_desktop):
    calls = Calls()
    presenter = calls.presenter(qtbot, dunst_desktop.qt_bus())
    assert presenter.veto_reason() is None and presenter.veto() is None
    dunst_desktop.ctl("set-paused", "true")
    assert presenter.veto_reason() == DND
    assert presenter.veto(reminder()) == DND  # what the worker thread reads
    held = reminder(delivery="held:dnd")
    assert presenter.show(held) is None and presenter.popup is None
    dunst_desktop.ctl("set-paused", "false")
    assert presenter.veto_reason() is None


FULLSCREEN_WINDOW = """
import sys
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication(sys.argv)
w = QWidget()
w.showFullScreen() if sys.argv[1] == "full" else w.show()
app.processEvents()
print(hex(int(w.winId())), flush=True)
sys.stdin.readline()
"""


def test_full_screen_window_is_detected_on_x11(dunst_desktop):
    """No window manager on Xvfb: Qt itself writes _NET_WM_STATE before mapping its window;
    the test plays the window manager by pointing _NET_ACTIVE_WINDOW at it."""
    import os
    import sys

    env = dunst_desktop.env()
    helpers = [subprocess.Popen([sys.executable, "-c", FULLSCREEN_WINDOW, kind], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
               for kind in ("full", "normal")]  # fmt: skip
    try:
        full, normal = (h.stdout.readline().strip() for h in helpers)

        def activate(window: str) -> None:
            subprocess.run(["xprop", "-root", "-f", "_NET_ACTIVE_WINDOW", "32x", "-set",
                            "_NET_ACTIVE_WINDOW", window], env=env, check=True, timeout=10)  # fmt: skip

        x_env = {"DISPLAY": env["DISPLAY"], "PATH": os.environ["PATH"]}
        assert x11_fullscreen_active(env=x_env) is False  # nothing active yet
        activate(normal)
        assert x11_fullscreen_active(env=x_env) is False
        activate(full)
        assert x11_fullscreen_active(env=x_env) is True
        assert x11_fullscreen_active(env={"PATH": os.environ["PATH"]}) is False  # no X: unknown

        presenter = ReminderPresenter(
            None, lambda: None, lambda: None, lambda: None, notifier=None, platform="darwin",
            fullscreen_probe=lambda: x11_fullscreen_active(env=x_env), dnd_probe=lambda: False,
            refresh_ms=0,
        )  # fmt: skip
        assert presenter.veto_reason() == FULLSCREEN
        activate(normal)
        assert presenter.veto_reason() is None
    finally:
        for h in helpers:
            h.communicate("\n", timeout=10)
