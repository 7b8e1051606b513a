"""Image counts for the open sessions, fed asynchronously.

`submit` hands the open sessions to the image-count worker (tray_app/images/worker.py: its own
thread, with a deadline per round) and never waits; `apply` joins the counts that arrived since,
on the engine's thread, so the tracker needs no lock. A count for a session that closed or was
split meanwhile is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from tray_app.detect.scanner import DetectedTool
from tray_app.images.counter import ImageCount
from tray_app.images.worker import CountJob, ImageCountWorker, Key
from tray_app.sessions.tracker import OpenSession, SessionTracker


class CountWorker(Protocol):
    def submit(self, jobs: Sequence[CountJob], dirs: Sequence[Path], now: float) -> bool: ...

    def take(self) -> dict[Key, ImageCount] | None: ...

    def close(self) -> None: ...


class ImageCounts:
    def __init__(self, factory: Callable[[], CountWorker] = ImageCountWorker) -> None:
        self._factory = factory
        self._worker: CountWorker | None = None  # made at the first session, not before
        self._counted: dict[Key, int] = {}  # the session id each key was counted for

    def submit(self, sessions: Mapping[Key, OpenSession], tools: Mapping[Key, DetectedTool],
               dirs: Sequence[str], now: float) -> None:  # fmt: skip
        """Ask for a count of every open session; never waits."""
        if self._worker is None:
            self._worker = self._factory()
        jobs = []
        for key, s in sessions.items():
            tool = tools.get(key)
            jobs.append(CountJob(key, s.tool, tool.root if tool else None,
                                 tool.port if tool else None, tool.pid if tool else None,
                                 s.start_ts))  # fmt: skip
        folders = [Path(p).expanduser() for p in dirs]
        if self._worker.submit(jobs, folders, now):
            self._counted = {key: s.id for key, s in sessions.items()}

    def apply(self, tracker: SessionTracker) -> list[tuple[OpenSession, ImageCount]]:
        """Join the counts that arrived since the last tick (a failed count keeps the last);
        returns them with their sessions (their units go on to the generation log)."""
        counts = self._worker.take() if self._worker is not None else None
        joined = []
        for key, count in (counts or {}).items():
            s = tracker.sessions.get(key)
            if s is None or s.id != self._counted.get(key):
                continue  # that session closed (or was split) while its images were counted
            if count.images is not None:
                tracker.set_images(key, count.images, count.model_name, count.model_family)
            joined.append((s, count))
        return joined

    def reset(self) -> None:
        """Forget the counters (the folders to count changed); the next round starts afresh."""
        self.close()
        self._worker, self._counted = None, {}

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()  # never joined: a hung tool must not delay the exit
