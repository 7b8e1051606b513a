"""The opt-in Prometheus endpoint, served for real on loopback."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tray_app.config.settings import typed
from tray_app.measure.monitor import Snapshot, SourceState
from tray_app.measure.sensors.base import Kind, Method
from tray_app.metrics.config import metrics_status
from tray_app.metrics.server import MetricsServer, MetricsState
from tray_app.runtime.engine import EngineStatus, SessionView


def status(gpu_w: float | None, gpu_j: float) -> EngineStatus:
    sources = (
        SourceState(source="nvidia:0", kind=Kind.GPU, label="RTX", method=Method.COUNTER,
                    power_w=gpu_w, energy_j=gpu_j, unknown_s=0.0),
        SourceState(source="cpu:estimate", kind=Kind.CPU, label="CPU", method=Method.ESTIMATED,
                    power_w=20.0, energy_j=100.0, unknown_s=0.0),
    )
    session = SessionView(id=1, tool="comfyui", tool_label="ComfyUI", start_wall=0.0,
                          duration_s=60.0, active_s=50.0, gpu_wh=1.0, cpu_wh=0.1, total_wh=1.1,
                          images=3, method="counter", manual=False)
    return EngineStatus(snapshot=Snapshot(t=1.0, wall=2.0, sources=sources), session=session,
                        today_wh=5.0, monitoring_paused=False, reminders_snoozed_until=None)


@pytest.fixture
def served():
    servers = []

    def start(token: str = "") -> tuple[MetricsState, str]:
        state = MetricsState()
        server = MetricsServer(state, "127.0.0.1", 0, token).start()
        servers.append(server)
        return state, f"http://127.0.0.1:{server.port}/metrics"

    yield start
    for s in servers:
        s.stop()


def scrape(url: str, token: str | None = None) -> dict[str, dict[tuple, float]]:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=5) as resp:
        text = resp.read().decode()
    out: dict[str, dict[tuple, float]] = {}
    for fam in text_string_to_metric_families(text):
        for sample in fam.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def test_power_energy_and_session_metrics_parse_with_prometheus_own_parser(served):
    state, url = served()
    state.publish(status(gpu_w=231.5, gpu_j=5000.0))
    state.session_closed("comfyui", total_wh=2.0, images=12)
    state.reminder_shown("session_energy")
    m = scrape(url)
    gpu = (("kind", "gpu"), ("method", "counter"), ("source", "nvidia:0"))
    assert m["raison_garder_power_watts"][gpu] == 231.5
    assert m["raison_garder_energy_joules_total"][gpu] == 5000.0
    assert m["raison_garder_sessions_energy_joules_total"][(("tool", "comfyui"),)] == 7200.0
    assert m["raison_garder_images_total"][(("tool", "comfyui"),)] == 12
    assert m["raison_garder_reminders_total"][(("rule", "session_energy"),)] == 1
    assert m["raison_garder_session_active"][(("tool", "comfyui"),)] == 1
    est = (("kind", "cpu"), ("method", "estimated"), ("source", "cpu:estimate"))
    assert m["raison_garder_power_watts"][est] == 20.0  # the method label says it is an estimate


def test_a_tool_idling_with_the_gpu_held_is_exposed_in_watts_above_the_floor(served):
    from dataclasses import replace

    from tray_app.idle.waste import IdleWaste

    state, url = served()
    state.publish(status(gpu_w=65.0, gpu_j=10.0))
    assert "raison_garder_idle_waste_watts" not in scrape(url)  # none: absent, not 0
    waste = IdleWaste(key=("comfyui", 1), tool="comfyui", label="ComfyUI", pid=1, gpus=("nvidia:0",),
                      holding_mb=5120.0, power_w=65.0, floor_w=20.0, since=0.0, idle_s=60.0, due=True)
    state.publish(replace(status(gpu_w=65.0, gpu_j=10.0), idle_waste=(waste,)))
    assert scrape(url)["raison_garder_idle_waste_watts"] == {(("tool", "comfyui"),): 45.0}


def test_an_unknown_power_is_absent_not_zero(served):
    state, url = served()
    state.publish(status(gpu_w=None, gpu_j=10.0))
    m = scrape(url)
    assert all(dict(k).get("source") != "nvidia:0" for k in m["raison_garder_power_watts"])


def test_a_token_is_required_when_set(served):
    state, url = served(token="s3cret")
    state.publish(status(gpu_w=100.0, gpu_j=1.0))
    for bad in (None, "wrong"):
        with pytest.raises(urllib.error.HTTPError) as err:
            scrape(url, bad)
        assert err.value.code == 401
        err.value.close()
    assert "raison_garder_power_watts" in scrape(url, "s3cret")


def test_the_endpoint_is_read_only(served):
    _, url = served()
    req = urllib.request.Request(url, data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 405
    err.value.close()


def test_non_loopback_bind_without_token_stays_off_with_a_warning_naming_the_setting():
    public = {"metrics.enabled": True, "metrics.bind": "0.0.0.0"}
    st = metrics_status(typed({**public, "metrics.token": ""}))
    assert st["enabled"] is False and "metrics.token" in st["warning"]
    st = metrics_status(typed({**public, "metrics.token": "x" * 16}))
    assert st["enabled"] is True and st["warning"] is None
    assert metrics_status(typed({}))["enabled"] is False  # off by default
    assert metrics_status(typed({"metrics.enabled": True}))["url"].startswith("http://127.0.0.1:")


def test_the_fleet_dashboard_only_queries_metrics_we_serve(served):
    import json
    import re
    from pathlib import Path

    state, url = served()
    state.publish(status(gpu_w=100.0, gpu_j=1.0))
    state.session_closed("comfyui", 1.0, 2)
    state.reminder_shown("images")
    served_names = set(scrape(url))
    dashboard = Path(__file__).resolve().parent.parent / "docs" / "fleet" / "grafana-dashboard.json"
    exprs = [t["expr"] for p in json.loads(dashboard.read_text())["panels"] for t in p["targets"]]
    queried = {name for e in exprs for name in re.findall(r"raison_garder_\w+", e)}
    assert queried and queried <= served_names, queried - served_names


def test_the_desk_records_how_a_reminder_was_delivered_and_keeps_held_ones_for_the_menu(tmp_path):
    from tray_app.reminders import ActivityState, ReminderEngine
    from tray_app.runtime.desk import ReminderDesk
    from tray_app.store import Store

    store = Store.open(":memory:")
    clock = [1_741_615_200.0]
    desk = ReminderDesk(ReminderEngine({"reminders.cooldown_min": 0}, clock=lambda: clock[0]),
                        store, tmp_path / "state.json")
    ids = []
    for how in ("shown:dbus", "held:fullscreen"):
        sid = store.open_session("comfyui", "python3", [4242], [0], clock[0])
        [rem] = desk.evaluate(ActivityState(session_id=sid, session_wh=60.0))
        ids.append(rem.id)
        desk.record_delivery(rem.id, how)
        clock[0] += 60
    assert sorted(r["delivery"] for r in store.list_reminders()) == ["held:fullscreen", "shown:dbus"]
    assert [r.id for r in desk.held()] == [ids[1]]
    assert (tmp_path / "state.json").exists()  # the held one survives a restart
    store.close()
