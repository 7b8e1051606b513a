"""The panel may come up after us (autostart at login): keep asking for a tray for a minute.

Qt answers `isSystemTrayAvailable()` from the current desktop state, but only if asked again;
an app that asks once at login gets no icon for the whole session (qBittorrent retries the
same way). The verdict is written to `tray_state.json` in the data dir for `doctor`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from tray_app.system.ui_state import read_ui_state, write_ui_state

RETRY_MS = 2000
ATTEMPTS = 30  # 2 s x 30 = one minute


class TrayWaiter(QObject):
    available = Signal()
    unavailable = Signal()

    def __init__(
        self,
        probe: Callable[[], bool] = QSystemTrayIcon.isSystemTrayAvailable,
        retry_ms: int = RETRY_MS,
        attempts: int = ATTEMPTS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._probe = probe
        self._left = attempts
        self._timer = QTimer(self)
        self._timer.setInterval(retry_ms)
        self._timer.timeout.connect(self._check)

    def start(self) -> None:
        """Check now; if there is no tray yet, retry on the timer."""
        if not self._check_once():
            self._timer.start()

    def _check_once(self) -> bool:
        if self._probe():
            self.available.emit()
            return True
        return False

    def _check(self) -> None:
        self._left -= 1
        if self._check_once():
            self._timer.stop()
        elif self._left <= 0:
            self._timer.stop()
            self.unavailable.emit()


def read_state(data_dir: Path) -> dict[str, Any]:
    return read_ui_state(data_dir)


def write_state_in_background(data_dir: Path, **fields: Any) -> threading.Thread:
    """Merge `fields` into the tray state file off the GUI thread (doctor reads it)."""
    thread = threading.Thread(target=write_ui_state, args=(data_dir,), kwargs=fields,
                              name="tray-state", daemon=True)
    thread.start()
    return thread
