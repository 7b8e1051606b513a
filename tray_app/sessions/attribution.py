"""Who used the energy: each interval's energy of each source, split between the open sessions.

Between two snapshots every source (a GPU, a CPU package) drew some energy. `Attributor.split()`
says which fraction of it each open session gets; what no session gets is the rest of the
machine (another program, the desktop, the idle floor's share of "everything else"). Fractions
of one source add up to at most 1, so the sessions of a day never add up to more than was
measured.

GPU (per GPU, per interval):
* The driver listed the processes on this GPU (NVML process lists): a session gets a part only
  if one of its processes is listed. With one process listed, that process gets all of it. With
  several, each gets its share of the SM use over the interval (NVML per-process utilisation);
  when nobody used the SM (an idle GPU holding models), or the driver has no per-process
  utilisation, the GPU is shared equally between the programs holding it (each session is one,
  each other process is one). Other programs keep their share: it is billed to no session.
  Labels: GPU_UTILISATION, or GPU_EQUAL when the equal split was used for lack of utilisation.
* No process list (unsupported, Windows WDDM, a GPU family without one): every session draws
  from every GPU it may use, shared equally between sessions. Label: GPU_UNAVAILABLE.

CPU (each CPU source, per interval): the package's idle floor (its power while the machine is
nearly idle, learned) is shared equally between the open tool sessions and the rest of the
machine (one part each); the energy above the floor is split by CPU time: a session gets its
processes' CPU seconds (user + system, finished children included) over the machine's busy CPU
seconds. Label: CPU_TIME. Without CPU times (attribution off, or unreadable), the sessions share
the CPU equally: CPU_WHOLE.

A manual session measures "everything else": it gets what the tool sessions did not (the whole
machine when it is alone). Label: WHOLE_MACHINE. With per-process attribution turned off, every
session is a manual-like whole-machine session, shared equally when several are open.

For later integration (per-generation energy, ...): a session's stored samples hold its
*attributed* power (share x measured power), so integrating a session's samples gives its
attributed energy; `OpenSession.shares` holds the last interval's fraction per source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tray_app.measure.monitor import Snapshot, SourceState
from tray_app.measure.processes import CpuTimes
from tray_app.measure.sensors.base import Kind
from tray_app.sessions.labels import (
    CPU_TIME,
    CPU_WHOLE,
    GPU_EQUAL,
    GPU_UNAVAILABLE,
    GPU_UTILISATION,
    WHOLE_MACHINE,
    weakest,
)

# The CPU idle floor is learned only while the machine is this idle (busy CPU / all CPU time).
FLOOR_LEARN_BUSY = 0.05


@dataclass(frozen=True, slots=True)
class Party:
    """What the split needs to know of an open session."""

    key: tuple[str, int]
    pids: frozenset[int]
    gpu_indices: frozenset[int]  # from detection; used only when the driver lists no processes
    manual: bool = False


@dataclass(slots=True)
class Share:
    """One session's part of one interval."""

    fractions: dict[str, float] = field(default_factory=dict)  # source -> fraction of its energy
    gpu: str | None = None  # how its GPU part was decided (None: it uses no GPU)
    cpu: str | None = None
    # CPU source -> joules to add to (or take from) fraction x this interval's energy: at the end
    # of a CPU-times window, what sets the window's provisional parts right (see Attributor).
    adjust_j: dict[str, float] = field(default_factory=dict)


def gpu_index(src: SourceState) -> int | None:
    if src.source.startswith("nvidia:"):
        try:
            return int(src.source.split(":", 1)[1])
        except ValueError:
            return None
    return None


def holds(src: SourceState, pids: frozenset[int], gpu_indices: frozenset[int]) -> bool:
    """Does a program with these pids use this GPU? Known from the process list when there is
    one (absent = no context there), else from detection's GPU indices (none known = every GPU)."""
    if src.processes is not None:
        return any(p.pid in pids for p in src.processes)
    return not gpu_indices or gpu_index(src) in gpu_indices


class Attributor:
    """Splits each interval. CPU times come in windows: the monitor reads them every few
    seconds (a snapshot between two reads carries the last read's `CpuTimes` object again). A
    CPU source's energy is split by CPU time over each window: between two reads each session
    gets its share of the last window provisionally, and the interval that ends a window adds
    what sets the window right (`Share.adjust_j`), so over every window a session gets exactly
    its CPU-time share of that window's energy. With one read per snapshot, a window is one
    interval and nothing is adjusted."""

    def __init__(self, per_process: bool = True) -> None:
        self.per_process = per_process
        self._cpu_floor: dict[str, float] = {}  # learned idle power per CPU source
        self._window: dict[str, tuple[float, float]] = {}  # CPU source -> (t, J) at the last read
        self._given: dict[tuple[tuple[str, int], str], float] = {}  # provisional J this window
        self._last: dict[tuple[tuple[str, int], str], float] = {}  # last window's fractions
        self._window_keys: frozenset[tuple[str, int]] = frozenset()  # sessions at its start

    def reset_window(self) -> None:
        """Forget the current window (after a pause: its intervals were not attributed)."""
        self._window.clear()
        self._given.clear()

    def split(self, prev: Snapshot, snap: Snapshot, parties: Sequence[Party]) -> dict[tuple[str, int], Share]:
        out = {p.key: Share() for p in parties}
        tools = [p for p in parties if not p.manual] if self.per_process else []
        others = [p for p in parties if p.manual] if self.per_process else list(parties)
        dt = snap.t - prev.t
        # Not read again since the previous snapshot: the window goes on.
        ongoing = snap.cpu_times is not None and snap.cpu_times is prev.cpu_times
        cpu = None if ongoing else self._cpu_seconds(prev.cpu_times, snap.cpu_times, tools)
        windows: dict[str, tuple[float, float]] = {}
        keys = self._window_keys
        if not ongoing:
            keys = frozenset(p.key for p in tools)
        # A session that opened within the window was not there for all of it: this window
        # is then this interval alone for everyone (the next ones are whole again).
        whole = keys <= self._window_keys
        self._window_keys = keys
        for src in snap.sources:  # the floor is learned whether a session is open or not
            if src.kind is Kind.CPU:
                self._learn_floor(src, None if cpu is None else cpu[1])
                if not ongoing:
                    start = self._window.get(src.source) if whole else None
                    if start is not None:  # (seconds, joules) since the last read
                        windows[src.source] = (snap.t - start[0], max(0.0, src.energy_j - start[1]))
                    self._window[src.source] = (snap.t, src.energy_j)
        if not ongoing:  # a new window: shares of sessions now closed are of no more use
            self._last = {k: v for k, v in self._last.items() if k[0] in keys}
            self._given = {k: v for k, v in self._given.items() if k[0] in keys}
        if not parties:
            return out
        for src in snap.sources:
            if src.kind is Kind.GPU:
                self._split_gpu(src, tools, out)
            elif ongoing:
                self._split_cpu_ongoing(src, prev, tools, out)
            else:
                self._split_cpu(src, prev, dt, cpu, tools, out, windows.get(src.source))
        # Manual sessions (and every session when attribution is off) share what is left.
        for src in snap.sources if others else ():
            left = 1.0 - sum(out[p.key].fractions.get(src.source, 0.0) for p in tools)
            users = [p for p in others
                     if p.manual or src.kind is Kind.CPU or holds(src, p.pids, p.gpu_indices)]
            adjusted = sum(out[p.key].adjust_j.get(src.source, 0.0) for p in tools)
            for p in users:
                share = out[p.key]
                share.fractions[src.source] = max(0.0, left) / len(users)
                if adjusted:  # what the tools' window adjustment gave them, the rest gave back
                    share.adjust_j[src.source] = -adjusted / len(users)
                if src.kind is Kind.GPU:
                    share.gpu = weakest(share.gpu, WHOLE_MACHINE)
                else:
                    share.cpu = weakest(share.cpu, WHOLE_MACHINE)
        return out

    # -- GPU ---------------------------------------------------------------------------------
    @staticmethod
    def _split_gpu(src: SourceState, tools: Sequence[Party], out: dict[tuple[str, int], Share]) -> None:
        if not tools:
            return
        if src.processes is None:
            users = [p for p in tools if holds(src, p.pids, p.gpu_indices)]
            for p in users:
                out[p.key].fractions[src.source] = 1.0 / len(users)
                out[p.key].gpu = weakest(out[p.key].gpu, GPU_UNAVAILABLE)
            return
        owner: dict[int, tuple[str, int]] = {}
        for p in tools:
            for proc in src.processes:
                if proc.pid in p.pids:
                    owner.setdefault(proc.pid, p.key)  # a pid is one session's, never two
        if not owner:
            return  # listed processes, none of a session's: this GPU is billed to no session
        weights: dict[object, float] = {}  # party (session key or foreign pid) -> SM %
        known = True
        for proc in src.processes:
            party: object = owner.get(proc.pid, proc.pid)
            if proc.sm_pct is None:
                known = False
            weights[party] = weights.get(party, 0.0) + (proc.sm_pct or 0.0)
        total = sum(weights.values())
        if len(weights) == 1:
            label = GPU_UTILISATION  # one program: it is the only possible user, exactly
            fractions = {k: 1.0 for k in weights}
        elif known and total > 0:
            label = GPU_UTILISATION
            fractions = {k: w / total for k, w in weights.items()}
        else:
            # Nobody used the SM (idle GPU holding models), or no per-process utilisation.
            label = GPU_UTILISATION if known else GPU_EQUAL
            fractions = {k: 1.0 / len(weights) for k in weights}
        for key in set(owner.values()):
            out[key].fractions[src.source] = fractions[key]
            out[key].gpu = weakest(out[key].gpu, label)

    # -- CPU ---------------------------------------------------------------------------------
    @staticmethod
    def _cpu_seconds(prev: CpuTimes | None, cur: CpuTimes | None, tools: Sequence[Party]
                     ) -> tuple[float, float | None, dict[tuple[str, int], float]] | None:
        """(machine busy s, busy fraction or None, session -> its CPU s) over the interval;
        None when there are no CPU times now (attribution off, or unreadable)."""
        if cur is None or cur.busy_s is None:
            return None
        if prev is None or prev.busy_s is None:
            # Watching just began (a tool was just detected): nobody's CPU time over this
            # interval is known, so none is counted, as for any process on its first interval.
            return 0.0, None, {p.key: 0.0 for p in tools}
        busy = max(0.0, cur.busy_s - prev.busy_s)
        total = None
        if prev.total_s is not None and cur.total_s is not None:
            total = cur.total_s - prev.total_s
        fraction = busy / total if total and total > 0 else None
        per: dict[tuple[str, int], float] = {}
        for p in tools:
            s = 0.0
            for pid in p.pids:
                a, b = prev.by_pid.get(pid), cur.by_pid.get(pid)
                if a is not None and b is not None and b > a:
                    s += b - a
            per[p.key] = s
        return busy, fraction, per

    @staticmethod
    def _interval_j(src: SourceState, prev: Snapshot) -> float:
        before = next((s for s in prev.sources if s.source == src.source), None)
        return max(0.0, src.energy_j - before.energy_j) if before is not None else 0.0

    def _split_cpu_ongoing(self, src: SourceState, prev: Snapshot, tools: Sequence[Party],
                           out: dict[tuple[str, int], Share]) -> None:
        """Inside a CPU-times window: the last window's shares, for now (set right at its end)."""
        de = self._interval_j(src, prev)
        for p in tools:
            key = (p.key, src.source)
            fraction = self._last.get(key, 0.0)
            self._given[key] = self._given.get(key, 0.0) + fraction * de
            out[p.key].fractions[src.source] = fraction
            out[p.key].cpu = weakest(out[p.key].cpu, CPU_TIME)

    def _split_cpu(self, src: SourceState, prev: Snapshot, dt: float,
                   cpu: tuple[float, float | None, dict[tuple[str, int], float]] | None,
                   tools: Sequence[Party], out: dict[tuple[str, int], Share],
                   window: tuple[float, float] | None = None) -> None:
        """A window ends with this interval (or CPU times are unknown): split its energy.
        `window`: (seconds, joules) of this source since the window began; None: this interval
        is the window."""
        if not tools:
            return
        if cpu is None:
            for p in tools:
                out[p.key].fractions[src.source] = 1.0 / len(tools)
                out[p.key].cpu = weakest(out[p.key].cpu, CPU_WHOLE)
            return
        busy, _fraction, per = cpu
        de = tick_j = self._interval_j(src, prev)
        if window is not None:
            dt, de = window
        floor_w = self._cpu_floor.get(src.source)
        floor_j = min(de, floor_w * dt) if floor_w is not None and dt > 0 else 0.0
        floor_part = floor_j / de if de > 0 else 1.0  # no energy: the split is moot, keep it fair
        used = sum(per.values())
        denominator = max(busy, used)  # a child's whole life may arrive at once: never above 1
        for p in tools:
            dyn = per[p.key] / denominator if denominator > 0 else 0.0
            fraction = (1.0 - floor_part) * dyn + floor_part / (len(tools) + 1)
            key = (p.key, src.source)
            given = self._given.pop(key, 0.0)
            self._last[key] = fraction
            out[p.key].fractions[src.source] = fraction
            if window is not None:
                # The window's part of its energy, less what its earlier intervals gave.
                out[p.key].adjust_j[src.source] = fraction * (de - tick_j) - given
            out[p.key].cpu = weakest(out[p.key].cpu, CPU_TIME)

    def _learn_floor(self, src: SourceState, busy_fraction: float | None) -> None:
        """The package's idle floor: the lowest power it drew, rising slowly only while the
        machine is known to be nearly idle (a long compile must never become the floor). A first
        reading taken while the machine is known busy is not a floor: until one is, everything
        goes by CPU time."""
        if src.power_w is None:
            return
        old = self._cpu_floor.get(src.source)
        idle = busy_fraction is not None and busy_fraction <= FLOOR_LEARN_BUSY
        if old is None:
            if busy_fraction is None or idle:
                self._cpu_floor[src.source] = src.power_w
        elif src.power_w < old:
            self._cpu_floor[src.source] = src.power_w
        elif idle:
            self._cpu_floor[src.source] = old + 0.05 * (src.power_w - old)
