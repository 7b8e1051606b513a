"""The headless heart of the app: a small scheduler over parts with one job each.

    sensors ─► Monitor ─► Snapshot ─► SessionTracker (sessions, energy per session)
                                   ├► ToolWatch      (which tools run: every 5 s)
                                   ├► IdleDesk       (tools holding the GPU idle; freeing it)
                                   ├► ImageCounts    (images per session: every 15 s, on a worker)
                                   │   └► GenerationLog (energy per prompt / image, to the store)
                                   ├► Totals         (today, budget period)
                                   ├► ReminderDesk   (rules, gentleness, log, delivery: every 5 s)
                                   └► EngineStatus ─► listener (tray / headless) and observers
                                                      (MetricsListener)

`Engine.run()` blocks and is meant for a worker thread (the tray) or the main thread (the
headless monitor). The listener and observers are called from that thread; the UI turns each
call into a Qt signal. Commands from other threads (`start_manual_session()`, ...) are queued
and executed between two ticks, so the parts need no locks.

Cadences: sensors at the sample interval (the monitor adapts it), sessions every snapshot
(1 s), tool detection every 5 s, image counting every 15 s, reminders every 5 s. The expensive
work is never done every tick. Image counting talks to other programs: it runs on its own
thread (tray_app/images/worker.py) and its counts join the next tick, so a hung tool never
delays a sample. While no tool runs and no session is open the monitor is put in its idle
cadence (a snapshot every 5 s, the detection cadence): nothing is attributed then, the
counters keep the energy exact, and a command from another thread wakes it at once.

Where nobody sees each snapshot as it comes (`monitor --quiet`: no status shown live, no
`/metrics`), the snapshots of a session still come every second, each one stored as a 1 s sample,
but their bookkeeping is done in batches of BATCH_S, in one go: a second asleep leaves code and
data cold, and a batch of five costs about what two or three cold ticks did (benchmarks/
RESULTS.md). Nothing changes in the
figures, only when they are worked out: the store's commit rule already writes a session's
samples every 5 s (so kill -9 still loses less than 5 s), detection and reminders keep their
5 s cadence (they run at the batch's last snapshot, the present), and a command, a pause or a
stop ends the batch at once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tray_app.config.schema import OPTIONS
from tray_app.config.settings import TypedSettings, default_settings, value_of
from tray_app.config.watch import SettingsWatch
from tray_app.idle.desk import IdleDesk
from tray_app.measure.monitor import Monitor, Snapshot
from tray_app.measure.sensors.cpu_estimate import CpuEstimateSensor
from tray_app.measure.sensors.discovery import SensorSet
from tray_app.reminders import ActivityState, Reminder
from tray_app.reminders.engine import Veto
from tray_app.runtime.desk import ReminderDesk, activity
from tray_app.runtime.generations import GenerationLog
from tray_app.runtime.images import ImageCounts
from tray_app.runtime.metrics import MetricsListener
from tray_app.runtime.status import (
    EngineListener,
    EngineObserver,
    EngineStatus,
    NullListener,
    SessionView,
    session_view,
)
from tray_app.runtime.storage import GuardedStore, HistoryStore, apply_retention, open_store
from tray_app.runtime.tools import ToolScanner, ToolWatch
from tray_app.runtime.totals import Totals
from tray_app.sessions.floor import default_path as floor_path
from tray_app.sessions.floor import load_floors, save_floors
from tray_app.sessions.tracker import SessionTracker
from tray_app.system.i18n import _

__all__ = ["Engine", "EngineListener", "EngineStatus", "NullListener", "SessionView"]

log = logging.getLogger(__name__)

DETECT_EVERY_S = 5.0
IMAGES_EVERY_S = 15.0
REMIND_EVERY_S = 5.0
RETENTION_EVERY_S = 86400.0
# settings.json is stat()ed this often (a few microseconds): a change made by the Settings window
# or `raison-garder config set` applies within ~3 s (within 5 s in the idle cadence, where it
# is checked at each snapshot), inside the 5 s the user is promised.
SETTINGS_EVERY_S = 2.0
# Snapshots come at the monitor's cadence, a little late at times: a task is due this much
# before its time, so a 5 s task runs on every 5 s idle snapshot rather than every other one.
DUE_SLACK_S = 0.25
# Snapshots no one sees live are worked in batches this long (see above): the detection cadence,
# and the span of samples the store commits at once.
BATCH_S = DETECT_EVERY_S


class SnapshotSource(Protocol):
    """What the engine needs of `Monitor` (tests hand in a scripted one)."""

    def run(self, on_snapshot: Callable[[Snapshot], None], stop: threading.Event,
            duration_s: float | None = None) -> None: ...  # fmt: skip

    def set_interval(self, interval_s: float) -> None: ...

    def set_paused(self, paused: bool) -> None: ...

    def set_idle(self, idle: bool) -> None:
        """Nothing to attribute: wake rarely (see Monitor)."""

    def wake(self) -> None:
        """From any thread: tick now (a command is waiting)."""

    def watch_pids(self, pids: frozenset[int]) -> None:
        """The detected tools' processes, whose CPU time each snapshot then carries."""

    @property
    def last(self) -> Snapshot | None: ...


@dataclass(slots=True)
class Parts:
    """The parts made at start, on the engine's thread."""

    monitor: SnapshotSource
    store: HistoryStore
    tracker: SessionTracker
    desk: ReminderDesk
    tools: ToolWatch
    totals: Totals
    idle: IdleDesk
    generations: GenerationLog


class Engine:
    def __init__(
        self,
        listener: EngineListener | None = None,
        monitor: SnapshotSource | None = None,
        interval_s: float | None = None,
        *,
        store: HistoryStore | None = None,
        scanner: ToolScanner | None = None,
        clock: Callable[[], float] = time.time,
        idle_cadence: bool = True,
    ) -> None:
        self.listener: EngineListener = listener or NullListener()
        # False where every tick is shown (`monitor --headless` printing a line a second).
        self._idle_cadence = idle_cadence
        self._interval_s = interval_s  # fixed by the caller (tests, benchmarks): not a setting
        self._commands: queue.SimpleQueue[Callable[[], object]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._monitor = monitor
        self._store = store
        self._scanner = scanner
        self._clock = clock
        self._paused = False
        self.settings: TypedSettings = default_settings()
        self.sensor_set: SensorSet | None = None
        self.parts: Parts | None = None  # made by run()
        self.images = ImageCounts()
        self.metrics: MetricsListener | None = None
        self.observers: list[EngineObserver] = []
        self._vetoes: list[Veto] = []
        self._next_detect = 0.0
        self._next_images = 0.0
        self._next_remind = 0.0
        self._next_retention = 0.0
        self._next_settings = 0.0
        self._next_status = 0.0
        self._unpublished: Snapshot | None = None  # the last snapshot no status was made of
        self._held: list[Snapshot] = []  # snapshots waiting for the end of their batch
        self._batch_due = 0.0  # monotonic time the batch being held is worked out
        self._watch: SettingsWatch | None = None
        self._floor_save_said = False

    @property
    def tracker(self) -> SessionTracker | None:
        return self.parts.tracker if self.parts else None

    @property
    def desk(self) -> ReminderDesk | None:
        return self.parts.desk if self.parts else None

    # ---- thread-safe commands -------------------------------------------------------------
    def submit(self, fn: Callable[[], object]) -> None:
        self._commands.put(fn)
        self._wake()  # run now, not at the next (maybe 5 s away) snapshot

    def _on_parts(self, fn: Callable[[Parts], object]) -> None:
        """Queue `fn` for the engine's thread; nothing happens before the parts exist."""

        def run() -> None:
            if self.parts is not None:
                fn(self.parts)

        self.submit(run)

    def request_stop(self) -> None:
        self._stop.set()
        self._wake()

    def _wake(self) -> None:
        wake = getattr(self._monitor, "wake", None)  # a scripted monitor may not have it
        if wake is not None:
            wake()

    def set_monitoring_paused(self, paused: bool) -> None:
        self.submit(lambda: self._set_paused(paused))

    def start_manual_session(self) -> None:
        self._on_parts(lambda p: p.tracker.start_manual(self._clock()))

    def stop_manual_session(self) -> None:
        self._on_parts(lambda p: p.tracker.stop_manual(self._clock()))

    def snooze_reminders(self, seconds: float | None) -> None:
        """Snooze for `seconds`, or until tomorrow's day start when None."""
        self._on_parts(lambda p: p.desk.snooze(seconds))

    def resume_reminders(self) -> None:
        """End a snooze early."""
        self._on_parts(lambda p: p.desk.resume())

    def not_today(self) -> None:
        self._on_parts(lambda p: p.desk.snooze(None, not_today=True))

    def reload_settings(self) -> None:
        self.submit(self._load_settings)

    def release_reminder(self, reminder_id: str) -> None:
        """The user opened a held-back reminder from the menu: it no longer waits there."""
        self._on_parts(lambda p: p.desk.release(reminder_id))

    def record_delivery(self, reminder_id: str, delivery: str) -> None:
        """The UI says how a reminder reached the user: `shown:<channel>` or `held:<reason>`."""
        self._on_parts(lambda p: p.desk.record_delivery(reminder_id, delivery))

    def free_gpu_memory(self, tool_key: tuple[str, int] | None = None) -> None:
        """Ask a tool (default: the one wasting most, else the current session's) to free its
        GPU memory through its own API; the outcome comes back through `on_release`."""
        self._on_parts(lambda p: self._free(p, tool_key, "user"))

    def add_veto(self, fn: Veto) -> None:
        """A do-not-disturb check: a non-None reason holds a reminder back (called in the worker)."""
        self._vetoes.append(fn)
        self._on_parts(lambda p: p.desk.add_veto(fn))

    # ---- set-up -------------------------------------------------------------------------------
    def _problem(self, message: str) -> None:
        log.warning("%s", message)
        self.listener.on_problem(message)

    def _load_settings(self, at_start: bool = False) -> None:
        """Read settings.json and apply it. At start a file that is not ours is moved aside
        (and said); while running it is only read: the user may be in the middle of an edit."""
        from tray_app.config.file import load_settings, settings_path

        if self._watch is None:
            self._watch = SettingsWatch(settings_path())
        self._watch.mark_read()
        loaded = load_settings(move_aside=at_start)
        for p in loaded.problems:
            self._problem(p)
        self._apply_settings(loaded.typed)

    def _apply_settings(self, settings: TypedSettings) -> None:
        """Hand the settings to every part that is running: every option marked applies=LIVE
        in the schema takes effect here (tests/test_live_settings.py: one test per option)."""
        old, self.settings = self.settings, settings
        if self._monitor is not None and self._interval_s is None:
            self._monitor.set_interval(settings.sample_interval_s)
        if self.parts is None:
            return  # at start: the parts are made from these settings
        parts = self.parts
        parts.tracker.idle_split_s = settings.idle_split_min * 60.0
        parts.tracker.idle_power_w = settings.idle_power_w
        parts.desk.update_settings(settings)
        parts.idle.configure(*self._idle_settings())
        # Day start, budget, retention, idle auto-free, money and carbon are read where used.
        if settings.tools.extra_patterns != old.tools.extra_patterns:
            parts.tools.set_patterns(settings.tools.extra_patterns)  # every process judged again
        if settings.images.output_dirs != old.images.output_dirs:
            self.images.reset()  # counters are made with their folders: start afresh, now
            self._next_images = 0.0
        if settings.cpu_tdp_w != old.cpu_tdp_w and self.sensor_set is not None:
            for sensor in self.sensor_set.sensors:
                if isinstance(sensor, CpuEstimateSensor):
                    sensor.set_tdp(settings.cpu_tdp_w or None)
        if settings.metrics != old.metrics:
            self._restart_metrics()
        changed = frozenset(k for k in OPTIONS if value_of(old, k) != value_of(settings, k))
        if changed:
            self.listener.on_settings(settings, changed)

    def _restart_metrics(self) -> None:
        state = None
        if self.metrics is not None:
            self.metrics.stop()
            self.observers.remove(self.metrics)
            state = self.metrics.state  # counters carry on: a scraper sees no reset
        self.metrics = MetricsListener.start(self.settings, self._problem, state)
        if self.metrics is not None:
            self.observers.append(self.metrics)

    def _idle_settings(self) -> tuple[float, float]:
        return float(self.settings.reminders.idle_waste_min), self.settings.idle_power_w

    def _build_monitor(self) -> Monitor:
        from tray_app.measure.processes import ProcessCpu
        from tray_app.measure.sensors.discovery import discover

        self.sensor_set = discover(self.settings.cpu_tdp_w or None)
        interval = self._interval_s or self.settings.sample_interval_s
        # The tools' CPU time is read with each snapshot, for splitting the CPU's energy; off,
        # nothing is read. A change takes effect at the next start (applies=RESTART).
        processes = ProcessCpu() if self.settings.per_process_attribution else None
        return Monitor(self.sensor_set.sensors, interval_s=interval, processes=processes)

    def start(self) -> Parts:
        """Make the parts (on the thread that will tick). `run()` calls it; tests too."""
        self._load_settings(at_start=True)
        store = self._store = self._store if self._store is not None else open_store(self._problem)
        tracker = SessionTracker(
            GuardedStore(store, self._problem),
            idle_split_min=float(self.settings.idle_split_min),
            idle_power_w=self.settings.idle_power_w,
            per_process=self.settings.per_process_attribution,
        )
        floors, message = load_floors(floor_path())
        tracker.restore_floors(floors)
        if message:
            self._problem(message)
        idle = IdleDesk(self.submit, tracker.store, *self._idle_settings())
        desk = ReminderDesk.load(self.settings, store, self._clock, self._problem)
        for fn in self._vetoes:
            desk.add_veto(fn)
        if self._scanner is None:
            from tray_app.detect.scanner import Scanner

            self._scanner = Scanner(self.settings.tools.extra_patterns)
        if self._monitor is None:
            self._monitor = self._build_monitor()
        self.metrics = MetricsListener.start(self.settings, self._problem)
        if self.metrics is not None:
            self.observers.append(self.metrics)
        self.parts = Parts(self._monitor, store, tracker, desk, ToolWatch(self._scanner),
                           Totals(store), idle, GenerationLog(store, self._clock))  # fmt: skip
        return self.parts

    # ---- the tick -------------------------------------------------------------------------------
    def _set_paused(self, paused: bool) -> None:
        self._paused = paused
        if self._monitor is not None:
            self._monitor.set_paused(paused)

    def run_commands(self) -> None:
        """Run the commands queued by other threads (each tick does, after the sessions'
        update: a session started now counts from now, not from the previous snapshot, up to
        5 s ago in the idle cadence; one stopped now, up to now)."""
        while True:
            try:
                fn = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                fn()
            except Exception:  # a failing command must not stop monitoring
                log.exception("command failed")

    def _after_closes(self, parts: Parts) -> None:
        if parts.tracker.closed:  # a rare moment, cheap to write: the floors learned so far
            self._save_floors(parts)
        for sid, totals in parts.tracker.closed:
            parts.generations.session_closed(sid)
            parts.totals.session_closed(sid, totals.get("total_wh"))
            parts.desk.session_closed(sid)
            for observer in self.observers:
                observer.on_session_closed(
                    totals.get("tool", "?"), totals.get("total_wh") or 0.0, totals.get("images"))
        parts.tracker.closed.clear()

    def _batching(self, parts: Parts) -> bool:
        """True where snapshots may wait for the end of their batch: nobody sees each status
        (a quiet listener, no observer), and the monitor is in its 1 s cadence."""
        return (
            self._idle_cadence
            and not self.observers
            and getattr(self.listener, "status_every_s", 0.0) >= BATCH_S
            and not getattr(parts.monitor, "idle", True)
        )

    def on_snapshot(self, snap: Snapshot, parts: Parts) -> None:
        """The monitor's callback: work the snapshot out now, or hold it for its batch."""
        if (
            snap.t + DUE_SLACK_S < self._batch_due
            and not snap.paused
            and self._commands.empty()
            and not self._stop.is_set()
            and self._batching(parts)
        ):
            self._held.append(snap)
            return
        held, self._held = self._held, []
        self._batch_due = snap.t + BATCH_S
        self.tick(snap, parts, held)

    def tick(self, snap: Snapshot, parts: Parts, held: Sequence[Snapshot] = ()) -> None:
        """One snapshot's work, and that of the snapshots `held` before it (a batch: their
        sessions' share, samples and idle time; the rest is done once, for the present)."""
        now = snap.wall
        tracker, desk, tools, totals = parts.tracker, parts.desk, parts.tools, parts.totals
        if held:
            with tracker.samples_together():
                for earlier in held:
                    tracker.update(earlier)
                    self._step_idle(earlier, parts)
                tracker.update(snap)
        else:
            tracker.update(snap)
        self.run_commands()
        due = snap.t + DUE_SLACK_S
        if due >= self._next_detect and not snap.paused:
            self._next_detect = snap.t + DETECT_EVERY_S
            seen = tools.detect(snap)
            if seen is not None:
                # Their CPU time comes with each snapshot, for the CPU's split.
                parts.monitor.watch_pids(frozenset(p for t in tools.tools.values() for p in t.pids))
                tracker.set_tools(seen, now)
        self._step_idle(snap, parts)
        for session, count in self.images.apply(tracker):
            parts.generations.units(session, count.units, now)
        if due >= self._next_images and tracker.sessions:
            self._next_images = snap.t + IMAGES_EVERY_S
            self.images.submit(tracker.sessions, tools.tools, self.settings.images.output_dirs, now)
        if tracker.closed:
            self._after_closes(parts)
        if due >= self._next_settings:
            self._next_settings = snap.t + SETTINGS_EVERY_S
            if self._watch is not None and self._watch.changed():
                self._load_settings()
        if snap.t >= self._next_retention:
            self._next_retention = snap.t + RETENTION_EVERY_S
            apply_retention(parts.store, self.settings.retention.full_rate_days)
        open_sessions = list(tracker.sessions.values())
        totals.update(now, self.settings, open_sessions)
        if due >= self._next_remind:
            self._next_remind = snap.t + REMIND_EVERY_S
            longest = max(parts.idle.current, key=lambda w: w.idle_s, default=None)
            self._remind(desk, activity(tracker, snap, now, totals.today_wh, totals.period_wh,
                                        longest, parts.generations.contrast(now)))  # fmt: skip
        # A listener that shows nothing live (`monitor --quiet`) asks for a status now and then
        # and gets the last one at the end; observers (/metrics) and the tray get every one.
        if self.observers or snap.t >= self._next_status:
            self._next_status = snap.t + getattr(self.listener, "status_every_s", 0.0)
            self._unpublished = None
            self._publish(snap, parts)
        else:
            self._unpublished = snap
        if self._idle_cadence:
            # The idle cadence: no tool running and no session open, so nothing to attribute.
            set_idle = getattr(parts.monitor, "set_idle", None)
            if set_idle is not None:
                set_idle(not open_sessions and not tools.tools)

    def _publish(self, snap: Snapshot, parts: Parts) -> None:
        tracker, desk, totals = parts.tracker, parts.desk, parts.totals
        status = EngineStatus(
            snapshot=snap,
            session=session_view(tracker.current(), snap.wall),
            today_wh=totals.today_wh,
            monitoring_paused=self._paused,
            reminders_snoozed_until=desk.snoozed_until,
            held_reminders=desk.held(),
            budget_fraction=totals.budget_fraction,
            open_sessions=len(tracker.sessions),
            idle_waste=parts.idle.current,
            releasing=parts.idle.busy_any(),
            last_release=parts.idle.last_outcome,
        )
        for observer in self.observers:
            observer.on_status(status)
        self.listener.on_status(status)

    def _step_idle(self, snap: Snapshot, parts: Parts) -> None:
        sessions = {k: s.id for k, s in parts.tracker.sessions.items()}
        auto = self.settings.reminders.idle_waste_auto_free
        parts.idle.step(snap, parts.tools.tools, sessions, auto_free=auto)
        for result in parts.idle.finished:
            log.info("release %s: %s", result.tool, result.message())
            self.listener.on_release(result)
        parts.idle.finished.clear()

    def _free(self, parts: Parts, key: tuple[str, int] | None, reason: str) -> None:
        wastes = sorted(parts.idle.current, key=lambda w: w.extra_w, reverse=True)
        if key is None and wastes:
            key = wastes[0].key
        if key is None:
            current = parts.tracker.current()
            key = current.key if current is not None and not current.manual else None
        tool = parts.tools.tools.get(key) if key is not None else None
        if key is None or tool is None:
            from tray_app.idle.release import Answer, Target, outcome

            # Said every time (a problem is said once): the user asked, they get an answer.
            nothing = _("No image tool is holding the GPU: nothing to free.")
            self.listener.on_release(outcome(Target("", _("Free GPU memory"), 0),
                                             Answer(None, None, False, nothing), None))
            return
        session = parts.tracker.sessions.get(key)
        parts.idle.request(tool, session.id if session else None, reason, parts.monitor.last)

    def _remind(self, desk: ReminderDesk, state: ActivityState) -> None:
        for reminder in desk.evaluate(state):
            self._deliver(reminder)

    def _deliver(self, reminder: Reminder) -> None:
        for observer in self.observers:
            observer.on_reminder(reminder)
        self.listener.on_reminder(reminder)

    # ---- run ------------------------------------------------------------------------------------
    def run(self, stop: threading.Event | None = None, duration_s: float | None = None) -> None:
        if stop is not None:
            self._stop = stop
        try:
            parts = self.start()
            parts.monitor.run(
                lambda snap: self.on_snapshot(snap, parts), self._stop, duration_s=duration_s
            )
        finally:
            self.shutdown()

    def _save_floors(self, parts: Parts) -> None:
        message = save_floors(floor_path(), parts.tracker.floors())
        if message and not self._floor_save_said:  # said once, not at every close
            self._floor_save_said = True
            self._problem(message)

    def shutdown(self) -> None:
        """Close every session, the store and the sensors; `run()` does it on the way out."""
        if self.parts is not None and self._held:  # a batch cut short: worked out, not lost
            held, self._held = self._held, []
            self.tick(held[-1], self.parts, held[:-1])
        self.run_commands()
        self.images.close()
        if self.parts is not None and self._unpublished is not None:
            self._publish(self._unpublished, self.parts)  # the last status, sessions still open
            self._unpublished = None
        if self.parts is not None:
            self.parts.idle.flush()
            self.parts.tracker.close_all()
            if not self.parts.tracker.closed:  # else _after_closes saves them
                self._save_floors(self.parts)
            self._after_closes(self.parts)
        if self._store is not None:
            try:
                self._store.close()
            except Exception as exc:  # noqa: BLE001 - say it, and exit cleanly anyway
                self._problem(str(exc))
        if self.desk is not None:
            self.desk.save()
        if self.metrics is not None:
            self.metrics.stop()
        if self.sensor_set is not None:
            self.sensor_set.close()
