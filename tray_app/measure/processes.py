"""CPU time of the tools' processes and of the whole machine, for splitting the CPU's energy.

One `ProcessCpu.read()` per snapshot costs one read of the machine's CPU times (/proc/stat on
Linux) and one of each watched process (/proc/<pid>/stat): the tools' pids that detection found,
nothing else. There is no scan of every process; with nothing watched, a read costs nothing.

A process's figure includes the CPU time of its children that have exited and been waited for
(a tool's short-lived helpers), so the tool's whole process tree is counted: its live workers are
watched pids themselves (detection groups them), its finished helpers arrive with their parent.

On Linux the files are kept open and re-read from offset 0 (one pread each a tick, instead of
psutil's open/read/close and parsing): this runs every second of a session. An open
/proc/<pid>/stat belongs to that process only: once it exits, reading fails (ESRCH), so a reused
pid is never mistaken for the tool.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psutil

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


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


class _ProcStat:
    """/proc/<pid>/stat (or /proc/stat) kept open; `cpu_times()` re-reads it with one pread."""

    __slots__ = ("fd", "machine")

    def __init__(self, path: str, machine: bool = False) -> None:
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self.machine = machine

    def cpu_times(self) -> Any:
        data = os.pread(self.fd, 1024, 0)
        if self.machine:  # "cpu  user nice system idle iowait irq softirq steal guest guest_nice"
            values = [int(v) / _TICK for v in data.split(b"\n", 1)[0].split()[1:]]
            return _MachineTimes(values)
        # Fields after the command name (which may hold spaces and parentheses): utime is the
        # 12th, then stime, cutime, cstime, in clock ticks.
        fields = data[data.rindex(b")") + 2:].split()
        return _ProcTimes(*(int(v) / _TICK for v in fields[11:15]))

    def close(self) -> None:
        os.close(self.fd)


class _MachineTimes(tuple):
    """psutil.cpu_times()'s fields, by name, from /proc/stat's first line."""

    _NAMES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice")

    def __new__(cls, values: list[float]) -> _MachineTimes:
        return super().__new__(cls, values)

    def __getattr__(self, name: str) -> float:
        try:
            i = self._NAMES.index(name)
        except ValueError:
            raise AttributeError(name) from None
        return self[i] if i < len(self) else 0.0


@dataclass(frozen=True, slots=True)
class _ProcTimes:
    user: float
    system: float
    children_user: float
    children_system: float


def _fast_proc() -> bool:
    return os.path.exists("/proc/self/stat") and os.path.exists("/proc/stat")


class ProcessCpu:
    """Reads the CPU time of the watched pids and of the machine; never raises."""

    def __init__(
        self,
        cpu_times: Callable[[], Any] | None = None,
        process: Callable[[int], Any] | None = None,
    ) -> None:
        # Linux with the defaults: kept-open /proc files; otherwise (or when given) psutil's.
        fast = cpu_times is None and process is None and _fast_proc()
        self._machine: _ProcStat | None = None
        if fast:
            try:
                self._machine = _ProcStat("/proc/stat", machine=True)
            except OSError:
                fast = False
        self._cpu_times = self._machine.cpu_times if self._machine else (cpu_times or psutil.cpu_times)
        self._process = (lambda pid: _ProcStat(f"/proc/{pid}/stat")) if fast else (process or psutil.Process)
        self._procs: dict[int, Any] = {}  # pid -> psutil.Process, kept between reads
        self.reads = 0  # for tests and benchmarks: how many processes were read in all

    @property
    def watched(self) -> frozenset[int]:
        return frozenset(self._procs)

    def watch(self, pids: Iterable[int]) -> None:
        """Watch exactly these pids from now on (the tools' processes, from detection)."""
        wanted = {int(p) for p in pids if int(p) > 0}
        for pid in self._procs.keys() - wanted:
            self._forget(pid)
        for pid in wanted - self._procs.keys():
            try:
                self._procs[pid] = self._process(pid)
            except (psutil.Error, OSError, ValueError):
                continue  # gone already: nothing to count

    def _forget(self, pid: int) -> None:
        proc = self._procs.pop(pid)
        if isinstance(proc, _ProcStat):
            proc.close()

    def close(self) -> None:
        for pid in list(self._procs):
            self._forget(pid)
        if self._machine is not None:
            self._machine.close()
            self._machine = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown: nothing left to do
            pass

    def read(self) -> CpuTimes | None:
        """The times now, or None when no process is watched (then nothing is read)."""
        if not self._procs:
            return None
        busy: float | None = None
        total: float | None = None
        try:
            times = self._cpu_times()
            busy, total = machine_seconds(times)
        except (psutil.Error, OSError, AttributeError, TypeError, ValueError):
            pass
        by_pid: dict[int, float] = {}
        for pid, proc in list(self._procs.items()):
            self.reads += 1
            try:
                t = proc.cpu_times()
            except (psutil.Error, OSError, ValueError):
                self._forget(pid)  # exited: its last figure was counted at the last read
                continue
            by_pid[pid] = (
                t.user + t.system + getattr(t, "children_user", 0.0) + getattr(t, "children_system", 0.0)
            )
        return CpuTimes(busy, total, by_pid)
