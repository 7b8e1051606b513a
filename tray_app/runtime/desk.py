"""The reminder desk: the running app's side of the reminder engine.

It feeds the pure `ReminderEngine` what the monitor knows (`activity`), logs each reminder in
the store, remembers it until the UI says how it reached the user (`record_delivery`), applies
snooze / not today / release, and keeps the engine's memory on disk after every change so that
"once per day" survives a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from tray_app.config.settings import TypedSettings
from tray_app.idle.waste import IdleWaste
from tray_app.measure.monitor import Snapshot
from tray_app.reminders import ActivityState, Reminder, ReminderEngine
from tray_app.reminders.engine import Veto, default_state_path, load_engine, save_engine
from tray_app.sessions.tracker import SessionTracker

log = logging.getLogger(__name__)

MAX_AWAITING = 50  # reminders awaiting the UI's word: a UI that never answers must not grow this


class ReminderLog(Protocol):
    def add_reminder(self, ts: float, rule: str, values: dict[str, object] | None = None,
                     delivery: str | None = None, message: str | None = None,
                     session_id: int | None = None) -> int: ...  # fmt: skip

    def set_reminder_delivery(self, reminder_id: int, delivery: str) -> None: ...


def activity(tracker: SessionTracker, snap: Snapshot, now: float, today_wh: float,
             period_wh: float | None, idle_waste: IdleWaste | None = None,
             generation_contrast: object = None) -> ActivityState:  # fmt: skip
    """What the reminder rules look at, from the open session and the running totals."""
    s = tracker.current()
    return ActivityState(
        session_id=s.id if s else None,
        tool=s.tool if s else None,
        session_wh=s.total_wh if s else None,
        session_active_s=s.active_s if s else 0.0,
        continuous_active_s=s.continuous_active_s(now) if s else 0.0,
        session_images=s.images if s else None,
        session_idle_wh=(s.idle_j / 3600.0) if s else None,
        idle_minutes_with_model=(s.idle_s / 60.0) if s else None,
        today_wh=today_wh,
        period_wh=period_wh,
        gpu_power_pct_of_limit=tracker.gpu_power_pct(s) if s else None,
        gpu_power_w=snap.gpu_w,
        energy_estimated=bool(s and "estimated" in {m.value for m in s.methods}),
        idle_waste=idle_waste,
        generation_contrast=generation_contrast,
    )


class ReminderDesk:
    def __init__(self, engine: ReminderEngine, log_store: ReminderLog,
                 state_path: Path | None = None) -> None:  # fmt: skip
        self.engine = engine
        self._log = log_store
        self._path = state_path or default_state_path()
        # Reminders handed to the UI, by id: (store row, reminder), until the UI reports back.
        self._awaiting: dict[str, tuple[int | None, Reminder]] = {}

    @classmethod
    def load(cls, settings: TypedSettings, log_store: ReminderLog, clock: Callable[[], float],
             problem: Callable[[str], None]) -> ReminderDesk:  # fmt: skip
        """The desk with the engine's memory from disk; a damaged memory is said, not raised."""
        path = default_state_path()
        engine, message = load_engine(path, settings, clock)
        if message:
            problem(message)
        return cls(engine, log_store, path)

    # ---- settings and hooks ---------------------------------------------------------------
    def update_settings(self, settings: TypedSettings) -> None:
        self.engine.update_settings(settings)

    def add_veto(self, fn: Veto) -> None:
        self.engine.add_veto(fn)

    @property
    def snoozed_until(self) -> float | None:
        return self.engine.snoozed_until

    def held(self) -> tuple[Reminder, ...]:
        return tuple(self.engine.held())

    # ---- the tick ---------------------------------------------------------------------------
    def evaluate(self, state: ActivityState) -> list[Reminder]:
        """The reminders to show now (at most one), logged and awaiting the UI's word."""
        fired = self.engine.evaluate(state)
        for rem in fired:
            if rem.delivery is None:
                rem.delivery = "shown"  # the UI refines it (channel, or held) via record_delivery
            row = None
            session_id = rem.session_id if isinstance(rem.session_id, int) else None
            try:
                row = self._log.add_reminder(rem.ts, rem.rule, rem.values, rem.delivery,
                                             f"{rem.title}\n{rem.body}",
                                             session_id if (session_id or 0) > 0 else None)  # fmt: skip
            except Exception as exc:  # noqa: BLE001 - losing the log line must not lose the reminder
                log.warning("could not store a reminder: %s", exc)
            if not rem.delivery.startswith("held:"):
                if len(self._awaiting) > MAX_AWAITING:
                    self._awaiting.clear()
                self._awaiting[rem.id] = (row, rem)
        if fired:
            self.save()
        return fired

    def session_closed(self, sid: int) -> None:
        self.engine.reset_session(sid)

    # ---- what the user or the UI says -------------------------------------------------------
    def snooze(self, seconds: float | None, not_today: bool = False) -> None:
        """For `seconds`, until tomorrow's day start when None; `not_today` drops even the
        latest reminder instead of saying it tomorrow."""
        if not_today:
            self.engine.not_today()
        elif seconds:
            self.engine.snooze_for(seconds)
        else:
            self.engine.snooze_until_tomorrow()
        self.save()

    def resume(self) -> None:
        self.engine.cancel_snooze()
        self.save()

    def release(self, reminder_id: str) -> None:
        if self.engine.release(reminder_id) is not None:
            self.save()

    def record_delivery(self, reminder_id: str, delivery: str) -> None:
        """How a reminder reached the user: `shown:<channel>` or `held:<reason>`."""
        row, reminder = self._awaiting.pop(reminder_id, (None, None))
        if reminder is None:
            return
        if delivery.startswith("held:"):
            self.engine.hold(reminder, delivery.removeprefix("held:"))
            self.save()
        if row is not None:
            try:
                self._log.set_reminder_delivery(row, delivery)
            except Exception as exc:  # noqa: BLE001 - the log line is secondary
                log.warning("could not record a reminder's delivery: %s", exc)

    def save(self) -> None:
        message = save_engine(self.engine, self._path)
        if message:
            log.warning("%s", message)
