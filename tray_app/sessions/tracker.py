"""Turn snapshots and detected tools into sessions: one stretch of work in one tool.

A session opens when a tool is detected (or the user starts one by hand), closes when the tool
exits, and is split when the tool has done no generation work for `idle_split_min` minutes:
an idle ComfyUI left open all week is not a week-long session. A dormant tool gets a new
session as soon as it works again.

Energy is attributed per interval (see attribution.py): each source's energy since the previous
snapshot is split between the sessions by the processes the driver lists on each GPU and their
SM use, and the CPU by CPU time; what no session used stays with the rest of the machine, so the
sessions of a day never add up to more than was measured. Each session also keeps what the
whole machine drew while it was open (`machine_wh`), and how its parts were attributed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from tray_app.measure.energy import weakest_method
from tray_app.measure.monitor import Snapshot, SourceState
from tray_app.measure.sensors.base import Kind, Method
from tray_app.sessions.attribution import Attributor, Party, Share, holds
from tray_app.sessions.labels import weakest

MANUAL = "manual"
PAUSE_BREAKS_CONTINUITY_S = 600.0  # "continuous generation": active time without a 10-min pause
# Running totals written to the store this often, and at a session's first step: after a crash,
# recovery adds the samples stored since (tray_app/store/core.py).
UPDATE_EVERY_S = 10.0


class SessionStore(Protocol):
    def open_session(self, tool: str, exe_name: str | None, pids: Sequence[int],
                     gpu_indices: Sequence[int], start_ts: float, manual: bool = False) -> int: ...

    def add_samples(self, session_id: int, rows: Sequence[tuple]) -> None: ...

    def update_session(self, session_id: int, **fields: Any) -> None: ...

    def close_session(self, session_id: int, end_ts: float, status: str = "complete",
                      **totals: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class ToolSeen:
    """The part of a detection the tracker needs (tray_app.detect's DetectedTool fits)."""

    tool: str
    label: str
    pid: int
    exe_name: str | None = None
    gpu_indices: frozenset[int] = frozenset()
    pids: tuple[int, ...] = ()


@dataclass(slots=True)
class OpenSession:
    id: int
    key: tuple[str, int]  # (tool, root pid); manual sessions use (MANUAL, 0)
    tool: str
    label: str
    exe_name: str | None
    pids: tuple[int, ...]
    gpu_indices: frozenset[int]
    manual: bool
    start_ts: float
    last_ts: float
    gpu_j: float = 0.0
    cpu_j: float = 0.0
    machine_j: float = 0.0  # everything every source drew while the session was open
    gpu_attribution: str | None = None  # weakest way its GPU part was attributed (attribution.py)
    cpu_attribution: str | None = None
    shares: dict[str, float] = field(default_factory=dict)  # last interval: source -> fraction
    idle_j: float = 0.0
    active_s: float = 0.0
    idle_s: float = 0.0
    idle_since: float | None = None  # wall time the current idle stretch began
    continuous_since: float | None = None  # start of the current uninterrupted active stretch
    last_active_ts: float | None = None
    peak_w: float = 0.0
    idle_power_sum_ws: float = 0.0
    unknown_s: float = 0.0
    methods: set[Method] = field(default_factory=set)
    kind_methods: dict[Kind, set[Method]] = field(default_factory=dict)
    images: int | None = None
    model_name: str | None = None
    model_family: str | None = None
    last_update_ts: float = 0.0
    sampled: bool = False  # has its first interval been stored?

    @property
    def total_wh(self) -> float:
        return (self.gpu_j + self.cpu_j) / 3600.0

    def duration_s(self, now: float | None = None) -> float:
        return max(0.0, (now if now is not None else self.last_ts) - self.start_ts)

    def continuous_active_s(self, now: float) -> float:
        if self.continuous_since is None:
            return 0.0
        return max(0.0, (self.last_active_ts or now) - self.continuous_since)

    def totals(self) -> dict[str, Any]:
        duration = self.duration_s()
        total_wh = self.total_wh
        method = weakest_method(list(self.methods))
        return {
            "duration_s": duration,
            "active_s": self.active_s,
            "gpu_wh": self.gpu_j / 3600.0,
            "cpu_wh": self.cpu_j / 3600.0,
            "total_wh": total_wh,
            "idle_wh": self.idle_j / 3600.0,
            "idle_baseline_w": (self.idle_power_sum_ws / self.idle_s) if self.idle_s else None,
            "peak_w": self.peak_w,
            "avg_w": (total_wh * 3600.0 / duration) if duration > 0 else None,
            # The total is only as good as its weakest part; each part says its own method.
            "energy_method": method.value if method else None,
            "gpu_method": _method(self.kind_methods.get(Kind.GPU)),
            "cpu_method": _method(self.kind_methods.get(Kind.CPU)),
            "machine_wh": self.machine_j / 3600.0,
            "gpu_attribution": self.gpu_attribution,
            "cpu_attribution": self.cpu_attribution,
            "unknown_s": self.unknown_s,
            "images": self.images,
            "wh_per_image": (total_wh / self.images) if self.images else None,
            "model_name": self.model_name,
            "model_family": self.model_family,
        }


def _pids_of(tool: ToolSeen) -> tuple[int, ...]:
    return tool.pids or ((tool.pid,) if tool.pid else ())


def _method(methods: set[Method] | None) -> str | None:
    m = weakest_method(list(methods or ()))
    return m.value if m else None


class SessionTracker:
    def __init__(self, store: SessionStore, idle_split_min: float = 10.0,
                 idle_power_w: float = 0.0, per_process: bool = True) -> None:
        self.store = store
        self.attributor = Attributor(per_process)
        self.idle_split_s = idle_split_min * 60.0
        self.idle_power_w = idle_power_w  # 0 = learn the idle baseline per GPU
        self.sessions: dict[tuple[str, int], OpenSession] = {}
        self._dormant: set[tuple[str, int]] = set()  # split for idleness, tool still running
        self._tools: dict[tuple[str, int], ToolSeen] = {}
        self._prev: Snapshot | None = None
        self._parties: list[Party] | None = None  # what the split needs, made again on change
        self._baseline: dict[str, float] = {}  # learned idle power per GPU source
        self._baseline_name: dict[str, str] = {}  # the board each floor was learned on
        self._saved_floors: dict[str, tuple[str, float]] = {}  # from an earlier run, unused yet
        self.closed: list[tuple[int, dict[str, Any]]] = []  # (id, totals), drained by the engine
        self._held_rows: dict[int, list[tuple]] | None = None  # see samples_together()

    # ---- inputs ---------------------------------------------------------------------------
    def set_tools(self, tools: Iterable[ToolSeen], now: float) -> None:
        self._parties = None  # pids may have changed
        """The tools running now (from the detector, every few seconds)."""
        current = {(t.tool, t.pid): t for t in tools}
        for key in list(self.sessions):
            if key[0] != MANUAL and key not in current:
                self._close(key, self.sessions[key].last_ts)
            elif key in current:  # workers come and go: attribution follows the live pids
                s = self.sessions[key]
                s.pids = _pids_of(current[key]) or s.pids
                s.gpu_indices = current[key].gpu_indices
        self._dormant &= set(current)
        self._tools = current
        for key, tool in current.items():
            if key not in self.sessions and key not in self._dormant:
                self._open(key, tool, now)

    def start_manual(self, now: float) -> int:
        key = (MANUAL, 0)
        if key not in self.sessions:
            self._open(key, ToolSeen(tool=MANUAL, label=MANUAL, pid=0), now, manual=True)
        return self.sessions[key].id

    def stop_manual(self, now: float) -> None:
        if (MANUAL, 0) in self.sessions:
            self._close((MANUAL, 0), now)

    def set_images(self, key: tuple[str, int], images: int | None, model_name: str | None = None,
                   model_family: str | None = None) -> None:
        s = self.sessions.get(key)
        if s is not None:
            s.images = images
            s.model_name = model_name or s.model_name
            s.model_family = model_family or s.model_family

    def close_all(self, now: float | None = None) -> None:
        for key in list(self.sessions):
            s = self.sessions[key]
            self._close(key, s.last_ts if now is None else now)

    # ---- the per-snapshot step --------------------------------------------------------------
    @contextmanager
    def samples_together(self) -> Iterator[None]:
        """Updates inside hand their samples to the store at the end, one call per session (the
        engine's batches of snapshots: one write, and the store's commit rule sees them all)."""
        self._held_rows = {}
        try:
            yield
        finally:
            held, self._held_rows = self._held_rows, None
            for sid, rows in held.items():
                self.store.add_samples(sid, rows)

    def update(self, snap: Snapshot) -> None:
        prev, self._prev = self._prev, snap
        if prev is None or snap.paused or prev.paused:
            for s in self.sessions.values():
                s.last_ts = snap.wall
            self.attributor.reset_window()  # the intervals of this gap are attributed to nobody
            return
        dt = snap.t - prev.t
        if dt <= 0:
            return
        before = {s.source: s for s in prev.sources}
        # Once per snapshot, whatever the number of sessions: the floor must not learn faster
        # because two tools share a GPU.
        self._learn_baseline(snap.sources)
        if self._parties is None:
            self._parties = [Party(key, frozenset(s.pids), s.gpu_indices, s.manual)
                             for key, s in self.sessions.items()]
        shares = self.attributor.split(prev, snap, self._parties)
        machine_j = sum(
            max(0.0, src.energy_j - before[src.source].energy_j)
            for src in snap.sources if src.source in before
        )
        for key, s in self.sessions.items():
            s.machine_j += machine_j
            self._step_session(s, snap, before, shares[key], dt)
        for key in [k for k, s in self.sessions.items() if self._should_split(s, snap.wall)]:
            self._close(key, snap.wall)
            self._dormant.add(key)
        # A dormant tool that works again gets a new session.
        for key in list(self._dormant):
            tool = self._tools.get(key)
            if tool is not None and self._is_active(
                self._sources_for(frozenset(_pids_of(tool)), tool.gpu_indices, snap.sources)
            ):
                self._dormant.discard(key)
                self._open(key, tool, snap.wall)

    @staticmethod
    def _sources_for(pids: frozenset[int], gpu_indices: frozenset[int],
                     sources: Sequence[SourceState]) -> list[SourceState]:
        """The sources a program draws from: the GPUs it holds a context on (from the driver's
        process list; without one, detection's GPUs, or all when unknown) and the CPU."""
        return [src for src in sources if src.kind is Kind.CPU or holds(src, pids, gpu_indices)]

    def _is_active(self, sources: Sequence[SourceState]) -> bool:
        gpus = [s for s in sources if s.kind is Kind.GPU]
        if not gpus:  # CPU-only machine: only the CPU can tell
            return any(bool(s.busy) for s in sources)
        for g in gpus:
            if g.busy:
                return True
            # Power tells work from rest only where utilisation is not read: a GPU known to do
            # nothing but drawing 65 W is a tool idling with a model loaded (idle waste), not work.
            if g.busy is None and g.power_w is not None:
                base = self.idle_power_w or self._baseline.get(g.source)
                if base is not None and _above_floor(g.power_w, base):
                    return True
        return False

    # ---- the idle floor, kept across restarts (sessions/floor.py) -------------------------------
    def restore_floors(self, floors: dict[str, tuple[str, float]]) -> None:
        """Floors learned by an earlier run: each serves only the board it was learned on."""
        self._saved_floors = dict(floors)

    def floors(self) -> dict[str, tuple[str, float]]:
        """What to save: the floors learned now, and saved ones not seen again this run."""
        out = dict(self._saved_floors)
        out.update({src: (self._baseline_name.get(src, ""), w) for src, w in self._baseline.items()})
        return out

    def _learn_baseline(self, sources: Sequence[SourceState]) -> None:
        for g in sources:
            if g.kind is not Kind.GPU or g.power_w is None or g.busy:
                continue
            if g.source not in self._baseline and g.source in self._saved_floors:
                name, watts = self._saved_floors.pop(g.source)
                if name == g.label:  # the same board: start from what it was
                    self._baseline[g.source] = watts
            self._baseline_name[g.source] = g.label
            old = self._baseline.get(g.source)
            if g.busy is None and old is not None and _above_floor(g.power_w, old):
                # No utilisation reading (Intel, some AMD): only power tells work from rest, so
                # power that reads as work must not become the floor.
                continue
            # The idle floor: follow drops at once, rises slowly (a model loaded in VRAM
            # raises idle power a little; a generation must not become the baseline).
            self._baseline[g.source] = g.power_w if old is None or g.power_w < old else old + 0.01 * (g.power_w - old)

    def _step_session(self, s: OpenSession, snap: Snapshot, before: dict[str, SourceState],
                      share: Share, dt: float) -> None:
        now = snap.wall
        s.shares = share.fractions
        s.gpu_attribution = weakest(s.gpu_attribution, share.gpu)
        s.cpu_attribution = weakest(s.cpu_attribution, share.cpu)
        # Its sources this interval: those it got a part of (a GPU another program was busy on
        # while this tool sat idle is not its GPU for activity either).
        srcs = [src for src in snap.sources if share.fractions.get(src.source, 0.0) > 0.0]
        gpu_j = cpu_j = 0.0
        gpu_w = cpu_w = 0.0
        known_w = False
        for src in srcs:
            prev = before.get(src.source)
            if prev is None:
                continue
            part = share.fractions[src.source]
            de = max(0.0, src.energy_j - prev.energy_j) * part
            if src.unknown_s > prev.unknown_s:
                s.unknown_s = max(s.unknown_s, 0.0) + (src.unknown_s - prev.unknown_s) * part
            if src.kind is Kind.GPU:
                gpu_j += de
            else:
                cpu_j += de
            if de > 0 or src.power_w is not None:
                s.methods.add(src.method)
                s.kind_methods.setdefault(src.kind, set()).add(src.method)
            if src.power_w is not None:
                known_w = True
                if src.kind is Kind.GPU:
                    gpu_w += src.power_w * part
                else:
                    cpu_w += src.power_w * part
        for adjust in share.adjust_j.values():  # the end of a CPU-times window (attribution.py)
            cpu_j += adjust
        s.gpu_j += gpu_j
        s.cpu_j += cpu_j
        active = self._is_active(srcs)
        if known_w:
            s.peak_w = max(s.peak_w, gpu_w + cpu_w)
        if active:
            s.active_s += dt
            if s.continuous_since is None or (
                s.last_active_ts is not None and now - s.last_active_ts >= PAUSE_BREAKS_CONTINUITY_S
            ):
                s.continuous_since = now - dt
            s.last_active_ts = now
            s.idle_since = None
        else:
            s.idle_s += dt
            s.idle_j += gpu_j + cpu_j
            s.idle_power_sum_ws += (gpu_w + cpu_w) * dt
            if s.idle_since is None:
                s.idle_since = now - dt
        s.last_ts = now
        # The samples hold the session's attributed power: integrating them gives its energy.
        rows = [(now, gpu_w if known_w else None, cpu_w if known_w else None, int(active))]
        if not s.sampled:
            # The session's first interval: its start needs a sample too, or the stored curve
            # (what recovery integrates after a crash) would begin one interval late.
            s.sampled = True
            rows.insert(0, (now - dt, *self._powers(srcs, before, share.fractions), int(active)))
        held = self._held_rows
        if held is None:
            self.store.add_samples(s.id, rows)
        else:
            held.setdefault(s.id, []).extend(rows)
        if now - s.last_update_ts >= UPDATE_EVERY_S:
            s.last_update_ts = now
            self.store.update_session(s.id, end_ts=now, **s.totals())

    @staticmethod
    def _powers(srcs: Sequence[SourceState], states: dict[str, SourceState],
                fractions: dict[str, float]) -> tuple[float | None, float | None]:
        """(GPU W, CPU W) of a session's sources as `states` read them; None when none known."""
        gpu_w = cpu_w = 0.0
        known = False
        for src in srcs:
            state = states.get(src.source)
            if state is None or state.power_w is None:
                continue
            known = True
            part = fractions.get(src.source, 0.0)
            if src.kind is Kind.GPU:
                gpu_w += state.power_w * part
            else:
                cpu_w += state.power_w * part
        return (gpu_w, cpu_w) if known else (None, None)

    def gpu_power_pct(self, s: OpenSession) -> float | None:
        if self._prev is None:
            return None
        pcts = [
            100.0 * g.power_w / g.power_limit_w
            for g in self._prev.sources
            if s.shares.get(g.source, 0.0) > 0.0
            if g.kind is Kind.GPU and g.power_w is not None and g.power_limit_w
        ]
        return max(pcts) if pcts else None

    def _should_split(self, s: OpenSession, now: float) -> bool:
        return (not s.manual and s.idle_since is not None
                and now - s.idle_since >= self.idle_split_s)

    # ---- open/close -------------------------------------------------------------------------
    def _open(self, key: tuple[str, int], tool: ToolSeen, now: float, manual: bool = False) -> None:
        self._parties = None
        pids = _pids_of(tool)
        sid = self.store.open_session(tool.tool, tool.exe_name, list(pids),
                                      sorted(tool.gpu_indices), now, manual=manual)
        self.sessions[key] = OpenSession(
            id=sid, key=key, tool=tool.tool, label=tool.label, exe_name=tool.exe_name,
            pids=pids, gpu_indices=tool.gpu_indices, manual=manual, start_ts=now, last_ts=now,
            last_update_ts=now - UPDATE_EVERY_S,  # running totals at the first step already
        )

    def _close(self, key: tuple[str, int], end_ts: float) -> None:
        self._parties = None
        s = self.sessions.pop(key)
        rows = self._held_rows.pop(s.id, None) if self._held_rows is not None else None
        if rows:  # its last samples go in before it is closed
            self.store.add_samples(s.id, rows)
        s.last_ts = max(s.start_ts, end_ts)
        totals = s.totals()
        self.store.close_session(s.id, s.last_ts, "complete", **totals)
        self.closed.append((s.id, {**totals, "tool": s.tool}))

    def current(self) -> OpenSession | None:
        """The session to show: the most energetic open one (manual first)."""
        if not self.sessions:
            return None
        return max(self.sessions.values(), key=lambda s: (s.manual, s.total_wh))


def _above_floor(power_w: float, floor_w: float) -> bool:
    """Power that reads as work where no utilisation is read: well above the idle floor."""
    return power_w > max(floor_w * 1.3, floor_w + 15.0)
