"""The NVIDIA sensor against the fake driver (tests/fakes/fake_nvml.c) through the real pynvml."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.fixtures.fake_nvml import (
    FakeGpu,
    FakeNvml,
    FakeProcess,
    Segment,
    bursty_diffusion,
    steady,
)
from tray_app.measure.sensors import nvml
from tray_app.measure.sensors.base import Discovery, GpuProcess, Kind, Method, Reading
from tray_app.measure.sensors.nvml import NvmlGpuSensor, discover_nvidia


@pytest.fixture
def discover() -> Iterator[Callable[[], Discovery]]:
    """discover_nvidia(), with every sensor it opens closed after the test."""
    opened: list[Discovery] = []

    def run() -> Discovery:
        found = discover_nvidia()
        opened.append(found)
        return found

    yield run
    for found in opened:
        for sensor in found.sensors:
            sensor.close()


def sample(sensor: NvmlGpuSensor, seconds: float, every: float = 0.05) -> list[Reading]:
    readings = [sensor.read()]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(every)
        readings.append(sensor.read())
    return readings


def only(discovery: Discovery) -> NvmlGpuSensor:
    assert discovery.error is None
    (sensor,) = discovery.sensors
    assert isinstance(sensor, NvmlGpuSensor)
    return sensor


# ---- energy from the counter --------------------------------------------------------------


def test_counter_energy_matches_ground_truth_on_bursty_load(fake_nvml, discover):
    rig: FakeNvml = fake_nvml(FakeGpu(trace=bursty_diffusion(10.0), energy_update_s=0.0))
    sensor = only(discover())
    readings = sample(sensor, 1.0, every=0.03)

    assert sensor.method is Method.COUNTER
    energies = [r.energy_j for r in readings]
    assert all(e is not None for e in energies)
    assert energies == sorted(energies)  # non-decreasing
    # energy since the sensor opened, not the driver's lifetime counter (123 kJ offset)
    assert energies[0] < 5.0
    measured = energies[-1] - energies[0]
    truth = rig.ground_truth_j(0, readings[0].t, readings[-1].t)
    assert truth > 150.0
    assert measured == pytest.approx(truth, rel=1e-3)


@pytest.mark.parametrize("energy_field", [True, False])
def test_counter_and_power_come_in_one_driver_call_where_the_counter_is_a_field(
        fake_nvml, discover, monkeypatch, energy_field):
    """The counter is also field 83 of nvmlDeviceGetFieldValues: asked in the same call as the
    power fields, a read costs one driver call for both. Where field 83 does not answer, the
    counter function is asked instead: the energy is just as exact either way."""
    rig = fake_nvml(FakeGpu(trace=bursty_diffusion(10.0), energy_field=energy_field))
    sensor = only(discover())
    calls: list[str] = []
    real_call = sensor._session.call
    monkeypatch.setattr(sensor._session, "call",
                        lambda name, *a, **k: calls.append(name) or real_call(name, *a, **k))
    readings = sample(sensor, 1.0, every=0.03) + [sensor.read_power()]
    assert sensor.method is Method.COUNTER and sensor.power_source == "instant"
    measured = readings[-1].energy_j - readings[0].energy_j
    truth = rig.ground_truth_j(0, readings[0].t, readings[-1].t)
    assert measured == pytest.approx(truth, rel=1e-3)
    last = readings[-1]
    assert last.power_w == pytest.approx(rig.power_w(0, last.t), abs=1.0) or rig.power_w(
        0, last.t - 0.01) == pytest.approx(last.power_w, abs=1.0)  # read on a step's edge
    asked = calls.count("nvmlDeviceGetTotalEnergyConsumption")
    if energy_field:  # through the funnel: neither the counter function nor pynvml's fields
        assert asked == 0 and "nvmlDeviceGetFieldValues" not in calls
    else:  # the function at every read; after the first, the power fields alone in one call
        assert asked == len(readings) and calls.count("nvmlDeviceGetFieldValues") == 1


def test_coarse_counter_updates_are_not_mistaken_for_a_frozen_counter(fake_nvml, discover):
    # Real counters move about every 100 ms; reads in between see the same value.
    fake_nvml(FakeGpu(trace=steady(250.0), energy_update_s=0.1))
    sensor = only(discover())
    readings = sample(sensor, 0.8, every=0.02)
    assert sensor.method is Method.COUNTER
    assert readings[-1].energy_j == pytest.approx(250.0 * (readings[-1].t - readings[0].t), abs=40)


def test_frozen_counter_is_detected_and_the_sensor_switches_to_sampled(fake_nvml, discover):
    fake_nvml(FakeGpu(trace=steady(250.0), energy="frozen"))
    found = discover()
    sensor = only(found)
    assert found.details["gpus"][0]["energy_counter"] is True  # it answers at first...
    readings = sample(sensor, 0.7)

    assert sensor.method is Method.SAMPLED  # ...but it never moves while 250 W are drawn
    assert readings[-1].method is Method.SAMPLED
    assert all(r.energy_j is None for r in readings)  # never a fake 0 J
    assert readings[-1].power_w == pytest.approx(250.0)
    assert sensor.describe()["energy_counter"] is False
    assert "does not advance" in sensor.note


def test_idle_gpu_with_a_still_counter_is_not_condemned(fake_nvml, discover):
    # 0 W drawn: a counter that does not move proves nothing yet.
    fake_nvml(FakeGpu(trace=[Segment(60.0, 0.0, 0.0)], energy="frozen"))
    sensor = only(discover())
    sample(sensor, 0.6)
    assert sensor.method is Method.COUNTER


def test_counter_reset_is_folded_in_without_negative_or_double_energy(fake_nvml, discover):
    rig = fake_nvml(FakeGpu(trace=steady(250.0), counter_reset_at_s=0.5))
    sensor = only(discover())
    readings = sample(sensor, 1.0, every=0.05)
    assert rig.t(readings[0].t) < 0.5 < rig.t(readings[-1].t)

    energies = [r.energy_j for r in readings]
    assert all(e is not None for e in energies)
    assert energies == sorted(energies)
    measured = energies[-1] - energies[0]
    truth = rig.ground_truth_j(0, readings[0].t, readings[-1].t)
    longest_gap = max(b.t - a.t for a, b in zip(readings, readings[1:], strict=False))
    # At most the moments between the last read before the reset and the reset are unknown.
    assert truth - 250.0 * longest_gap - 0.5 <= measured <= truth * 1.001
    assert sensor.method is Method.COUNTER


def test_unsupported_counter_means_sampled_from_the_start(fake_nvml, discover):
    fake_nvml(FakeGpu(trace=steady(180.0), energy="unsupported"))
    found = discover()
    sensor = only(found)
    assert found.details["gpus"][0]["energy_counter"] is False
    assert sensor.method is Method.SAMPLED
    reading = sensor.read()
    assert reading.energy_j is None
    assert reading.method is Method.SAMPLED
    assert reading.power_w == pytest.approx(180.0)
    assert "no energy counter" in sensor.note


def test_driver_without_the_counter_function_means_sampled(fake_nvml, discover):
    fake_nvml(FakeGpu(trace=steady(180.0)), variant="no_total_energy")
    sensor = only(discover())
    assert sensor.method is Method.SAMPLED
    assert sensor.read().energy_j is None
    assert "too old" in sensor.note


# ---- power: instantaneous field, or the 1 s average ---------------------------------------

# 400 W for 1.2 s then 100 W: between t = 1.25 and 1.6 the instant value is 100 W while the
# 1 s average is still well above it, so the two sources cannot be confused.
STEP = [Segment(1.2, 400.0, 99.0), Segment(60.0, 100.0, 40.0)]


def read_in_step_window(rig: FakeNvml, sensor: NvmlGpuSensor) -> Reading:
    # The rigs below start their trace 1.3 s in the past: no waiting.
    time.sleep(max(0.0, 1.3 - rig.t()))
    reading = sensor.read()
    assert 1.25 < rig.t(reading.t) < 1.9, "the machine was too slow for this timing test"
    return reading


def test_instant_power_field_is_preferred(fake_nvml, discover):
    rig = fake_nvml(FakeGpu(trace=STEP), anchor=time.monotonic() - 1.3)
    sensor = only(discover())
    reading = read_in_step_window(rig, sensor)
    assert sensor.power_source == "instant"
    assert reading.power_w == pytest.approx(100.0)
    # the 1 s average rides along in the same driver call, for the integrator
    assert reading.avg_window_s == 1.0
    assert reading.power_avg_w == pytest.approx(rig.gpus[0].average_w(rig.t(reading.t)), abs=2.0)
    assert reading.power_avg_w > 150.0


@pytest.mark.parametrize(
    ("variant", "gpu"),
    [
        ("no_field_values", FakeGpu(trace=STEP)),  # old driver: no nvmlDeviceGetFieldValues
        ("default", FakeGpu(trace=STEP, instant_field=False)),  # field answers NOT_SUPPORTED
    ],
)
def test_power_falls_back_to_power_usage(fake_nvml, discover, variant, gpu):
    rig = fake_nvml(gpu, variant=variant, anchor=time.monotonic() - 1.3)
    found = discover()
    sensor = only(found)
    assert found.details["gpus"][0]["power_source"] == "average"
    reading = read_in_step_window(rig, sensor)
    expected = rig.gpus[0].average_w(rig.t(reading.t))
    assert reading.power_w == pytest.approx(expected, abs=2.0)
    assert reading.power_w > 150.0  # the lagging average, honestly labelled as such:
    assert reading.power_avg_w == reading.power_w
    assert reading.avg_window_s == 1.0
    assert reading.error is None


def test_power_usage_before_ampere_is_not_labelled_an_average(fake_nvml, discover):
    fake_nvml(FakeGpu(trace=steady(120.0), architecture=6), variant="no_field_values")
    sensor = only(discover())
    reading = sensor.read()
    assert reading.power_w == pytest.approx(120.0)
    assert reading.power_avg_w is None and reading.avg_window_s is None


def test_the_drivers_power_samples_give_the_mean_power_between_two_reads(fake_nvml, discover):
    """Before Ampere, without counter: where the driver keeps power samples, a read gives the
    mean of those since the previous read, over the time they span; after a read later than
    the driver's buffer lasts (~2.4 s), only what it kept, never an invented span."""
    # Steps between two 20 ms samples (at odd hundredths), so the trapezoid is exact on them.
    steps = [Segment(0.25, 100.0, 50.0), Segment(0.24, 300.0, 90.0), Segment(0.01, 100.0, 50.0)]
    rig = fake_nvml(FakeGpu(trace=steps, loop=True, energy="unsupported", architecture=6,
                            power_samples=True))
    sensor = only(discover())

    def truth_w(r: Reading) -> float:  # the trace's mean over the window the reading names
        assert r.avg_window_s is not None
        return rig.ground_truth_j(0, r.t - r.avg_window_s, r.t) / r.avg_window_s

    first = sensor.read()  # marks where the samples start
    assert first.power_avg_w is None
    time.sleep(2.0)
    mean = sensor.read()
    assert mean.avg_window_s == pytest.approx(2.0, abs=0.1)
    assert mean.power_avg_w == pytest.approx(truth_w(mean), rel=0.02)
    assert 150.0 < mean.power_avg_w < 250.0  # a mean of 100 W and 300 W, not the last one
    assert sensor.describe()["power_samples"] and sensor.method is Method.SAMPLED
    time.sleep(3.5)
    late = sensor.read()
    assert late.avg_window_s is not None and late.avg_window_s <= 2.45
    assert late.power_avg_w == pytest.approx(truth_w(late), rel=0.02)


def test_a_driver_without_power_samples_leaves_the_reading_as_it_was(fake_nvml, discover):
    fake_nvml(FakeGpu(trace=steady(120.0), energy="unsupported", architecture=6))
    sensor = only(discover())
    sensor.read()
    time.sleep(0.3)
    assert sensor.read().power_avg_w is None
    assert not sensor.describe()["power_samples"]


def test_fast_power_read_skips_the_slow_fields(fake_nvml, discover):
    fake_nvml(FakeGpu(trace=steady(250.0, util_pct=90.0), processes=[FakeProcess(777)]))
    sensor = only(discover())
    fast = sensor.read_power()
    assert fast.power_w == pytest.approx(250.0)
    assert fast.energy_j is not None
    assert (fast.busy, fast.utilisation_pct, fast.pids, fast.memory_used_mb) == (None,) * 4
    full = sensor.read()
    assert full.busy is True and full.utilisation_pct == 90.0
    assert full.pids == (777,)
    assert full.power_limit_w == 450.0


def test_idle_gpu_is_not_busy(fake_nvml, discover):
    fake_nvml(FakeGpu(trace=[Segment(60.0, 22.0, 1.0)]))
    reading = only(discover()).read()
    assert reading.busy is False
    assert reading.power_w == pytest.approx(22.0)


# ---- processes ------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["default", "no_processes_v3"])
def test_process_list_changes_are_seen(fake_nvml, discover, monkeypatch, variant):
    rig = fake_nvml(FakeGpu(processes=[FakeProcess(1111, used_mb=2000)]), variant=variant)
    sensor = only(discover())
    first = sensor.read()
    assert first.pids == (1111,)
    assert first.memory_used_mb == pytest.approx(300 + 2000)

    rig.set_processes(0, [FakeProcess(2222, 500), FakeProcess(3333, 100, kind="graphics")])
    # Cached for PIDS_TTL_S: frequent callers do not hammer the driver.
    assert sensor.read().pids == (1111,)
    monkeypatch.setattr(nvml, "PIDS_TTL_S", 0.0)
    later = sensor.read()
    assert later.pids == (2222, 3333)
    assert later.memory_used_mb == pytest.approx(300 + 600)

    rig.set_processes(0, [])
    assert sensor.read().pids == ()  # known: nothing running (not unknown)


def test_each_process_says_how_much_gpu_memory_it_holds(fake_nvml, discover, monkeypatch):
    rig = fake_nvml(FakeGpu(processes=[FakeProcess(1111, used_mb=5120), FakeProcess(42, 300, "graphics")]))
    sensor = only(discover())
    assert sensor.read().process_memory_mb == ((42, pytest.approx(300)), (1111, pytest.approx(5120)))
    assert sensor.read_power().process_memory_mb is None  # the fast path does not read it
    # Under WDDM the driver cannot tell a process's memory: unknown, never 0.
    monkeypatch.setattr(nvml, "PIDS_TTL_S", 0.0)
    rig.set_processes(0, [FakeProcess(1111, used_mb=None)])
    assert sensor.read().process_memory_mb == ((1111, None),)


def test_a_process_holding_the_board_awake_adds_its_watts_until_it_lets_go(fake_nvml, discover, monkeypatch):
    # The fake driver's own model of idle waste, which the idle-waste tests rely on.
    rig = fake_nvml(FakeGpu(trace=steady(20.0, util_pct=0.0), processes=[FakeProcess(7, 5000, held_w=45.0)]))
    monkeypatch.setattr(nvml, "PIDS_TTL_S", 0.0)
    sensor = only(discover())
    held = sensor.read()
    assert held.power_w == pytest.approx(65.0)
    rig.set_processes(0, [FakeProcess(7, 400)])
    released = sensor.read()
    assert released.power_w == pytest.approx(20.0)
    assert released.energy_j > held.energy_j  # the counter keeps counting across the change


def test_each_process_carries_its_memory_and_sm_share(fake_nvml, discover):
    fake_nvml(FakeGpu(trace=steady(300.0, util_pct=100.0), processes=[
        FakeProcess(1111, used_mb=6000, sm_pct=70.0), FakeProcess(2222, used_mb=500, sm_pct=30.0),
        FakeProcess(3333, used_mb=100, kind="graphics"),  # a desktop compositor, no SM use
    ]))
    reading = only(discover()).read()
    assert reading.pids == (1111, 2222, 3333)
    assert reading.processes == (
        GpuProcess(1111, 6000.0, 70.0), GpuProcess(2222, 500.0, 30.0), GpuProcess(3333, 100.0, 0.0),
    )


def test_per_process_use_follows_the_trace_and_is_asked_only_when_shared(fake_nvml, discover,
                                                                        monkeypatch):
    monkeypatch.setattr(nvml, "PIDS_TTL_S", 0.0)
    rig = fake_nvml(FakeGpu(trace=[Segment(0.4, 300.0, 50.0), Segment(60.0, 25.0, 0.0)],
                            processes=[FakeProcess(1111, sm_pct=80.0)]))
    sensor = only(discover())
    calls: list[str] = []
    real_call = sensor._session.call
    monkeypatch.setattr(sensor._session, "call",
                        lambda name, *a, **k: calls.append(name) or real_call(name, *a, **k))
    alone = sensor.read()
    assert alone.processes == (GpuProcess(1111, 1024.0, None),)  # alone: it takes the whole GPU
    assert "nvmlDeviceGetProcessUtilization" not in calls
    rig.set_processes(0, [FakeProcess(1111, sm_pct=80.0), FakeProcess(2222, sm_pct=20.0)])
    busy = sensor.read()
    assert [p.sm_pct for p in busy.processes] == [40.0, 10.0]  # x 50 % trace utilisation
    while rig.t() < 0.5:
        time.sleep(0.05)
    idle = sensor.read()  # NVML's NOT_FOUND: nobody used the SM, which is known, not unknown
    assert [p.sm_pct for p in idle.processes] == [0.0, 0.0]


def test_process_lists_or_their_use_can_be_unsupported(fake_nvml, discover):
    fake_nvml(FakeGpu(process_lists=False, processes=[FakeProcess(1111, sm_pct=50.0)]),
              FakeGpu(process_util=False, processes=[FakeProcess(1111, sm_pct=50.0),
                                                     FakeProcess(2222, sm_pct=50.0)]))
    no_lists, no_util = (s.read() for s in discover().sensors)
    assert no_lists.pids is None and no_lists.processes is None  # unknown, not "nobody"
    assert no_lists.power_w == pytest.approx(250.0)
    assert [(p.pid, p.sm_pct) for p in no_util.processes] == [(1111, None), (2222, None)]


# ---- several GPUs, lost GPUs ----------------------------------------------------------------


def test_two_gpus_are_measured_separately(fake_nvml, discover):
    rig = fake_nvml(
        FakeGpu(name="NVIDIA GeForce RTX 4090", trace=steady(300.0)),
        FakeGpu(name="NVIDIA RTX A4000", trace=steady(90.0), power_limit_w=140.0),
    )
    found = discover()
    assert found.error is None
    assert [s.source for s in found.sensors] == ["nvidia:0", "nvidia:1"]
    assert [s.label for s in found.sensors] == ["NVIDIA GeForce RTX 4090", "NVIDIA RTX A4000"]
    assert [g["power_limit_w"] for g in found.details["gpus"]] == [450.0, 140.0]
    assert found.details["driver_version"] == "550.54.14"
    assert all(s.kind is Kind.GPU for s in found.sensors)

    starts = [s.read() for s in found.sensors]
    time.sleep(0.4)
    ends = [s.read() for s in found.sensors]
    for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
        truth = rig.ground_truth_j(i, a.t, b.t)
        assert b.energy_j - a.energy_j == pytest.approx(truth, rel=1e-3)


def test_gpu_lost_mid_run_gives_an_explained_unknown_reading(fake_nvml, discover):
    rig = fake_nvml(
        FakeGpu(trace=steady(250.0), gpu_lost_after_s=0.3), FakeGpu(trace=steady(100.0))
    )
    lost_gpu, other = discover().sensors
    before = lost_gpu.read()
    assert before.power_w == pytest.approx(250.0) and before.error is None

    time.sleep(max(0.0, 0.35 - rig.t()))
    after = lost_gpu.read()  # must not raise
    assert lost_gpu.lost is True
    assert after.power_w is None and after.energy_j is None
    assert "GPU is lost" in after.error and "NVIDIA GeForce RTX 4090" in after.error
    again = lost_gpu.read()
    assert again.power_w is None and again.error == after.error
    # the other board carries on
    assert other.read().power_w == pytest.approx(100.0)
    assert other.lost is False


def test_gpu_already_lost_at_discovery_is_skipped_with_a_reason(fake_nvml, discover):
    fake_nvml(FakeGpu(gpu_lost_after_s=0.0), FakeGpu(name="NVIDIA RTX A4000"))
    found = discover()
    assert [s.label for s in found.sensors] == ["NVIDIA RTX A4000"]
    assert "GPU 0" in found.error


# ---- no NVIDIA GPU --------------------------------------------------------------------------


def test_forced_library_missing_names_the_path_and_tries_nothing_else(
    fake_nvml, discover, monkeypatch, tmp_path
):
    fake_nvml(FakeGpu())
    for sensor in discover().sensors:  # a working driver was loaded in this process...
        sensor.close()
    missing = tmp_path / "elsewhere" / "libnvidia-ml.so.1"
    monkeypatch.setenv("RAISON_GARDER_NVML_LIBRARY", str(missing))
    found = discover()  # ...yet the forced path is obeyed: no fallback to it
    assert found.sensors == ()
    assert str(missing) in found.error
    assert "RAISON_GARDER_NVML_LIBRARY" in found.error
    assert found.details["gpus"] == []


def test_forced_library_that_is_not_a_library(discover, monkeypatch, tmp_path):
    bogus = tmp_path / "libnvidia-ml.so.1"
    bogus.write_text("not an ELF file")
    monkeypatch.setenv("RAISON_GARDER_NVML_LIBRARY", str(bogus))
    found = discover()
    assert found.sensors == ()
    assert str(bogus) in found.error and "could not be loaded" in found.error


def test_driver_not_running(fake_nvml, discover):
    fake_nvml(FakeGpu(), init_error=9)  # NVML_ERROR_DRIVER_NOT_LOADED
    found = discover()
    assert found.sensors == ()
    assert "not running" in found.error


def test_driver_without_gpus(fake_nvml, discover):
    fake_nvml()
    found = discover()
    assert found.sensors == ()
    assert "sees no GPU" in found.error
    assert found.details["driver_version"] == "550.54.14"


def test_errors_are_translated(fake_nvml, discover):
    from tray_app.system import i18n

    fake_nvml()
    i18n.set_language("fr")
    assert "ne voit aucun GPU" in discover().error
