"""Whether the opt-in /metrics endpoint may run, and where — cheap, imported by `doctor` too.

Binding anything but loopback exposes the user's habits to the network, so it needs a token:
without one the endpoint stays off entirely and the user is told which setting to fill in.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from tray_app.config.settings import TypedSettings
from tray_app.system.i18n import _


def is_loopback(bind: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: addresses only this computer can reach."""
    if bind == "localhost":
        return True
    try:
        return ipaddress.ip_address(bind).is_loopback
    except ValueError:
        return False


def metrics_status(settings: TypedSettings) -> dict[str, Any]:
    """{"enabled": will it run, "url": where, "warning": why not (or None), "token": bool}."""
    enabled = settings.metrics.enabled
    bind = settings.metrics.bind
    port = settings.metrics.port
    token = settings.metrics.token
    host = f"[{bind}]" if ":" in bind else bind
    status: dict[str, Any] = {
        "enabled": False,
        "url": None,
        "bind": bind,
        "port": port,
        "token": bool(token),
        "warning": None,
    }
    if not enabled:
        return status
    if not is_loopback(bind) and not token:
        status["warning"] = _(
            "metrics.bind is {bind}, which other machines can reach, and metrics.token is empty: "
            "the metrics endpoint stays off. Set a secret with "
            "`raison-garder config set metrics.token SECRET` (Prometheus then sends it as a "
            "Bearer token), or bind to 127.0.0.1."
        ).format(bind=bind)
        return status
    status["enabled"] = True
    status["url"] = f"http://{host}:{port}/metrics"
    return status
