"""UI tests: pytest-qt on the offscreen platform (no display needed), plus real-desktop tests
marked `xvfb`. Helpers shared by the UI tests live here: statuses built from the real engine
dataclasses, and a fake engine that records the commands it receives."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

# Before any QApplication exists: widgets render offscreen, no X server needed.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tray_app.measure.monitor import Snapshot, SourceState
from tray_app.measure.sensors.base import Kind, Method
from tray_app.runtime.engine import EngineStatus, SessionView


def source(label: str = "NVIDIA GeForce RTX 4090", power_w: float | None = 250.0,
           kind: Kind = Kind.GPU, method: Method = Method.COUNTER,
           error: str | None = None) -> SourceState:
    return SourceState(source=label.lower(), kind=kind, label=label, method=method,
                       power_w=power_w, energy_j=0.0, unknown_s=0.0, error=error)


def session(tool_label: str = "ComfyUI", duration_s: float = 720.0, total_wh: float = 4.2,
            images: int | None = 12, manual: bool = False,
            method: str = "counter") -> SessionView:
    return SessionView(id=1, tool="manual" if manual else "comfyui", tool_label=tool_label,
                       start_wall=time.time() - duration_s, duration_s=duration_s,
                       active_s=duration_s, gpu_wh=total_wh, cpu_wh=0.0, total_wh=total_wh,
                       images=images, method=method, manual=manual)


def status(gpu_w: float | None = 250.0, cpu_w: float | None = 35.0,
           with_session: bool = True, paused: bool = False, today_wh: float = 85.3,
           budget_fraction: float | None = None, manual: bool = False,
           **extra: Any) -> EngineStatus:
    sources = (source(power_w=gpu_w),
               source("CPU (estimate)", cpu_w, Kind.CPU, Method.ESTIMATED))
    snap = Snapshot(t=time.monotonic(), wall=time.time(), sources=sources, paused=paused)
    return EngineStatus(snapshot=snap, session=session(manual=manual) if with_session else None,
                        today_wh=today_wh, monitoring_paused=paused,
                        reminders_snoozed_until=extra.pop("snoozed_until", None),
                        budget_fraction=budget_fraction, **extra)


class FakeEngine:
    """The engine's interface, no sensors. `run()` emits whatever statuses a test queues."""

    def __init__(self, listener: Any = None) -> None:
        self.listener = listener
        self.calls: list[tuple[str, Any]] = []
        self.to_emit: list[Any] = []
        self.stopped = threading.Event()
        self.ran = threading.Event()
        self.fail_with: Exception | None = None

    def run(self, stop: threading.Event | None = None) -> None:
        self.ran.set()
        if self.fail_with is not None:
            raise self.fail_with
        stop = stop or threading.Event()
        while not stop.is_set() and not self.stopped.is_set():
            while self.to_emit:
                self.listener.on_status(self.to_emit.pop(0))
            stop.wait(0.01)
        self.calls.append(("closed", None))  # where the real engine closes the open session

    def request_stop(self) -> None:
        self.calls.append(("request_stop", None))
        self.stopped.set()

    def start_manual_session(self) -> None:
        self.calls.append(("start_manual_session", None))

    def stop_manual_session(self) -> None:
        self.calls.append(("stop_manual_session", None))

    def free_gpu_memory(self, tool_key: Any = None) -> None:
        self.calls.append(("free_gpu_memory", tool_key))

    def set_monitoring_paused(self, paused: bool) -> None:
        self.calls.append(("set_monitoring_paused", paused))

    def snooze_reminders(self, seconds: float | None) -> None:
        self.calls.append(("snooze_reminders", seconds))

    def reload_settings(self) -> None:
        self.calls.append(("reload_settings", None))

    def names(self) -> list[str]:
        return [name for name, _arg in self.calls]
