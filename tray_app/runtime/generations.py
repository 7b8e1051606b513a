"""Energy per generation: each prompt or image of a session, with the energy of its own window,
written to the store as the image counts arrive (tray_app/sessions/generations.py does the
sums; this part keeps one recorder per open session and says the last word when it closes).
It also keeps the user's own clearest settings comparison for the reminders' tip."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from tray_app.images.counter import Unit
from tray_app.sessions.generation_tips import RECENT_DAYS, StepsContrast, steps_contrast
from tray_app.sessions.generations import GenerationRecorder
from tray_app.sessions.tracker import OpenSession
from tray_app.store.codec import Sample

log = logging.getLogger(__name__)

CONTRAST_EVERY_S = 3600.0  # the user's habits move slowly; a session's end refreshes it sooner


class GenerationStore(Protocol):
    def session_samples(self, session_id: int, t0: float, t1: float) -> list[Sample]: ...

    def add_generations(self, rows: Iterable[dict[str, Any]]) -> int: ...

    def generation_groups(self, since: float | None = None) -> list[Any]: ...


class GenerationLog:
    def __init__(self, store: GenerationStore, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock
        self._recorders: dict[int, GenerationRecorder] = {}  # by session id
        self._contrast: StepsContrast | None = None
        self._contrast_due = 0.0  # monotonic

    def units(self, s: OpenSession, units: Sequence[Unit], now: float) -> None:
        """The session's units so far (from its image counter): record the new ones."""
        if not units or s.id <= 0:  # not persisted: nothing to attach them to
            return
        recorder = self._recorders.get(s.id)
        if recorder is None:
            recorder = self._recorders[s.id] = GenerationRecorder(s.id, s.tool, s.start_ts)
        self._write(recorder, units, now, final=False)

    def session_closed(self, sid: int) -> None:
        recorder = self._recorders.pop(sid, None)
        if recorder is not None:  # the last images need no batch mates any more
            self._write(recorder, (), self._clock(), final=True)
            self._contrast_due = 0.0  # its generations may change the user's own comparison

    def contrast(self, now: float) -> StepsContrast | None:
        """The clearest steps comparison in the user's recent generations, for the tip. Read
        at most hourly (one indexed pass over the last 30 days), and after a session ends."""
        if time.monotonic() < self._contrast_due:
            return self._contrast
        self._contrast_due = time.monotonic() + CONTRAST_EVERY_S
        try:
            self._contrast = steps_contrast(
                self._store.generation_groups(since=now - RECENT_DAYS * 86400)
            )
        except Exception as exc:  # noqa: BLE001 - a tip can wait; monitoring cannot
            log.warning("generation tip skipped: %s", exc)
        return self._contrast

    def _write(self, recorder: GenerationRecorder, units: Sequence[Unit], now: float,
               final: bool) -> None:  # fmt: skip
        sid = recorder.session_id
        try:
            made = recorder.collect(
                units, now, lambda t0, t1: self._store.session_samples(sid, t0, t1), final
            )
            if made:
                self._store.add_generations(g.fields() for g in made)
        except Exception as exc:  # noqa: BLE001 - a per-generation figure must not stop monitoring
            log.warning("generations of session %s not recorded: %s", sid, exc)
