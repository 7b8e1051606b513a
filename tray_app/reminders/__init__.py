"""Gentle reminders ("il faut savoir raison garder"): a Qt-free core the UI delivers.

engine = ReminderEngine(settings)            # the typed settings (tray_app.config.settings)
engine.add_veto(lambda rem: "dnd" if do_not_disturb() else None)
for reminder in engine.evaluate(ActivityState(session_id="s1", session_wh=52.0, ...)):
    show(reminder)                            # reminder.delivery == "held:dnd" -> tray menu only
"""

from tray_app.reminders.engine import (
    Reminder,
    ReminderEngine,
    default_state_path,
    load_engine,
    save_engine,
)
from tray_app.reminders.rules import RULE_IDS, ActivityState, ReminderConfig

__all__ = [
    "RULE_IDS",
    "ActivityState",
    "Reminder",
    "ReminderConfig",
    "ReminderEngine",
    "default_state_path",
    "load_engine",
    "save_engine",
]
