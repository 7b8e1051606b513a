"""The tray icon and its menu. Consumes engine statuses (GUI thread, via EngineBridge signals)
and turns menu clicks into thread-safe engine commands. Windows are imported only when opened."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QCursor, QDesktopServices
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from tray_app import APP_NAME
from tray_app.config.file import load_settings, save_settings
from tray_app.config.settings import TypedSettings, default_settings, key_of
from tray_app.system.i18n import _, ngettext
from tray_app.ui import texts
from tray_app.ui.bridge import EngineLike
from tray_app.ui.icon import IconCache, IconState, IconStateMaker

HOUR_S = 3600.0


def load_typed_settings() -> TypedSettings:
    try:
        return load_settings().typed
    except OSError:  # the settings layer reports the file's own problems
        return default_settings()


def save_setting(setting: Callable[[TypedSettings], object], value: Any) -> None:
    """Save one setting, named by its getter: save_setting(lambda s: s.start_at_login, True)."""
    values = dict(load_settings().values)
    values[key_of(setting)] = value
    save_settings(values)


class TrayController(QObject):
    quit_requested = Signal()

    def __init__(
        self,
        engine: EngineLike,
        data_dir: Path,
        autostart: Any | None = None,  # tray_app.system.autostart.Backend; None hides the toggle
        icon_cache: IconCache | None = None,
        state_maker: IconStateMaker | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.engine = engine
        self.data_dir = data_dir
        self.autostart = autostart
        self.icons = icon_cache or IconCache()
        self.states = state_maker or IconStateMaker()
        self.status: Any | None = None
        self.icon_state: IconState | None = None
        self.icon_updates = 0  # setIcon calls, for tests and benchmarks
        self.tooltip_updates = 0
        self.windows: dict[str, QWidget] = {}  # open windows, kept alive here
        self._problems_told: set[str] = set()
        self.on_no_tray_message: Callable[[str], None] | None = None

        self.tray = QSystemTrayIcon(self)
        self.menu = QMenu()
        self.menu.aboutToShow.connect(self._refresh_menu)
        self._status_actions: list[QAction] = []
        self._build_menu()
        self.tray.setContextMenu(self.menu)
        self.tray.activated.connect(self._on_activated)
        self._apply(None)

    # ---- menu ----------------------------------------------------------------------------
    def _build_menu(self) -> None:
        m = self.menu
        self._status_sep = m.addSeparator()
        # Shown only while a tool holds the GPU awake with nothing to do (idle waste).
        self.act_free = m.addAction("", self._free_gpu_memory)
        self.act_free.setVisible(False)
        self.act_session = m.addAction("", self._toggle_session)
        self.act_pause = m.addAction("")
        self.act_pause.setCheckable(True)
        self.act_pause.toggled.connect(self._on_pause_toggled)
        self.snooze_menu = m.addMenu("")
        self.act_snooze_hour = self.snooze_menu.addAction("", lambda: self.engine.snooze_reminders(HOUR_S))
        self.act_snooze_tomorrow = self.snooze_menu.addAction("", lambda: self.engine.snooze_reminders(None))
        self.act_resume = self.snooze_menu.addAction("", self._resume_reminders)
        self.act_resume.setVisible(hasattr(self.engine, "resume_reminders"))
        # Reminders held back by do-not-disturb or a full-screen window wait here.
        self.held_menu = m.addMenu("")
        self.held_menu.menuAction().setVisible(False)
        self._held_ids: tuple[str, ...] = ()
        m.addSeparator()
        self.act_history = m.addAction("", self.open_history)
        self.act_settings = m.addAction("", self.open_settings)
        self.act_folder = m.addAction("", self.open_data_folder)
        self.act_autostart = m.addAction("")
        self.act_autostart.setCheckable(True)
        self.act_autostart.setVisible(self.autostart is not None)
        self.act_autostart.triggered.connect(self._on_autostart_triggered)
        self.act_about = m.addAction("", self.open_about)
        m.addSeparator()
        self.act_quit = m.addAction("", self.quit)
        self.act_quit.setMenuRole(QAction.MenuRole.QuitRole)
        self.retranslate()

    def retranslate(self) -> None:
        """Set every menu text again (after a language change in Settings)."""
        self.act_free.setText(_("Free GPU memory"))
        self.act_pause.setText(_("Pause monitoring"))
        self.snooze_menu.setTitle(_("Pause reminders"))
        self.act_snooze_hour.setText(_("For 1 hour"))
        self.act_snooze_tomorrow.setText(_("Until tomorrow"))
        self.act_resume.setText(_("Resume reminders"))
        self.act_history.setText(_("History…"))
        self.act_settings.setText(_("Settings…"))
        self.act_folder.setText(_("Open data folder"))
        self.act_autostart.setText(_("Start at login"))
        self.act_about.setText(_("About Raison Garder"))
        self.act_quit.setText(_("Quit"))
        self._update_held(force=True)
        self._update_session_action()
        self._update_status_lines()
        self._set_tooltip(texts.tooltip_text(self.status))

    def _refresh_menu(self) -> None:
        """Just before the menu opens: the autostart entry may have been removed by hand."""
        if self.autostart is not None:
            self.act_autostart.setChecked(self._autostart_enabled())
        self._update_session_action()
        self._update_status_lines()
        self._update_free_action()

    def _update_free_action(self) -> None:
        wastes = tuple(getattr(self.status, "idle_waste", ()) or ())
        can = hasattr(self.engine, "free_gpu_memory")
        self.act_free.setVisible(bool(wastes) and can)
        self.act_free.setEnabled(not getattr(self.status, "releasing", False))
        if len(wastes) == 1:
            self.act_free.setText(_("Free GPU memory ({tool})").format(tool=wastes[0].label))
        else:
            self.act_free.setText(_("Free GPU memory"))

    def _free_gpu_memory(self) -> None:
        wastes = tuple(getattr(self.status, "idle_waste", ()) or ())
        self.engine.free_gpu_memory(wastes[0].key if wastes else None)

    def _update_status_lines(self) -> None:
        lines = texts.status_lines(self.status) if self.status else [_("Starting the measurement…")]
        if [a.text() for a in self._status_actions] == lines:
            return
        for action in self._status_actions:
            self.menu.removeAction(action)
            action.deleteLater()
        self._status_actions = []
        for line in lines:
            action = QAction(line, self.menu)
            action.setEnabled(False)
            self.menu.insertAction(self._status_sep, action)
            self._status_actions.append(action)

    def _update_session_action(self) -> None:
        session = self.status.session if self.status else None
        if session is not None and session.manual:
            self.act_session.setText(_("Stop the session started by hand"))
            self.act_session.setEnabled(True)
        else:
            self.act_session.setText(_("Start a session by hand"))
            # A tool's session is already being measured; paused monitoring measures nothing.
            self.act_session.setEnabled(session is None and not self.act_pause.isChecked())

    def status_line_texts(self) -> list[str]:
        return [a.text() for a in self._status_actions]

    # ---- engine -> tray --------------------------------------------------------------------
    @Slot(object)
    def on_status(self, status: Any) -> None:
        self._apply(status)

    def _apply(self, status: Any | None) -> None:
        self.status = status
        state = self.states.state_for(status)
        if state != self.icon_state:  # redraw only when what the icon shows changes
            self.icon_state = state
            self.tray.setIcon(self.icons.icon(state))
            self.icon_updates += 1
        self._set_tooltip(texts.tooltip_text(status))
        if status is not None and self.act_pause.isChecked() != bool(status.monitoring_paused):
            self.act_pause.blockSignals(True)
            self.act_pause.setChecked(bool(status.monitoring_paused))
            self.act_pause.blockSignals(False)
        self._update_held()
        if self.menu.isVisible():
            self._update_status_lines()
            self._update_session_action()
            self._update_free_action()

    def _update_held(self, force: bool = False) -> None:
        held = tuple(getattr(self.status, "held_reminders", ()) or ())
        ids = tuple(str(getattr(r, "id", "")) for r in held)
        if ids == self._held_ids and not force:
            return  # rebuilt only when the list changes
        self._held_ids = ids
        self.held_menu.clear()
        self.held_menu.setTitle(
            ngettext("{n} reminder held back", "{n} reminders held back", len(held)).format(n=len(held))
        )
        for rem in reversed(held):  # newest first
            when = texts.clock_text(float(getattr(rem, "ts", 0.0)))
            action = self.held_menu.addAction(f"{when} · {getattr(rem, 'title', '')}")
            action.triggered.connect(lambda _checked=False, r=rem: self._show_held(r))
        self.held_menu.menuAction().setVisible(bool(held))

    def _show_held(self, reminder: Any) -> None:
        show = getattr(self, "show_reminder", None)  # set by TrayApp: the presenter's show
        if show is not None:
            show(reminder, asked=True)
        else:
            self.on_reminder(reminder)
        release = getattr(self.engine, "release_reminder", None)
        if release is not None:
            release(str(getattr(reminder, "id", "")))

    def _set_tooltip(self, text: str) -> None:
        if text != self.tray.toolTip():
            self.tray.setToolTip(text)
            self.tooltip_updates += 1

    @Slot(object)
    def on_reminder(self, reminder: Any) -> None:
        title = str(getattr(reminder, "title", "") or APP_NAME)
        body = getattr(reminder, "body", None) or getattr(reminder, "text", None)
        body = str(body or getattr(reminder, "message", None) or reminder)
        self.say(body, title)

    @Slot(object)
    def on_release(self, outcome: Any) -> None:
        """What freeing GPU memory did, measured: said once, as a notification."""
        icon = (QSystemTrayIcon.MessageIcon.Information if outcome.accepted
                else QSystemTrayIcon.MessageIcon.Warning)
        self.say(outcome.message(), _("Free GPU memory"), icon)

    @Slot(object, object)
    def on_settings(self, settings: TypedSettings, changed: frozenset[str]) -> None:
        """settings.json changed while running (Settings window, `config set`, an editor):
        the engine applied its part; the tray applies the language and start at login."""
        if key_of(lambda s: s.language) in changed:
            from tray_app.system.i18n import set_language

            set_language(settings.language)
            self.retranslate()
        if key_of(lambda s: s.start_at_login) in changed and self.autostart is not None:
            self._apply_autostart(settings.start_at_login)

    def _apply_autostart(self, wanted: bool) -> None:
        """Make the login entry match the setting (it is already saved)."""
        from tray_app.system.autostart import launch_command

        try:
            if wanted and not self._autostart_enabled():
                self.autostart.enable(launch_command())
            elif not wanted and self._autostart_enabled():
                self.autostart.disable()
        except OSError as exc:
            self.say(_("Could not change start at login ({place}): {error}").format(
                place=self.autostart.location(), error=exc),
                icon=QSystemTrayIcon.MessageIcon.Warning)  # fmt: skip
        self.act_autostart.setChecked(self._autostart_enabled())

    @Slot(str)
    def on_problem(self, message: str) -> None:
        if message in self._problems_told:  # gentle: the same problem is said once
            return
        self._problems_told.add(message)
        self.say(message, APP_NAME, QSystemTrayIcon.MessageIcon.Warning)

    def say(
        self,
        text: str,
        title: str = APP_NAME,
        icon: QSystemTrayIcon.MessageIcon = QSystemTrayIcon.MessageIcon.Information,
    ) -> None:
        """A notification from the tray, or the no-tray window's message when there is none."""
        if self.tray.isVisible():
            self.tray.showMessage(title, text, icon, 15000)
        elif self.on_no_tray_message is not None:
            self.on_no_tray_message(text)
        else:
            print(f"{title}: {text}", file=sys.stderr)

    # ---- menu -> engine ------------------------------------------------------------------------
    def _toggle_session(self) -> None:
        session = self.status.session if self.status else None
        if session is not None and session.manual:
            self.engine.stop_manual_session()
        else:
            self.engine.start_manual_session()

    def _on_pause_toggled(self, paused: bool) -> None:
        self.engine.set_monitoring_paused(paused)

    def _resume_reminders(self) -> None:
        resume = getattr(self.engine, "resume_reminders", None)
        if resume is not None:
            resume()

    def _autostart_enabled(self) -> bool:
        try:
            return bool(self.autostart.is_enabled())
        except OSError:
            return False

    def _on_autostart_triggered(self, checked: bool) -> None:
        from tray_app.system.autostart import launch_command

        try:
            if checked:
                self.autostart.enable(launch_command())
            else:
                self.autostart.disable()
            save_setting(lambda s: s.start_at_login, checked)
        except Exception as exc:  # noqa: BLE001 - say it, keep running
            self.act_autostart.setChecked(self._autostart_enabled())
            self.say(
                _("Could not change start at login ({place}): {error}").format(
                    place=self.autostart.location(), error=exc
                ),
                icon=QSystemTrayIcon.MessageIcon.Warning,
            )

    # ---- windows and commands ------------------------------------------------------------
    # Windows are imported when first opened: a tray that only sits there never loads them.
    def open_history(self) -> None:
        from tray_app.ui.history.window import open_history

        open_history(parent=None, on_start_session=self.engine.start_manual_session)

    def open_settings(self) -> None:
        from tray_app.ui.settings.dialog import open_settings

        open_settings(parent=None, on_saved=self.settings_saved,
                      presenter=getattr(self, "presenter", None))  # None until a reminder  # fmt: skip

    def settings_saved(self) -> None:
        """Called by the Settings window after it saved: apply what the tray itself shows."""
        from tray_app.config.boot import apply_language

        apply_language()
        self.retranslate()
        self.engine.reload_settings()

    def open_data_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.data_dir)))

    def open_about(self) -> None:
        from tray_app.ui.about import AboutDialog

        sources = self.status.snapshot.sources if self.status else ()
        self._show_window("about", lambda: AboutDialog(self.data_dir, sources))

    def _show_window(self, key: str, make: Callable[[], QWidget]) -> QWidget:
        window = self.windows.get(key)
        if window is None:
            window = make()
            window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            window.destroyed.connect(lambda *_a, k=key: self.windows.pop(k, None))
            self.windows[key] = window
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def handle_command(self, command: str) -> None:
        """A later launch spoke to us (see tray_app/system/instance.py)."""
        if command == "quit":
            self.quit()
        elif command == "history":
            self.open_history()
        elif command == "show":
            self.open_history()

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger and sys.platform != "darwin":
            self.menu.popup(QCursor.pos())  # a left click opens the menu too
        elif reason == QSystemTrayIcon.ActivationReason.DoubleClick:
            self.open_history()

    def quit(self) -> None:
        self.tray.hide()
        self.quit_requested.emit()
