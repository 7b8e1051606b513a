"""RAPL package counters: wrap-around, no double counting, and a useful message when unreadable."""

from __future__ import annotations

import errno
import os
import time

import pytest

from tray_app.measure.sensors.base import Kind, Method, Sensor
from tray_app.measure.sensors.rapl import discover_rapl
from tray_app.system import i18n


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_package_counter_gives_energy_and_power(fake_powercap):
    fake_powercap.add_package(0, watts=20.0, start_uj=5_000_000)
    found = discover_rapl(clock=fake_powercap.clock)  # root from RAISON_GARDER_POWERCAP_ROOT
    assert found.error is None
    (sensor,) = found.sensors
    assert isinstance(sensor, Sensor)
    assert (sensor.source, sensor.kind, sensor.method) == (
        "rapl:package-0",
        Kind.CPU,
        Method.COUNTER,
    )
    assert sensor.label == "CPU package 0 (RAPL)"

    first = sensor.read()
    assert first.power_w is None  # one value gives no rate: unknown, not 0 W
    assert first.energy_j == 0.0

    fake_powercap.advance(2.0)
    second = sensor.read()
    assert second.power_w == pytest.approx(20.0)
    assert second.energy_j == pytest.approx(40.0)
    assert second.method is Method.COUNTER
    assert found.details["readable"] is True
    assert found.details["domains"][0]["name"] == "package-0"
    sensor.close()


def test_wrap_around_is_folded_into_the_energy(fake_powercap):
    # A 100 J range starting at 90 J: the counter wraps during the first second at 20 W.
    zone = fake_powercap.add_package(0, watts=20.0, max_range_uj=100_000_000, start_uj=90_000_000)
    (sensor,) = discover_rapl(clock=fake_powercap.clock).sensors
    sensor.read()
    energies = []
    for _ in range(12):  # 12 s at 20 W = 240 J: wraps twice more
        fake_powercap.advance(1.0)
        reading = sensor.read()
        assert reading.power_w == pytest.approx(20.0)
        energies.append(reading.energy_j)
    assert zone.energy_uj < 90_000_000  # the file really wrapped
    assert energies[-1] == pytest.approx(240.0)
    assert energies == sorted(energies)  # non-decreasing
    sensor.close()


def test_reset_without_known_range_is_unknown_not_a_huge_jump(fake_powercap):
    zone = fake_powercap.add_package(0, watts=30.0, start_uj=50_000_000)
    (zone.path / "max_energy_range_uj").unlink()
    (sensor,) = discover_rapl(clock=fake_powercap.clock).sensors
    sensor.read()
    fake_powercap.advance(1.0)
    assert sensor.read().energy_j == pytest.approx(30.0)
    (zone.path / "energy_uj").write_text("1000000\n")  # went backwards, range unknown
    fake_powercap.clock.advance(1.0)
    after = sensor.read()
    assert after.power_w is None
    assert after.energy_j == pytest.approx(30.0)
    sensor.close()


def test_sub_domains_psys_and_mmio_are_not_counted(fake_powercap):
    fake_powercap.add_package(0, watts=20.0)
    fake_powercap.add_subdomain(0, 0, "core", watts=15.0)
    fake_powercap.add_subdomain(0, 1, "uncore", watts=2.0)
    fake_powercap.add_subdomain(0, 2, "dram", watts=3.0)
    fake_powercap.add_psys(1, watts=60.0)
    fake_powercap.add_mmio(0, watts=20.0)
    found = discover_rapl(clock=fake_powercap.clock)
    assert [s.source for s in found.sensors] == ["rapl:package-0"]
    ignored = {entry["name"] for entry in found.details["ignored"]}
    assert {"core", "uncore", "dram", "psys"} <= ignored

    for s in found.sensors:
        s.read()
    fake_powercap.advance(10.0)
    total = sum(s.read().energy_j for s in found.sensors)
    assert total == pytest.approx(200.0)  # the package alone, not 200 + 150 + 20 + 30 + 600
    for s in found.sensors:
        s.close()


def test_two_packages_each_get_a_sensor_and_duplicates_are_dropped(fake_powercap):
    fake_powercap.add_package(0, watts=20.0)
    fake_powercap.add_package(1, watts=35.0)
    # Another entry for package 0's directory, as a stray symlink would make.
    (fake_powercap.root / "intel-rapl:7").symlink_to("intel-rapl/intel-rapl:0")
    found = discover_rapl(clock=fake_powercap.clock)
    assert [s.source for s in found.sensors] == ["rapl:package-0", "rapl:package-1"]
    for s in found.sensors:
        s.read()
    fake_powercap.advance(2.0)
    assert [s.read().power_w for s in found.sensors] == [pytest.approx(20.0), pytest.approx(35.0)]
    for s in found.sensors:
        s.close()


def test_unreadable_counter_says_how_to_fix_it(fake_powercap):
    fake_powercap.add_package(0)
    zone = fake_powercap.add_package(1)
    fake_powercap.deny(zone)
    before = _open_fds()
    found = discover_rapl(clock=fake_powercap.clock)
    assert found.sensors == ()  # all or nothing: half the packages would under-report
    assert _open_fds() == before  # package 0's file was closed again
    root = fake_powercap.root
    assert f"{root}/intel-rapl:1/energy_uj" in found.error
    assert f"sudo chmod a+r {root}/intel-rapl:*/energy_uj" in found.error
    assert "/etc/udev/rules.d/70-raison-garder-rapl.rules" in found.error
    assert 'SUBSYSTEM=="powercap"' in found.error
    assert "estimated" in found.error
    assert found.details["readable"] is False
    assert [d["name"] for d in found.details["domains"]] == ["package-0", "package-1"]


def test_fix_is_translated_but_the_commands_are_not(fake_powercap):
    fake_powercap.deny(fake_powercap.add_package(0))
    i18n.set_language("fr")
    error = discover_rapl().error
    assert "Jusqu’au prochain redémarrage" in error  # typographic apostrophe
    assert f"sudo chmod a+r {fake_powercap.root}/intel-rapl:*/energy_uj" in error


def test_no_powercap_directory_means_not_available(isolated_dirs):
    found = discover_rapl()
    assert found.sensors == ()
    assert "RAPL is not available on this machine" in found.error
    assert str(isolated_dirs["powercap"]) in found.error


def test_powercap_without_package_zone(fake_powercap):
    fake_powercap.add_psys(0)
    found = discover_rapl()
    assert found.sensors == ()
    assert "No RAPL package domain" in found.error


def test_read_error_becomes_an_unknown_reading_then_recovers(fake_powercap, sysfs_faults):
    zone = fake_powercap.add_package(0, watts=10.0)
    (sensor,) = discover_rapl(clock=fake_powercap.clock).sensors
    sensor.read()
    sysfs_faults.fail_reads(zone.path / "energy_uj", errno.EIO)
    fake_powercap.advance(1.0)
    bad = sensor.read()
    assert bad.power_w is None and bad.energy_j is None
    assert "energy_uj" in bad.error
    sysfs_faults.heal(zone.path / "energy_uj")
    fake_powercap.advance(1.0)
    good = sensor.read()
    assert good.error is None
    assert good.energy_j == pytest.approx(20.0)  # the counter kept counting during the error
    sensor.close()


def test_live_counters_advance_with_real_time(fake_powercap):
    fake_powercap.add_package(0, watts=50.0)
    (sensor,) = discover_rapl().sensors  # real clock
    with fake_powercap.live(interval=0.01):
        sensor.read()
        time.sleep(0.4)
        reading = sensor.read()
    assert reading.energy_j > 0
    assert 20.0 < reading.power_w < 80.0  # about 50 W, give or take the writer's tick
    sensor.close()
