"""CPU time of the tools' processes and of the whole machine, for splitting the CPU's energy.

One `ProcessCpu.read()` per snapshot costs one read of the machine's CPU times (/proc/stat on
Linux) and one of each watched process (/proc/<pid>/stat): the tools' pids that detection found,
nothing else. There is no scan of every process; with nothing watched, a read costs nothing.

A process's figure includes the CPU time of its children that have exited and been waited for
(a tool's short-lived helpers), so the tool's whole process tree is counted: its live workers are
watched pids themselves (detection groups them), its finished helpers arrive with their parent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psutil


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """Cumulative CPU seconds at one instant (differences between two of them make sense)."""

    busy_s: float | None  # the machine's busy CPU time, all cores; None when unreadable
    total_s: float | None  # the machine's CPU time, idle included (busy / total = how busy)
    by_pid: Mapping[int, float]  # each watched process that could be read (user + system)


def machine_seconds(times: Any) -> tuple[float, float]:
    """(busy, total) CPU seconds from psutil.cpu_times(). Busy: everything but idle, I/O wait
    and time stolen by a hypervisor; guest time is already inside user time on Linux."""
    guest = sum(getattr(times, f, 0.0) for f in ("guest", "guest_nice"))
    total = float(sum(times)) - guest
    idle = sum(getattr(times, f, 0.0) for f in ("idle", "iowait", "steal"))
    return total - idle, total


class ProcessCpu:
    """Reads the CPU time of the watched pids and of the machine; never raises."""

    def __init__(
        self,
        cpu_times: Callable[[], Any] = psutil.cpu_times,
        process: Callable[[int], Any] = psutil.Process,
    ) -> None:
        self._cpu_times = cpu_times
        self._process = process
        self._procs: dict[int, Any] = {}  # pid -> psutil.Process, kept between reads
        self.reads = 0  # for tests and benchmarks: how many processes were read in all

    @property
    def watched(self) -> frozenset[int]:
        return frozenset(self._procs)

    def watch(self, pids: Iterable[int]) -> None:
        """Watch exactly these pids from now on (the tools' processes, from detection)."""
        wanted = {int(p) for p in pids if int(p) > 0}
        for pid in self._procs.keys() - wanted:
            del self._procs[pid]
        for pid in wanted - self._procs.keys():
            try:
                self._procs[pid] = self._process(pid)
            except (psutil.Error, OSError, ValueError):
                continue  # gone already: nothing to count

    def read(self) -> CpuTimes | None:
        """The times now, or None when no process is watched (then nothing is read)."""
        if not self._procs:
            return None
        busy: float | None = None
        total: float | None = None
        try:
            times = self._cpu_times()
            busy, total = machine_seconds(times)
        except (psutil.Error, OSError, AttributeError, TypeError):
            pass
        by_pid: dict[int, float] = {}
        for pid, proc in list(self._procs.items()):
            self.reads += 1
            try:
                t = proc.cpu_times()
            except (psutil.Error, OSError):
                del self._procs[pid]  # exited: its last figure was counted at the last read
                continue
            by_pid[pid] = (
                t.user + t.system + getattr(t, "children_user", 0.0) + getattr(t, "children_system", 0.0)
            )
        return CpuTimes(busy, total, by_pid)
