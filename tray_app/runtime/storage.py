"""The store as the running engine uses it: opened so that monitoring always starts, guarded so
that a failing write is said once and never stops a sample, and summarised once a day."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from tray_app.runtime.generations import GenerationStore
from tray_app.sessions.tracker import SessionStore
from tray_app.store import Store, StoreError
from tray_app.system.i18n import _

log = logging.getLogger(__name__)

T = TypeVar("T")


class HistoryStore(SessionStore, GenerationStore, Protocol):
    """What the engine's parts need of `tray_app.store.Store` (tests hand in an in-memory one)."""

    def energy_since(self, ts: float) -> float: ...

    def add_reminder(self, ts: float, rule: str, values: dict[str, Any] | None = None,
                     delivery: str | None = None, message: str | None = None,
                     session_id: int | None = None) -> int: ...  # fmt: skip

    def set_reminder_delivery(self, reminder_id: int, delivery: str) -> None: ...

    def apply_retention(self, full_rate_days: float | None = None,
                        now: float | None = None) -> int: ...  # fmt: skip

    def close(self) -> None: ...


def open_store(problem: Callable[[str], None]) -> Store:
    """The user's store; in memory when it cannot be opened (said once), so monitoring goes on.
    Sessions a crash left open are closed as 'recovered' first."""
    try:
        store = Store.open()
    except StoreError as exc:
        problem(f"{exc} " + _("Monitoring goes on; this session's history is kept in memory only."))
        store = Store.open(":memory:")
    for p in store.problems:
        problem(p)
    try:
        recovered = store.recover_open_sessions()
    except StoreError as exc:
        problem(str(exc))
        recovered = []
    if recovered:
        log.info("recovered %d session(s) left open by a crash", len(recovered))
    return store


def apply_retention(store: HistoryStore, full_rate_days: int) -> None:
    """Per-minute aggregates for old sessions: at start, then daily for long runs."""
    try:
        store.apply_retention(full_rate_days)
    except Exception as exc:  # noqa: BLE001 - retention can wait for the next day
        log.warning("retention skipped: %s", exc)


class GuardedStore:
    """The store as the tracker sees it: a write that fails (disk full, read-only) is reported
    once and monitoring goes on; samples stay buffered in the store and are retried."""

    def __init__(self, store: HistoryStore, report: Callable[[str], None]) -> None:
        self.store = store
        self._report = report
        self._said: set[str] = set()

    def _guard(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T | None:
        try:
            return fn(*args, **kw)
        except StoreError as exc:
            msg = str(exc)
            if msg not in self._said:
                self._said.add(msg)
                self._report(msg)
            return None

    def open_session(self, tool: str, exe_name: str | None, pids: Sequence[int],
                     gpu_indices: Sequence[int], start_ts: float, manual: bool = False) -> int:  # fmt: skip
        sid = self._guard(self.store.open_session, tool, exe_name, pids, gpu_indices, start_ts,
                          manual=manual)  # fmt: skip
        if sid is None:  # not persisted: keep tracking with a negative in-memory id
            sid = -(len(self._said) + int(time.time() * 1000) % 1_000_000)
        return sid

    def add_samples(self, session_id: int, rows: Sequence[tuple]) -> None:
        if session_id > 0:
            self._guard(self.store.add_samples, session_id, rows)

    def update_session(self, session_id: int, **fields: Any) -> None:
        if session_id > 0:
            self._guard(self.store.update_session, session_id, **fields)

    def close_session(self, session_id: int, end_ts: float, status: str = "complete",
                      **totals: Any) -> None:  # fmt: skip
        if session_id > 0:
            self._guard(self.store.close_session, session_id, end_ts, status, **totals)
