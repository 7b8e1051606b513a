"""The headless heart of the app: monitor + tool detection + sessions + store + reminders.

`Engine.run()` blocks and is meant for a worker thread (the tray) or the main thread (the
headless monitor). The listener is called from that thread; the UI turns each call into a Qt
signal. Commands from other threads (`start_manual_session()`, ...) are queued and executed by
the worker between two ticks, so the core needs no locks.

Cadences: sensors at the sample interval (the monitor adapts it), sessions every snapshot
(1 s), tool detection every 5 s, image counting every 15 s, reminders every 5 s. The expensive
work is never done every tick. Image counting talks to other programs: it runs on its own
thread (tray_app/images/worker.py) and its counts join the next tick, so a hung tool never
delays a sample.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from tray_app.config.settings import TypedSettings, default_settings
from tray_app.measure.monitor import Monitor, Snapshot
from tray_app.sessions.tracker import MANUAL, OpenSession, SessionTracker, ToolSeen
from tray_app.system.days import period_start
from tray_app.system.i18n import _

log = logging.getLogger(__name__)

DETECT_EVERY_S = 5.0
IMAGES_EVERY_S = 15.0
REMIND_EVERY_S = 5.0
RETENTION_EVERY_S = 86400.0


@dataclass(frozen=True, slots=True)
class SessionView:
    """What the tray shows of the open session."""

    id: int | None
    tool: str  # stable id: comfyui, a1111, ..., manual
    tool_label: str
    start_wall: float
    duration_s: float
    active_s: float
    gpu_wh: float
    cpu_wh: float
    total_wh: float
    images: int | None
    method: str  # counter | sampled | estimated: the weakest part of the total
    manual: bool
    gpu_method: str | None = None  # how each part was obtained
    cpu_method: str | None = None


@dataclass(frozen=True, slots=True)
class EngineStatus:
    snapshot: Snapshot
    session: SessionView | None
    today_wh: float
    monitoring_paused: bool
    reminders_snoozed_until: float | None
    held_reminders: tuple[Any, ...] = ()  # reminders held back by do-not-disturb, newest last
    budget_fraction: float | None = None  # share of the day/week budget used, when one is set
    open_sessions: int = 0
    idle_waste: tuple[Any, ...] = ()  # idle.waste.IdleWaste: tools holding the GPU awake
    releasing: bool = False  # a "free GPU memory" request is in flight or being measured
    last_release: Any = None  # idle.release.Outcome of the latest request


class EngineListener(Protocol):
    def on_status(self, status: EngineStatus) -> None: ...

    def on_reminder(self, reminder: Any) -> None: ...

    def on_problem(self, message: str) -> None: ...

    def on_release(self, outcome: Any) -> None: ...


class NullListener:
    def on_status(self, status: EngineStatus) -> None:
        pass

    def on_reminder(self, reminder: Any) -> None:
        pass

    def on_problem(self, message: str) -> None:
        pass

    def on_release(self, outcome: Any) -> None:
        pass


class _GuardedStore:
    """The store as the tracker sees it: a write that fails (disk full, read-only) is reported
    once and monitoring goes on; samples stay buffered in the store and are retried."""

    def __init__(self, store: Any, report: Callable[[str], None]) -> None:
        self.store = store
        self._report = report
        self._said: set[str] = set()

    def _guard(self, fn: Callable[..., Any], *args: Any, default: Any = None, **kw: Any) -> Any:
        from tray_app.store import StoreError

        try:
            return fn(*args, **kw)
        except StoreError as exc:
            msg = str(exc)
            if msg not in self._said:
                self._said.add(msg)
                self._report(msg)
            return default

    def open_session(self, *args: Any, **kw: Any) -> int:
        sid = self._guard(self.store.open_session, *args, **kw)
        if sid is None:  # not persisted: keep tracking with a negative in-memory id
            sid = -(len(self._said) + int(time.time() * 1000) % 1_000_000)
        return sid

    def add_samples(self, sid: int, rows: Any) -> None:
        if sid > 0:
            self._guard(self.store.add_samples, sid, rows)

    def update_session(self, sid: int, **fields: Any) -> None:
        if sid > 0:
            self._guard(self.store.update_session, sid, **fields)

    def close_session(self, sid: int, end_ts: float, status: str = "complete", **totals: Any) -> None:
        if sid > 0:
            self._guard(self.store.close_session, sid, end_ts, status, **totals)


class _Running:
    """Energy since a moving boundary (today, this week), without re-querying every second."""

    def __init__(self, week: bool = False) -> None:
        self.week = week
        self.since: float | None = None
        self.base_wh = 0.0  # closed sessions (and, at start, what the store already holds)
        self.offsets: dict[int, float] = {}  # open sessions' energy before the boundary

    def roll(self, now: float, hour: int, store: Any, open_sessions: list[OpenSession]) -> None:
        start = period_start(now, hour, self.week)
        if start == self.since:
            return
        first = self.since is None
        self.since = start
        self.base_wh = 0.0
        if first and store is not None:
            try:
                self.base_wh = store.energy_since(start)
            except Exception as exc:  # noqa: BLE001 - a history figure must not stop monitoring
                log.warning("could not read today's energy: %s", exc)
        self.offsets = {s.id: s.total_wh for s in open_sessions}

    def closed(self, sid: int, total_wh: float | None) -> None:
        self.base_wh += max(0.0, (total_wh or 0.0) - self.offsets.pop(sid, 0.0))

    def value(self, open_sessions: list[OpenSession]) -> float:
        return self.base_wh + sum(s.total_wh - self.offsets.get(s.id, 0.0) for s in open_sessions)


class Engine:
    def __init__(
        self,
        listener: EngineListener | None = None,
        monitor: Monitor | None = None,
        interval_s: float | None = None,
        *,
        store: Any = None,
        scanner: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.listener: EngineListener = listener or NullListener()
        self._interval_s = interval_s
        self._commands: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._monitor = monitor
        self._store = store
        self._scanner = scanner
        self._clock = clock
        self._paused = False
        self.sensor_set: Any = None
        self.settings: TypedSettings = default_settings()
        self.tracker: SessionTracker | None = None
        self.reminders: Any = None
        self.idle: Any = None  # idle.desk.IdleDesk, made in _setup
        self.metrics_state: Any = None
        self._metrics_server: Any = None
        self._images: Any = None  # the image-count worker, made at the first session
        self._image_sids: dict[tuple[str, int], int] = {}  # session counted, by key
        self._recorders: dict[int, Any] = {}  # session id -> GenerationRecorder
        self._tools: dict[tuple[str, int], Any] = {}
        self._today = _Running()
        self._period = _Running(week=True)
        self._next_detect = 0.0
        self._next_images = 0.0
        self._next_remind = 0.0
        self._next_retention = 0.0
        self._vetoes: list[Callable[[Any], str | None]] = []
        # Reminders handed to the UI, by id: (store row, reminder), until the UI reports back.
        self._delivering: dict[str, tuple[int | None, Any]] = {}

    # ---- thread-safe commands -------------------------------------------------------------
    def submit(self, fn: Callable[[], None]) -> None:
        self._commands.put(fn)

    def request_stop(self) -> None:
        self._stop.set()

    def set_monitoring_paused(self, paused: bool) -> None:
        self.submit(lambda: self._set_paused(paused))

    def start_manual_session(self) -> None:
        self.submit(lambda: self.tracker and self.tracker.start_manual(self._clock()))

    def stop_manual_session(self) -> None:
        self.submit(lambda: self.tracker and self.tracker.stop_manual(self._clock()))

    def snooze_reminders(self, seconds: float | None) -> None:
        """Snooze for `seconds`, or until tomorrow's day start when None."""
        self.submit(lambda: self._snooze(seconds))

    def resume_reminders(self) -> None:
        """End a snooze early."""
        self.submit(self._resume)

    def not_today(self) -> None:
        self.submit(lambda: self._snooze(None, not_today=True))

    def reload_settings(self) -> None:
        self.submit(self._load_settings)

    def release_reminder(self, reminder_id: str) -> None:
        """The user opened a held-back reminder from the menu: it no longer waits there."""
        self.submit(lambda: self._release(reminder_id))

    def record_delivery(self, reminder_id: str, delivery: str) -> None:
        """The UI says how a reminder reached the user: `shown:<channel>` or `held:<reason>`."""
        self.submit(lambda: self._record_delivery(reminder_id, delivery))

    def free_gpu_memory(self, tool_key: tuple[str, int] | None = None) -> None:
        """Ask a tool (default: the one wasting most, else the current session's) to free its
        GPU memory through its own API; the outcome comes back through `on_release`."""
        self.submit(lambda: self._free(tool_key, "user"))

    def add_veto(self, fn: Callable[[Any], str | None]) -> None:
        """A do-not-disturb check: a non-None reason holds a reminder back (called in the worker)."""
        self._vetoes.append(fn)
        self.submit(lambda: self.reminders and self.reminders.add_veto(fn))

    # ---- set-up -------------------------------------------------------------------------------
    def _problem(self, message: str) -> None:
        log.warning("%s", message)
        self.listener.on_problem(message)

    def _load_settings(self) -> None:
        from tray_app.config.file import load_settings

        loaded = load_settings(move_aside=True)
        for p in loaded.problems:
            self._problem(p)
        self.settings = loaded.typed
        if self._monitor is not None and self._interval_s is None:
            self._monitor.set_interval(self.settings.sample_interval_s)
        if self.tracker is not None:
            self.tracker.idle_split_s = self.settings.idle_split_min * 60.0
            self.tracker.idle_power_w = self.settings.idle_power_w
        if self.reminders is not None:
            self.reminders.update_settings(self.settings)
        if self.idle is not None:
            self.idle.configure(*self._idle_settings())

    def _idle_settings(self) -> tuple[float, float]:
        return float(self.settings.reminders.idle_waste_min), self.settings.idle_power_w

    def _open_store(self) -> Any:
        from tray_app.store import Store, StoreError

        try:
            store = Store.open()
        except StoreError as exc:
            self._problem(str(exc) + " " + _("Monitoring goes on; this session's history is kept in memory only."))
            store = Store.open(":memory:")
        for p in store.problems:
            self._problem(p)
        try:
            recovered = store.recover_open_sessions()
        except StoreError as exc:
            self._problem(str(exc))
            recovered = []
        if recovered:
            log.info("recovered %d session(s) left open by a crash", len(recovered))
        return store

    def _retention(self) -> None:
        """Per-minute aggregates for old sessions: at start, then daily for long runs."""
        try:
            self._store.apply_retention(self.settings.retention.full_rate_days)
        except Exception as exc:  # noqa: BLE001 - retention can wait for the next day
            log.warning("retention skipped: %s", exc)

    def _build_monitor(self) -> Monitor:
        from tray_app.measure.processes import ProcessCpu
        from tray_app.measure.sensors.discovery import discover

        self.sensor_set = discover(self.settings.cpu_tdp_w or None)
        interval = self._interval_s or self.settings.sample_interval_s
        # The tools' CPU time is read with each snapshot, for splitting the CPU's energy; off,
        # nothing is read. A change takes effect at the next start (applies=RESTART).
        processes = ProcessCpu() if self.settings.per_process_attribution else None
        return Monitor(self.sensor_set.sensors, interval_s=interval, processes=processes)

    def _start_metrics(self) -> None:
        from tray_app.metrics.config import metrics_status

        status = metrics_status(self.settings)
        if status["warning"]:
            self._problem(status["warning"])
        if not status["enabled"]:
            return
        from tray_app.metrics.server import MetricsServer, MetricsState

        self.metrics_state = MetricsState()
        try:
            self._metrics_server = MetricsServer(
                self.metrics_state, status["bind"], status["port"],
                self.settings.metrics.token,
            ).start()
            log.info("metrics endpoint at %s", status["url"])
        except OSError as exc:
            self.metrics_state = None
            self._problem(
                _("The metrics endpoint could not listen on {bind}:{port} ({error}). Choose another "
                  "port with `raison-garder config set metrics.port PORT`.").format(
                    bind=status["bind"], port=status["port"], error=exc.strerror or exc)
            )

    def _setup(self) -> None:
        from tray_app.reminders import default_state_path, load_engine

        self._load_settings()
        if self._store is None:
            self._store = self._open_store()
        self.tracker = SessionTracker(
            _GuardedStore(self._store, self._problem),
            idle_split_min=float(self.settings.idle_split_min),
            idle_power_w=self.settings.idle_power_w,
            per_process=self.settings.per_process_attribution,
        )
        from tray_app.idle.desk import IdleDesk

        self.idle = IdleDesk(self.submit, self.tracker.store, *self._idle_settings())
        self.reminders, message = load_engine(default_state_path(), self.settings, self._clock)
        if message:
            self._problem(message)
        for fn in self._vetoes:
            self.reminders.add_veto(fn)
        if self._scanner is None:
            from tray_app.detect.scanner import Scanner

            self._scanner = Scanner(self.settings.tools.extra_patterns)
        if self._monitor is None:
            self._monitor = self._build_monitor()
        self._start_metrics()

    # ---- worker side ----------------------------------------------------------------------
    def _set_paused(self, paused: bool) -> None:
        self._paused = paused
        if self._monitor is not None:
            self._monitor.set_paused(paused)

    def _snooze(self, seconds: float | None, not_today: bool = False) -> None:
        from tray_app.reminders import default_state_path, save_engine

        if self.reminders is None:
            return
        if not_today:
            self.reminders.not_today()
        elif seconds:
            self.reminders.snooze_for(seconds)
        else:
            self.reminders.snooze_until_tomorrow()
        save_engine(self.reminders, default_state_path())

    def _record_delivery(self, reminder_id: str, delivery: str) -> None:
        from tray_app.reminders import default_state_path, save_engine

        row, reminder = self._delivering.pop(reminder_id, (None, None))
        if reminder is None:
            return
        if delivery.startswith("held:") and self.reminders is not None:
            self.reminders.hold(reminder, delivery.removeprefix("held:"))
            save_engine(self.reminders, default_state_path())
        if row is not None:
            try:
                self._store.set_reminder_delivery(row, delivery)
            except Exception as exc:  # noqa: BLE001 - the log line is secondary
                log.warning("could not record a reminder's delivery: %s", exc)

    def _release(self, reminder_id: str) -> None:
        from tray_app.reminders import default_state_path, save_engine

        if self.reminders is not None and self.reminders.release(reminder_id) is not None:
            save_engine(self.reminders, default_state_path())

    def _resume(self) -> None:
        from tray_app.reminders import default_state_path, save_engine

        if self.reminders is not None:
            self.reminders.cancel_snooze()
            save_engine(self.reminders, default_state_path())

    def _drain_commands(self) -> None:
        while True:
            try:
                fn = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                fn()
            except Exception:  # noqa: BLE001 - a failing command must not stop monitoring
                log.exception("command failed")

    def _detect(self, snap: Snapshot, now: float) -> None:
        gpu_pids: dict[int, set[int]] = {}
        for src in snap.sources:
            idx = SessionTracker._gpu_index(src)
            for pid in src.pids or ():
                gpu_pids.setdefault(pid, set())
                if idx is not None:
                    gpu_pids[pid].add(idx)
        try:
            found = self._scanner.scan(gpu_pids)
        except Exception:  # noqa: BLE001 - detection failing must not stop measuring
            log.exception("tool detection failed")
            return
        self._tools = {(t.tool, t.pid): t for t in found}
        watch = getattr(self._monitor, "watch_pids", None)
        if watch is not None:  # their CPU time comes with each snapshot, for the CPU's split
            watch(frozenset(p for t in found for p in t.pids))
        seen = [
            ToolSeen(tool=t.tool, label=t.display_name(), pid=t.pid, exe_name=t.exe_name,
                     gpu_indices=frozenset(t.gpu_indices), pids=tuple(t.pids))
            for t in found  # SwarmUI's ComfyUI backend is already inside SwarmUI's detection
        ]
        self.tracker.set_tools(seen, now)

    def _free(self, key: tuple[str, int] | None, reason: str) -> None:
        wastes = sorted(self.idle.current, key=lambda w: w.extra_w, reverse=True)
        if key is None and wastes:
            key = wastes[0].key
        if key is None:
            current = self.tracker.current()
            key = current.key if current is not None and not current.manual else None
        tool = self._tools.get(key) if key is not None else None
        if tool is None:
            self._problem(_("No image tool is holding the GPU: nothing to free."))
            return
        session = self.tracker.sessions.get(key)
        snap = self._monitor.last if self._monitor is not None else None
        self.idle.request(tool, session.id if session else None, reason, snap)

    def _step_idle(self, snap: Snapshot) -> None:
        sessions = {k: s.id for k, s in self.tracker.sessions.items()}
        auto = self.settings.reminders.idle_waste_auto_free
        self.idle.step(snap, self._tools, sessions, auto_free=auto)
        for result in self.idle.finished:
            log.info("release %s: %s", result.tool, result.message())
            self.listener.on_release(result)
        self.idle.finished.clear()

    def _count_images(self, now: float) -> None:
        """Hand the open sessions to the image-count worker; never waits for it."""
        from pathlib import Path

        from tray_app.images.worker import CountJob, ImageCountWorker

        if self._images is None:
            self._images = ImageCountWorker()
        dirs = [Path(p).expanduser() for p in self.settings.images.output_dirs]
        jobs = []
        sids = {key: s.id for key, s in self.tracker.sessions.items()}
        for key, s in self.tracker.sessions.items():
            tool = self._tools.get(key)
            jobs.append(CountJob(key, s.tool, getattr(tool, "root", None), getattr(tool, "port", None),
                                 getattr(tool, "pid", None), s.start_ts))
        if self._images.submit(jobs, dirs, now):
            self._image_sids = sids

    def _take_image_counts(self, now: float) -> None:
        counts = self._images.take() if self._images is not None else None
        for key, count in (counts or {}).items():
            s = self.tracker.sessions.get(key)
            if s is None or s.id != self._image_sids.get(key):
                continue  # that session closed (or was split) while its images were counted
            if count.images is not None:  # a failed count keeps the last known number
                self.tracker.set_images(key, count.images, count.model_name, count.model_family)
            if count.units and s.id > 0:
                self._record_generations(s, count.units, now)

    def _record_generations(self, s: OpenSession, units: Any, now: float, final: bool = False) -> None:
        """Each prompt or image of the session, with the energy of its own window."""
        from tray_app.sessions.generations import GenerationRecorder

        recorder = self._recorders.get(s.id)
        if recorder is None:
            recorder = self._recorders[s.id] = GenerationRecorder(s.id, s.tool, s.start_ts)
        self._store_generations(recorder, units, now, final)

    def _store_generations(self, recorder: Any, units: Any, now: float, final: bool) -> None:
        sid = recorder.session_id
        try:
            made = recorder.collect(
                units, now, lambda t0, t1: self._store.session_samples(sid, t0, t1), final
            )
            if made:
                self._store.add_generations(g.fields() for g in made)
        except Exception as exc:  # noqa: BLE001 - a per-generation figure must not stop monitoring
            log.warning("generations of session %s not recorded: %s", sid, exc)

    def _after_closes(self) -> None:
        for sid, _totals in self.tracker.closed:
            recorder = self._recorders.pop(sid, None)
            if recorder is not None:  # the last images need no batch mates any more
                self._store_generations(recorder, (), self._clock(), final=True)
        for sid, totals in self.tracker.closed:
            self._today.closed(sid, totals.get("total_wh"))
            self._period.closed(sid, totals.get("total_wh"))
            if self.reminders is not None:
                self.reminders.reset_session(sid)
        if self.metrics_state is not None:
            for _sid, totals in self.tracker.closed:
                self.metrics_state.session_closed(
                    totals.get("tool", "?"), totals.get("total_wh") or 0.0, totals.get("images"))
        self.tracker.closed.clear()

    def _period_wh(self, today_wh: float) -> tuple[float | None, float | None]:
        period = self.settings.reminders.budget_period
        budget = self.settings.reminders.budget_wh
        if period == "off" or budget <= 0:
            return None, None
        used = today_wh if period == "day" else self._period.value(list(self.tracker.sessions.values()))
        return used, used / budget

    def _remind(self, snap: Snapshot, now: float, today_wh: float, period_wh: float | None) -> None:
        from tray_app.reminders import ActivityState, default_state_path, save_engine

        s = self.tracker.current()
        state = ActivityState(
            session_id=s.id if s else None,
            tool=s.tool if s else None,
            session_wh=s.total_wh if s else None,
            session_active_s=s.active_s if s else 0.0,
            continuous_active_s=s.continuous_active_s(now) if s else 0.0,
            session_images=s.images if s else None,
            session_idle_wh=(s.idle_j / 3600.0) if s else None,
            idle_minutes_with_model=(s.idle_s / 60.0) if s else None,
            today_wh=today_wh,
            period_wh=period_wh,
            gpu_power_pct_of_limit=self.tracker.gpu_power_pct(s) if s else None,
            gpu_power_w=snap.gpu_w,
            energy_estimated=bool(s and "estimated" in {m.value for m in s.methods}),
            idle_waste=max(self.idle.current, key=lambda w: w.idle_s, default=None),
        )
        fired = self.reminders.evaluate(state)
        for rem in fired:
            if rem.delivery is None:
                rem.delivery = "shown"  # the UI refines it (channel, or held) via record_delivery
            row = None
            try:
                row = self._store.add_reminder(rem.ts, rem.rule, rem.values, rem.delivery,
                                               f"{rem.title}\n{rem.body}", rem.session_id if (rem.session_id or 0) > 0 else None)
            except Exception as exc:  # noqa: BLE001 - losing the log line must not lose the reminder
                log.warning("could not store a reminder: %s", exc)
            if not rem.delivery.startswith("held:"):
                if len(self._delivering) > 50:  # a UI that never answers must not grow this
                    self._delivering.clear()
                self._delivering[rem.id] = (row, rem)
            if self.metrics_state is not None:
                self.metrics_state.reminder_shown(rem.rule)
            self.listener.on_reminder(rem)
        if fired:
            save_engine(self.reminders, default_state_path())

    def _on_snapshot(self, snap: Snapshot) -> None:
        self._drain_commands()
        now = snap.wall
        tracker = self.tracker
        tracker.update(snap)
        if snap.t >= self._next_detect and not snap.paused:
            self._next_detect = snap.t + DETECT_EVERY_S
            self._detect(snap, now)
        self._step_idle(snap)
        self._take_image_counts(now)
        if snap.t >= self._next_images and tracker.sessions:
            self._next_images = snap.t + IMAGES_EVERY_S
            self._count_images(now)
        if tracker.closed:
            self._after_closes()
        if snap.t >= self._next_retention:
            self._next_retention = snap.t + RETENTION_EVERY_S
            self._retention()
        hour = self.settings.day_start_hour
        open_sessions = list(tracker.sessions.values())
        self._today.roll(now, hour, self._store, open_sessions)
        self._period.roll(now, hour, self._store, open_sessions)
        today_wh = self._today.value(open_sessions)
        period_wh, fraction = self._period_wh(today_wh)
        if snap.t >= self._next_remind and self.reminders is not None:
            self._next_remind = snap.t + REMIND_EVERY_S
            self._remind(snap, now, today_wh, period_wh)
        status = EngineStatus(
            snapshot=snap,
            session=self._view(tracker.current(), now),
            today_wh=today_wh,
            monitoring_paused=self._paused,
            reminders_snoozed_until=self.reminders.snoozed_until if self.reminders else None,
            held_reminders=tuple(self.reminders.held()) if self.reminders else (),
            budget_fraction=fraction,
            open_sessions=len(open_sessions),
            idle_waste=self.idle.current,
            releasing=self.idle.busy_any(),
            last_release=self.idle.last_outcome,
        )
        if self.metrics_state is not None:
            self.metrics_state.publish(status)
        self.listener.on_status(status)

    @staticmethod
    def _view(s: OpenSession | None, now: float) -> SessionView | None:
        if s is None:
            return None
        totals = s.totals()
        return SessionView(
            id=s.id, tool=s.tool, tool_label=_("Manual session") if s.tool == MANUAL else s.label,
            start_wall=s.start_ts, duration_s=s.duration_s(now), active_s=s.active_s,
            gpu_wh=totals["gpu_wh"], cpu_wh=totals["cpu_wh"], total_wh=totals["total_wh"],
            images=s.images, method=totals["energy_method"] or "unknown", manual=s.manual,
            gpu_method=totals["gpu_method"], cpu_method=totals["cpu_method"],
        )

    def run(self, stop: threading.Event | None = None, duration_s: float | None = None) -> None:
        if stop is not None:
            self._stop = stop
        try:
            self._setup()
            self._monitor.run(self._on_snapshot, self._stop, duration_s=duration_s)
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        from tray_app.reminders import default_state_path, save_engine

        self._drain_commands()
        if self._images is not None:
            self._images.close()  # never joined: a hung tool must not delay the exit
        if self.idle is not None:
            self.idle.flush()
        if self.tracker is not None:
            self.tracker.close_all()
            self._after_closes()
        if self._store is not None:
            try:
                self._store.close()
            except Exception as exc:  # noqa: BLE001 - say it, and exit cleanly anyway
                self._problem(str(exc))
        if self.reminders is not None:
            save_engine(self.reminders, default_state_path())
        if self._metrics_server is not None:
            self._metrics_server.stop()
        if self.sensor_set is not None:
            self.sensor_set.close()
