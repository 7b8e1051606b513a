"""Idle waste: a tool left open with a model in GPU memory keeps the board out of its idle state
(50-70 W against ~10 W before launch, A1111 #9810, ComfyUI #3192). Over an evening that dwarfs
the images made; this module notices it.

A tool wastes when, on one of its GPUs, all of these hold for `idle_waste_min` minutes:
- it holds GPU memory (NVML's per-process used memory, at least HOLDING_MIN_MB: a bare CUDA
  context is a few hundred MiB, a model is gigabytes),
- no generation runs (the GPU's utilisation is known and low, and the tool's own queue, where it
  tells, is empty),
- the board draws clearly more than its idle floor: the `idle_power_w` setting, or the floor
  learned while no detected tool held a model on that GPU (none, or only a bare context, as
  right after freeing) — not the session tracker's floor, which slowly rises to absorb exactly
  this waste.

Pure: snapshots and tools in, `IdleWaste` figures out; time is the snapshot's wall clock, so tests
freeze it. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from tray_app.measure.monitor import SourceState
from tray_app.measure.sensors.base import Kind

HOLDING_MIN_MB = 1024.0
# "Clearly above" the floor: more than this many watts, and more than this share of the floor.
MARGIN_W = 10.0
MARGIN_FRAC = 0.25
FLOOR_RISE = 0.01  # the learned floor follows drops at once and rises this slowly
HOURS_PER_DAY = 24.0


class ToolLike(Protocol):
    """What the detector needs of a detected tool (detect.scanner.DetectedTool fits)."""

    @property
    def tool(self) -> str: ...

    @property
    def pid(self) -> int: ...

    @property
    def pids(self) -> tuple[int, ...]: ...


@dataclass(frozen=True, slots=True)
class IdleWaste:
    """One tool holding a GPU awake with nothing to do, as measured now."""

    key: tuple[str, int]  # (tool id, root pid), as the session tracker keys tools
    tool: str
    label: str
    pid: int
    gpus: tuple[str, ...]  # the GPU sources it holds, e.g. ("nvidia:0",)
    holding_mb: float | None  # None: the driver does not tell per process (Windows WDDM)
    power_w: float  # those GPUs draw now
    floor_w: float  # their idle floor
    since: float  # wall time the waste began
    idle_s: float  # seconds it has lasted
    due: bool  # lasted `idle_waste_min` minutes: worth a reminder (or an automatic release)

    @property
    def extra_w(self) -> float:
        """What holding the GPU costs: the draw above the idle floor."""
        return max(0.0, self.power_w - self.floor_w)

    @property
    def kwh_per_day(self) -> float:
        """What it would cost if left a whole day: the figure people can weigh."""
        return self.extra_w * HOURS_PER_DAY / 1000.0


class IdleWasteDetector:
    def __init__(self, idle_waste_min: float = 10.0, idle_power_w: float = 0.0) -> None:
        self.idle_waste_s = idle_waste_min * 60.0
        self.idle_power_w = idle_power_w  # 0: learn each GPU's floor
        self._floor: dict[str, float] = {}
        self._since: dict[tuple[str, int], float] = {}
        self.current: tuple[IdleWaste, ...] = ()

    def configure(self, idle_waste_min: float, idle_power_w: float) -> None:
        self.idle_waste_s = idle_waste_min * 60.0
        self.idle_power_w = idle_power_w

    def floor_w(self, source: str) -> float | None:
        """The idle floor used for a GPU source now; None while it is not known."""
        return self.idle_power_w or self._floor.get(source)

    def update(
        self,
        wall: float,
        sources: Sequence[SourceState],
        tools: Iterable[ToolLike],
        labels: Mapping[tuple[str, int], str] | None = None,
        generating: Mapping[tuple[str, int], bool] | None = None,
    ) -> tuple[IdleWaste, ...]:
        """One step per snapshot. `generating`: what a tool's own queue says (absent = it does
        not tell). Returns, and keeps in `current`, the tools wasting now (due or not yet)."""
        gpus = [s for s in sources if s.kind is Kind.GPU]
        if gpus and all(g.busy for g in gpus):
            # Every GPU works (most ticks of a session): nobody idles, no floor is learned.
            self._since.clear()
            self.current = ()
            return self.current
        tools = list(tools)
        tool_pids = {p for t in tools for p in (t.pids or (t.pid,))}
        self._learn_floor(gpus, tool_pids)
        wasting: list[IdleWaste] = []
        for t in tools:
            key = (t.tool, t.pid)
            found = None
            if not (generating or {}).get(key, False):
                found = self._measure(key, t, gpus, (labels or {}).get(key, t.tool), wall)
            if found is None:
                self._since.pop(key, None)
            else:
                wasting.append(found)
        keys = {w.key for w in wasting}
        for key in [k for k in self._since if k not in keys]:
            del self._since[key]
        self.current = tuple(wasting)
        return self.current

    def _learn_floor(self, gpus: Sequence[SourceState], tool_pids: set[int]) -> None:
        for g in gpus:
            if g.power_w is None or g.busy is not False or g.pids is None:
                continue  # unknown, working, or we cannot see who holds it: learn nothing
            held = [mb for pid, mb in g.process_memory_mb or () if pid in tool_pids]
            if any(mb is None for mb in held) or sum(mb or 0.0 for mb in held) >= HOLDING_MIN_MB:
                # A tool holds a model there: its draw is what we judge, not the floor. A tool
                # with a bare context (just started, or just freed) is the floor we can reach.
                continue
            old = self._floor.get(g.source)
            new = g.power_w if old is None or g.power_w < old else old + FLOOR_RISE * (g.power_w - old)
            self._floor[g.source] = new

    def _measure(
        self, key: tuple[str, int], tool: ToolLike, gpus: Sequence[SourceState], label: str, wall: float
    ) -> IdleWaste | None:
        pids = set(tool.pids or (tool.pid,))
        held: list[SourceState] = []
        holding_mb: float | None = 0.0
        for g in gpus:
            mine = [(pid, mb) for pid, mb in (g.process_memory_mb or ()) if pid in pids]
            if not mine:
                continue
            held.append(g)
            if any(mb is None for _pid, mb in mine):
                holding_mb = None  # the driver does not say how much: present, amount unknown
            elif holding_mb is not None:
                holding_mb += sum(mb for _pid, mb in mine if mb is not None)
        if not held or (holding_mb is not None and holding_mb < HOLDING_MIN_MB):
            return None
        power = floor = 0.0
        for g in held:
            base = self.floor_w(g.source)
            if g.busy is not False or g.power_w is None or base is None:
                return None  # working, or we cannot tell: say nothing rather than guess
            power += g.power_w
            floor += base
        if power - floor <= max(MARGIN_W, MARGIN_FRAC * floor):
            return None  # near the floor: holding memory costs (almost) nothing here
        since = self._since.setdefault(key, wall)
        idle_s = max(0.0, wall - since)
        return IdleWaste(
            key=key, tool=tool.tool, label=label, pid=tool.pid,
            gpus=tuple(g.source for g in held), holding_mb=holding_mb, power_w=power,
            floor_w=floor, since=since, idle_s=idle_s, due=idle_s >= self.idle_waste_s,
        )
