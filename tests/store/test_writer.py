"""The batch writer: commits a session's first samples at once then every 4 s of samples,
survives a full disk, loses < 5 s to kill -9."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tray_app.store import Store, StoreError
from tray_app.store.samples import SampleWriter

T0 = 1.7e9
REPO = Path(__file__).resolve().parents[2]


def _committed(path: Path) -> int:
    """Samples another process would see."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT COALESCE(SUM(n), 0) FROM samples").fetchone()[0]
    finally:
        conn.close()


def test_a_sessions_first_samples_are_committed_at_once_then_every_four_seconds(tmp_path):
    store = Store.open(tmp_path / "s.sqlite3")
    sid = store.open_session("comfyui", "python", [1], [0], T0)
    store.add_samples(sid, [(T0, 200.0, 30.0, 1)])
    assert _committed(store.path) == 1  # a crash in the first seconds finds the session's start
    for i in range(1, 5):  # 1..4 s: 3 s of buffered samples
        store.add_samples(sid, [(T0 + i, 200.0, 30.0, 1)])
    assert _committed(store.path) == 1
    store.add_samples(sid, [(T0 + 5, 200.0, 30.0, 1)])  # 4 s buffered: the next would make 5
    assert _committed(store.path) == 6
    store.add_samples(sid, [(T0 + 6, 200.0, 30.0, 1)])
    store.close()  # close flushes the rest
    assert _committed(store.path) == 7


def _fill_disk(conn: sqlite3.Connection, filler_sid: int) -> None:
    """Cap the file at its size and fill every gap: SQLite then answers "database or disk is
    full", as it does on a full disk."""
    conn.execute(f"PRAGMA max_page_count={conn.execute('PRAGMA page_count').fetchone()[0] + 2}")
    for size in (2000, 400, 60, 1):
        with pytest.raises(sqlite3.OperationalError, match="full"):
            for _ in range(1000):
                conn.execute(
                    "INSERT INTO samples (session_id, t0, t1, n, data) VALUES (?, 0, 0, 0, ?)",
                    (filler_sid, b"x" * size),
                )


def test_full_disk_keeps_samples_buffered_and_retries(tmp_path):
    store = Store.open(tmp_path / "s.sqlite3")
    sid = store.open_session("comfyui", "python", [1], [0], T0)
    conn = store._conn
    _fill_disk(conn, store.open_session("filler", None, [], [], T0))
    clock = [0.0]
    writer = SampleWriter(conn, store.path, clock=lambda: clock[0])
    rows = [(T0 + i, 180.0 + i, 25.0, 1) for i in range(700)]
    with pytest.raises(StoreError) as info:
        writer.add(sid, rows[:1])  # a new session's first samples are written at once
    assert info.value.kind == "full" and str(store.path) in str(info.value)
    assert writer.pending == 1
    writer.add(sid, rows[1:700])  # in back-off: buffered, no exception, nothing lost
    assert writer.pending == 700
    conn.execute("PRAGMA max_page_count=1000000")  # space freed
    clock[0] += 60
    writer.add(sid, [(T0 + 700, 180.0, 25.0, 1)])
    assert writer.pending == 0 and writer.dropped == 0
    assert len(store.session_curve(sid)) == 701
    store.close()


def test_buffer_past_capacity_drops_oldest_and_counts_them(tmp_path):
    store = Store.open(tmp_path / "s.sqlite3")
    sid = store.open_session("comfyui", "python", [1], [0], T0)
    _fill_disk(store._conn, store.open_session("filler", None, [], [], T0))
    writer = SampleWriter(store._conn, store.path, max_pending=10, clock=lambda: 0.0)
    with pytest.raises(StoreError):
        writer.add(sid, [(T0 + i, 100.0, None, 1) for i in range(6)])
    writer.add(sid, [(T0 + 6 + i, 100.0, None, 1) for i in range(9)])
    assert (writer.pending, writer.dropped) == (10, 5)
    store._conn.close()


CHILD = """
import sys, time
sys.path.insert(0, {repo!r})
from tray_app.store import Store
store = Store.open({path!r})
sid = store.open_session("comfyui", "python", [1], [0], {t0!r})
for i in range(65):
    store.add_samples(sid, [({t0!r} + i, 200.0, 30.0, 1)])
print("ready", flush=True)  # samples 0..64 handed over; the kill lands 5 s after a commit
time.sleep(60)
"""


def test_kill_9_loses_at_most_five_seconds_of_samples(tmp_path):
    path = tmp_path / "s.sqlite3"
    code = CHILD.format(repo=str(REPO), path=str(path), t0=T0)
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    with Store.open(path) as store:
        [session] = store.list_sessions()
        curve = store.session_curve(session["id"])
        assert curve, "nothing was committed"
        lost_s = (T0 + 64) - curve[-1][0]
        assert 0 < lost_s <= 5.0
        assert [round(p[0] - T0) for p in curve] == list(range(len(curve)))  # no holes
        [recovered] = store.recover_open_sessions()
        assert store.get_session(recovered)["status"] == "recovered"
        assert store.get_session(recovered)["end_ts"] == pytest.approx(curve[-1][0])
