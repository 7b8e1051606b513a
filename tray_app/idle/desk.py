"""The engine's idle-waste part: detection every snapshot, releases asked off the sampling
thread, their 30 s watch, and the energy freeing saved.

Runs in the engine's worker. The only I/O (the HTTP request to the tool) runs in a short-lived
thread that hands its answer back through `submit` (the engine's command queue), so a hung tool
never delays a sample. The watch reads the same snapshots the sessions use: no extra sensor read.

Saved energy is an estimate and says so: after a release that lowered the draw by `drop_w`, every
second the tool stays loaded-free and idle counts `drop_w` joules saved, until it generates
again (it reloads its model), exits, or a day has passed. It is written to the session that was
open for that tool (`saved_wh`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tray_app.idle.release import (
    Answer,
    Outcome,
    Target,
    Watch,
    candidate_ports,
    listening_ports,
    outcome,
    send,
)
from tray_app.idle.waste import IdleWaste, IdleWasteDetector
from tray_app.measure.monitor import Snapshot
from tray_app.measure.sensors.base import Kind

log = logging.getLogger(__name__)

SAVED_MAX_S = 24 * 3600.0
SAVED_WRITE_EVERY_S = 60.0


class ToolInfo(Protocol):
    """What the desk needs of a detected tool (detect.scanner.DetectedTool fits)."""

    @property
    def tool(self) -> str: ...

    @property
    def pid(self) -> int: ...

    @property
    def pids(self) -> tuple[int, ...]: ...

    @property
    def port(self) -> int | None: ...

    def display_name(self) -> str: ...


class SavedStore(Protocol):
    def update_session(self, session_id: int, **fields: Any) -> None: ...


@dataclass(slots=True)
class _Pending:
    target: Target
    session_id: int | None
    reason: str  # "user" | "auto"
    watch: Watch
    gpus: tuple[str, ...]  # the GPU sources it held before: their power is watched
    answer: Answer | None = None
    watching: bool = False  # the window started (at the first snapshot after the answer)


@dataclass(slots=True)
class _Saving:
    key: tuple[str, int]
    session_id: int
    drop_w: float
    since: float
    last: float
    base_wh: float  # what the session had saved before this release
    saved_j: float = 0.0
    written: float = 0.0


def tool_gpus(snap: Snapshot, pids: Iterable[int]) -> tuple[str, ...]:
    """The GPU sources on which these pids hold memory now."""
    wanted = set(pids)
    return tuple(
        src.source for src in snap.sources
        if src.kind is Kind.GPU and any(pid in wanted for pid, _mb in src.process_memory_mb or ())
    )


def tool_memory(
    snap: Snapshot, pids: Iterable[int], gpus: Iterable[str] | None = None
) -> tuple[float | None, float | None]:
    """(watts of `gpus` — by default the GPUs these pids are on —, MiB the pids hold); None
    where unknown. Pass the GPUs seen before a release: a tool that let go of a GPU entirely is
    no longer on it, but that GPU's power is exactly what we want to see fall."""
    wanted = set(pids)
    watched = set(gpus) if gpus is not None else set(tool_gpus(snap, wanted))
    watts: list[float] = []
    memory: float | None = 0.0
    seen = False  # could we see a process list at all?
    for src in snap.sources:
        if src.kind is not Kind.GPU:
            continue
        seen = seen or src.process_memory_mb is not None
        if src.source in watched and src.power_w is not None:
            watts.append(src.power_w)
        mine = [mb for pid, mb in (src.process_memory_mb or ()) if pid in wanted]
        known = [mb for mb in mine if mb is not None]
        if memory is not None and mine:
            memory = memory + sum(known) if len(known) == len(mine) else None
    return (sum(watts) if watts else None), (memory if seen else None)


class IdleDesk:
    def __init__(
        self,
        submit: Callable[[Callable[[], None]], None],
        store: SavedStore | None = None,
        idle_waste_min: float = 10.0,
        idle_power_w: float = 0.0,
        window_s: float | None = None,
        sender: Callable[[Target, Sequence[int]], Answer] = send,
    ) -> None:
        from tray_app.idle.release import WINDOW_S

        self.detector = IdleWasteDetector(idle_waste_min, idle_power_w)
        self._submit = submit
        self._store = store
        self.window_s = WINDOW_S if window_s is None else window_s
        self._send = sender
        self._pending: dict[tuple[str, int], _Pending] = {}
        self._saving: dict[tuple[str, int], _Saving] = {}
        self._saved_wh: dict[int, float] = {}  # per session, all releases so far
        self.finished: list[Outcome] = []  # drained by the engine (listener, store)
        self.last_outcome: Outcome | None = None
        self._auto_done: set[tuple[str, int, float]] = set()  # (tool, pid, waste since)
        # The last session seen open per tool: the tracker may have split an idle session
        # before the user frees; what freeing saves still belongs to that tool's last session.
        self._last_session: dict[tuple[str, int], int] = {}

    @property
    def current(self) -> tuple[IdleWaste, ...]:
        return self.detector.current

    def busy(self, key: tuple[str, int]) -> bool:
        return key in self._pending

    def busy_any(self) -> bool:
        return bool(self._pending)

    def configure(self, idle_waste_min: float, idle_power_w: float) -> None:
        self.detector.configure(idle_waste_min, idle_power_w)

    # ---- every snapshot ------------------------------------------------------------------------
    def step(
        self,
        snap: Snapshot,
        tools: Mapping[tuple[str, int], ToolInfo],
        sessions: Mapping[tuple[str, int], int],
        auto_free: bool = False,
    ) -> None:
        """Detect, watch releases in flight, count what freeing saved. `sessions`: tool key ->
        the id of its open session. Cheap: no I/O."""
        if snap.paused:
            return
        self._last_session.update(sessions)
        for key in [k for k in self._last_session if k not in tools]:
            del self._last_session[key]  # the tool exited
        labels = {k: t.display_name() for k, t in tools.items()}
        self.detector.update(snap.wall, snap.sources, tools.values(), labels)
        for key, job in list(self._pending.items()):
            if job.answer is None:
                continue  # still asking
            if job.answer.accepted:
                if not job.watching:  # the window starts at the answer: the tool unloads after it
                    job.watching, job.watch.started = True, snap.wall
                watts, memory = tool_memory(snap, job.target.pids or (job.target.pid,), job.gpus)
                job.watch.add(snap.wall, watts, memory)
                if not job.watch.done(snap.wall):
                    continue
            self._finish(key, job, snap.wall)
        self._count_saved(snap, tools)
        marks = {(w.tool, w.pid, w.since) for w in self.detector.current}
        self._auto_done &= marks  # an idle stretch that ended needs no memory
        if auto_free:
            for waste in self.detector.current:
                mark = (waste.tool, waste.pid, waste.since)
                if waste.due and mark not in self._auto_done and waste.key not in self._pending:
                    self._auto_done.add(mark)  # once per idle stretch, whatever the answer
                    tool = tools.get(waste.key)
                    if tool is not None:
                        self.request(tool, sessions.get(waste.key), "auto", snap)

    # ---- asking --------------------------------------------------------------------------------
    def request(self, tool: ToolInfo, session_id: int | None, reason: str, snap: Snapshot | None) -> bool:
        """Ask `tool` to free its memory (worker thread). False when one is already in flight."""
        key = (tool.tool, tool.pid)
        if key in self._pending:
            return False
        session_id = session_id if session_id is not None else self._last_session.get(key)
        pids = tuple(tool.pids or (tool.pid,))
        target = Target(tool.tool, tool.display_name(), tool.pid, pids, tool.port)
        waste = next((w for w in self.detector.current if w.key == key), None)
        before_w: float | None
        before_mb: float | None
        gpus: tuple[str, ...] = ()
        if waste is not None:
            before_w, before_mb, gpus = waste.power_w, waste.holding_mb, waste.gpus
        elif snap is not None:
            gpus = tool_gpus(snap, pids)
            before_w, before_mb = tool_memory(snap, pids, gpus)
        else:
            before_w = before_mb = None
        started = snap.wall if snap is not None else 0.0
        watch = Watch(before_w, before_mb, started, self.window_s)
        job = _Pending(target, session_id, reason, watch, gpus)
        self._pending[key] = job
        threading.Thread(target=self._ask, args=(key, job), name="release", daemon=True).start()
        return True

    def _ask(self, key: tuple[str, int], job: _Pending) -> None:
        """In the short-lived thread: the only I/O, bounded by the request's deadline."""
        try:
            listening = () if job.target.port else listening_ports(job.target.pids)
            answer = self._send(job.target, candidate_ports(job.target, listening))
        except Exception as exc:  # whatever happens, the worker hears back
            log.exception("asking %s to free its memory failed", job.target.tool)
            answer = Answer(None, None, False, str(exc))
        self._submit(lambda: self._answered(key, job, answer))

    def _answered(self, key: tuple[str, int], job: _Pending, answer: Answer) -> None:
        if self._pending.get(key) is job:
            job.answer = answer

    def _finish(self, key: tuple[str, int], job: _Pending, now: float) -> None:
        del self._pending[key]
        result = outcome(job.target, job.answer or Answer(None, None, False), job.watch)
        self.finished.append(result)
        self.last_outcome = result
        drop = result.drop_w
        if result.accepted and result.power_fell and drop and job.session_id and job.session_id > 0:
            base = self._saved_wh.get(job.session_id, 0.0)
            self._saving[key] = _Saving(key, job.session_id, drop, now, now, base)

    # ---- saved energy --------------------------------------------------------------------------
    def _count_saved(self, snap: Snapshot, tools: Mapping[tuple[str, int], ToolInfo]) -> None:
        for key, sv in list(self._saving.items()):
            tool = tools.get(key)
            dt = max(0.0, snap.wall - sv.last)
            sv.last = snap.wall
            generating = tool is not None and self._generating(snap, tool)
            if tool is None or generating or snap.wall - sv.since >= SAVED_MAX_S:
                self._write_saved(sv, final=True)
                del self._saving[key]
                continue
            sv.saved_j += sv.drop_w * dt
            if snap.wall - sv.written >= SAVED_WRITE_EVERY_S:
                self._write_saved(sv)

    @staticmethod
    def _generating(snap: Snapshot, tool: ToolInfo) -> bool:
        pids = set(tool.pids or (tool.pid,))
        return any(
            src.kind is Kind.GPU and src.busy and pids & set(src.pids or ())
            for src in snap.sources
        )

    def _write_saved(self, sv: _Saving, final: bool = False) -> None:
        sv.written = sv.last
        total = sv.base_wh + sv.saved_j / 3600.0
        self._saved_wh[sv.session_id] = total
        if self._store is not None:
            try:
                self._store.update_session(sv.session_id, saved_wh=total)
            except Exception as exc:  # noqa: BLE001 - a lost figure must not stop monitoring
                log.warning("could not record the energy saved: %s", exc)

    def saved_wh(self, session_id: int) -> float | None:
        """Saved so far in a session (counting the release still being counted)."""
        total = self._saved_wh.get(session_id)
        for sv in self._saving.values():
            if sv.session_id == session_id:
                total = sv.base_wh + sv.saved_j / 3600.0
        return total

    def flush(self) -> None:
        """At shutdown: write what was counted."""
        for sv in self._saving.values():
            self._write_saved(sv, final=True)
        self._saving.clear()
