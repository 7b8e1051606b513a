"""The batch writer for samples, reading them back, and retention to per-minute aggregates.

The writer commits a session's first samples at once, then whenever the buffered samples cover
`FLUSH_SPAN_S` of the sample clock (or that long has passed on the wall clock): with 1 s samples
the next one would make it 5 s, so a kill -9 loses less than 5 s. When a write fails for
a known reason (disk full, read-only, locked) the samples stay buffered and the write is retried
later with a growing delay; only past `max_pending` samples are the oldest dropped, and counted.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tray_app.store import codec
from tray_app.store.codec import Sample
from tray_app.store.db import StoreError, known_errors, transaction

FLUSH_SPAN_S = 4.0
RETRY_MIN_S = 5.0
RETRY_MAX_S = 60.0
MAX_PENDING = 24 * 3600  # a day of 1 s samples (~2 MB of memory) waits for a full disk to clear


@dataclass(slots=True)
class _Chunk:
    row_id: int | None  # None until inserted
    t0: float
    t1: float
    n: int
    new: list[Sample]
    blob: bytes = b""  # what the row holds: rewritten whole (SQL `||` would turn it into text)
    committed_t1: float | None = None  # last sample already in `blob`


class SampleWriter:
    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path | str | None,
        flush_span_s: float = FLUSH_SPAN_S,
        max_pending: int = MAX_PENDING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._conn = conn
        self._path = path
        self._span = flush_span_s
        self._max_pending = max_pending
        self._clock = clock
        self._pending: dict[int, list[Sample]] = {}
        self._count = 0
        self._chunks: dict[int, _Chunk] = {}  # the chunk each session may still append to
        self._last_flush = clock()
        self._retry_at = 0.0
        self._backoff = RETRY_MIN_S
        self.dropped = 0  # samples given up because the store stayed unwritable too long
        self.last_error: StoreError | None = None

    @property
    def pending(self) -> int:
        return self._count

    def add(self, session_id: int, rows: Iterable[Sample]) -> None:
        """Buffer rows; flush when due. Raises StoreError when a due flush fails (rows kept)."""
        buf = self._pending.get(session_id)
        if buf is None:
            buf = self._pending[session_id] = []
        before = len(buf)
        buf.extend([(float(r[0]), r[1], r[2], r[3]) for r in rows])
        self._count += len(buf) - before
        if self._count > self._max_pending:
            self._drop_oldest(self._count - self._max_pending)
        now = self._clock()
        if now < self._retry_at or not buf:
            return
        # Due at a session's first samples (a crash in its first seconds must find them), then
        # when its buffer spans FLUSH_SPAN_S of its sample clock, or that much wall time has
        # passed (which also catches a session whose samples stopped coming).
        if (
            session_id not in self._chunks
            or buf[-1][0] - buf[0][0] >= self._span
            or now - self._last_flush >= self._span
        ):
            self.flush()

    def flush(self, session_id: int | None = None) -> None:
        """Write buffered samples (of one session, or all) in one transaction."""
        ids = [session_id] if session_id is not None else list(self._pending)
        ids = [i for i in ids if self._pending.get(i)]
        if not ids:
            self._last_flush = self._clock()
            return
        plans = {sid: self._plan(sid, self._pending[sid]) for sid in ids}
        try:
            with known_errors(self._path), transaction(self._conn):
                for sid, chunks in plans.items():
                    for chunk in chunks:
                        self._write(sid, chunk)
        except StoreError as err:
            self.last_error = err
            self._retry_at = self._clock() + self._backoff
            self._backoff = min(RETRY_MAX_S, self._backoff * 2)
            raise
        except sqlite3.Error:
            # A bug (e.g. an unknown session id): don't let these rows poison every later flush.
            for sid in ids:
                self._count -= len(self._pending.pop(sid, []))
            raise
        for sid, chunks in plans.items():
            self._count -= len(self._pending.pop(sid))
            last = chunks[-1]
            last.new = []
            self._chunks[sid] = last
        self._last_flush = self._clock()
        self._retry_at = 0.0
        self._backoff = RETRY_MIN_S
        self.last_error = None

    def forget(self, session_id: int) -> None:
        """Stop appending to this session's chunk (it is closed or deleted)."""
        self._chunks.pop(session_id, None)
        self._count -= len(self._pending.pop(session_id, []))

    def _plan(self, sid: int, rows: list[Sample]) -> list[_Chunk]:
        prev = self._chunks.get(sid)
        cur = (
            _Chunk(prev.row_id, prev.t0, prev.t1, prev.n, [], prev.blob, prev.t1) if prev else None
        )
        out: list[_Chunk] = []
        for row in rows:
            ts = row[0]
            fits = (
                cur is not None
                and cur.t1 <= ts
                and ts - cur.t1 <= codec.MAX_STEP_S
                and cur.n < codec.CHUNK_MAX_N
            )
            if not fits or cur is None:
                cur = _Chunk(None, ts, ts, 0, [])
                out.append(cur)
            elif not out:
                out.append(cur)
            cur.new.append(row)
            cur.t1 = ts
            cur.n += 1
        return out

    def _write(self, sid: int, chunk: _Chunk) -> None:
        blob = chunk.blob + codec.pack(chunk.t0, chunk.new, chunk.committed_t1)
        if chunk.row_id is None:
            cur = self._conn.execute(
                "INSERT INTO samples (session_id, t0, t1, n, data) VALUES (?, ?, ?, ?, ?)",
                (sid, chunk.t0, chunk.t1, chunk.n, blob),
            )
            chunk.row_id = cur.lastrowid
        else:
            self._conn.execute(
                "UPDATE samples SET data = ?, t1 = ?, n = ? WHERE id = ?",
                (blob, chunk.t1, chunk.n, chunk.row_id),
            )
        chunk.blob = blob
        chunk.committed_t1 = chunk.t1

    def _drop_oldest(self, k: int) -> None:
        while k > 0:
            sid = min(
                (s for s, b in self._pending.items() if b), key=lambda s: self._pending[s][0][0]
            )
            buf = self._pending[sid]
            n = min(k, len(buf))
            del buf[:n]
            self._count -= n
            self.dropped += n
            k -= n


def load_samples(conn: sqlite3.Connection, session_id: int) -> list[Sample]:
    out: list[Sample] = []
    for t0, data in conn.execute(
        "SELECT t0, data FROM samples WHERE session_id = ? ORDER BY t0, id", (session_id,)
    ):
        out.extend(codec.unpack(t0, data))
    return out


def load_samples_between(
    conn: sqlite3.Connection, session_id: int, t0: float, t1: float
) -> list[Sample]:
    """The samples of the chunks that overlap [t0, t1], in time order."""
    out: list[Sample] = []
    for start, data in conn.execute(
        "SELECT t0, data FROM samples WHERE session_id = ? AND t0 <= ? AND t1 >= ? "
        "ORDER BY t0, id",
        (session_id, t1, t0),
    ):
        out.extend(codec.unpack(start, data))
    return out


def load_minutes(conn: sqlite3.Connection, session_id: int) -> list[codec.MinuteRecord]:
    out: list[codec.MinuteRecord] = []
    for hour, data in conn.execute(
        "SELECT hour, data FROM samples_minute WHERE session_id = ? ORDER BY hour", (session_id,)
    ):
        out.extend(codec.unpack_minutes(hour, data))
    return out


def aggregate_session(conn: sqlite3.Connection, session_id: int) -> None:
    """Replace a session's full-rate samples by per-minute aggregates (inside a transaction)."""
    samples = load_samples(conn, session_id)
    conn.executemany(
        "INSERT INTO samples_minute (session_id, hour, n, data) VALUES (?, ?, ?, ?)",
        (
            (session_id, hour, len(blob) // codec.MINUTE.size, blob)
            for hour, blob in codec.minute_records(samples).items()
        ),
    )
    conn.execute("DELETE FROM samples WHERE session_id = ?", (session_id,))


def apply_retention(
    conn: sqlite3.Connection, path: Path | str | None, full_rate_days: float, now: float
) -> int:
    """Aggregate closed sessions that ended more than `full_rate_days` ago. One transaction per
    session keeps the monitor's writes from waiting long. Returns how many were aggregated."""
    cutoff = now - full_rate_days * 86400
    with known_errors(path):
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM sessions WHERE status != 'open' AND end_ts < ? "
                "AND EXISTS (SELECT 1 FROM samples WHERE session_id = sessions.id)",
                (cutoff,),
            )
        ]
        for sid in ids:
            with transaction(conn):
                aggregate_session(conn, sid)
    return len(ids)
