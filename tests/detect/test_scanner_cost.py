"""What each scan costs, counted on a fake process table: the expensive reads happen only for
new processes, only for interpreters, and model maps only for GPU processes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tray_app.detect import Scanner
from tray_app.detect.scanner import LinuxProcSource, PsutilProcSource


@dataclass
class Proc:
    comm: str
    argv: list[str] = field(default_factory=list)
    ppid: int = 1
    start: float = 0.0
    cwd: str = "/"
    exe: str | None = None
    model: str | None = None
    kernel: bool = False


class FakeSource:
    """A process table in a dict; counts every question asked."""

    def __init__(self, procs: dict[int, Proc]) -> None:
        self.procs = procs
        self.calls: Counter[str] = Counter()

    def pids(self):
        self.calls["pids"] += 1
        return list(self.procs)

    def _get(self, what: str, pid: int) -> Proc | None:
        self.calls[what] += 1
        return self.procs.get(pid)

    def stat(self, pid):
        p = self._get("stat", pid)
        return (p.comm, p.ppid, p.start, p.kernel) if p else None

    def cmdline(self, pid):
        p = self._get("cmdline", pid)
        return list(p.argv) if p else None

    def cwd(self, pid):
        p = self._get("cwd", pid)
        return p.cwd if p else None

    def exe(self, pid):
        p = self._get("exe", pid)
        return (p.exe or (p.argv[0] if p.argv else None)) if p else None

    def model_file(self, pid):
        p = self._get("model_file", pid)
        return p.model if p else None


PY = "/usr/bin/python3.12"


@pytest.fixture
def table(tool_layout):
    root = tool_layout("comfyui")
    procs = {
        1: Proc("systemd", ["/sbin/init"]),
        2: Proc("kthreadd", [], ppid=0, kernel=True),
        50: Proc("bash", ["/bin/bash"]),
        60: Proc("Xorg", ["/usr/lib/Xorg"]),
        70: Proc("python3", [PY, "/usr/bin/some-daemon"]),
        100: Proc("python3", [PY, "main.py", "--port", "8190"], ppid=50, cwd=str(root)),
    }
    procs.update({1000 + i: Proc("kworker/0:1", [], ppid=2, kernel=True) for i in range(50)})
    return procs, root


def make(procs, **kwargs):
    source = FakeSource(procs)
    now = [100.0]
    kwargs.setdefault("young_s", 0.0)
    scanner = Scanner(source=source, clock=lambda: now[0], wall_clock=lambda: 10_000.0, **kwargs)
    return scanner, source, now


def test_steady_state_reads_only_the_pid_list_and_the_tools(table):
    procs, root = table
    scanner, source, now = make(procs)
    assert [t.tool for t in scanner.scan()] == ["comfyui"]
    # First sight: one stat each; command lines only for the interpreters (never kernel threads).
    assert source.calls["stat"] == len(procs)
    assert source.calls["cmdline"] == 2
    assert source.calls["model_file"] == 0
    source.calls.clear()
    now[0] += 5
    assert [t.tool for t in scanner.scan()] == ["comfyui"]
    assert source.calls == Counter({"pids": 1, "stat": 1})  # the tool: still the same process?


def test_a_new_non_interpreter_costs_a_stat_and_an_exe_link(table):
    procs, _ = table
    scanner, source, now = make(procs)
    scanner.scan()
    source.calls.clear()
    procs[200] = Proc("ls", ["/bin/ls", "-l", "/home/u/ComfyUI/main.py"], ppid=50)
    now[0] += 5
    scanner.scan()
    assert source.calls["cmdline"] == 0 and source.calls["exe"] == 1


def test_shells_and_interpreters_are_rechecked_only_at_the_slow_cadence(table):
    procs, _ = table
    scanner, source, now = make(procs, recheck_s=15)
    scanner.scan()
    for _ in range(2):
        source.calls.clear()
        now[0] += 5
        scanner.scan()
        assert source.calls["stat"] == 1  # only the tool
    source.calls.clear()
    now[0] += 5  # 15 s since the first scan
    scanner.scan()
    # bash and the python daemon: a stat each; the daemon's command line (has it exec'd?).
    assert source.calls["stat"] == 1 + 2 and source.calls["cmdline"] == 1


def test_renamed_python_is_recognised_by_its_executable(table):
    procs, root = table
    # PyTorch renames the main thread: comm becomes pt_main_thread; setproctitle can go further.
    procs[100].comm = "pt_main_thread"
    procs[101] = Proc("comfy-worker", [PY, "main.py"], ppid=1, cwd=str(root), exe=PY)
    scanner, _, _ = make(procs)
    assert sorted(t.pid for t in scanner.scan()) == [100, 101]


def test_a_reused_pid_is_a_new_process(table):
    procs, _ = table
    scanner, source, now = make(procs)
    assert scanner.scan()[0].pid == 100
    procs[100] = Proc("bash", ["/bin/bash"], start=50.0)  # exited, pid taken by another process
    now[0] += 5
    assert scanner.scan() == []


def test_parent_chain_ignores_a_parent_that_started_after_the_child(table):
    procs, root = table
    procs[100].start = 10.0
    procs[300] = Proc("python3", [PY, "main.py"], ppid=100, cwd=str(root), start=5.0)
    scanner, _, _ = make(procs)
    assert sorted(t.pid for t in scanner.scan()) == [100, 300]  # two instances, not one


def test_model_maps_are_read_only_for_gpu_pythons_and_not_every_scan(table):
    procs, _ = table
    procs[70].model = None
    scanner, source, now = make(procs, maps_recheck_s=30)
    scanner.scan({70: {0}, 60: {0}})  # Xorg holds a GPU context too: not python, never read
    assert source.calls["model_file"] == 1
    source.calls.clear()
    now[0] += 5
    procs[70].model = "/m/sdxl.safetensors"
    assert [t.tool for t in scanner.scan({70: {0}})] == ["comfyui"]  # maps not re-read yet
    assert source.calls["model_file"] == 0
    now[0] += 30
    found = scanner.scan({70: {0}})
    assert [(t.tool, t.pid) for t in found if t.tool == "diffusers"] == [("diffusers", 70)]
    assert source.calls["model_file"] == 1
    source.calls.clear()
    now[0] += 60
    procs[70].model = None  # weights copied to the GPU and unmapped: still the same run
    assert any(t.tool == "diffusers" for t in scanner.scan({70: {0}}))
    assert source.calls["model_file"] == 0


def test_a_gpu_worker_of_a_known_tool_is_never_a_separate_diffusers_run(table):
    procs, root = table
    procs[110] = Proc("python3", [PY, "-c", "from multiprocessing.spawn import spawn_main"],
                      ppid=100, start=1.0, model="/m/x.safetensors")
    scanner, source, _ = make(procs)
    found = scanner.scan({110: {1}})
    assert [(t.tool, t.pids, t.gpu_indices) for t in found] == [
        ("comfyui", (100, 110), frozenset({1}))]
    assert source.calls["model_file"] == 0


def test_both_sources_read_this_process_alike():
    import os
    import sys

    linux, portable = LinuxProcSource(), PsutilProcSource()
    me = os.getpid()
    a, b = linux.stat(me), portable.stat(me)
    assert a[:2] == b[:2] and abs(a[2] - b[2]) < 0.05 and a[3] is b[3] is False
    assert linux.cmdline(me) == portable.cmdline(me)
    assert linux.cwd(me) == portable.cwd(me) == os.getcwd()
    assert Path(linux.exe(me)).resolve() == Path(sys.executable).resolve()
    assert linux.stat(2**22 + 7) is None and portable.cmdline(2**22 + 7) is None
    assert linux.model_file(me) is None


def test_a_failing_process_list_gives_no_tools_and_no_error(table):
    procs, _ = table
    scanner, source, now = make(procs)
    assert len(scanner.scan()) == 1

    def broken():
        raise PermissionError("/proc is not readable")

    source.pids = broken
    now[0] += 5
    assert scanner.scan() == []


@pytest.mark.parametrize("comm", ["python3", "invokeai-web"])
def test_a_process_caught_mid_exec_is_looked_at_again(tool_layout, table, comm):
    procs, root = table
    invokeai = tool_layout("invokeai")
    argv = {"python3": [PY, "main.py"], "invokeai-web": [PY, str(invokeai / ".venv/bin/invokeai-web")]}
    procs[400] = Proc(comm, [], ppid=50, cwd=str(root), start=1.0)  # argv not there yet
    scanner, _, now = make(procs)
    assert [t.pid for t in scanner.scan()] == [100]
    procs[400].argv = argv[comm]
    now[0] += 5
    assert sorted(t.pid for t in scanner.scan()) == [100, 400]


def test_a_scan_scope_sees_only_its_trees_and_keeps_a_child_whose_parent_died(tool_layout):
    from tray_app.detect.scanner import ScopedProcSource, scan_scope

    root = tool_layout("comfyui")
    comfy = [PY, "main.py"]
    procs = {
        1: Proc("systemd", ["/sbin/init"], ppid=0),
        10: Proc("python3", [PY, "-m", "pytest"]),  # the scope's root: the test run
        11: Proc("bash", ["/bin/bash"], ppid=10),
        12: Proc("python3", comfy, ppid=11, cwd=str(root), start=5.0),  # the test's tool
        20: Proc("python3", comfy, cwd=str(root)),  # the developer's own ComfyUI
    }
    source = FakeSource(procs)
    scanner = Scanner(source=ScopedProcSource(source, scan_scope({"RAISON_GARDER_SCAN_SCOPE": "10"})))
    assert [t.pid for t in scanner.scan()] == [12]
    del procs[11]
    procs[12].ppid = 1  # its shell was killed: init adopts it, it is still the test's
    assert [t.pid for t in scanner.scan()] == [12]
    procs[30] = Proc("python3", comfy, cwd=str(root), start=6.0)  # reuses no pid of the scope
    assert [t.pid for t in scanner.scan()] == [12]


@pytest.mark.parametrize(("value", "scope"), [
    (None, None), ("", None), ("42", {42}), ("42, 7", {42, 7}), ("garbage", set()),
])
def test_the_scan_scope_variable_narrows_and_never_widens(value, scope):
    from tray_app.detect.scanner import scan_scope

    env = {} if value is None else {"RAISON_GARDER_SCAN_SCOPE": value}
    assert scan_scope(env) == (None if scope is None else frozenset(scope))
