"""The metrics endpoint inside the running app, and a real Prometheus scraping it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.fixtures.fake_nvml import FakeGpu, Segment, steady
from tests.images import free_port
from tests.test_metrics import scrape
from tray_app.runtime.engine import Engine


def write_settings(dirs: dict[str, Path], **metrics) -> None:
    """Write settings.json directly, as a user editing the file by hand would."""
    dirs["config"].mkdir(parents=True, exist_ok=True)
    (dirs["config"] / "settings.json").write_text(json.dumps({"metrics": metrics}))


def listening(pid: int) -> list[tuple[str, int]]:
    conns = psutil.Process(pid).net_connections(kind="inet")
    return [(c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN]


def start_monitor(*extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tray_app", "monitor", "--headless", "--quiet", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_nothing_listens_after_a_plain_start():
    proc = start_monitor()
    try:
        time.sleep(2.5)
        assert proc.poll() is None
        assert listening(proc.pid) == []
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.mark.slow
def test_enabled_it_listens_on_loopback_only(isolated_dirs):
    port = free_port()
    write_settings(isolated_dirs, enabled=True, port=port)
    proc = start_monitor()
    try:
        deadline = time.monotonic() + 10
        while not listening(proc.pid):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.2)
        assert listening(proc.pid) == [("127.0.0.1", port)]
        assert "raison_garder_power_watts" in scrape(f"http://127.0.0.1:{port}/metrics")
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert proc.returncode == 0


@pytest.mark.slow
def test_a_public_bind_without_token_stays_off_and_says_so_even_when_quiet(isolated_dirs):
    write_settings(isolated_dirs, enabled=True, bind="0.0.0.0", port=free_port())
    proc = start_monitor("--duration", "2")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "metrics.token" in err
    assert len(out.splitlines()) == 1 and out.startswith("Measured for ")  # quiet: the summary only
    # doctor says it too
    doctor = subprocess.run([sys.executable, "-m", "tray_app", "doctor", "--json"],
                            capture_output=True, text=True, timeout=60)
    report = json.loads(doctor.stdout)
    assert report["metrics"]["enabled"] is False
    assert any("metrics.token" in p for p in report["settings_problems"])


@pytest.mark.slow
def test_energy_counters_only_go_up_across_a_gpu_counter_reset(fake_nvml, isolated_dirs):
    port = free_port()
    write_settings(isolated_dirs, enabled=True, port=port)
    fake_nvml(FakeGpu(trace=steady(200.0), counter_reset_at_s=2.5))
    stop = threading.Event()
    engine = Engine()
    worker = threading.Thread(target=engine.run, args=(stop,))
    worker.start()
    values = []
    try:
        time.sleep(1.5)
        t0 = time.monotonic()
        # No tool runs: the monitor is in its 5 s idle cadence, so span two of its snapshots.
        for _ in range(6):
            m = scrape(f"http://127.0.0.1:{port}/metrics")
            gpu = [v for k, v in m["raison_garder_energy_joules_total"].items() if ("source", "nvidia:0") in k]
            values.append(gpu[0])
            time.sleep(2.0)
        elapsed = time.monotonic() - t0 - 2.0 - 5.0  # the last value may be one idle interval old
    finally:
        stop.set()
        worker.join(timeout=10)
    assert values == sorted(values)  # a driver reset never makes a counter go down
    # and energy keeps being counted across it (the reset interval itself may be unknown)
    assert values[-1] - values[0] >= 0.6 * 200.0 * elapsed


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("prometheus") is None,
                    reason="Debian's prometheus package is not installed (apt-get install prometheus)")
def test_a_real_prometheus_scrapes_the_fake_gpu_power(fake_nvml, isolated_dirs, tmp_path):
    port, prom_port = free_port(), free_port()
    write_settings(isolated_dirs, enabled=True, port=port)
    fake_nvml(FakeGpu(trace=[Segment(3600.0, 237.0, 97.0)]))
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n  - job_name: raison-garder\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    )
    monitor = start_monitor()
    prom = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    query = urllib.parse.urlencode({"query": 'raison_garder_power_watts{source="nvidia:0"}'})
    url = f"http://127.0.0.1:{prom_port}/api/v1/query?{query}"
    try:
        deadline = time.monotonic() + 45
        result = []
        while time.monotonic() < deadline and not result:
            time.sleep(1.0)
            try:
                with urllib.request.urlopen(url, timeout=3) as resp:
                    result = json.loads(resp.read())["data"]["result"]
            except OSError:
                continue
        assert result, "Prometheus never stored our power metric"
        assert float(result[0]["value"][1]) == pytest.approx(237.0, rel=0.02)
        assert result[0]["metric"]["method"] == "counter"
    finally:
        prom.terminate()
        prom.wait(timeout=15)
        monitor.terminate()
        monitor.communicate(timeout=15)
