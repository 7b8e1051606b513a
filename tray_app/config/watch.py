"""Noticing that settings.json changed, cheaply: one stat() per check, no thread, no inotify.

The dialog and `raison-garder config set` replace the file atomically (a new inode), a hand
edit rewrites it (new mtime or size); any of the three, or the file appearing or vanishing,
counts as a change. The running engine checks every few seconds and re-reads the file only then.
"""

from __future__ import annotations

import os
from pathlib import Path

Stamp = tuple[int, int, int] | None  # (inode, size, mtime in ns); None: no file


def stamp(path: Path) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class SettingsWatch:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen = stamp(path)

    def changed(self) -> bool:
        """True once per change since the last call (or since the watch was made)."""
        now = stamp(self.path)
        if now == self._seen:
            return False
        self._seen = now
        return True

    def mark_read(self) -> None:
        """The file was just read: its present state is not news."""
        self._seen = stamp(self.path)
