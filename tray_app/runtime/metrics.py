"""The opt-in /metrics endpoint as an engine observer: it follows each status, closed session
and reminder, and serves them from its own thread (tray_app/metrics/server.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from tray_app.config.settings import TypedSettings
from tray_app.metrics.config import metrics_status
from tray_app.runtime.status import EngineStatus
from tray_app.system.i18n import _

if TYPE_CHECKING:
    from tray_app.metrics.server import MetricsServer, MetricsState
    from tray_app.reminders import Reminder

log = logging.getLogger(__name__)


class MetricsListener:
    def __init__(self, state: MetricsState, server: MetricsServer) -> None:
        self.state = state
        self.server = server

    @classmethod
    def start(cls, settings: TypedSettings, problem: Callable[[str], None],
              state: MetricsState | None = None) -> MetricsListener | None:  # fmt: skip
        """The endpoint the settings ask for, serving; None when off or it cannot listen
        (said through `problem`, naming the setting to change). `state`: the figures so far,
        when the endpoint moves (a settings change)."""
        status = metrics_status(settings)
        if status["warning"]:
            problem(status["warning"])
        if not status["enabled"]:
            return None
        from tray_app.metrics.server import MetricsServer, MetricsState

        state = state or MetricsState()
        try:
            server = MetricsServer(state, status["bind"], status["port"],
                                   settings.metrics.token).start()  # fmt: skip
        except OSError as exc:
            problem(
                _("The metrics endpoint could not listen on {bind}:{port} ({error}). Choose another "
                  "port with `raison-garder config set metrics.port PORT`.").format(
                    bind=status["bind"], port=status["port"], error=exc.strerror or exc)
            )  # fmt: skip
            return None
        log.info("metrics endpoint at %s", status["url"])
        return cls(state, server)

    def on_status(self, status: EngineStatus) -> None:
        self.state.publish(status)

    def on_session_closed(self, tool: str, total_wh: float, images: int | None) -> None:
        self.state.session_closed(tool, total_wh, images)

    def on_reminder(self, reminder: Reminder) -> None:
        self.state.reminder_shown(reminder.rule)

    def stop(self) -> None:
        self.server.stop()
