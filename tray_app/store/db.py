"""Opening the SQLite file, and telling known failures (disk full, read-only, locked, corrupt)
apart from bugs.

Known failures become a `StoreError` whose message names the file and the fix, so the app can
show it and keep running; anything else is a bug and propagates (the qutebrowser `sql.py` split).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from tray_app.system.i18n import _

STORE_FILENAME = "raison-garder.sqlite3"
BUSY_TIMEOUT_MS = 5000
SQLITE_MAGIC = b"SQLite format 3\x00"
SIDECARS = ("-wal", "-shm", "-journal")

# SQLite primary result codes (the low byte of an extended code), for Pythons before 3.11
# that lack `sqlite_errorname`, and for readable matching.
_KIND_BY_NAME = {
    "SQLITE_BUSY": "locked",
    "SQLITE_LOCKED": "locked",
    "SQLITE_FULL": "full",
    "SQLITE_READONLY": "readonly",
    "SQLITE_PERM": "readonly",
    "SQLITE_CANTOPEN": "readonly",
    "SQLITE_IOERR": "io",
    "SQLITE_CORRUPT": "corrupt",
    "SQLITE_NOTADB": "corrupt",
}
_KIND_BY_MESSAGE = (
    ("database is locked", "locked"),
    ("database table is locked", "locked"),
    ("disk is full", "full"),
    ("readonly database", "readonly"),
    ("unable to open database", "readonly"),
    ("disk i/o error", "io"),
    ("malformed", "corrupt"),
    ("file is not a database", "corrupt"),
)


class StoreError(Exception):
    """A failure the user must hear about. `str()` is the full message: what, which file, the fix.

    `kind` is one of: full, readonly, locked, io, corrupt, newer, foreign, folder (the data
    folder itself is a file or cannot be made).
    """

    def __init__(self, kind: str, path: Path | str | None, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.path = Path(path) if path is not None else None


def default_path() -> Path:
    from tray_app.system.paths import data_dir

    return data_dir(create=False) / STORE_FILENAME


def _message(kind: str, path: Path | str | None, detail: str) -> str:
    where = str(path) if path is not None else _("(in memory)")
    if kind == "full":
        return _(
            "The disk holding {path} is full ({detail}). Free some space; recording resumes by itself."
        ).format(path=where, detail=detail)
    if kind == "readonly":
        return _(
            "Cannot write to {path} ({detail}). Make the file and its folder writable by you, "
            "or point RAISON_GARDER_DATA_DIR at a writable folder."
        ).format(path=where, detail=detail)
    if kind == "locked":
        return _(
            "{path} is locked by another program ({detail}). Close the other Raison Garder "
            "or the program holding the file, then try again."
        ).format(path=where, detail=detail)
    if kind == "corrupt":
        return _(
            "{path} is damaged ({detail}). Quit Raison Garder and move the file aside; "
            "a fresh store is created at the next start."
        ).format(path=where, detail=detail)
    return _("Reading or writing {path} failed ({detail}). Check the disk, then try again.").format(
        path=where, detail=detail
    )


def known_kind(exc: BaseException) -> str | None:
    """The kind of a known SQLite/OS failure, or None when it looks like a bug."""
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", None)
        if name:
            for prefix, kind in _KIND_BY_NAME.items():
                if name == prefix or name.startswith(prefix + "_"):
                    return kind
        text = str(exc).lower()
        for needle, kind in _KIND_BY_MESSAGE:
            if needle in text:
                return kind
        return None
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return "full"
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return "readonly"
        return "io"
    return None


def wrap(exc: BaseException, path: Path | str | None) -> StoreError | None:
    """A StoreError for a known failure, else None (the caller re-raises the bug)."""
    kind = known_kind(exc)
    if kind is None:
        return None
    detail = getattr(exc, "strerror", None) or str(exc)
    return StoreError(kind, path, _message(kind, path, detail))


@contextlib.contextmanager
def known_errors(path: Path | str | None) -> Iterator[None]:
    """Turn known failures inside the block into StoreError; let bugs through untouched."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        err = wrap(exc, path)
        if err is None:
            raise
        raise err from exc


def create_private_file(path: Path) -> None:
    """Create an empty file readable by the user only (SQLite gives -wal/-shm the same mode)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return  # another process (the monitor, the CLI) created it a moment ago
    os.close(fd)


def looks_like_sqlite(path: Path) -> bool:
    """True for an empty file (SQLite treats it as a new database) or one with SQLite's header."""
    with open(path, "rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    return head == b"" or head == SQLITE_MAGIC


def connect(path: Path | str) -> sqlite3.Connection:
    """Open without changing the file (it may be someone else's: see `configure`).
    Autocommit mode: writes go through `transaction()`."""
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys=ON")
    except BaseException:
        conn.close()
        raise
    return conn


def connect_read_only(path: Path) -> sqlite3.Connection:
    """Open a store that cannot be written. `mode=ro` still sees a -wal left beside it; where
    SQLite cannot even create its -shm there (a read-only folder after a clean exit, when no
    -wal is left), the file is read as immutable: nothing else can be writing it then."""
    from urllib.parse import quote

    uri = "file:" + quote(str(Path(path).resolve()))
    for suffix in ("?mode=ro", "?mode=ro&immutable=1"):
        conn = sqlite3.connect(
            uri + suffix, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.execute("PRAGMA query_only=ON")
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            conn.close()
            if suffix.endswith("immutable=1"):
                raise
    raise AssertionError("unreachable")


def configure(conn: sqlite3.Connection, in_memory: bool = False) -> None:
    """Our pragmas, once the file is known to be ours (or empty)."""
    # Only takes effect on a new, empty file (it must precede the first table): lets
    # `vacuum()` hand freed pages back cheaply. A no-op on an existing store.
    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    if not in_memory:
        conn.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: a power cut can lose the last commits, never corrupt the file.
    conn.execute("PRAGMA synchronous=NORMAL")


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (all-or-nothing writes)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def move_aside(path: Path, now: float | None = None) -> Path:
    """Rename `path` (and its -wal/-shm/-journal) to `<name>.corrupt-YYYYmmdd-HHMMSS`."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():  # two in the same second: never overwrite an earlier one
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    os.replace(path, target)
    for suffix in SIDECARS:
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    return target
