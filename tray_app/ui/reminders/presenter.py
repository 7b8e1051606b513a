"""Puts a reminder in front of the user, with its three buttons, through the best channel:

- Linux/BSD: the desktop's notification service over D-Bus (actions become buttons);
- elsewhere, or when no service answers: our own popup near the tray (`ReminderPopup`).

It also decides when to hold a reminder back (do-not-disturb, a full-screen window). Those checks
run on the GUI thread, from a slow timer and before each reminder is shown; the engine's worker
thread only reads the cached answer through `veto()`, so it never waits on D-Bus or X.

    presenter = ReminderPresenter(tray, on_snooze_hour, on_not_today, on_open_history)
    engine.add_veto(presenter.veto)
    bridge.reminder.connect(presenter.show)
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRect, QTimer, QUrl

from tray_app.system.i18n import _
from tray_app.system.paths import resources_dir
from tray_app.ui.reminders.popup import TIMEOUT_MS, ReminderPopup

log = logging.getLogger(__name__)

SNOOZE_HOUR, NOT_TODAY, OPEN_HISTORY = "snooze-hour", "not-today", "open-history"
FREE_GPU, NOT_NOW = "free-gpu", "not-now"  # the idle-waste reminder's own two buttons
IDLE_WASTE_RULE = "idle_waste"
DND, FULLSCREEN = "dnd", "fullscreen"  # the engine records "held:dnd", "held:fullscreen"
# How stale the cached veto may be when the worker reads it. Each refresh costs a D-Bus property
# read and, on X11, two short xprop runs: measured ~20 ms of wall time and ~2 ms of CPU on Xvfb,
# every half minute.
VETO_REFRESH_MS = 30_000
PROBE_TIMEOUT_S = 1.0

Runner = Callable[[list[str], "dict[str, str] | None"], "str | None"]


def run_quietly(argv: list[str], env: dict[str, str] | None = None) -> str | None:
    """stdout of a short helper command, or None if it is missing, fails or hangs."""
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False, env=env
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def x11_fullscreen_active(run: Runner = run_quietly, env: dict[str, str] | None = None) -> bool:
    """Is the active X11 window full-screen (a game, a film, a presentation)? False if unknown."""
    env = dict(os.environ) if env is None else env
    if not env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or shutil.which("xprop") is None:
        return False
    out = run(["xprop", "-root", "_NET_ACTIVE_WINDOW"], env) or ""
    # "(WINDOW): window id # 0x1a00007" from a window manager; "(CARDINAL) = 27262983" if set raw
    match = re.search(r"(?:window id # |= )(0x[0-9a-fA-F]+|[0-9]+)", out)
    window = int(match.group(1), 0) if match else 0
    if window == 0:
        return False
    state = run(["xprop", "-id", hex(window), "_NET_WM_STATE"], env) or ""
    return "_NET_WM_STATE_FULLSCREEN" in state


def gnome_banners_off(run: Runner = run_quietly, env: dict[str, str] | None = None) -> bool:
    """GNOME's "Do Not Disturb" switch turns show-banners off (it has no Inhibited property)."""
    env = dict(os.environ) if env is None else env
    if "GNOME" not in env.get("XDG_CURRENT_DESKTOP", "").upper() or not shutil.which("gsettings"):
        return False
    out = run(["gsettings", "get", "org.gnome.desktop.notifications", "show-banners"], env)
    return out is not None and out.strip() == "false"


def action_labels() -> list[tuple[str, str]]:
    return [
        (SNOOZE_HOUR, _("Snooze 1 h")),
        (NOT_TODAY, _("Not today")),
        (OPEN_HISTORY, _("Open history")),
    ]


def reminder_actions(reminder: Any) -> list[tuple[str, str]]:
    """The buttons of one reminder: an idle tool's offers to free it; the others, the usual three."""
    if getattr(reminder, "rule", None) == IDLE_WASTE_RULE:
        return [(FREE_GPU, _("Free GPU memory")), (NOT_NOW, _("Not now"))]
    return action_labels()


def app_icon_uri() -> str:
    path = resources_dir() / "icons" / "raison-garder.svg"
    return QUrl.fromLocalFile(str(path)).toString() if Path(path).exists() else ""


def _uses_desktop_notifications(platform: str) -> bool:
    return platform.startswith(("linux", "freebsd", "openbsd", "netbsd"))


class ReminderPresenter(QObject):
    def __init__(
        self,
        parent: QObject | None,
        on_snooze_hour: Callable[[], None],
        on_not_today: Callable[[], None],
        on_open_history: Callable[[], None],
        *,
        notifier: Any = None,  # a DesktopNotifier; None: the session bus's, on Linux/BSD
        platform: str = sys.platform,
        on_free_gpu: Callable[[Any], None] | None = None,  # gets the idle_waste reminder
        anchor: Callable[[], QRect | None] | None = None,  # e.g. the tray icon's geometry
        fullscreen_probe: Callable[[], bool] = x11_fullscreen_active,
        dnd_probe: Callable[[], bool] = gnome_banners_off,
        popup_timeout_ms: int = TIMEOUT_MS,
        refresh_ms: int = VETO_REFRESH_MS,
    ) -> None:
        super().__init__(parent)
        self._callbacks = {
            SNOOZE_HOUR: on_snooze_hour,
            NOT_TODAY: on_not_today,
            OPEN_HISTORY: on_open_history,
        }
        self._on_free_gpu = on_free_gpu
        self._shown: dict[int, Any] = {}  # notification id -> its reminder (for its own buttons)
        if notifier is None and _uses_desktop_notifications(platform):
            from tray_app.ui.reminders.notify import DesktopNotifier

            notifier = DesktopNotifier(self)
        self.notifier = notifier
        if notifier is not None:
            notifier.action_invoked.connect(self._on_notification_action)
            notifier.closed.connect(self._on_notification_closed)
        self._anchor = anchor
        self._fullscreen_probe = fullscreen_probe
        self._dnd_probe = dnd_probe
        self.popup_timeout_ms = popup_timeout_ms
        self.popup: ReminderPopup | None = None
        self.last_held: str | None = None  # why the last reminder was held back at display
        self.last_channel: str | None = None  # "dbus" | "popup" | None (held back)
        self._previews: set[int] = set()  # notification ids whose buttons must do nothing
        # Read by the engine's worker thread: a plain attribute, replaced atomically.
        self.cached_veto: str | None = None
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.veto_reason)
        if refresh_ms > 0:
            self._timer.start(refresh_ms)

    # ---- do-not-disturb ---------------------------------------------------------------------
    def veto_reason(self) -> str | None:
        """Why a reminder should be held back right now (GUI thread), cached for `veto`."""
        reason: str | None = None
        try:
            if (self.notifier is not None and self.notifier.inhibited()) or self._dnd_probe():
                reason = DND
            elif self._fullscreen_probe():
                reason = FULLSCREEN
        except Exception:  # a failing probe must never block reminders
            log.exception("do-not-disturb check failed")
        self.cached_veto = reason
        return reason

    def veto(self, _reminder: Any = None) -> str | None:
        """The engine's veto hook (worker thread): only reads the cached answer."""
        return self.cached_veto

    # ---- showing ----------------------------------------------------------------------------
    def show(self, reminder: Any, preview: bool = False, asked: bool = False) -> str | None:
        """Show `reminder`; returns the channel used, or None when it is held back.
        `asked`: the user picked it from the tray menu, so no veto applies."""
        delivery = str(getattr(reminder, "delivery", None) or "")
        if delivery.startswith("held:") and not (preview or asked):
            self.last_channel = None  # the tray menu lists it; showing it would defeat the veto
            return None
        if not (preview or asked):
            # Fresh check: do-not-disturb may have begun since the worker read the cache.
            self.last_held = self.veto_reason()
            if self.last_held:
                self.last_channel = None
                return None
        title = str(getattr(reminder, "title", "") or "")
        body = str(getattr(reminder, "body", "") or "")
        tip = str(getattr(reminder, "tip", "") or "")
        channel = "dbus" if self._notify(title, body, tip, preview, reminder) else None
        if channel is None:
            self._popup(title, body, tip, preview, reminder)
            channel = "popup"
        self.last_channel = channel
        return channel

    def _notify(self, title: str, body: str, tip: str, preview: bool, reminder: Any = None) -> bool:
        notifier = self.notifier
        if notifier is None or notifier.server_info() is None:
            return False
        text = f"{body}\n\n{tip}" if tip else body
        nid = notifier.notify(
            title, text, reminder_actions(reminder), expire_ms=self.popup_timeout_ms, icon=app_icon_uri()
        )
        if nid is None:
            return False
        if preview:
            self._previews.add(nid)
        elif getattr(reminder, "rule", None) == IDLE_WASTE_RULE:
            if len(self._shown) > 20:  # a server that never answers must not grow this
                self._shown.clear()
            self._shown[nid] = reminder
        return True

    def _popup(self, title: str, body: str, tip: str, preview: bool, reminder: Any = None) -> None:
        if self.popup is not None:
            self.popup.close()  # one at a time: the newest replaces the previous one
        anchor = self._anchor() if self._anchor is not None else None
        popup = ReminderPopup(title, body, tip, reminder_actions(reminder), self.popup_timeout_ms, anchor)
        if not preview:
            popup.action.connect(lambda key, r=reminder: self._run(key, r))
        popup.destroyed.connect(lambda *_a, p=popup: self._forget_popup(p))
        self.popup = popup
        popup.popup()

    def _forget_popup(self, popup: ReminderPopup) -> None:
        if self.popup is popup:
            self.popup = None

    # ---- actions ----------------------------------------------------------------------------
    def _on_notification_action(self, nid: int, key: str) -> None:
        if self.notifier is not None:
            self.notifier.close(nid)  # answered: some servers (dunst) would keep showing it
        if nid in self._previews:
            return
        self._run(key, self._shown.pop(nid, None))

    def _on_notification_closed(self, nid: int, _reason: int) -> None:
        self._previews.discard(nid)
        self._shown.pop(nid, None)

    def _run(self, key: str, reminder: Any = None) -> None:
        if key == FREE_GPU:
            if self._on_free_gpu is not None:
                self._on_free_gpu(reminder)
            return
        # NOT_NOW: nothing to do; the rule has spoken for this idle stretch.
        callback = self._callbacks.get(key)
        if callback is not None:
            callback()
