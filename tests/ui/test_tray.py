"""The tray on the offscreen platform: what the user sees (icon, tooltip, menu) and what the
menu does (engine commands), with a fake engine."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QLabel, QPushButton

from tests.ui import FakeEngine, status
from tray_app.system import i18n
from tray_app.system.autostart import XdgAutostart
from tray_app.ui.app import TrayApp
from tray_app.ui.icon import ACTIVE, IDLE, PAUSED
from tray_app.ui.translator import CatalogueTranslator
from tray_app.ui.tray import TrayController

# The offscreen platform cannot raise windows or propagate size hints; real desktops can.
offscreen_window = pytest.mark.qt_log_ignore("This plugin does not support")


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def controller(qtbot, engine, tmp_path) -> TrayController:
    ctl = TrayController(engine, tmp_path / "data", autostart=XdgAutostart(tmp_path / "autostart"))
    yield ctl
    ctl.menu.deleteLater()


def action(ctl: TrayController, text: str):
    for act in ctl.menu.actions() + ctl.snooze_menu.actions():
        if act.text() == text:
            return act
    raise AssertionError(f"no menu item {text!r} in {[a.text() for a in ctl.menu.actions()]}")


# ---- icon and tooltip -------------------------------------------------------------------------
def test_icon_is_repainted_only_when_what_it_shows_changes(controller):
    paints0, updates0 = controller.icons.paints, controller.icon_updates
    controller.on_status(status(gpu_w=250.0, cpu_w=30.0))
    paints1 = controller.icons.paints
    assert paints1 > paints0 and controller.icon_updates == updates0 + 1
    # A minute of readings that all show "280": no paint, no setIcon.
    for i in range(60):
        controller.on_status(status(gpu_w=250.0 + (i % 5) * 0.5, cpu_w=30.0))
    assert (controller.icons.paints, controller.icon_updates) == (paints1, updates0 + 1)
    controller.on_status(status(gpu_w=400.0, cpu_w=30.0))
    assert controller.icon_state.text == "430"
    assert controller.icon_updates == updates0 + 2
    # Back to a state seen before: a new setIcon, but the pixmaps come from the cache.
    paints2 = controller.icons.paints
    controller.on_status(status(gpu_w=250.0, cpu_w=30.0))
    assert controller.icons.paints == paints2


def test_icon_looks_follow_the_session_and_pause(controller):
    controller.on_status(status(with_session=False))
    assert controller.icon_state.look == IDLE
    controller.on_status(status())
    assert controller.icon_state.look == ACTIVE
    controller.on_status(status(paused=True))
    assert controller.icon_state.look == PAUSED


def test_tooltip_lists_sources_session_and_today(controller):
    controller.on_status(status(gpu_w=250.0, cpu_w=None))
    tip = controller.tray.toolTip()
    assert "NVIDIA GeForce RTX 4090: 250\u00a0W (measured (energy counter))" in tip
    assert "CPU (estimate): unknown (estimated)" in tip  # unknown, never 0 W
    assert "Session: ComfyUI · 12\u00a0min · 4.2\u00a0Wh · 12\u00a0images" in tip
    assert "Today: 85.3\u00a0Wh" in tip


def test_tooltip_is_set_only_when_its_text_changes(controller):
    controller.on_status(status(gpu_w=250.0))
    n = controller.tooltip_updates
    for _ in range(5):
        controller.on_status(status(gpu_w=250.0))
    assert controller.tooltip_updates == n
    controller.on_status(status(gpu_w=251.0))
    assert controller.tooltip_updates == n + 1


# ---- menu -----------------------------------------------------------------------------------
def test_menu_status_lines_are_disabled_and_current(controller):
    controller.on_status(status(budget_fraction=0.4))
    controller.menu.aboutToShow.emit()
    lines = controller.status_line_texts()
    assert lines[0] == "Now: 285\u00a0W (partly estimated)"  # the CPU figure is an estimate
    assert lines[1].startswith("Session: ComfyUI")
    assert lines[2] == "Today: 85.3\u00a0Wh · 40\u00a0% of budget"
    assert not any(a.isEnabled() for a in controller._status_actions)


def idle_comfyui(extra_w: float = 48.0):
    from tray_app.idle.waste import IdleWaste

    return IdleWaste(key=("comfyui", 4242), tool="comfyui", label="ComfyUI", pid=4242,
                     gpus=("nvidia:0",), holding_mb=8.2 * 1024, power_w=20.0 + extra_w,
                     floor_w=20.0, since=0.0, idle_s=700.0, due=True)


def test_an_idle_tool_holding_the_gpu_gets_a_line_and_a_free_item(controller, engine):
    controller.on_status(status(idle_waste=(idle_comfyui(),)))
    controller.menu.aboutToShow.emit()
    assert "ComfyUI idle, holding 8.2\u00a0GB: +48\u00a0W, about 1.2\u00a0kWh a day if left" in controller.status_line_texts()
    action(controller, "Free GPU memory (ComfyUI)").trigger()
    assert engine.calls[-1] == ("free_gpu_memory", ("comfyui", 4242))
    controller.on_status(status(idle_waste=(idle_comfyui(),), releasing=True))
    controller.menu.aboutToShow.emit()
    assert "Freeing GPU memory…" in controller.status_line_texts()
    assert not action(controller, "Free GPU memory (ComfyUI)").isEnabled()  # one at a time
    controller.on_status(status())
    controller.menu.aboutToShow.emit()
    assert not action(controller, "Free GPU memory").isVisible()


def test_the_idle_line_speaks_french(controller):
    i18n.set_language("fr")
    try:
        controller.on_status(status(idle_waste=(idle_comfyui(),)))
        controller.menu.aboutToShow.emit()
        assert ("ComfyUI inactif, occupe 8,2\u00a0Go\u00a0: +48\u00a0W, environ 1,2\u00a0kWh par jour si on le laisse"
                in controller.status_line_texts())
    finally:
        i18n.set_language("en")


def test_menu_actions_call_the_engine(controller, engine):
    controller.on_status(status(with_session=False))
    controller.menu.aboutToShow.emit()
    action(controller, "Start a session by hand").trigger()
    action(controller, "Pause monitoring").trigger()
    action(controller, "For 1 hour").trigger()
    action(controller, "Until tomorrow").trigger()
    assert engine.calls == [
        ("start_manual_session", None),
        ("set_monitoring_paused", True),
        ("snooze_reminders", 3600.0),
        ("snooze_reminders", None),
    ]
    controller.on_status(status(manual=True))
    controller.menu.aboutToShow.emit()
    action(controller, "Stop the session started by hand").trigger()
    assert engine.calls[-1] == ("stop_manual_session", None)


def test_start_is_disabled_while_a_tool_session_is_measured(controller):
    controller.on_status(status(manual=False))
    controller.menu.aboutToShow.emit()
    assert not action(controller, "Start a session by hand").isEnabled()


def test_pause_item_follows_the_engine(controller, engine):
    controller.on_status(status(paused=True))
    assert action(controller, "Pause monitoring").isChecked()
    assert engine.calls == []  # reflecting the engine's state is not a command


def test_autostart_toggle_reads_the_real_state_each_time(controller, tmp_path):
    entry = tmp_path / "autostart" / "raison-garder.desktop"
    toggle = action(controller, "Start at login")
    controller.menu.aboutToShow.emit()
    assert not toggle.isChecked()
    toggle.trigger()  # the user switches it on
    assert entry.exists() and "X-GNOME-Autostart-Delay=2" in entry.read_text()
    entry.unlink()  # ...and later removes the entry by hand
    controller.menu.aboutToShow.emit()
    assert not toggle.isChecked()


def test_quit_asks_to_quit(controller, qtbot):
    with qtbot.waitSignal(controller.quit_requested, timeout=1000):
        action(controller, "Quit").trigger()


@offscreen_window
def test_about_says_what_is_measured_and_estimated(controller, qtbot):
    controller.on_status(status())
    controller.open_about()
    about = controller.windows["about"]
    qtbot.addWidget(about)
    text = about.text.text()
    assert "NVIDIA GeForce RTX 4090: measured (energy counter)" in text
    assert "CPU (estimate): estimated from utilisation, not measured" in text
    assert str(controller.data_dir) in text
    about.close()


def test_repeated_problem_is_said_once(controller, monkeypatch):
    said = []
    monkeypatch.setattr(controller, "say", lambda text, *a, **k: said.append(text))
    for _ in range(3):
        controller.on_problem("NVML: GPU is lost")
    assert said == ["NVML: GPU is lost"]


def test_reminder_becomes_a_notification(controller, monkeypatch):
    said = []
    monkeypatch.setattr(controller, "say", lambda text, title="": said.append((title, text)))

    class Reminder:
        title = "Time for a pause?"
        body = "50\u00a0Wh this session: about 4 phone charges."

    controller.on_reminder(Reminder())
    assert said == [("Time for a pause?", "50\u00a0Wh this session: about 4 phone charges.")]


# ---- French -----------------------------------------------------------------------------------
def test_menu_speaks_french(qtbot, engine, tmp_path):
    i18n.set_language("fr")
    ctl = TrayController(engine, tmp_path, autostart=XdgAutostart(tmp_path / "a"))
    ctl.on_status(status(with_session=False))
    ctl.menu.aboutToShow.emit()
    texts = [a.text() for a in ctl.menu.actions()]
    assert "Lancer une session à la main" in texts
    assert "Mettre la mesure en pause" in texts
    assert "Quitter" in texts
    assert ctl.status_line_texts()[1] == "Aucune session en cours"
    assert "Aujourd\u2019hui\u00a0: 85,3\u00a0Wh" in ctl.tray.toolTip()
    ctl.menu.deleteLater()


def test_every_ui_string_has_a_french_entry():
    """Our own check (the project's i18n test covers the whole source tree too)."""
    import ast

    root = Path(__file__).resolve().parents[2]
    ours = ("__init__", "about", "app", "bridge", "icon", "no_tray", "texts",
            "translator", "tray", "tray_wait")
    files = [*(root / "tray_app" / "ui" / f"{name}.py" for name in ours),
             root / "tray_app" / "system" / "autostart.py",
             root / "tray_app" / "system" / "instance.py"]
    french = json.loads((root / "resources" / "i18n" / "fr" / "ui.json").read_text("utf-8"))
    missing = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("_", "ngettext"):
                for arg in node.args[:2]:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        if arg.value not in french:
                            missing.append(f"{path.name}: {arg.value}")
    assert missing == []


def test_qt_translator_answers_from_our_catalogue(qapp):
    translator = CatalogueTranslator()
    i18n.set_language("fr")
    assert translator.translate("QMenu", "Quit") == "Quitter"
    assert translator.translate("QMenu", "no such text") == ""  # lets Qt ask the next one
    QApplication.installTranslator(translator)
    try:
        assert QApplication.translate("Any", "History…") == "Historique…"
    finally:
        QApplication.removeTranslator(translator)


# ---- the whole tray app with a fake engine in its worker thread -----------------------------
@pytest.fixture
def make_app(qtbot, tmp_path):
    apps: list[TrayApp] = []

    def make(probe=lambda: False, attempts: int = 30, retry_ms: int = 10) -> TrayApp:
        app = TrayApp(FakeEngine, tmp_path / "data", tray_probe=probe, retry_ms=retry_ms,
                      attempts=attempts)
        (tmp_path / "data").mkdir(exist_ok=True)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.shutdown(2.0)
        if app.no_tray_window is not None:
            app.no_tray_window.close()
        app.controller.menu.deleteLater()


def test_statuses_cross_from_the_worker_thread_as_signals(make_app, qtbot):
    app = make_app()
    app.start()
    assert app.engine.ran.wait(2)
    app.engine.to_emit.append(status(gpu_w=180.0, cpu_w=20.0))
    qtbot.waitUntil(lambda: app.controller.icon_state.text == "200", timeout=2000)
    assert app.controller.status.snapshot.total_w == 200.0
    assert threading.current_thread() is threading.main_thread()


def test_quit_stops_the_engine_and_joins_its_thread(make_app):
    app = make_app()
    app.start()
    assert app.engine.ran.wait(2)
    assert app.shutdown(2.0)
    assert app.engine.names()[-2:] == ["request_stop", "closed"]
    assert not app.runner.running


def test_engine_crash_is_told_not_raised(make_app, qtbot, monkeypatch):
    app = make_app()
    said = []
    monkeypatch.setattr(app.controller, "say", lambda text, *a, **k: said.append(text))
    app.engine.fail_with = RuntimeError("sensor exploded")
    app.start()
    qtbot.waitUntil(lambda: bool(said), timeout=2000)
    assert "Measuring stopped: RuntimeError: sensor exploded" in said[0]
    assert "raison-garder doctor" in said[0]


@pytest.mark.qt_log_ignore("systemTrayWindowChanged")
def test_late_tray_is_picked_up(make_app, qtbot):
    answers = iter([False, False, False, True])
    app = make_app(probe=lambda: next(answers, True))
    app.start()
    qtbot.waitUntil(lambda: app.tray_available is True, timeout=2000)
    assert app.controller.tray.isVisible()


@pytest.mark.qt_log_ignore("systemTrayWindowChanged")
def test_tray_available_is_written_for_doctor(make_app, qtbot, tmp_path):
    app = make_app(probe=lambda: True)
    app.start()
    assert app.controller.tray.isVisible()
    for t in app.state_writes:
        t.join(2)
    state = json.loads((tmp_path / "data" / "tray_state.json").read_text())
    assert state["tray_available"] is True and state["checked_at"] <= time.time()


@offscreen_window
def test_no_tray_is_said_once_and_monitoring_goes_on(make_app, qtbot, tmp_path):
    app = make_app(probe=lambda: False, attempts=3)
    app.start()
    qtbot.waitUntil(lambda: app.tray_available is False, timeout=2000)
    assert app.no_tray_window is not None and app.no_tray_window.isVisible()
    assert "AppIndicator" in app.no_tray_window.message.text()
    assert app.runner.running
    for t in app.state_writes:
        t.join(2)
    state = json.loads((tmp_path / "data" / "tray_state.json").read_text())
    assert state["tray_available"] is False
    app.no_tray_window.close()
    app.shutdown(2.0)

    # Next start on the same desktop: not said again, unless the user launches us again.
    again = make_app(probe=lambda: False, attempts=2)
    again.start()
    qtbot.waitUntil(lambda: again.tray_available is False, timeout=2000)
    assert again.no_tray_window is None
    again.send_command("show")
    qtbot.waitUntil(lambda: again.no_tray_window is not None, timeout=2000)
    assert again.no_tray_window.isVisible()


def test_quit_command_from_a_later_launch(make_app, qtbot):
    app = make_app()
    with qtbot.waitSignal(app.controller.quit_requested, timeout=2000):
        threading.Thread(target=app.send_command, args=("quit",)).start()


def test_an_hour_of_statuses_does_not_crash_the_interpreter(qtbot, tmp_path):
    """PySide6 6.12.0 dropped a reference to True on every emit under Python 3.11: 5000
    statuses from the worker thread aborted CPython (bool_dealloc). pyproject excludes it."""
    import sys

    from tray_app.ui.bridge import EngineBridge

    bridge = EngineBridge()
    seen = []
    bridge.status.connect(seen.append)
    before = sys.getrefcount(True)
    worker = threading.Thread(target=lambda: [bridge.on_status(i) for i in range(5000)])
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(seen) == 5000, timeout=5000)
    assert abs(sys.getrefcount(True) - before) < 50


@pytest.mark.qt_log_ignore("This plugin does not support raise")  # offscreen has no stacking
def test_a_reminder_from_the_engine_reaches_the_presenter_with_its_buttons(make_app, qtbot, monkeypatch):
    """No notification service on this bus: our own popup shows it, with the three actions."""
    from tray_app.reminders import Reminder

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
    app = make_app()
    reminder = Reminder(id="r1", ts=0.0, rule="session_energy", follow_up=False, session_id=1,
                        values={"wh": 55.0}, title="Quick energy check",
                        body="This session has drawn 55\u00a0Wh so far.", tip="Let the GPU rest.")
    app.bridge.on_reminder(reminder)  # as the worker thread does
    qtbot.waitUntil(lambda: app.presenter.popup is not None, timeout=3000)
    popup = app.presenter.popup
    assert "55\u00a0Wh" in " ".join(w.text() for w in popup.findChildren(QLabel))
    buttons = {b.text().replace("&", "") for b in popup.findChildren(QPushButton)}
    assert {"Snooze 1\u00a0h", "Not today", "Open history"} <= buttons
    popup.close()


def test_a_session_with_a_measured_gpu_and_an_estimated_cpu_reads_partly_estimated():
    from tray_app.runtime.engine import SessionView
    from tray_app.ui.texts import session_text

    base = dict(id=1, tool="comfyui", tool_label="ComfyUI", start_wall=0.0, duration_s=600.0,
                active_s=500.0, gpu_wh=40.0, cpu_wh=2.0, total_wh=42.0, images=None,
                method="estimated", manual=False)
    assert session_text(SessionView(**base, gpu_method="counter", cpu_method="estimated")).endswith(
        "partly estimated")
    assert session_text(SessionView(**base, gpu_method=None, cpu_method="estimated")).endswith(
        "· estimated")


def test_the_session_line_gives_wh_per_image_once_images_are_counted():
    from tray_app.runtime.engine import SessionView
    from tray_app.ui.texts import session_text

    s = SessionView(id=1, tool="comfyui", tool_label="ComfyUI", start_wall=0.0, duration_s=600.0,
                    active_s=500.0, gpu_wh=36.0, cpu_wh=2.0, total_wh=38.0, images=20,
                    method="counter", manual=False)
    assert "20\u00a0images · 1.90\u00a0Wh per image" in session_text(s)


@pytest.mark.qt_log_ignore("This plugin does not support raise")
@pytest.mark.parametrize("dnd,expected", [(None, "shown:popup"), ("dnd", "held:dnd")])
def test_the_tray_tells_the_engine_how_each_reminder_reached_the_user(make_app, qtbot, monkeypatch,
                                                                       dnd, expected):
    """Do-not-disturb may begin after the worker's veto read its cache: checked again at display."""
    from tray_app.reminders import Reminder

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
    app = make_app()
    recorded = []
    app.engine.record_delivery = lambda rid, how: recorded.append((rid, how))
    monkeypatch.setattr(app.presenter, "veto_reason", lambda: dnd)
    app.bridge.on_reminder(Reminder(id="r2", ts=0.0, rule="daily_energy", follow_up=False,
                                    session_id=None, values={}, title="t", body="b", tip=""))
    qtbot.waitUntil(lambda: bool(recorded), timeout=3000)
    assert recorded == [("r2", expected)]
    assert (app.presenter.popup is None) == (dnd is not None)  # held back: nothing on screen
    if app.presenter.popup is not None:
        app.presenter.popup.close()


@pytest.mark.qt_log_ignore("This plugin does not support raise")
def test_held_back_reminders_wait_in_the_menu_and_open_on_request(make_app, qtbot, monkeypatch):
    from tray_app.reminders import Reminder

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
    app = make_app()
    released = []
    app.engine.release_reminder = released.append
    c = app.controller
    assert not c.held_menu.menuAction().isVisible()
    held = Reminder(id="h1", ts=0.0, rule="daily_energy", follow_up=False, session_id=None,
                    values={}, title="Today's energy", body="250\u00a0Wh today.", tip="",
                    delivery="held:dnd")
    c.on_status(status(held_reminders=(held,)))
    assert c.held_menu.menuAction().isVisible()
    assert c.held_menu.title() == "1 reminder held back"
    (action,) = c.held_menu.actions()
    assert action.text().endswith("Today's energy")
    action.trigger()
    assert app.presenter.popup is not None  # shown although do-not-disturb held it: asked for
    assert released == ["h1"]
    app.presenter.popup.close()
    c.on_status(status())
    assert not c.held_menu.menuAction().isVisible()


def test_a_settings_change_while_running_reaches_the_menu_language_and_start_at_login(
    controller, tmp_path
):
    from tray_app.config.settings import typed
    from tray_app.system import i18n

    entry = tmp_path / "autostart" / "raison-garder.desktop"
    try:
        controller.on_settings(typed({"language": "fr", "start_at_login": True}),
                               frozenset({"language", "start_at_login"}))  # fmt: skip
        assert action(controller, "Quitter")  # the menu speaks French at once
        assert entry.exists() and action(controller, "Lancer à l\u2019ouverture de session").isChecked()
        controller.on_settings(typed({"language": "fr", "start_at_login": False}),
                               frozenset({"start_at_login"}))  # fmt: skip
        assert not entry.exists()
    finally:
        i18n.set_language("en")
