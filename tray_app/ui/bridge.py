"""The engine runs in a worker thread; its listener calls become queued Qt signals, so the GUI
thread never waits on sensors, processes or disk."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal

from tray_app.system.i18n import _


class EngineLike(Protocol):
    """What the tray needs from `tray_app.runtime.engine.Engine` (tests hand in a fake)."""

    listener: Any

    def run(self, stop: threading.Event | None = None) -> None: ...

    def request_stop(self) -> None: ...

    def start_manual_session(self) -> None: ...

    def stop_manual_session(self) -> None: ...

    def set_monitoring_paused(self, paused: bool) -> None: ...

    def snooze_reminders(self, seconds: float | None) -> None: ...

    def reload_settings(self) -> None: ...


class EngineBridge(QObject):
    """An engine listener whose methods emit signals. Lives in the GUI thread; the emits come
    from the worker, so Qt queues them to the GUI thread's slots."""

    status = Signal(object)
    reminder = Signal(object)
    problem = Signal(str)
    release = Signal(object)  # idle.release.Outcome: what freeing GPU memory did
    settings = Signal(object, object)  # (TypedSettings, frozenset of the keys that changed)

    def on_status(self, status: Any) -> None:
        self.status.emit(status)

    def on_reminder(self, reminder: Any) -> None:
        self.reminder.emit(reminder)

    def on_problem(self, message: str) -> None:
        self.problem.emit(message)

    def on_release(self, outcome: Any) -> None:
        self.release.emit(outcome)

    def on_settings(self, settings: Any, changed: frozenset[str]) -> None:
        self.settings.emit(settings, changed)


class EngineRunner:
    """Owns the worker thread. `stop()` lets the engine close the open session, then joins."""

    def __init__(self, engine: EngineLike, on_crash: Callable[[str], None]) -> None:
        self.engine = engine
        self._on_crash = on_crash
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="engine", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.engine.run(self._stop)
        except Exception as exc:  # noqa: BLE001 - the tray stays up and says what happened
            self._on_crash(
                _("Measuring stopped: {error}. Quit and start Raison Garder again; "
                  "if it happens again, run “raison-garder doctor”.").format(
                    error=f"{type(exc).__name__}: {exc}"
                )
            )

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Ask the engine to stop and wait for it. True when the worker ended in time."""
        self._stop.set()
        self.engine.request_stop()
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()
