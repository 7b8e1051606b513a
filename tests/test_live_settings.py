"""Every option the schema marks applies=LIVE takes effect in a running engine when
settings.json changes (as the Settings window or `raison-garder config set` write it), within
5 s; each has its own test below, and a test checks that none is missing."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.images import free_port
from tests.runtime.harness import FakeScanner, Recorder, ScriptedMonitor, scripted_engine, tool
from tray_app.config import carbon
from tray_app.config.file import save_settings
from tray_app.config.schema import LIVE, SCHEMA
from tray_app.measure.sensors.cpu_estimate import CpuEstimateSensor
from tray_app.measure.sensors.discovery import SensorSet
from tray_app.reminders import rules as r
from tray_app.runtime import engine as engine_module
from tray_app.runtime.engine import Engine
from tray_app.runtime.images import ImageCounts

CHANGE_AT = 20  # simulated seconds: the engine has run a while when the file changes
WITHIN_S = 5


@dataclass
class Run:
    engine: Engine
    monitor: ScriptedMonitor
    scanner: FakeScanner
    recorder: Recorder
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cfg(self) -> r.ReminderConfig:
        assert self.engine.desk is not None
        return self.engine.desk.engine.config


Probe = Callable[[Run], bool]


@dataclass(frozen=True)
class Case:
    change: dict[str, Any]  # written to settings.json at CHANGE_AT
    probe: Probe  # False before the change, True once it applies
    before: dict[str, Any] = field(default_factory=dict)  # the file at start
    prepare: Callable[[Run], None] | None = None


def scrape(port: int, token: str = "", host: str = "127.0.0.1") -> int:
    req = urllib.request.Request(f"http://{host}:{port}/metrics")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code
    except OSError:
        return 0


def told(key: str) -> Probe:
    """The UI (tray or headless) is told, and applies it: language, start at login."""
    return lambda run: any(key in changed for changed in run.recorder.changes)


def rule_threshold(rule: str, value: float | None) -> Probe:
    return lambda run: run.cfg.threshold(rule) == value


def with_cpu_estimate(run: Run) -> None:
    sensor = CpuEstimateSensor(None, model="Unknown CPU", laptop=False, cpu_percent=lambda: 50.0)
    run.engine.sensor_set = SensorSet([sensor])
    run.extra["cpu"] = sensor


def counting_images(run: Run) -> None:
    made: list[Any] = []

    class Worker:
        def __init__(self) -> None:
            self.dirs: list[Any] = []
            made.append(self)

        def submit(self, jobs, dirs, now) -> bool:
            self.dirs.append(list(dirs))
            return True

        def take(self) -> None:
            return None

        def close(self) -> None:
            pass

    run.engine.images = ImageCounts(Worker)
    run.extra["workers"] = made


def new_counter_sees(folder: str) -> Probe:
    def probe(run: Run) -> bool:
        workers = run.extra["workers"]
        return len(workers) > 1 and any(str(d).endswith(folder) for d in workers[-1].dirs[-1])

    return probe


def retention_calls(run: Run) -> None:
    calls: list[int] = []
    parts = run.engine.parts
    assert parts is not None
    store = parts.store
    real = store.apply_retention

    def record(full_rate_days=None, now=None):
        calls.append(full_rate_days)
        return real(full_rate_days, now)

    store.apply_retention = record  # type: ignore[method-assign]
    run.extra["retention"] = calls


METRICS_PORT = free_port()

CASES: dict[str, Case] = {
    "language": Case({"language": "fr"}, told("language")),
    "country": Case({"country": "FR"},
                    lambda run: run.cfg.carbon_g_per_kwh == carbon.grid_figure("FR").g_per_kwh,
                    before={"country": "US"}),
    "start_at_login": Case({"start_at_login": False}, told("start_at_login")),
    "sample_interval_s": Case({"sample_interval_s": 2.5},
                              lambda run: run.monitor.intervals[-1:] == [2.5]),
    "idle_split_min": Case({"idle_split_min": 2},
                           lambda run: run.engine.tracker.idle_split_s == 120.0),
    "idle_power_w": Case({"idle_power_w": 50.0},
                         lambda run: run.engine.tracker.idle_power_w == 50.0
                         and run.engine.parts.idle.detector.idle_power_w == 50.0),
    "day_start_hour": Case({"day_start_hour": 23},
                           lambda run: run.engine.parts.totals.day_start != run.extra["day"],
                           prepare=lambda run: run.extra.update(day=run.engine.parts.totals.day_start)),
    "cpu_tdp_w": Case({"cpu_tdp_w": 200}, lambda run: run.extra["cpu"].tdp_w == 200.0,
                      prepare=with_cpu_estimate),
    "carbon_g_per_kwh": Case({"carbon_g_per_kwh": 99.0},
                             lambda run: run.cfg.carbon_g_per_kwh == 99.0),
    "price_per_kwh": Case({"price_per_kwh": 0.5}, lambda run: run.cfg.price_per_kwh == 0.5),
    "currency": Case({"currency": "CHF"}, lambda run: run.cfg.currency == "CHF"),
    "phone_charge_wh": Case({"phone_charge_wh": 20.0},
                            lambda run: run.cfg.phone_charge_wh == 20.0),
    "retention.full_rate_days": Case({"retention.full_rate_days": 7},
                                     lambda run: run.extra["retention"][-1:] == [7],
                                     prepare=retention_calls),
    "tools.extra_patterns": Case({"tools.extra_patterns": [{"name": "mine", "match": "*/gen.py"}]},
                                 lambda run: run.scanner.patterns[-1:]
                                 == [[{"name": "mine", "match": "*/gen.py"}]]),
    "images.output_dirs": Case({"images.output_dirs": ["/tmp/renders"]},
                               new_counter_sees("renders"), prepare=counting_images),
    "reminders.enabled": Case({"reminders.enabled": False}, lambda run: not run.cfg.enabled),
    "reminders.session_wh.enabled": Case({"reminders.session_wh.enabled": False},
                                         rule_threshold(r.SESSION_ENERGY, None)),
    # Lowered under what the running session already drew: the reminder comes at once.
    "reminders.session_wh": Case({"reminders.session_wh": 1.0},
                                 lambda run: any(rem.rule == r.SESSION_ENERGY
                                                 for rem in run.recorder.reminders)),
    "reminders.daily_wh.enabled": Case({"reminders.daily_wh.enabled": False},
                                       rule_threshold(r.DAILY_ENERGY, None)),
    "reminders.daily_wh": Case({"reminders.daily_wh": 1.0},
                               lambda run: any(rem.rule == r.DAILY_ENERGY
                                               for rem in run.recorder.reminders),
                               before={"reminders.session_wh.enabled": False}),
    "reminders.continuous_min.enabled": Case({"reminders.continuous_min.enabled": False},
                                             rule_threshold(r.CONTINUOUS, None)),
    "reminders.continuous_min": Case({"reminders.continuous_min": 5},
                                     rule_threshold(r.CONTINUOUS, 5.0)),
    "reminders.images.enabled": Case({"reminders.images.enabled": False},
                                     rule_threshold(r.IMAGES, None)),
    "reminders.images": Case({"reminders.images": 7}, rule_threshold(r.IMAGES, 7.0)),
    "reminders.power_limit.enabled": Case({"reminders.power_limit.enabled": True},
                                          rule_threshold(r.POWER_LIMIT, 15.0)),
    "reminders.power_limit_pct": Case({"reminders.power_limit_pct": 60},
                                      lambda run: run.cfg.power_limit_pct == 60.0,
                                      before={"reminders.power_limit.enabled": True}),
    "reminders.power_limit_min": Case({"reminders.power_limit_min": 3},
                                      rule_threshold(r.POWER_LIMIT, 3.0),
                                      before={"reminders.power_limit.enabled": True}),
    "reminders.idle_waste.enabled": Case({"reminders.idle_waste.enabled": False},
                                         rule_threshold(r.IDLE_WASTE, None)),
    "reminders.idle_waste_min": Case({"reminders.idle_waste_min": 3},
                                     lambda run: run.engine.parts.idle.detector.idle_waste_s
                                     == 180.0 and run.cfg.threshold(r.IDLE_WASTE) == 3.0),
    "reminders.idle_waste_auto_free": Case({"reminders.idle_waste_auto_free": True},
                                           lambda run: run.engine.settings.reminders
                                           .idle_waste_auto_free),
    "reminders.budget_period": Case({"reminders.budget_period": "day"},
                                    lambda run: run.recorder.statuses[-1].budget_fraction
                                    is not None),
    "reminders.budget_wh": Case({"reminders.budget_wh": 1.0},
                                lambda run: (run.recorder.statuses[-1].budget_fraction or 0) > 1,
                                before={"reminders.budget_period": "day"}),
    "reminders.cooldown_min": Case({"reminders.cooldown_min": 0},
                                   lambda run: run.cfg.cooldown_s == 0.0),
    "reminders.quiet_hours.enabled": Case({"reminders.quiet_hours.enabled": True},
                                          lambda run: run.cfg.quiet_enabled),
    "reminders.quiet_hours.start": Case({"reminders.quiet_hours.start": "21:30"},
                                        lambda run: run.cfg.quiet_start.hour == 21),
    "reminders.quiet_hours.end": Case({"reminders.quiet_hours.end": "07:15"},
                                      lambda run: run.cfg.quiet_end.minute == 15),
    "metrics.enabled": Case({"metrics.enabled": True, "metrics.port": METRICS_PORT},
                            lambda run: scrape(METRICS_PORT) == 200),
    "metrics.port": Case({"metrics.enabled": True, "metrics.port": METRICS_PORT + 1},
                         lambda run: scrape(METRICS_PORT + 1) == 200,
                         before={"metrics.enabled": True, "metrics.port": METRICS_PORT}),
    "metrics.bind": Case({"metrics.enabled": True, "metrics.port": METRICS_PORT,
                          "metrics.bind": "localhost"},
                         lambda run: run.engine.metrics is not None
                         and run.engine.metrics.server.bind == "localhost"
                         and scrape(METRICS_PORT, host="localhost") == 200,
                         before={"metrics.enabled": True, "metrics.port": METRICS_PORT}),
    "metrics.token": Case({"metrics.enabled": True, "metrics.port": METRICS_PORT,
                           "metrics.token": "s" * 20},
                          lambda run: scrape(METRICS_PORT) == 401
                          and scrape(METRICS_PORT, "s" * 20) == 200,
                          before={"metrics.enabled": True, "metrics.port": METRICS_PORT}),
}  # fmt: skip


def test_every_live_option_has_its_test():
    assert set(CASES) == {o.key for o in SCHEMA if o.applies == LIVE}


@pytest.mark.parametrize("key", sorted(CASES))
def test_a_live_option_applies_in_the_running_engine_within_5_s(key, monkeypatch):
    case = CASES[key]
    monkeypatch.setattr(engine_module, "RETENTION_EVERY_S", 2.0)
    save_settings(case.before)
    engine, monitor, scanner, recorder = scripted_engine(CHANGE_AT + 15)
    run = Run(engine, monitor, scanner, recorder)
    scanner.running = [tool()]
    monitor.gpu_w = 300.0
    seen: dict[str, Any] = {}

    def each(second: int) -> None:
        if second == 1 and case.prepare is not None:
            case.prepare(run)
        if second == CHANGE_AT:
            seen["before"] = case.probe(run)
            save_settings({**case.before, **case.change})
        elif second > CHANGE_AT and "applied" not in seen and case.probe(run):
            seen["applied"] = second - CHANGE_AT

    monitor.every = each
    engine.run()
    assert seen["before"] is False, f"{key}: the probe holds before the change"
    assert "applied" in seen, f"{key} never applied"
    assert seen["applied"] <= WITHIN_S


def test_the_headless_monitor_speaks_the_language_it_is_switched_to():
    from tray_app.commands.monitor import PrintingListener
    from tray_app.config.settings import typed
    from tray_app.system import i18n

    try:
        PrintingListener(quiet=True).on_settings(typed({"language": "fr"}), frozenset({"language"}))
        assert i18n.current_language() == "fr"
    finally:
        i18n.set_language("en")
