"""The session DAO: what the monitor writes, what the tray and CLI read back."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tray_app.store import Store

T0 = 1.7e9


@pytest.fixture
def store(isolated_dirs):
    s = Store.open()
    yield s
    s.close()


def _session(store, tool="comfyui", start=T0, seconds=60, gpu_w=200.0, cpu_w=40.0):
    sid = store.open_session(tool, "python3", [4242], [0], start)
    store.add_samples(sid, [(start + i, gpu_w, cpu_w, 1) for i in range(seconds + 1)])
    store.close_session(sid, start + seconds)
    return sid


def test_closed_session_carries_totals_and_derived_fields(store):
    sid = _session(store, seconds=3600)
    s = store.get_session(sid)
    assert s["status"] == "complete" and s["energy_method"] == "sampled"
    assert s["gpu_wh"] == pytest.approx(200.0) and s["cpu_wh"] == pytest.approx(40.0)
    assert s["total_wh"] == pytest.approx(240.0) and s["avg_w"] == pytest.approx(240.0)
    assert s["duration_s"] == 3600 and s["active_s"] == 3600 and s["unknown_s"] == 0
    assert s["started_at"] == "2023-11-14T22:13:20+00:00"
    assert s["co2_g"] == pytest.approx(0.240 * 475) and s["cost"] == pytest.approx(0.240 * 0.25)
    assert s["images"] is None and s["wh_per_image"] is None
    assert s["pids"] == [4242]


def test_co2_and_cost_follow_the_current_settings(store, isolated_dirs):
    sid = _session(store, seconds=3600)
    from tray_app.config.file import save_settings

    save_settings({"carbon_g_per_kwh": 56.0, "price_per_kwh": 0.2, "currency": "CHF"})
    s = store.get_session(sid)
    assert s["co2_g"] == pytest.approx(0.240 * 56) and s["currency"] == "CHF"


def test_monitor_totals_win_over_samples(store):
    sid = store.open_session("a1111", "python", [1], [0], T0)
    store.add_samples(sid, [(T0 + i, 100.0, None, 1) for i in range(11)])
    store.close_session(sid, T0 + 10, gpu_wh=0.5, cpu_wh=None, energy_method="counter")
    s = store.get_session(sid)
    assert (s["gpu_wh"], s["cpu_wh"], s["total_wh"]) == (0.5, None, 0.5)
    assert s["energy_method"] == "counter"


def test_list_filters_orders_and_pages(store):
    ids = [_session(store, tool=t, start=T0 + 1000 * i) for i, t in enumerate("abcab")]
    assert [s["id"] for s in store.list_sessions()] == ids[::-1]
    assert [s["id"] for s in store.list_sessions(tool="a")] == [ids[3], ids[0]]
    assert [s["id"] for s in store.list_sessions(since=T0 + 2000, until=T0 + 4000)] == [
        ids[3],
        ids[2],
    ]
    assert [s["id"] for s in store.list_sessions(limit=2, offset=1)] == [ids[3], ids[2]]
    assert [s["id"] for s in store.list_sessions(order="start_ts ASC", limit=1)] == [ids[0]]
    with pytest.raises(ValueError):
        store.list_sessions(order="start_ts; DROP TABLE sessions")


def test_crashed_session_is_recovered_once(isolated_dirs):
    s = Store.open()
    sid = s.open_session("comfyui", "python", [1], [0], T0)
    s.add_samples(sid, [(T0 + i, 300.0, 50.0, int(i < 30)) for i in range(61)])
    s.update_session(sid, gpu_wh=1.0, end_ts=T0 + 50)  # running totals, a little stale
    s.close()  # the process dies without close_session
    s = Store.open()
    assert s.recover_open_sessions() == [sid]
    r = s.get_session(sid)
    assert r["status"] == "recovered" and r["end_ts"] == pytest.approx(T0 + 60)
    assert r["gpu_wh"] == pytest.approx(5.0) and r["cpu_wh"] == pytest.approx(60 * 50 / 3600)
    assert r["active_s"] == pytest.approx(30)
    s.close()
    s = Store.open()
    assert s.recover_open_sessions() == []
    assert len(s.list_sessions()) == 1
    s.close()


def test_recovery_leaves_this_processs_own_sessions_alone(store):
    sid = store.open_session("comfyui", "python", [1], [0], T0)
    assert store.recover_open_sessions() == []
    assert store.get_session(sid)["status"] == "open"


def test_retention_aggregates_old_samples_and_keeps_energy(store):
    old = _session(store, start=T0, seconds=7200, gpu_w=250.0)
    new = _session(store, start=T0 + 40 * 86400, seconds=60)
    before = store.get_session(old)
    full = store.session_curve(old)
    assert store.apply_retention(30, now=T0 + 41 * 86400) == 1
    curve = store.session_curve(old)
    assert len(full) == 7201 and len(curve) == 121  # one point per minute (start mid-minute)
    assert len(store.session_curve(new)) == 61  # recent: still full rate
    energy = sum(
        gpu * 60 / 3600 for _ts, gpu, _cpu, _a in curve[1:-1]
    )  # whole minutes in the middle
    assert energy == pytest.approx(250.0 * 119 / 60, rel=1e-4)
    after = store.get_session(old)
    assert after["total_wh"] == before["total_wh"]
    assert store.apply_retention(30, now=T0 + 41 * 86400) == 0


def test_delete_sessions_removes_their_samples(store):
    a, b = _session(store), _session(store, start=T0 + 100)
    store.add_reminder(T0, "session_energy", {"wh": 5}, "tray", "hello", session_id=a)
    assert store.delete_sessions([a]) == 1
    assert [s["id"] for s in store.list_sessions()] == [b]
    assert store.session_curve(a) == []
    assert store.list_reminders()[0]["session_id"] is None  # the log entry stays


def test_daily_totals_use_the_day_start_hour(store):
    now = datetime(2024, 5, 10, 12, 0).timestamp()
    _session(store, start=datetime(2024, 5, 10, 2, 0).timestamp(), seconds=3600, gpu_w=100)
    _session(store, start=datetime(2024, 5, 9, 9, 0).timestamp(), seconds=3600, gpu_w=300)
    store.update_session(2, images=10)
    days = store.daily_totals(3, day_start_hour=0, now=now)
    assert [d[0] for d in days] == ["2024-05-08", "2024-05-09", "2024-05-10"]
    assert [round(d[1]) for d in days] == [0, 300, 100]
    assert days[1][3] == 10 and days[2][3] is None
    shifted = store.daily_totals(3, day_start_hour=4, now=now)
    assert [round(d[1]) for d in shifted] == [0, 400, 0]  # 02:00 belongs to the day before


def test_energy_since_counts_straddling_and_open_sessions(store):
    _session(store, start=T0, seconds=3600, gpu_w=100, cpu_w=0)  # 100 Wh over one hour
    live = store.open_session("comfyui", "python", [1], [0], T0 + 7200)
    store.update_session(live, total_wh=20.0, duration_s=600)
    assert store.energy_since(T0 + 1800) == pytest.approx(50.0 + 20.0)
    assert store.energy_since(T0 + 9000) == 0.0
    assert store.totals(T0)["sessions"] == 2


def test_reminder_log_roundtrip(store):
    sid = _session(store)
    rid = store.add_reminder(T0 + 5, "daily_energy", {"wh": 812.5}, "notification", "Enough", sid)
    store.add_reminder(T0 + 9, "continuous", None, "tray", None)
    [newest, first] = store.list_reminders()
    assert first == {
        "id": rid, "ts": T0 + 5, "rule": "daily_energy", "session_id": sid,
        "values": {"wh": 812.5}, "delivery": "notification", "message": "Enough",
    }  # fmt: skip
    assert newest["rule"] == "continuous"
    assert store.list_reminders(rule="daily_energy", since=T0) == [first]


def test_no_command_line_is_stored(isolated_dirs, tool_layout, tool_process):
    """A real tool with a secret on its command line, seen by the real scanner and recorded
    by the real tracker: the secret is nowhere in the data folder's files afterwards."""
    import sys

    from tray_app.detect import Scanner
    from tray_app.sessions.tracker import SessionTracker, ToolSeen

    secret = "a-secret-prompt-about-my-neighbours-cat"
    root = tool_layout("comfyui")
    from tests.images import free_port

    proc = tool_process([sys.executable, "main.py", "--port", str(free_port()), "--prompt", secret],
                        cwd=root)
    (found,) = [t for t in Scanner().scan({proc.pid: {0}}) if t.pid == proc.pid]
    store = Store.open()
    tracker = SessionTracker(store)
    tracker.set_tools([ToolSeen(tool=found.tool, label=found.display_name(), pid=found.pid,
                                exe_name=found.exe_name, gpu_indices=found.gpu_indices,
                                pids=found.pids)], T0)
    (sid,) = [s.id for s in tracker.sessions.values()]
    assert store.get_session(sid)["pids"] == [proc.pid]  # the session was written
    tracker.close_all(T0 + 60)
    store.close()
    files = [f for f in isolated_dirs["data"].rglob("*") if f.is_file()]
    assert files
    for f in files:
        assert secret.encode() not in f.read_bytes(), f


def test_unknown_fields_are_refused(store):
    sid = store.open_session("comfyui", "python3", [77], [0], T0)
    with pytest.raises(ValueError):
        store.update_session(sid, cmdline="python main.py --listen")


def test_daily_totals_default_today_is_present(store):
    days = store.daily_totals(7)
    assert len(days) == 7
    assert days[-1][0] == (datetime.now() - timedelta(hours=0)).date().isoformat()


def test_recovery_keeps_the_saved_running_totals_when_the_samples_hold_less(isolated_dirs):
    """Killed 11 s in: totals saved at 10 s from the counter, samples committed up to 5 s."""
    s = Store.open()
    sid = s.open_session("comfyui", "python", [1], [0], T0)
    s.add_samples(sid, [(T0 + i, 250.0, None, 1) for i in range(6)])
    s.update_session(sid, gpu_wh=10 * 250 / 3600, end_ts=T0 + 10, duration_s=10.0,
                     gpu_method="counter", energy_method="counter")
    s.flush()
    s._conn.close()  # the process dies: no close_session, nothing more flushed
    s = Store.open()
    assert s.recover_open_sessions() == [sid]
    r = s.get_session(sid)
    assert r["gpu_wh"] == pytest.approx(10 * 250 / 3600)  # not the samples' 5 s
    assert r["end_ts"] == pytest.approx(T0 + 10)
    assert (r["gpu_method"], r["energy_method"]) == ("counter", "counter")
    s.close()


def test_recovery_adds_the_samples_stored_after_the_saved_totals(isolated_dirs):
    s = Store.open()
    sid = s.open_session("comfyui", "python", [1], [0], T0)
    s.add_samples(sid, [(T0 + i, 250.0, None, 1) for i in range(15)])
    s.update_session(sid, gpu_wh=10 * 260 / 3600, end_ts=T0 + 10, gpu_method="counter")
    s.flush()
    s._conn.close()
    s = Store.open()
    s.recover_open_sessions()
    r = s.get_session(sid)
    # 10 s from the counter, then the samples' 4 s after it: nothing counted twice.
    assert r["gpu_wh"] == pytest.approx((10 * 260 + 4 * 250) / 3600)
    assert r["end_ts"] == pytest.approx(T0 + 14)
    assert r["gpu_method"] == "sampled"  # part of it now comes from samples
    s.close()


def test_select_reads_under_the_store_lock_and_refuses_anything_but_a_select():
    store = Store.open(":memory:")
    sid = store.open_session("comfyui", "python3", [1], [0], 1000.0)
    assert [tuple(r) for r in store.select("SELECT id, tool FROM sessions")] == [(sid, "comfyui")]
    with pytest.raises(ValueError):
        store.select("DELETE FROM sessions")
    assert store.list_sessions()  # nothing was deleted
    store.close()
