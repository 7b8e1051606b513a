"""`Store`: the one object the rest of the app uses to record and read sessions. Qt-free.

Thread-safe (one lock): the monitor's worker writes while the UI reads. Every method turns a
known failure into `StoreError` (message names the file and the fix); bugs propagate.
Only the process that owns the monitor should call `recover_open_sessions()` at start-up:
in any other process an open session may be a live one.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tray_app.store import codec, db, generations, reminders, samples, schema, sessions
from tray_app.store.db import StoreError
from tray_app.system import paths
from tray_app.system.i18n import _

T = TypeVar("T")
UID_NAMESPACE = "6f1c3f52-2b1e-4d8e-9a57-52474152a001"


def _locked(method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> T:
        # Spelled out rather than `with db.known_errors()`: add_samples runs every second.
        with self._lock:
            try:
                return method(self, *args, **kwargs)
            except (sqlite3.Error, OSError) as exc:
                err = db.wrap(exc, self.path)
                if err is None:
                    raise
                raise err from exc

    return wrapper


def import_uid(tool: str, start_ts: float, end_ts: float, nth: int = 0) -> str:
    """A stable uid for a session that arrives without one, so re-importing it matches; `nth`
    tells apart identical sessions of one file (the first keeps the historical formula)."""
    import uuid  # lazily: with `platform`, it costs `sessions` a few ms of start-up

    suffix = f"|{nth}" if nth else ""
    return str(uuid.uuid5(uuid.UUID(UID_NAMESPACE), f"{tool}|{start_ts!r}|{end_ts!r}{suffix}"))


class Store:
    def __init__(self, conn: sqlite3.Connection, path: Path | None, problems: list[str]) -> None:
        self._conn = conn
        self.path = path
        # Things the user should hear about once (e.g. a damaged file moved aside).
        self.problems = problems
        self._lock = threading.RLock()
        self._writer = samples.SampleWriter(conn, path)
        self._own: set[int] = set()  # sessions opened by this Store: never "recovered"
        self._closed = False
        self.read_only = False  # see open_for_reading

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str | None = None) -> Store:
        """Open (creating or migrating) the store. A damaged or foreign file is moved aside and
        `problems` says where; a file from a newer version is refused with a StoreError."""
        if path == ":memory:":
            conn = db.connect(":memory:")
            db.configure(conn, in_memory=True)
            schema.migrate(conn)
            return cls(conn, None, [])
        target = Path(path) if path is not None else db.default_path()
        problems: list[str] = []
        if path is None:
            try:  # the user's data folder: a problem with it is named as such, not "the disk"
                paths.data_dir(create=True)
            except paths.FolderProblem as exc:
                raise db.StoreError("folder", exc.path, str(exc)) from exc
        with db.known_errors(target):
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if target.exists() and not db.looks_like_sqlite(target):
                problems.append(_aside(target, _("not an SQLite database")))
            conn = cls._connect_checked(target, problems)
            schema.migrate(conn)
        return cls(conn, target, problems)

    @classmethod
    def open_for_reading(cls, path: Path | str | None = None) -> Store:
        """`open()`, or, when the store cannot be written (a read-only folder, a read-only
        mount, a backup), the same store opened read-only: listing and exporting still work,
        and a write says why it failed."""
        try:
            return cls.open(path)
        except StoreError as exc:
            target = Path(path) if path is not None else db.default_path()
            if exc.kind != "readonly" or not target.is_file():
                raise
            original = exc
        try:
            conn = db.connect_read_only(target)
        except (sqlite3.Error, OSError):
            raise original from None
        try:
            state, version = schema.inspect(conn), schema.user_version(conn)
        except sqlite3.Error:
            conn.close()
            raise original from None
        if state != "ours" or version != schema.SCHEMA_VERSION:
            conn.close()
            raise original  # needs moving aside or upgrading: both need write access
        store = cls(conn, target, [])
        store.read_only = True
        return store

    @staticmethod
    def _connect_checked(target: Path, problems: list[str]) -> sqlite3.Connection:
        for attempt in (1, 2):
            if not target.exists():
                db.create_private_file(target)
            conn: sqlite3.Connection | None = None
            try:
                conn = db.connect(target)
                state = schema.inspect(conn)
            except sqlite3.DatabaseError as exc:
                if conn is not None:
                    conn.close()
                if db.known_kind(exc) != "corrupt" or attempt == 2:
                    raise
                problems.append(_aside(target, str(exc)))
                continue
            if state in ("empty", "ours"):
                try:
                    db.configure(conn)
                except BaseException:
                    conn.close()
                    raise
                return conn
            version = schema.user_version(conn)
            conn.close()
            if state == "newer":
                raise StoreError(
                    "newer",
                    target,
                    _(
                        "{path} was written by a newer version of Raison Garder (store version "
                        "{found}; this one knows up to {known}). Update Raison Garder, or move "
                        "the file aside to start a fresh store."
                    ).format(path=target, found=version, known=schema.SCHEMA_VERSION),
                )
            problems.append(_aside(target, _("an SQLite file of another program")))
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Flush buffered samples and close. Raises StoreError if the last flush fails."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                with db.known_errors(self.path):
                    self._writer.flush()
            finally:
                self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing a session ---------------------------------------------------------------------

    @_locked
    def open_session(
        self,
        tool: str,
        exe_name: str | None,
        pids: Sequence[int],
        gpu_indices: Sequence[int],
        start_ts: float,
        manual: bool = False,
    ) -> int:
        """Start a session. Only the executable's name and pids: never a command line."""
        import uuid

        with db.transaction(self._conn):
            sid = sessions.insert(
                self._conn,
                {
                    "uid": str(uuid.uuid4()),
                    "tool": tool,
                    "exe_name": exe_name,
                    "pids": list(pids),
                    "gpu_indices": list(gpu_indices),
                    "start_ts": float(start_ts),
                    "manual": manual,
                    "status": "open",
                },
            )
        self._own.add(sid)
        return sid

    @_locked
    def add_samples(self, session_id: int, rows: Iterable[codec.Sample]) -> None:
        """Buffer (ts epoch s, gpu_w | None, cpu_w | None, active) rows; committed at once for a
        new session, then every 4 s of the sample clock (see samples.py). On StoreError the
        rows stay buffered and are retried later."""
        self._writer.add(session_id, rows)

    @_locked
    def flush(self) -> None:
        self._writer.flush()

    @property
    def pending_samples(self) -> int:
        return self._writer.pending

    @property
    def dropped_samples(self) -> int:
        """Samples given up after the store stayed unwritable past the buffer's capacity."""
        return self._writer.dropped

    @_locked
    def update_session(self, session_id: int, **fields: Any) -> None:
        """Set running totals (or any writable field) of a session."""
        with db.transaction(self._conn):
            sessions.update(self._conn, session_id, fields)

    @_locked
    def close_session(
        self, session_id: int, end_ts: float, status: str = "complete", **totals: Any
    ) -> None:
        """End a session. Energies not given are integrated from its samples (method 'sampled');
        duration, total and average power are derived when not given."""
        if status not in ("complete", "recovered"):
            raise ValueError(f"cannot close a session as {status!r}")
        self._writer.flush(session_id)
        start = self._start_ts(session_id)
        fields: dict[str, Any] = {}
        if "gpu_wh" not in totals and "cpu_wh" not in totals:
            fields.update(self._from_samples(session_id))
            fields.pop("end_ts", None)
        fields.update(totals)
        fields["end_ts"] = float(end_ts)
        fields["status"] = status
        _complete_totals(fields, start)
        with db.transaction(self._conn):
            sessions.update(self._conn, session_id, fields)
        self._writer.forget(session_id)
        self._own.discard(session_id)

    @_locked
    def recover_open_sessions(self) -> list[int]:
        """Close sessions left open by a crash, as 'recovered', at their last sample. Returns
        their ids.

        Two records survive a crash: the running totals saved every few seconds (from the
        energy counters where there are some) and the samples committed since. Each energy is
        the larger of the samples' sum and the saved total plus the samples after it: what was
        saved is never lost, and nothing is counted twice."""
        ids = [
            r[0]
            for r in self._conn.execute("SELECT id FROM sessions WHERE status = 'open'")
            if r[0] not in self._own
        ]
        for sid in ids:
            start = self._start_ts(sid)
            fields = _recovered_totals(self._saved_totals(sid), start,
                                       samples.load_samples(self._conn, sid))
            fields["status"] = "recovered"
            _complete_totals(fields, start)
            with db.transaction(self._conn):
                sessions.update(self._conn, sid, fields)
        return ids

    def _saved_totals(self, session_id: int) -> dict[str, Any]:
        cur = self._conn.execute(
            f"SELECT {', '.join(_SAVED)} FROM sessions WHERE id = ?", (session_id,)
        )
        row = cur.fetchone()
        return dict(zip(_SAVED, row, strict=True)) if row else {}

    def _start_ts(self, session_id: int) -> float:
        row = self._conn.execute(
            "SELECT start_ts FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        if row is None:
            raise KeyError(f"no session {session_id}")
        return float(row[0])

    def _from_samples(self, session_id: int) -> dict[str, Any]:
        tot = codec.integrate(samples.load_samples(self._conn, session_id))
        if tot.last_ts is None:
            return {}
        out: dict[str, Any] = {
            "end_ts": tot.last_ts,
            "active_s": tot.active_s,
            "unknown_s": tot.unknown_s,
            "peak_w": tot.peak_w,
        }
        if tot.total_wh is not None:
            out.update(gpu_wh=tot.gpu_wh, cpu_wh=tot.cpu_wh, energy_method="sampled")
        return out

    @_locked
    def delete_sessions(self, ids: Iterable[int]) -> int:
        id_list = [int(i) for i in ids]
        for sid in id_list:
            self._writer.forget(sid)
            self._own.discard(sid)
        if not id_list:
            return 0
        with db.transaction(self._conn):
            cur = self._conn.execute(
                f"DELETE FROM sessions WHERE id IN ({', '.join('?' * len(id_list))})", id_list
            )
        return cur.rowcount

    @_locked
    def import_sessions(self, records: Sequence[dict[str, Any]]) -> tuple[int, int]:
        """Insert validated records in one transaction; a record whose uid is already here is
        skipped. Returns (added, skipped).

        A session's identity is its uid, never its figures: two sessions of one tool may share a
        start and an end (a tool restarted within the same second, a split at an idle pause). A
        record without uid gets one derived from the file's content (tool, start, end, and how
        many identical ones came before it in the file), so importing the same file twice adds
        its sessions once."""
        with db.transaction(self._conn):
            return self._insert_sessions(records)

    @_locked
    def import_all(
        self, records: Sequence[dict[str, Any]], generation_records: Sequence[dict[str, Any]]
    ) -> tuple[int, int, int]:
        """Sessions and their generations in ONE transaction: a failure half-way (disk full)
        leaves nothing imported. Returns (sessions added, sessions skipped, generations added)."""
        with db.transaction(self._conn):
            added, skipped = self._insert_sessions(records)
            gen_added = self._insert_generations(generation_records)
        return added, skipped, gen_added

    def _insert_sessions(self, records: Sequence[dict[str, Any]]) -> tuple[int, int]:
        added = skipped = 0
        seen: dict[tuple[str, float, float], int] = {}
        for rec in records:
            fields = dict(rec)
            if not fields.get("uid"):
                key = (fields["tool"], fields["start_ts"], fields["end_ts"])
                nth = seen[key] = seen.get(key, -1) + 1
                fields["uid"] = import_uid(*key) if nth == 0 else import_uid(*key, nth=nth)
            exists = self._conn.execute(
                "SELECT 1 FROM sessions WHERE uid = ? LIMIT 1", (fields["uid"],)
            ).fetchone()
            if exists:
                skipped += 1
                continue
            fields.setdefault("status", "complete")
            sessions.insert(self._conn, fields)
            added += 1
        return added, skipped

    # -- reading -------------------------------------------------------------------------------

    @_locked
    def list_sessions(
        self,
        since: float | None = None,
        until: float | None = None,
        tool: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        order: str = "start_ts DESC",
    ) -> list[dict[str, Any]]:
        """Sessions with derived fields (started_at, ended_at, co2_g, cost, currency...)."""
        return sessions.select(
            self._conn, sessions.current_settings(), since, until, tool, limit, offset, order
        )

    @_locked
    def count_sessions(self, since: float | None = None) -> int:
        row = self._conn.execute(
            "SELECT COUNT(*) FROM sessions WHERE start_ts >= ?",
            (since if since is not None else float("-inf"),),
        ).fetchone()
        return int(row[0])

    @_locked
    def get_session(self, session_id: int) -> dict[str, Any] | None:
        rows = sessions.select(self._conn, sessions.current_settings(), ids=[session_id])
        return rows[0] if rows else None

    @_locked
    def session_curve(
        self, session_id: int
    ) -> list[tuple[float, float | None, float | None, int | None]]:
        """(ts, gpu_w, cpu_w, active): full-rate samples, or one point per minute (average
        power over the minute's known seconds) once retention has aggregated the session."""
        self._writer.flush(session_id)
        full = samples.load_samples(self._conn, session_id)
        if full:
            return full
        out: list[tuple[float, float | None, float | None, int | None]] = []
        for minute, gwh, cwh, gs, cs, _peak, act in samples.load_minutes(self._conn, session_id):
            gpu = gwh * 3600 / gs if gwh is not None and gs else None
            cpu = cwh * 3600 / cs if cwh is not None and cs else None
            out.append((float(minute), gpu, cpu, int(act >= 30)))
        return out

    @_locked
    def daily_totals(
        self, days: int, day_start_hour: int | None = None, now: float | None = None
    ) -> list[tuple[str, float, float, int | None]]:
        if day_start_hour is None:
            day_start_hour = int(sessions.current_settings().day_start_hour)
        return sessions.daily_totals(self._conn, days, day_start_hour, now)

    @_locked
    def totals(self, since_ts: float | None = None) -> dict[str, Any]:
        return sessions.totals(self._conn, sessions.current_settings(), since_ts)

    @_locked
    def energy_since(self, ts: float) -> float:
        """Wh since `ts` (e.g. the start of today, for reminders), open sessions included."""
        return sessions.energy_since(self._conn, ts)

    @_locked
    def session_samples(self, session_id: int, t0: float, t1: float) -> list[codec.Sample]:
        """Full-rate samples of a session between t0 and t1 (whole chunks around them: a few
        hundred rows at most), buffered ones included. Empty once retention aggregated them."""
        self._writer.flush(session_id)
        return samples.load_samples_between(self._conn, session_id, t0, t1)

    # -- generations ---------------------------------------------------------------------------

    @_locked
    def add_generations(self, rows: Iterable[dict[str, Any]]) -> int:
        """Store generations (see tray_app.sessions.generations); one already here is kept."""
        with db.transaction(self._conn):
            return generations.insert_many(self._conn, rows)

    @_locked
    def list_generations(
        self,
        session_id: int | None = None,
        since: float | None = None,
        limit: int | None = None,
        oldest_first: bool = False,
        with_session_uid: bool = False,
    ) -> list[dict[str, Any]]:
        """Generations, newest first, with wh_per_image, duration_s and window derived."""
        return generations.select(
            self._conn, session_id, since, limit, oldest_first, with_session_uid
        )

    @_locked
    def generation_groups(self, since: float | None = None) -> list[generations.Group]:
        """Generations grouped by model family x size x steps, with median costs."""
        return generations.groups(self._conn, since)

    @_locked
    def import_generations(self, records: Sequence[dict[str, Any]]) -> tuple[int, int]:
        """Generations from an export, each naming its session by `session_uid`. Those whose
        session is not in the store, or that are already here, are skipped. (added, skipped)"""
        with db.transaction(self._conn):
            added = self._insert_generations(records)
        return added, len(records) - added

    def _insert_generations(self, records: Sequence[dict[str, Any]]) -> int:
        if not records:
            return 0
        ids = {
            uid: sid
            for uid, sid in self._conn.execute("SELECT uid, id FROM sessions")
        }
        rows = []
        for rec in records:
            sid = ids.get(rec.get("session_uid"))
            if sid is None:
                continue
            rows.append({**{k: v for k, v in rec.items() if k != "session_uid"}, "session_id": sid})
        return generations.insert_many(self._conn, rows)

    # -- housekeeping --------------------------------------------------------------------------

    @_locked
    def apply_retention(self, full_rate_days: float | None = None, now: float | None = None) -> int:
        """Aggregate samples of sessions older than `full_rate_days` to one point per minute."""
        if full_rate_days is None:
            full_rate_days = float(sessions.current_settings().retention.full_rate_days)
        self._writer.flush()
        return samples.apply_retention(
            self._conn, self.path, full_rate_days, time.time() if now is None else now
        )

    @_locked
    def vacuum(self, full: bool = False) -> None:
        """Give freed pages back to the disk (incremental), or rebuild the file (`full`)."""
        self._writer.flush()
        self._conn.execute("VACUUM" if full else "PRAGMA incremental_vacuum")
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- reminders log -------------------------------------------------------------------------

    @_locked
    def add_reminder(
        self,
        ts: float,
        rule: str,
        values: dict[str, Any] | None = None,
        delivery: str | None = None,
        message: str | None = None,
        session_id: int | None = None,
    ) -> int:
        with db.transaction(self._conn):
            return reminders.add(self._conn, ts, rule, values, delivery, message, session_id)

    @_locked
    def set_reminder_delivery(self, reminder_id: int, delivery: str) -> None:
        """How a reminder finally reached the user (shown:dbus, shown:popup, held:dnd...)."""
        with db.transaction(self._conn):
            reminders.set_delivery(self._conn, reminder_id, delivery)

    @_locked
    def select(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of one read-only statement, under the store's lock and error mapping, for the
        store's own query modules (store/queries.py: the History window's aggregates). Anything
        but a SELECT is refused: writes go through the methods above."""
        if not sql.lstrip().upper().startswith("SELECT"):
            raise ValueError("Store.select runs SELECT statements only")
        cur = self._conn.cursor()
        cur.row_factory = sqlite3.Row
        try:
            return cur.execute(sql, list(params)).fetchall()
        finally:
            cur.close()

    @_locked
    def list_reminders(
        self, since: float | None = None, rule: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        return reminders.select(self._conn, since, rule, limit)


_SAVED = ("end_ts", "duration_s", "gpu_wh", "cpu_wh", "active_s", "unknown_s", "peak_w",
          "energy_method", "gpu_method", "cpu_method")


def _weakest(*methods: str | None) -> str | None:
    order = ("estimated", "sampled", "counter")
    present = [m for m in methods if m in order]
    return min(present, key=order.index) if present else None


def _recovered_totals(
    saved: dict[str, Any], start_ts: float, rows: Sequence[codec.Sample]
) -> dict[str, Any]:
    """A crashed session's totals from its saved running totals and its stored samples."""
    whole = codec.integrate(rows)
    saved_end = saved.get("end_ts")
    # Samples keep their time to 10 ms: the one stored with the running totals starts "after".
    after = codec.integrate([r for r in rows if saved_end is not None and r[0] >= saved_end - 0.01])
    out: dict[str, Any] = {}
    methods: list[str | None] = []
    for part in ("gpu", "cpu"):
        from_samples = getattr(whole, f"{part}_wh")
        kept = saved.get(f"{part}_wh")
        added = getattr(after, f"{part}_wh")
        if kept is not None:
            kept_method = saved.get(f"{part}_method") or saved.get("energy_method")
            with_after = kept + (added or 0.0)
            if from_samples is None or with_after >= from_samples:
                out[f"{part}_wh"] = with_after
                out[f"{part}_method"] = _weakest(kept_method, "sampled" if added else None)
                methods.append(out[f"{part}_method"])
                continue
        if from_samples is not None:
            out[f"{part}_wh"] = from_samples
            out[f"{part}_method"] = "sampled"
            methods.append("sampled")
    if methods:
        out["energy_method"] = _weakest(*methods)
    ends = [t for t in (whole.last_ts, saved_end) if t is not None]
    out["end_ts"] = max(ends) if ends else start_ts + (saved.get("duration_s") or 0.0)
    out["active_s"] = max(whole.active_s, saved.get("active_s") or 0.0)
    out["unknown_s"] = max(whole.unknown_s, saved.get("unknown_s") or 0.0)
    peaks = [p for p in (whole.peak_w, saved.get("peak_w")) if p is not None]
    if peaks:
        out["peak_w"] = max(peaks)
    return out


def _complete_totals(fields: dict[str, Any], start_ts: float) -> None:
    end = fields.get("end_ts")
    if "duration_s" not in fields and end is not None:
        fields["duration_s"] = max(0.0, end - start_ts)
    if "total_wh" not in fields and ("gpu_wh" in fields or "cpu_wh" in fields):
        parts = [fields.get("gpu_wh"), fields.get("cpu_wh")]
        known = [p for p in parts if p is not None]
        fields["total_wh"] = sum(known) if known else None
    dur = fields.get("duration_s")
    if "avg_w" not in fields and fields.get("total_wh") is not None and dur:
        fields["avg_w"] = fields["total_wh"] * 3600 / dur


def _aside(path: Path, reason: str) -> str:
    moved = db.move_aside(path)
    return _(
        "{path} could not be used as the Raison Garder store ({reason}). It was moved to "
        "{moved}, and a fresh store was started."
    ).format(path=path, reason=reason, moved=moved)
