"""What the engine tells the world: the status of each tick, and who listens.

Two kinds of listener: the UI (`EngineListener`: status, reminders, problems to show) and the
parts that only observe (`EngineObserver`, e.g. the metrics endpoint: it also wants each closed
session). Both are called on the engine's thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from tray_app.config.settings import TypedSettings
from tray_app.measure.monitor import Snapshot
from tray_app.sessions.tracker import MANUAL, OpenSession
from tray_app.system.i18n import _

if TYPE_CHECKING:
    from tray_app.idle.release import Outcome
    from tray_app.idle.waste import IdleWaste
    from tray_app.reminders import Reminder


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
    method: str  # counter | sampled | estimated: the weakest part of the total
    manual: bool
    gpu_method: str | None = None  # how each part was obtained
    cpu_method: str | None = None


@dataclass(frozen=True, slots=True)
class EngineStatus:
    snapshot: Snapshot
    session: SessionView | None
    today_wh: float
    monitoring_paused: bool
    reminders_snoozed_until: float | None
    held_reminders: tuple[Reminder, ...] = ()  # held back by do-not-disturb, newest last
    budget_fraction: float | None = None  # share of the day/week budget used, when one is set
    open_sessions: int = 0
    idle_waste: tuple[IdleWaste, ...] = ()  # tools holding the GPU awake with nothing to do
    releasing: bool = False  # a "free GPU memory" request is in flight or being measured
    last_release: Outcome | None = None  # the outcome of the latest request


def session_view(s: OpenSession | None, now: float) -> SessionView | None:
    if s is None:
        return None
    totals = s.totals()
    return SessionView(
        id=s.id, tool=s.tool, tool_label=_("Manual session") if s.tool == MANUAL else s.label,
        start_wall=s.start_ts, duration_s=s.duration_s(now), active_s=s.active_s,
        gpu_wh=totals["gpu_wh"], cpu_wh=totals["cpu_wh"], total_wh=totals["total_wh"],
        images=s.images, method=totals["energy_method"] or "unknown", manual=s.manual,
        gpu_method=totals["gpu_method"], cpu_method=totals["cpu_method"],
    )  # fmt: skip


class EngineListener(Protocol):
    """The UI side: the tray (through a Qt bridge) or the headless monitor's log.

    A listener may have a `status_every_s` attribute: it then gets a status at most that often
    (and one for the last snapshot when the engine stops), so a listener that shows nothing live
    does not have one built every second. Without it, every snapshot's."""

    def on_status(self, status: EngineStatus) -> None: ...

    def on_reminder(self, reminder: Reminder) -> None: ...

    def on_problem(self, message: str) -> None: ...

    def on_release(self, outcome: Outcome) -> None: ...

    def on_settings(self, settings: TypedSettings, changed: frozenset[str]) -> None:
        """settings.json changed (the Settings window, `config set`, an editor): the engine has
        applied what it runs; the UI applies its own part (language, start at login)."""


class NullListener:
    def on_status(self, status: EngineStatus) -> None:
        pass

    def on_reminder(self, reminder: Reminder) -> None:
        pass

    def on_problem(self, message: str) -> None:
        pass

    def on_release(self, outcome: Outcome) -> None:
        pass

    def on_settings(self, settings: TypedSettings, changed: frozenset[str]) -> None:
        pass


class EngineObserver(Protocol):
    """A part that follows what the engine measures without taking part (metrics)."""

    def on_status(self, status: EngineStatus) -> None: ...

    def on_session_closed(self, tool: str, total_wh: float, images: int | None) -> None: ...

    def on_reminder(self, reminder: Reminder) -> None: ...
