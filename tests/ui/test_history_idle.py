"""History shows what idle tools drew and what freeing them saved: per session, and per day
(the Today card and the day chart's tooltip)."""

from __future__ import annotations

import time

import pytest

from tray_app.store import Store
from tray_app.ui.history.window import HistoryWindow

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "history.sqlite3")
    now = time.time()
    sid = s.open_session("comfyui", "python3", [4242], [0], now - 3600)
    s.close_session(sid, now - 60, "complete", gpu_wh=60.0, cpu_wh=5.0, total_wh=65.0, idle_wh=31.0,
                    energy_method="counter", gpu_method="counter", cpu_method="counter")
    s.update_session(sid, saved_wh=12.5)
    other = s.open_session("a1111", "python3", [77], [0], now - 1800)
    s.close_session(other, now - 900, "complete", gpu_wh=20.0, cpu_wh=2.0, total_wh=22.0,
                    idle_wh=4.0, energy_method="counter", gpu_method="counter", cpu_method="counter")
    yield s
    s.close()


def test_idle_and_saved_energy_per_session_and_per_day(qtbot, store):
    w = HistoryWindow(store=store)
    qtbot.addWidget(w)
    w.show()
    assert "Idle 35.0\u00a0Wh · saved by freeing ≈12.5\u00a0Wh" in w.cards["today"].details.text()
    comfy, a1111 = sorted(store.list_sessions(), key=lambda s: s["tool"] != "comfyui")
    w.show_detail(comfy)
    assert w.detail.values["idle"].text() == "31.0\u00a0Wh"
    assert w.detail.values["saved"].text() == "≈12.5\u00a0Wh"  # an estimate, and labelled so
    w.show_detail(a1111)
    assert w.detail.values["saved"].text() == "-"  # never freed: nothing claimed
    chart = w.day_chart
    r = chart.plot_rect()
    today = len(chart.days) - 1
    tip = chart.tooltip_at(r.left() + (today + 0.5) * r.width() / len(chart.days))
    assert "Idle 35.0\u00a0Wh · saved by freeing ≈12.5\u00a0Wh" in tip
