"""A scripted engine: snapshots from a made-up GPU at the pace the test chooses, a scanner that
sees the tools the test says, and the real store, tracker, totals and reminder desk."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from tray_app.detect.scanner import DetectedTool
from tray_app.measure.monitor import Snapshot, SourceState
from tray_app.measure.sensors.base import Kind, Method
from tray_app.runtime.engine import Engine, EngineStatus
from tray_app.store import Store

START_WALL = 1_741_615_200.0  # 2025-03-10 14:00 UTC: a Monday afternoon


def tool(pid: int = 4242, name: str = "comfyui") -> DetectedTool:
    return DetectedTool(tool=name, label="ComfyUI", pid=pid, exe_name="python3",
                        root=Path("/nonexistent/ComfyUI"), gpu_indices=frozenset({0}), port=None,
                        pids=(pid,))  # fmt: skip


class FakeScanner:
    def __init__(self) -> None:
        self.running: list[DetectedTool] = []
        self.patterns: list[list[Mapping[str, object]]] = []

    def scan(self, gpu_pids: Mapping[int, set[int]] | None = None) -> list[DetectedTool]:
        return list(self.running)

    def set_patterns(self, extra_patterns: Iterable[Mapping[str, object]]) -> None:
        self.patterns.append(list(extra_patterns))


class ScriptedMonitor:
    """One snapshot per simulated second; `gpu_w` is what the GPU draws from now on."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self.gpu_w = 20.0
        self.t = 0.0
        self.energy_j = 0.0
        self.intervals: list[float] = []
        self.paused = False
        self.steps: dict[int, Callable[[], None]] = {}
        self.every: Callable[[int], None] | None = None  # after each snapshot's tick
        self.watched: frozenset[int] = frozenset()
        self.last: Snapshot | None = None

    @property
    def wall(self) -> float:
        return START_WALL + self.t

    def at(self, second: int, fn: Callable[[], None]) -> None:
        self.steps[second] = fn

    def run(self, on_snapshot: Callable[[Snapshot], None], stop: threading.Event,
            duration_s: float | None = None) -> None:  # fmt: skip
        for second in range(self.seconds):
            if stop.is_set():
                return
            if second in self.steps:
                self.steps[second]()
            self.t = float(second)
            if second:
                self.energy_j += self.gpu_w
            gpu = SourceState("nvidia:0", Kind.GPU, "GPU", Method.COUNTER, self.gpu_w,
                              self.energy_j, 0.0, busy=self.gpu_w > 100, power_limit_w=350.0,
                              pids=(4242,))  # fmt: skip
            self.last = Snapshot(self.t, self.wall, (gpu,), paused=self.paused)
            on_snapshot(self.last)
            if self.every is not None:
                self.every(second)

    def set_interval(self, interval_s: float) -> None:
        self.intervals.append(interval_s)

    def set_paused(self, paused: bool) -> None:
        self.paused = paused

    def watch_pids(self, pids: frozenset[int]) -> None:
        self.watched = frozenset(pids)


class Recorder:
    def __init__(self) -> None:
        self.statuses: list[EngineStatus] = []
        self.reminders: list[object] = []
        self.problems: list[str] = []
        self.releases: list[object] = []
        self.changes: list[frozenset[str]] = []

    def on_status(self, status: EngineStatus) -> None:
        self.statuses.append(status)

    def on_reminder(self, reminder: object) -> None:
        self.reminders.append(reminder)

    def on_problem(self, message: str) -> None:
        self.problems.append(message)

    def on_release(self, outcome: object) -> None:
        self.releases.append(outcome)

    def on_settings(self, settings: object, changed: frozenset[str]) -> None:
        self.changes.append(changed)


def scripted_engine(seconds: int) -> tuple[Engine, ScriptedMonitor, FakeScanner, Recorder]:
    """The engine opens the user's store (the test's data dir), as the app does."""
    monitor, scanner, recorder = ScriptedMonitor(seconds), FakeScanner(), Recorder()
    engine = Engine(recorder, monitor, scanner=scanner, clock=lambda: monitor.wall)
    return engine, monitor, scanner, recorder


def history() -> tuple[list[dict], list[dict]]:
    """The sessions and reminders recorded, read back as `raison-garder` would."""
    with Store.open() as store:
        return store.list_sessions(), store.list_reminders()
