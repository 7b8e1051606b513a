"""`raison-garder` with no arguments: the tray app.

Start-up order matters for frugality and for the user: take the single-instance lock before
Qt loads (a second launch hands over and leaves in milliseconds), start the engine in its
worker, then wait for a tray for up to a minute (the panel may come up after us).
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSocketNotifier, Qt, Signal
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from tray_app import APP_ID, APP_NAME, __version__
from tray_app.system import paths
from tray_app.system.i18n import _
from tray_app.ui.bridge import EngineBridge, EngineLike, EngineRunner
from tray_app.ui.icon import IconCache, app_icon
from tray_app.ui.tray import TrayController, load_typed_settings
from tray_app.ui.tray_wait import TrayWaiter, read_state, write_state_in_background

WINDOWS_APP_USER_MODEL_ID = "RaisonGarder.Tray"


class TrayApp(QObject):
    """Everything the tray process runs, minus the process plumbing (testable on offscreen)."""

    ipc_command = Signal(str)  # emitted from the instance-lock thread, handled in the GUI thread

    def __init__(
        self,
        engine_factory: Callable[[Any], EngineLike],
        data_dir: Path,
        autostart: Any | None = None,
        tray_probe: Callable[[], bool] = QSystemTrayIcon.isSystemTrayAvailable,
        retry_ms: int = 2000,
        attempts: int = 30,
        device_pixel_ratio: float = 1.0,
    ) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.bridge = EngineBridge()
        self.engine = engine_factory(self.bridge)
        self.controller = TrayController(
            self.engine, data_dir, autostart, icon_cache=IconCache(device_pixel_ratio)
        )
        queued = Qt.ConnectionType.QueuedConnection
        self.bridge.status.connect(self.controller.on_status, queued)
        self._presenter: Any = None
        if hasattr(self.engine, "add_veto"):
            self.engine.add_veto(self._veto)
        self.bridge.reminder.connect(self._deliver_reminder, queued)
        self.controller.show_reminder = lambda rem, asked=False: self.presenter.show(rem, asked=asked)
        self.bridge.problem.connect(self.controller.on_problem, queued)
        self.bridge.release.connect(self.controller.on_release, queued)
        self.bridge.settings.connect(self.controller.on_settings, queued)
        self.ipc_command.connect(self._on_command, queued)
        self.controller.on_no_tray_message = self._note_without_tray
        self.runner = EngineRunner(self.engine, on_crash=self.bridge.on_problem)
        self.waiter = TrayWaiter(tray_probe, retry_ms, attempts, parent=self)
        self.waiter.available.connect(self._tray_ready)
        self.waiter.unavailable.connect(self._no_tray)
        self.tray_available: bool | None = None  # None while still waiting
        self.no_tray_window: Any | None = None
        self.state_writes: list[threading.Thread] = []

    @property
    def presenter(self) -> Any:
        """Reminders with buttons: freedesktop notifications, else our own popup near the tray.
        Made at the first reminder, so an idle tray neither imports QtDBus nor talks to the bus."""
        if self._presenter is None:
            from tray_app.ui.reminders.presenter import ReminderPresenter

            engine = self.engine
            self._presenter = ReminderPresenter(
                self.controller,
                lambda: engine.snooze_reminders(3600),
                getattr(engine, "not_today", lambda: engine.snooze_reminders(None)),
                self.controller.open_history,
                anchor=lambda: self.controller.tray.geometry(),
                on_free_gpu=self._free_from_reminder,
            )
            self.controller.presenter = self._presenter
        return self._presenter

    def _free_from_reminder(self, reminder: Any) -> None:
        """"Free GPU memory" on an idle_waste reminder: the tool it named (else the engine picks)."""
        free = getattr(self.engine, "free_gpu_memory", None)
        if free is None:
            return
        values = getattr(reminder, "values", None) or {}
        tool, pid = values.get("idle_tool"), values.get("idle_pid")
        free((tool, pid) if isinstance(tool, str) and isinstance(pid, int) else None)

    def _veto(self, reminder: Any) -> str | None:
        """The engine's veto (worker thread): the presenter's cached do-not-disturb verdict.
        The presenter checks again when it shows a reminder, and the tray reports it held."""
        presenter = self._presenter
        return None if presenter is None else presenter.veto(reminder)

    def _deliver_reminder(self, reminder: Any) -> None:
        """Show it, then tell the engine how it went, so the history says what really happened."""
        already_held = str(getattr(reminder, "delivery", "") or "").startswith("held:")
        channel = self.presenter.show(reminder)
        record = getattr(self.engine, "record_delivery", None)
        if record is None or already_held:
            return
        record(reminder.id, f"shown:{channel}" if channel else f"held:{self.presenter.last_held}")

    def send_command(self, command: str) -> None:
        """Thread-safe: hand a later launch's command to the GUI thread."""
        self.ipc_command.emit(command)

    def start(self) -> None:
        self.runner.start()
        self.waiter.start()

    def _tray_ready(self) -> None:
        self.tray_available = True
        self.controller.tray.show()
        self.state_writes.append(
            write_state_in_background(self.data_dir, tray_available=True, no_tray_told=False)
        )

    def _no_tray(self) -> None:
        self.tray_available = False
        told_before = read_state(self.data_dir).get("no_tray_told") is True
        self.state_writes.append(
            write_state_in_background(self.data_dir, tray_available=False, no_tray_told=True)
        )
        if not told_before:  # said once; a new launch ("show") brings the window back
            self.show_no_tray_window()

    def show_no_tray_window(self) -> None:
        from tray_app.ui.no_tray import NoTrayWindow

        if self.no_tray_window is None:
            self.no_tray_window = NoTrayWindow(self.controller.open_history, self.controller.quit)
            self.no_tray_window.setWindowIcon(app_icon())
        self.no_tray_window.show()
        self.no_tray_window.raise_()

    def _note_without_tray(self, text: str) -> None:
        if self.no_tray_window is not None and self.no_tray_window.isVisible():
            self.no_tray_window.add_note(text)
        else:
            print(f"{APP_NAME}: {text}", file=sys.stderr)

    def _on_command(self, command: str) -> None:
        if command == "show" and self.tray_available is False:
            self.show_no_tray_window()
        else:
            self.controller.handle_command(command)

    def shutdown(self, timeout_s: float = 10.0) -> bool:
        """Stop the engine (it closes the open session) and join its thread."""
        self.controller.tray.hide()
        ended = self.runner.stop(timeout_s)
        for thread in self.state_writes:
            thread.join(2.0)
        return ended


def _set_windows_app_id() -> None:
    """Without an AppUserModelID, Windows notifications say "Python" instead of our name."""
    if sys.platform != "win32":
        return
    try:
        import ctypes

        ctypes.windll.shell32.SetCurrentProcessExplicitAppUserModelID(WINDOWS_APP_USER_MODEL_ID)
    except (AttributeError, OSError):
        pass


def _quit_on_signals(app: QApplication) -> Callable[[], None]:
    """Ctrl+C / SIGTERM end the app cleanly (session closed). Qt's loop does not run Python
    signal handlers by itself; a wakeup socket wakes it without any polling timer."""
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno())
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, app)

    def on_wakeup() -> None:
        try:
            reader.recv(64)
        except OSError:
            pass
        app.quit()

    notifier.activated.connect(on_wakeup)
    previous = {sig: signal.signal(sig, lambda *_a: None) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        signal.set_wakeup_fd(-1)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        notifier.setEnabled(False)
        reader.close()
        writer.close()

    return restore


def _first_run_autostart(config_dir: Path, wanted: bool) -> None:
    def work() -> None:
        from tray_app.system import autostart

        try:
            autostart.apply_first_run_default(autostart.backend_for(), config_dir, wanted)
        except OSError as exc:
            print(_("Could not set up start at login: {error}").format(error=exc), file=sys.stderr)

    threading.Thread(target=work, name="autostart", daemon=True).start()


def run_tray(args: argparse.Namespace | None = None) -> int:
    from tray_app.system.instance import (
        KIND_MONITOR,
        InstanceLock,
        already_running_message,
        holder,
        send_command,
    )

    data_dir = paths.data_dir()
    lock = InstanceLock(data_dir)
    try:
        first = lock.acquire()
    except OSError as exc:
        print(_("Cannot use the data folder {path}: {error}").format(path=data_dir, error=exc),
              file=sys.stderr)
        return 1
    if not first:
        info = holder(data_dir)
        if info is not None and info.get("kind") == KIND_MONITOR:
            print(already_running_message(data_dir), file=sys.stderr)
            return 1
        command = getattr(args, "tray_command", None) or "show"
        if send_command(command, data_dir):
            return 0
        print(_("Raison Garder is already running but does not answer. If it is stuck, end it "
                "and start again."), file=sys.stderr)
        return 1

    _set_windows_app_id()
    app = QApplication([APP_ID])  # argv[0] names the X window class: not "__main__.py"
    app.setQuitOnLastWindowClosed(False)  # closing a window never ends the tray
    app.setApplicationName(APP_ID)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon(app.devicePixelRatio()))
    from tray_app.ui.translator import install_translators

    translators = install_translators(app)  # noqa: F841 - must live as long as the app

    settings = load_typed_settings()
    from tray_app.runtime.engine import Engine
    from tray_app.system import autostart

    _first_run_autostart(paths.config_dir(), settings.start_at_login)
    tray = TrayApp(
        Engine,
        data_dir,
        autostart=autostart.backend_for(),
        device_pixel_ratio=app.devicePixelRatio(),
    )
    tray.controller.quit_requested.connect(app.quit)
    restore_signals = _quit_on_signals(app)
    tray.start()
    lock.serve(tray.send_command)
    try:
        app.exec()
    finally:
        ended = tray.shutdown()
        lock.close()
        restore_signals()
    if not ended:
        print(_("The measurement did not stop in time; the open session may end a few seconds "
                "early in the history."), file=sys.stderr)
    return 0
