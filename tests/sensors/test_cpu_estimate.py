"""The CPU estimate: bounded between idle and TDP, always labelled estimated, TDP source stated."""

from __future__ import annotations

import sys

import pytest

from tray_app.measure.sensors import cpu_estimate
from tray_app.measure.sensors.base import Kind, Method, Sensor
from tray_app.measure.sensors.cpu_estimate import (
    IDLE_FRACTION,
    CpuEstimateSensor,
    discover_cpu_estimate,
    tdp_from_table,
)
from tray_app.system import i18n


class Loads:
    """Stands in for psutil.cpu_percent(interval=None): the first call primes, then the values."""

    def __init__(self, *values: float) -> None:
        self.values = [0.0, *values]

    def __call__(self) -> float:
        return self.values.pop(0)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_power_is_bounded_between_idle_and_tdp_and_labelled_estimated():
    clock = Clock()
    sensor = CpuEstimateSensor(100.0, cpu_percent=Loads(0.0, 50.0, 100.0, 140.0, -3.0), clock=clock)
    assert isinstance(sensor, Sensor)
    assert (sensor.source, sensor.kind, sensor.method) == (
        "cpu:estimate",
        Kind.CPU,
        Method.ESTIMATED,
    )
    assert "estimated" in sensor.label
    powers = []
    for _ in range(5):
        clock.now += 1.0
        reading = sensor.read()
        assert reading.method is Method.ESTIMATED
        powers.append(reading.power_w)
    idle = 100.0 * IDLE_FRACTION
    assert powers[0] == pytest.approx(idle)
    assert powers[1] == pytest.approx(idle + (100.0 - idle) / 2)
    assert powers[2] == pytest.approx(100.0)
    assert powers[3] == pytest.approx(100.0)  # a bogus load above 100 % is clamped
    assert powers[4] == pytest.approx(idle)
    assert all(idle <= p <= 100.0 for p in powers)


def test_energy_accumulates_power_over_time():
    clock = Clock()
    sensor = CpuEstimateSensor(60.0, cpu_percent=Loads(100.0, 100.0), clock=clock)
    clock.now += 2.0
    assert sensor.read().energy_j == pytest.approx(120.0)
    clock.now += 3.0
    reading = sensor.read()
    assert reading.energy_j == pytest.approx(300.0)
    assert reading.busy is True and reading.utilisation_pct == 100.0


def test_with_real_psutil_the_first_read_is_within_bounds():
    sensor = CpuEstimateSensor(40.0, model="Some CPU")
    reading = sensor.read()
    assert 40.0 * IDLE_FRACTION <= reading.power_w <= 40.0
    assert reading.error is None


def test_load_that_cannot_be_read_is_an_error_not_an_exception():
    def broken() -> float:
        raise PermissionError("no /proc/stat")

    sensor = CpuEstimateSensor(65.0, cpu_percent=broken)
    reading = sensor.read()
    assert reading.power_w is None
    assert "CPU load" in reading.error


def test_tdp_from_settings():
    sensor = CpuEstimateSensor(95.0, model="13th Gen Intel(R) Core(TM) i9-13900K")
    assert sensor.describe() == {
        "method": "estimated",
        "tdp_w": 95.0,
        "tdp_source": "settings",
        "cpu_model": "13th Gen Intel(R) Core(TM) i9-13900K",
        "idle_fraction": IDLE_FRACTION,
    }


@pytest.mark.parametrize(
    ("model", "key", "tdp"),
    [
        ("13th Gen Intel(R) Core(TM) i9-13900KF", "i9-13900K", 125.0),
        ("12th Gen Intel(R) Core(TM) i7-12700H", "i7-12700H", 45.0),
        ("12th Gen Intel(R) Core(TM) i7-12700", "i7-12700", 65.0),
        ("AMD Ryzen 7 5800X3D 8-Core Processor", "Ryzen 7 5800X3D", 105.0),
        ("AMD Ryzen 9 7950X 16-Core Processor", "Ryzen 9 7950X", 170.0),
    ],
)
def test_tdp_from_table(model, key, tdp):
    for setting in (None, 0, 0.0, -5.0, float("nan")):  # 0/None mean automatic; junk too
        info = CpuEstimateSensor(setting, model=model).describe()
        assert (info["tdp_source"], info["tdp_w"]) == (f"table:{key}", tdp)


def test_table_does_not_match_a_longer_model_number():
    assert tdp_from_table("AMD Ryzen 7 5800XT 8-Core Processor") is None
    assert tdp_from_table("Intel(R) Core(TM) i9-13900KS") is None
    assert tdp_from_table(None) is None


@pytest.mark.parametrize(("laptop", "tdp"), [(True, 28.0), (False, 65.0)])
def test_unknown_model_uses_a_stated_default(laptop, tdp):
    info = CpuEstimateSensor(model="Mystery CPU 9000", laptop=laptop).describe()
    assert (info["tdp_source"], info["tdp_w"]) == ("default", tdp)
    assert ("laptop" if laptop else "desktop") in info["why"]
    assert "cpu_tdp_w" in info["why"]


def test_default_follows_the_battery(monkeypatch):
    monkeypatch.setattr(cpu_estimate.psutil, "sensors_battery", lambda: object())
    assert CpuEstimateSensor(model="Mystery CPU").tdp_w == 28.0
    monkeypatch.setattr(cpu_estimate.psutil, "sensors_battery", lambda: None)
    assert CpuEstimateSensor(model="Mystery CPU").tdp_w == 65.0


def test_discovery_reports_the_estimate_for_doctor():
    found = discover_cpu_estimate(75.0)
    assert found.error is None
    (sensor,) = found.sensors
    assert sensor.method is Method.ESTIMATED
    assert found.details["method"] == "estimated"
    assert (found.details["tdp_w"], found.details["tdp_source"]) == (75.0, "settings")
    assert sensor.details == found.details


def test_reason_is_translated():
    i18n.set_language("fr")
    info = CpuEstimateSensor(model="Mystery CPU", laptop=True).describe()
    assert "ordinateur portable" in info["why"]
    assert "estimé" in CpuEstimateSensor(30.0, model="x").label


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/cpuinfo")
def test_cpu_model_name_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\n"
        "model name\t: AMD Ryzen 9 7950X 16-Core Processor\n\n"
        "processor\t: 1\nmodel name\t: AMD Ryzen 9 7950X 16-Core Processor\n"
    )
    assert cpu_estimate.cpu_model_name(cpuinfo) == "AMD Ryzen 9 7950X 16-Core Processor"
