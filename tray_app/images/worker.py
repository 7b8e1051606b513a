"""Image counting off the measurement path: one daemon thread asks the tools, the engine reads
the answers at its next tick.

Counting talks to other programs (ComfyUI's HTTP API) and walks folders (which may sit on a
network share that hangs). None of that may delay a sample, so the engine only hands over what
it knows of its open sessions (`submit`) and picks up the counts later (`take`); both are
non-blocking. A round that is not done within `ROUND_DEADLINE_S` is abandoned: its thread is
left to finish or hang on its own (it is a daemon, it never touches the engine's state), and
the next round gets a fresh thread and fresh counters. Past `MAX_STUCK` threads still hanging,
counting pauses (counts stay at their last known value) until one of them returns.

    worker = ImageCountWorker()
    worker.submit([CountJob(key, "comfyui", root, 8188, pid, start_ts)], extra_dirs, now)
    ...                                   # a tick later, or ten
    for key, count in (worker.take() or {}).items():
        tracker.set_images(key, count.images, ...)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tray_app.images.counter import ImageCount, ImageCounter

log = logging.getLogger(__name__)

ROUND_DEADLINE_S = 30.0  # a whole round: every session's count (each HTTP request: 2 s at most)
MAX_STUCK = 2  # abandoned threads still hanging before counting pauses

Key = tuple[str, int]


@dataclass(frozen=True, slots=True)
class CountJob:
    """What the engine knows of one open session, enough to count its images."""

    key: Key
    tool: str
    root: Path | None
    port: int | None
    pid: int | None  # the tool's root process, for its start time; None for manual sessions
    session_start_ts: float


CounterFactory = Callable[[CountJob, Sequence[Path]], ImageCounter]


def default_counter(job: CountJob, dirs: Sequence[Path]) -> ImageCounter:
    start = job.session_start_ts
    if job.pid:
        try:
            import psutil

            start = psutil.Process(job.pid).create_time()
        except Exception:  # noqa: BLE001 - the process may be gone already
            pass
    return ImageCounter.for_tool(job.tool, job.root, job.port, start, dirs)


class _Round:
    """One thread and the counters it owns; nothing here is shared with the engine but `result`."""

    def __init__(self, factory: CounterFactory, counters: dict[Key, ImageCounter]) -> None:
        self._factory = factory
        self.counters = counters
        self.started = 0.0
        self.result: dict[Key, ImageCount] | None = None
        self.done = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, jobs: Sequence[CountJob], dirs: Sequence[Path], now: float, t: float) -> None:
        self.started = t
        self.thread = threading.Thread(
            target=self._run, args=(list(jobs), list(dirs), now), name="image-count", daemon=True
        )
        self.thread.start()

    def _run(self, jobs: list[CountJob], dirs: list[Path], now: float) -> None:
        out: dict[Key, ImageCount] = {}
        try:
            wanted = {job.key for job in jobs}
            for key in [k for k in self.counters if k not in wanted]:
                del self.counters[key]
            for job in jobs:
                counter = self.counters.get(job.key)
                if counter is None:
                    counter = self.counters[job.key] = self._factory(job, dirs)
                out[job.key] = counter.poll(job.session_start_ts, now)
        except Exception:  # a count is a nicety; say it and carry on
            log.exception("image counting failed")
        self.result = out
        self.done.set()


class ImageCountWorker:
    """Owned by the engine's thread: `submit` and `take` are called from there only."""

    def __init__(
        self,
        factory: CounterFactory = default_counter,
        deadline_s: float = ROUND_DEADLINE_S,
        max_stuck: int = MAX_STUCK,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory = factory
        self._deadline_s = deadline_s
        self._max_stuck = max_stuck
        self._clock = clock
        self._round: _Round | None = None
        self._counters: dict[Key, ImageCounter] = {}  # carried from one finished round to the next
        self._stuck: list[threading.Thread] = []
        self.abandoned = 0  # rounds given up on, for tests and the log

    @property
    def busy(self) -> bool:
        return self._round is not None and not self._round.done.is_set()

    def submit(self, jobs: Sequence[CountJob], dirs: Sequence[Path], now: float) -> bool:
        """Start a round unless one is still running within its deadline. True when started."""
        t = self._clock()
        current = self._round
        if current is not None and not current.done.is_set():
            if t - current.started < self._deadline_s:
                return False
            self._abandon(current)
        self._stuck = [th for th in self._stuck if th.is_alive()]
        if len(self._stuck) >= self._max_stuck:
            return False
        self._round = _Round(self._factory, self._counters)
        self._round.start(jobs, dirs, now, t)
        return True

    def take(self) -> dict[Key, ImageCount] | None:
        """The counts of the round that finished since the last call, else None. Never blocks."""
        current = self._round
        if current is None or not current.done.is_set():
            return None
        self._round = None
        return current.result

    def _abandon(self, stuck: _Round) -> None:
        self.abandoned += 1
        log.warning(
            "image counting took more than %.0f s and was abandoned (a tool or folder hangs?)",
            self._deadline_s,
        )
        if stuck.thread is not None:
            self._stuck.append(stuck.thread)
        # Its counters may still be in use by the stuck thread: the next round starts afresh.
        self._counters = {}
        self._round = None

    def close(self) -> None:
        """Forget everything; a running thread finishes (or hangs) on its own, unjoined."""
        self._round = None
        self._counters = {}
