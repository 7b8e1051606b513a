"""The reminder popup and the presenter's choice of channel, on the offscreen platform: with no
notification service the popup appears, its buttons reach the engine, it never takes the focus,
it goes away by itself but not while hovered, and held-back reminders are not shown."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QEnterEvent
from PySide6.QtWidgets import QApplication

from tray_app.reminders import Reminder
from tray_app.system import i18n
from tray_app.ui.reminders import popup as reminder_popup
from tray_app.ui.reminders.notify import DesktopNotifier
from tray_app.ui.reminders.presenter import (
    DND,
    FULLSCREEN,
    ReminderPresenter,
    gnome_banners_off,
    x11_fullscreen_active,
)

# The offscreen platform cannot raise windows; real desktops can.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def reminder(**over) -> Reminder:
    fields = dict(id="r1", ts=0.0, rule="session_energy", follow_up=False, session_id=3,
                  values={}, title="Quick energy check",
                  body="This session has drawn 55\u00a0Wh so far.", tip="Tip: take a break.")  # fmt: skip
    fields.update(over)
    return Reminder(**fields)


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
def make(qtbot, calls, no_bus):
    made: list[ReminderPresenter] = []

    def factory(**kw) -> ReminderPresenter:
        kw.setdefault("notifier", DesktopNotifier(bus=no_bus))
        kw.setdefault("platform", "linux")
        kw.setdefault("fullscreen_probe", lambda: False)
        kw.setdefault("dnd_probe", lambda: False)
        kw.setdefault("refresh_ms", 0)
        p = ReminderPresenter(None, lambda: calls.append("snooze"),
                              lambda: calls.append("not_today"),
                              lambda: calls.append("history"), **kw)  # fmt: skip
        made.append(p)
        return p

    yield factory
    for p in made:
        if p.popup is not None:
            p.popup.close()


def test_without_a_notification_service_the_popup_shows_the_reminder(make, calls, qtbot):
    presenter = make()
    assert presenter.notifier.server_info() is None
    assert presenter.show(reminder()) == "popup"
    popup = presenter.popup
    assert popup.isVisible()
    assert popup.title_label.text() == "Quick energy check"
    assert "55\u00a0Wh" in popup.body_label.text() and popup.tip_label.text() == "Tip: take a break."
    assert [b.text() for b in popup.buttons.values()] == ["Snooze 1\u00a0h", "Not today",
                                                          "Open history"]  # fmt: skip
    popup.buttons["snooze-hour"].click()
    assert calls == ["snooze"]
    qtbot.waitUntil(lambda: presenter.popup is None)


@pytest.mark.parametrize("key,expected", [("not-today", "not_today"), ("open-history", "history")])
def test_the_other_buttons(make, calls, key, expected):
    presenter = make()
    presenter.show(reminder())
    presenter.popup.buttons[key].click()
    assert calls == [expected]


def test_an_idle_tool_reminder_offers_to_free_the_gpu_or_not_now(make, calls):
    freed = []
    presenter = make(on_free_gpu=freed.append)
    rem = reminder(rule="idle_waste", values={"idle_tool": "comfyui", "idle_pid": 4242},
                   title="ComfyUI is holding the GPU")
    presenter.show(rem)
    buttons = presenter.popup.buttons
    assert [b.text() for b in buttons.values()] == ["Free GPU memory", "Not now"]
    buttons["not-now"].click()
    assert freed == [] and calls == []  # "Not now" does nothing more
    presenter.show(rem)
    presenter.popup.buttons["free-gpu"].click()
    assert freed == [rem]


def test_popup_is_used_off_linux_and_has_no_dbus(make):
    presenter = make(notifier=None, platform="darwin")
    assert presenter.notifier is None
    assert presenter.show(reminder()) == "popup"


def test_popup_asks_never_to_take_the_focus(make):
    """The offscreen platform activates every window it shows, so the focus itself is checked on
    a real X server (test_popup_desktop.py); here, what the popup asks of the window system."""
    presenter = make()
    presenter.show(reminder())
    popup = presenter.popup
    assert popup.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    flags = popup.windowFlags()
    for flag in (Qt.WindowType.WindowDoesNotAcceptFocus, Qt.WindowType.Tool,
                 Qt.WindowType.FramelessWindowHint, Qt.WindowType.WindowStaysOnTopHint):  # fmt: skip
        assert flags & flag, flag
    assert not popup.isModal()
    assert all(b.focusPolicy() == Qt.FocusPolicy.NoFocus for b in popup.buttons.values())


def test_popup_goes_away_by_itself_but_not_while_hovered(make, qtbot, monkeypatch):
    monkeypatch.setattr(reminder_popup, "AFTER_HOVER_MS", 150)
    presenter = make(popup_timeout_ms=200)
    presenter.show(reminder())
    popup = presenter.popup
    QApplication.sendEvent(popup, QEnterEvent(QPointF(5, 5), QPointF(5, 5), QPointF(5, 5)))
    qtbot.wait(400)
    assert popup.isVisible(), "hovered: the user is reading it"
    QApplication.sendEvent(popup, QEvent(QEvent.Type.Leave))
    qtbot.waitUntil(lambda: presenter.popup is None, timeout=2000)

    presenter.show(reminder(id="r2"))
    qtbot.waitUntil(lambda: presenter.popup is None, timeout=2000)


def test_a_new_reminder_replaces_the_open_popup(make, qtbot):
    presenter = make()
    presenter.show(reminder(title="First"))
    first = presenter.popup
    presenter.show(reminder(id="r2", title="Second"))
    assert presenter.popup is not first and presenter.popup.title_label.text() == "Second"
    qtbot.waitUntil(lambda: not first.isVisible() if _alive(first) else True)


def _alive(widget) -> bool:
    try:
        widget.isVisible()
    except RuntimeError:
        return False
    return True


def test_popup_sits_in_the_corner_inside_the_screen(make):
    presenter = make()
    presenter.show(reminder(body="x " * 400))  # a long text must not push it off screen
    popup = presenter.popup
    area = popup.screen().availableGeometry()
    assert area.contains(popup.geometry())
    assert popup.geometry().right() > area.center().x()  # right-hand side, where trays live


def test_held_back_reminders_are_not_shown(make, calls):
    presenter = make()
    assert presenter.show(reminder(delivery="held:dnd")) is None
    assert presenter.popup is None and presenter.last_channel is None


def test_preview_buttons_do_nothing(make, calls):
    presenter = make()
    presenter.show(reminder(), preview=True)
    presenter.popup.buttons["not-today"].click()
    assert calls == []


def test_veto_is_computed_on_the_gui_thread_and_cached_for_the_worker(make):
    state = {"dnd": False, "full": False}
    presenter = make(dnd_probe=lambda: state["dnd"], fullscreen_probe=lambda: state["full"])
    assert presenter.veto_reason() is None
    state["full"] = True
    assert presenter.veto(reminder()) is None, "the worker only reads the cached answer"
    assert presenter.veto_reason() == FULLSCREEN and presenter.veto(reminder()) == FULLSCREEN
    state["dnd"] = True
    assert presenter.veto_reason() == DND  # do-not-disturb is the reason given first


def test_veto_is_refreshed_by_a_timer(make, qtbot):
    state = {"full": False}
    presenter = make(fullscreen_probe=lambda: state["full"], refresh_ms=50)
    state["full"] = True
    qtbot.waitUntil(lambda: presenter.veto() == FULLSCREEN, timeout=2000)


def test_a_broken_probe_never_blocks_reminders(make):
    def broken() -> bool:
        raise OSError("xprop vanished")

    presenter = make(fullscreen_probe=broken)
    assert presenter.veto_reason() is None


def test_probes_read_their_tools_output():
    def xprop(out_root: str, out_state: str):
        def run(argv, env):
            return out_root if "-root" in argv else out_state

        return run

    env = {"DISPLAY": ":0", "PATH": "/usr/bin:/bin"}
    root = "_NET_ACTIVE_WINDOW(WINDOW): window id # 0x3c00007\n"
    full = "_NET_WM_STATE(ATOM) = _NET_WM_STATE_FULLSCREEN, _NET_WM_STATE_FOCUSED\n"
    assert x11_fullscreen_active(xprop(root, full), env) is True
    assert x11_fullscreen_active(xprop(root, "_NET_WM_STATE(ATOM) = \n"), env) is False
    assert x11_fullscreen_active(xprop("_NET_ACTIVE_WINDOW(WINDOW): window id # 0x0", full),
                                 env) is False  # fmt: skip
    assert x11_fullscreen_active(xprop(root, full), {"WAYLAND_DISPLAY": "wayland-0",
                                                     "DISPLAY": ":0"}) is False  # fmt: skip

    gnome = {"XDG_CURRENT_DESKTOP": "ubuntu:GNOME"}
    if shutil.which("gsettings"):
        assert gnome_banners_off(lambda argv, env: "false\n", gnome) is True
    assert gnome_banners_off(lambda argv, env: "true\n", gnome) is False
    assert gnome_banners_off(lambda argv, env: "false\n", {"XDG_CURRENT_DESKTOP": "KDE"}) is False


def test_popup_speaks_french(make):
    i18n.set_language("fr")
    try:
        presenter = make()
        presenter.show(reminder())
        labels = [b.text() for b in presenter.popup.buttons.values()]
    finally:
        i18n.set_language("en")
    assert labels == ["Reporter d’1\u00a0h", "Pas aujourd’hui", "Ouvrir l’historique"]
