"""Launch each tool as its own process and account for what it costs.

Per process (its whole tree: Zeus's power monitor runs in spawned children):
  * CPU seconds over its whole life: `os.wait4` on the child (user + system, children that it
    reaped included), read by the harness, so nothing is asked of the tool itself;
  * CPU seconds inside the common measurement window [T0, T1]: the tree's CPU times sampled
    with psutil at T0 and T1 (start-up and import costs excluded), and at Ts, a few seconds
    after T0, for the steady rate once every tool's start call is over;
  * peak memory: the largest of the sampled tree-wide RSS sum (every 0.5 s) and wait4's
    ru_maxrss (the largest single process, which sampling may miss).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from benchmarks.compare_lib.isolation import is_scaffolding


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    cpu_marks: dict[str, float] = field(default_factory=dict)  # "t0"/"t1" -> tree CPU seconds
    peak_tree_rss: int = 0
    cpu_total_s: float | None = None
    maxrss_bytes: int | None = None
    returncode: int | None = None

    @property
    def peak_rss_bytes(self) -> int:
        return max(self.peak_tree_rss, self.maxrss_bytes or 0)

    def cpu_between(self, a: str, b: str) -> float | None:
        if a in self.cpu_marks and b in self.cpu_marks:
            return self.cpu_marks[b] - self.cpu_marks[a]
        return None

    @property
    def window_cpu_s(self) -> float | None:
        return self.cpu_between("t0", "t1")


def launch(name: str, argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> Child:
    log.parent.mkdir(parents=True, exist_ok=True)
    cwd.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    return Child(name, proc, log)


def sleep_until(t: float) -> None:
    while (left := t - time.monotonic()) > 0:
        time.sleep(min(left, 0.5))


def _tree(pid: int) -> list[psutil.Process]:
    """The process and its descendants, less the benchmark's scaffolding (see isolation.py)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return []
    kept = []
    for p in procs:
        try:
            if not is_scaffolding(p.name(), p.cmdline()):
                kept.append(p)
        except psutil.Error:
            continue
    return kept


def _schedstat_s(pid: int) -> float | None:
    """CPU seconds of a live process's threads from /proc/<pid>/task/*/schedstat (nanoseconds:
    /proc/<pid>/stat counts in 10 ms ticks, too coarse for a process that wakes every 5 s)."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    total = 0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that just ended (its time is in the tick figure below)
    return total / 1e9


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a live process tree, children already reaped included: the live threads'
    nanosecond counters where the kernel has them (or the larger tick figure, when threads have
    ended since and their time is only there), plus the reaped children's ticks."""
    total = 0.0
    for p in _tree(pid):
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        ticks = t.user + t.system
        precise = _schedstat_s(p.pid)
        own = ticks if precise is None or ticks > precise + 0.02 else precise
        total += own + t.children_user + t.children_system
    return total


def tree_rss(pid: int) -> int:
    total = 0
    for p in _tree(pid):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


class Watcher:
    """Samples the children's memory, and their CPU at the marks T0 and T1, in a thread."""

    def __init__(self, children: list[Child], marks: dict[str, float], period_s: float = 0.5):
        self.children = children
        self.marks = dict(marks)
        self.period_s = period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watcher", daemon=True)

    def add(self, child: Child) -> None:
        self.children.append(child)

    def start(self) -> Watcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for mark, at in list(self.marks.items()):
                if now >= at:
                    del self.marks[mark]
                    for c in list(self.children):
                        if c.returncode is None:
                            c.cpu_marks[mark] = tree_cpu_s(c.proc.pid)
            for c in list(self.children):
                if c.returncode is None:
                    c.peak_tree_rss = max(c.peak_tree_rss, tree_rss(c.proc.pid))
            due = [self.period_s, *(at - time.monotonic() for at in self.marks.values())]
            self._stop.wait(max(0.0, min(due)))


def reap(child: Child, deadline: float) -> None:
    """Wait for the child (killing it at `deadline`) and record wait4's accounting."""
    pid = child.proc.pid
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done == pid:
            break
        if time.monotonic() >= deadline:
            child.proc.kill()
            done, status, usage = os.wait4(pid, 0)
            break
        time.sleep(0.1)
    child.returncode = os.waitstatus_to_exitcode(status)
    child.proc.returncode = child.returncode  # reaped here: Popen must not wait again
    child.cpu_total_s = usage.ru_utime + usage.ru_stime
    child.maxrss_bytes = usage.ru_maxrss * 1024  # KiB on Linux
