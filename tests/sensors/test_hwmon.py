"""AMD and Intel GPUs from hwmon: the right file, fallbacks on read errors, cards counted once."""

from __future__ import annotations

import errno

import pytest

from tray_app.measure.sensors.base import Kind, Method, Sensor
from tray_app.measure.sensors.hwmon import discover_hwmon_gpus


def _close(found) -> None:
    for sensor in found.sensors:
        sensor.close()


def test_amd_with_only_power1_input(fake_drm):
    fake_drm.add_amd(0, input_uw=45_500_000, busy_pct=80, vram_used_bytes=2 * 1024**3)
    found = discover_hwmon_gpus()  # root from RAISON_GARDER_DRM_ROOT
    assert found.error is None
    (sensor,) = found.sensors
    assert isinstance(sensor, Sensor)
    assert (sensor.source, sensor.kind, sensor.method) == ("amdgpu:card0", Kind.GPU, Method.SAMPLED)
    assert sensor.label == "AMD GPU (card0)"
    reading = sensor.read()
    assert reading.power_w == pytest.approx(45.5)
    assert reading.energy_j is None  # sampled: the integrator integrates the watts
    assert (reading.busy, reading.utilisation_pct) == (True, 80.0)
    assert reading.memory_used_mb == pytest.approx(2048.0)
    assert found.details["cards"][0]["power_files"] == ["power1_input"]
    _close(found)


def test_amd_prefers_power1_average_and_uses_product_name(fake_drm):
    fake_drm.add_amd(
        0, average_uw=100_000_000, input_uw=120_000_000, busy_pct=2,
        product_name="Radeon RX 7900 XTX", cap_uw=355_000_000,
    )  # fmt: skip
    (sensor,) = discover_hwmon_gpus().sensors
    assert sensor.label == "Radeon RX 7900 XTX"
    reading = sensor.read()
    assert reading.power_w == pytest.approx(100.0)
    assert reading.busy is False
    assert reading.power_limit_w == pytest.approx(355.0)
    sensor.close()


@pytest.mark.parametrize("code", [errno.EINVAL, errno.ENODATA])
def test_amd_average_that_errors_falls_back_to_input(fake_drm, code):
    fake_drm.add_amd(0, average_uw=100_000_000, input_uw=130_000_000)
    fake_drm.fail_reads(0, "power1_average", code)
    (sensor,) = discover_hwmon_gpus().sensors
    assert sensor.read().power_w == pytest.approx(130.0)
    fake_drm.set_power(0, input_uw=90_000_000)
    second = sensor.read()
    assert second.power_w == pytest.approx(90.0)
    assert second.error is None
    sensor.close()


def test_amd_with_both_files_failing_is_unknown_not_zero(fake_drm):
    fake_drm.add_amd(0, average_uw=100_000_000, input_uw=130_000_000)
    fake_drm.fail_reads(0, "power1_average", errno.EINVAL)
    fake_drm.fail_reads(0, "power1_input", errno.ENODATA)
    (sensor,) = discover_hwmon_gpus().sensors
    reading = sensor.read()
    assert reading.power_w is None
    assert "power1_average" in reading.error and "power1_input" in reading.error
    fake_drm.heal(0, "power1_input")
    assert sensor.read().power_w == pytest.approx(130.0)
    sensor.close()


def test_amd_without_power_file_is_explained(fake_drm):
    fake_drm.add_amd(0)
    found = discover_hwmon_gpus()
    assert found.sensors == ()
    assert "power1_average" in found.error
    assert "card0/device/hwmon/hwmon2" in found.error


@pytest.mark.parametrize("driver", ["i915", "xe"])
def test_intel_energy_counter(fake_drm, driver):
    fake_drm.add_intel(1, watts=12.0, driver=driver, start_uj=7_000_000)
    (sensor,) = discover_hwmon_gpus(clock=fake_drm.clock).sensors
    assert (sensor.source, sensor.method) == ("intel:card1", Method.COUNTER)
    assert sensor.label == "Intel GPU (card1)"
    first = sensor.read()
    assert first.power_w is None and first.energy_j == 0.0
    fake_drm.advance(2.0)
    second = sensor.read()
    assert second.power_w == pytest.approx(12.0)
    assert second.energy_j == pytest.approx(24.0)
    sensor.close()


def test_intel_counter_reset_does_not_go_backwards(fake_drm):
    card = fake_drm.add_intel(0, watts=10.0, start_uj=50_000_000)
    (sensor,) = discover_hwmon_gpus(clock=fake_drm.clock).sensors
    sensor.read()
    fake_drm.advance(1.0)
    assert sensor.read().energy_j == pytest.approx(10.0)
    card.total_uj = 0  # the driver was reloaded
    fake_drm.advance(1.0)
    after = sensor.read()
    assert after.power_w is None
    assert after.energy_j == pytest.approx(10.0)
    fake_drm.advance(1.0)
    assert sensor.read().energy_j == pytest.approx(20.0)
    sensor.close()


def test_connectors_are_not_gpus_and_shared_devices_count_once(fake_drm):
    fake_drm.add_amd(0, input_uw=50_000_000)
    fake_drm.add_connector(0, "DP-1")
    fake_drm.add_connector(0, "HDMI-A-1")
    fake_drm.alias(2, of_card=0)
    fake_drm.add_intel(1)
    found = discover_hwmon_gpus()
    assert [s.source for s in found.sensors] == ["amdgpu:card0", "intel:card1"]
    _close(found)


def test_gpu_without_hwmon_is_listed_without_error(fake_drm):
    card = fake_drm.add_intel(0)
    for path in card.hwmon.iterdir():
        path.unlink()
    card.hwmon.rmdir()  # integrated Intel GPUs have no hwmon at all
    found = discover_hwmon_gpus()
    assert found.sensors == ()
    assert found.error is None
    assert found.details["cards"][0]["driver"] == "i915"


def test_no_drm_directory_is_not_an_error(isolated_dirs):
    found = discover_hwmon_gpus()
    assert found.sensors == ()
    assert found.error is None
