"""The headless heart of the app: monitor + tool detection + sessions + store + reminders.

`Engine.run()` blocks and is meant for a worker thread (the tray) or the main thread (the
headless monitor). The listener is called from that thread; the UI turns each call into a Qt
signal. Commands from other threads (`start_manual_session()`, ...) are queued and executed
by the worker between two ticks, so nothing in the core needs a lock.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from tray_app.monitor import Monitor, Snapshot


@dataclass(frozen=True, slots=True)
class SessionView:
    """What the tray shows of the open session."""

    id: int | None
    tool: str  # stable id: comfyui, a1111, ..., manual
    tool_label: str
    start_wall: float
    duration_s: float
    active_s: float
    gpu_wh: float
    cpu_wh: float
    total_wh: float
    images: int | None
    method: str  # counter | sampled | estimated
    manual: bool


@dataclass(frozen=True, slots=True)
class EngineStatus:
    snapshot: Snapshot
    session: SessionView | None
    today_wh: float
    monitoring_paused: bool
    reminders_snoozed_until: float | None
    held_reminders: tuple[Any, ...] = ()  # reminders held back by do-not-disturb, newest last
    budget_fraction: float | None = None  # share of the day/week budget used, when one is set


class EngineListener(Protocol):
    def on_status(self, status: EngineStatus) -> None: ...

    def on_reminder(self, reminder: Any) -> None: ...

    def on_problem(self, message: str) -> None: ...


class NullListener:
    def on_status(self, status: EngineStatus) -> None:
        pass

    def on_reminder(self, reminder: Any) -> None:
        pass

    def on_problem(self, message: str) -> None:
        pass


class Engine:
    def __init__(
        self,
        listener: EngineListener | None = None,
        monitor: Monitor | None = None,
        interval_s: float | None = None,
    ) -> None:
        self.listener: EngineListener = listener or NullListener()
        self._interval_s = interval_s
        self._commands: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._monitor = monitor
        self._paused = False
        self._snoozed_until: float | None = None
        self.sensor_set = None

    # ---- thread-safe commands -------------------------------------------------------------
    def submit(self, fn: Callable[[], None]) -> None:
        self._commands.put(fn)

    def request_stop(self) -> None:
        self._stop.set()

    def set_monitoring_paused(self, paused: bool) -> None:
        self.submit(lambda: self._set_paused(paused))

    def start_manual_session(self) -> None:
        self.submit(self._start_manual)

    def stop_manual_session(self) -> None:
        self.submit(self._stop_manual)

    def snooze_reminders(self, seconds: float | None) -> None:
        """Snooze for `seconds`, or until tomorrow's day start when None."""
        self.submit(lambda: self._snooze(seconds))

    def reload_settings(self) -> None:
        self.submit(self._reload_settings)

    # ---- worker side ----------------------------------------------------------------------
    def _set_paused(self, paused: bool) -> None:
        self._paused = paused
        if self._monitor is not None:
            self._monitor.set_paused(paused)

    def _start_manual(self) -> None:
        pass  # sessions arrive with tray_app/sessions.py

    def _stop_manual(self) -> None:
        pass

    def _snooze(self, seconds: float | None) -> None:
        self._snoozed_until = time.time() + (seconds if seconds else 12 * 3600)

    def _reload_settings(self) -> None:
        pass

    def _build_monitor(self) -> Monitor:
        from tray_app.sensors.discovery import discover

        self.sensor_set = discover()
        return Monitor(self.sensor_set.sensors, interval_s=self._interval_s or 1.0)

    def _on_snapshot(self, snap: Snapshot) -> None:
        while True:
            try:
                self._commands.get_nowait()()
            except queue.Empty:
                break
        status = EngineStatus(
            snapshot=snap,
            session=None,
            today_wh=0.0,
            monitoring_paused=self._paused,
            reminders_snoozed_until=self._snoozed_until,
        )
        self.listener.on_status(status)

    def run(self, stop: threading.Event | None = None, duration_s: float | None = None) -> None:
        if stop is not None:
            self._stop = stop
        if self._monitor is None:
            self._monitor = self._build_monitor()
        try:
            self._monitor.run(self._on_snapshot, self._stop, duration_s=duration_s)
        finally:
            if self.sensor_set is not None:
                self.sensor_set.close()
