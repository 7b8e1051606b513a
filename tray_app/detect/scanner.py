"""Find running diffusion tools from outside, within the app's tiny overhead budget.

The monitor calls `Scanner.scan(gpu_pids)` every few seconds. What one scan costs:

* Always: the list of pids (what `psutil.pids()` costs), a set difference, and one read of
  /proc/<pid>/stat per process already known to be a tool (to see it is still the same process).
* Per process we have never seen: one read of /proc/<pid>/stat (name, parent, start time), and
  only for interpreter-like processes the command line (and the working folder when the script
  path is relative). A verdict is cached per (pid, start time) and dropped when the pid exits.
* Processes that could still turn into a tool are looked at again, cheaply:
  - a process younger than `young_s` when first seen, or caught mid-exec (empty command line),
    is looked at again at the next scan (it may have been caught between fork and exec: same
    pid, the parent's name);
  - shells and launchers (`bash -c '... exec python main.py'`) and interpreters that are not a
    tool are re-read every `recheck_s`: a shell's name changes when it execs python, an
    interpreter's command line changes when it execs another script; only then is the process
    inspected again. So an exec into a tool is seen within `recheck_s` at worst.
* GPU processes (pid -> GPU indices, from NVML) that are python but no known tool are a plain
  diffusers run when:
  - the script they run (or the file of a `python -m` module in their working folder) imports
    diffusers: read once per process, at most MAX_SOURCE_BYTES. This is the signal that holds for
    a real script, which loads its weights, calls `pipe.to("cuda")` and has unmapped every
    weights file by the time NVML lists it;
  - or their memory maps (and open files) hold model weights (`.safetensors`, `.ckpt`, Hugging
    Face blobs): the expensive part, done only for those, once per `maps_recheck_s` until found.
  The verdict then sticks for the life of the process. Not recognised by themselves: Jupyter
  kernels (the notebook is not on the command line) and scripts that reach diffusers only through
  another module: a custom pattern or a manual session covers them (README, `doctor`).

A tool's children belong to it: a matched process whose ancestor is matched too (ComfyUI's
forked workers, `accelerate launch` and the training it starts, SwarmUI and its ComfyUI backend)
joins the ancestor's instance, and so do interpreter children that are no tool on their own
(multiprocessing spawn workers). Decision for SwarmUI: its ComfyUI backend is counted inside the
one SwarmUI detection (tool "swarmui", its pids and GPUs included), never as a second tool; a
ComfyUI under a SwarmUI folder with no SwarmUI parent is reported as "comfyui" with the variant
"swarmui-backend".

Nothing is stored: command lines are read, matched and dropped (a hash of an interpreter's
command line is kept to notice an exec, and in memory the path of the python file it runs, to be
read once should the process take a GPU). Nothing of a script's text is kept.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import psutil

from tray_app.detect import tools
from tray_app.detect.tools import (
    DIFFUSERS,
    DOTNET,
    PYTHON,
    TOOLS,
    CustomPattern,
    Launch,
    ToolMatch,
    ToolSpec,
    basename,
    custom_patterns,
    interpreter_kind,
)
from tray_app.system.i18n import _

# Programs that commonly exec the real tool: their name changes when they do.
SHELLS = frozenset(
    {"sh", "bash", "dash", "zsh", "fish", "ksh", "tcsh", "csh", "env", "nohup", "setsid",
     "timeout", "stdbuf", "nice", "ionice", "uv", "conda", "micromamba", "pixi", "exec"}
)
# PyTorch renames the main thread of a python process, and with it /proc/<pid>/comm.
_RENAMED_PYTHON = frozenset({"pt_main_thread"})
_MAX_DEPTH = 64  # parent-chain walks stop here (a loop-safe bound, real chains are short)


class ProcSource(Protocol):
    """What the scanner needs to know about processes; every method returns None when the
    process is gone or unreadable, and never raises."""

    def pids(self) -> Iterable[int]: ...

    def stat(self, pid: int) -> tuple[str, int, float, bool] | None:
        """(name, parent pid, start time in epoch seconds, is a kernel thread)."""
        ...

    def cmdline(self, pid: int) -> list[str] | None: ...

    def cwd(self, pid: int) -> str | None: ...

    def exe(self, pid: int) -> str | None: ...

    def model_file(self, pid: int) -> str | None:
        """A model weights file the process maps or holds open, if any."""
        ...


# `import diffusers`, `from diffusers import …`, `from diffusers.pipelines import …`, at any
# indentation (inside a function or an `if __name__ == "__main__":` block).
_DIFFUSERS_IMPORT = re.compile(rb"^[ \t]*(?:from[ \t]+diffusers\b|import[ \t]+(?:[\w.]+[ \t]*,[ \t]*)*diffusers\b)", re.M)
MAX_SOURCE_BYTES = 256 * 1024  # a script longer than this is read up to here


def imports_diffusers(path: str) -> bool:
    """True when the python file at `path` imports diffusers. One bounded read; the text is
    matched and dropped, never kept."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(MAX_SOURCE_BYTES)
    except OSError:
        return False
    return _DIFFUSERS_IMPORT.search(head) is not None


def _module_file(module: str, cwd: str | None) -> str | None:
    """The file `python -m module` runs from the working folder, if it is there (a module from
    site-packages is a library's own entry point, not the user's script)."""
    if module == "diffusers" or module.startswith("diffusers."):
        return None  # diffusers' own CLI (e.g. its env report): not a generation
    if not cwd or not all(part.isidentifier() for part in module.split(".")):
        return None
    base = os.path.join(cwd, *module.split("."))
    for candidate in (base + ".py", os.path.join(base, "__main__.py")):
        if os.path.isfile(candidate):
            return candidate
    return None


def is_model_path(path: str) -> bool:
    path = path.removesuffix(" (deleted)")
    if path.endswith((".safetensors", ".ckpt", ".sft")):
        return True
    # The Hugging Face cache maps snapshots/<rev>/unet/x.safetensors -> blobs/<sha256> (no suffix).
    return "/models--" in path and "/blobs/" in path


class LinuxProcSource:
    """Direct /proc reads: a few microseconds each, no psutil object per process."""

    _PF_KTHREAD = 0x00200000

    def __init__(self, proc: str = "/proc") -> None:
        self._proc = proc
        self._hz = os.sysconf("SC_CLK_TCK")
        self._btime = psutil.boot_time()

    def pids(self) -> Iterable[int]:
        return psutil.pids()

    def _read(self, pid: int, name: str, limit: int = 1 << 20) -> bytes | None:
        try:
            fd = os.open(f"{self._proc}/{pid}/{name}", os.O_RDONLY)
        except OSError:
            return None
        try:
            chunks = []
            size = 0
            while size < limit:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks)
        except OSError:
            return None
        finally:
            os.close(fd)

    def stat(self, pid: int) -> tuple[str, int, float, bool] | None:
        data = self._read(pid, "stat", 4096)
        if not data:
            return None
        try:
            # The name sits in parentheses and may itself contain spaces or parentheses.
            left, right = data.index(b"("), data.rindex(b")")
            fields = data[right + 2 :].split()
            ppid, flags, ticks = int(fields[1]), int(fields[6]), int(fields[19])
        except (ValueError, IndexError):
            return None
        name = data[left + 1 : right].decode("utf-8", "replace")
        return name, ppid, self._btime + ticks / self._hz, bool(flags & self._PF_KTHREAD)

    def cmdline(self, pid: int) -> list[str] | None:
        data = self._read(pid, "cmdline")
        if not data:
            return None
        return [a.decode("utf-8", "surrogateescape") for a in data.rstrip(b"\0").split(b"\0")]

    def _link(self, pid: int, name: str) -> str | None:
        try:
            return os.readlink(f"{self._proc}/{pid}/{name}").removesuffix(" (deleted)")
        except OSError:
            return None

    def cwd(self, pid: int) -> str | None:
        return self._link(pid, "cwd")

    def exe(self, pid: int) -> str | None:
        return self._link(pid, "exe")

    def model_file(self, pid: int) -> str | None:
        data = self._read(pid, "maps", 64 << 20)
        for line in (data or b"").splitlines():
            slash = line.find(b"/")
            if slash >= 0:
                path = line[slash:].decode("utf-8", "surrogateescape")
                if is_model_path(path):
                    return path
        try:
            fds = os.listdir(f"{self._proc}/{pid}/fd")
        except OSError:
            return None
        for fd in fds:
            target = self._link(pid, f"fd/{fd}")
            if target and is_model_path(target):
                return target
        return None


class PsutilProcSource:
    """Portable fallback (Windows, macOS): the same questions through psutil."""

    def pids(self) -> Iterable[int]:
        return psutil.pids()

    def stat(self, pid: int) -> tuple[str, int, float, bool] | None:
        try:
            proc = psutil.Process(pid)
            with proc.oneshot():
                return proc.name(), proc.ppid(), proc.create_time(), False
        except (psutil.Error, OSError):
            return None

    def _ask(self, pid: int, what: Callable[[psutil.Process], object]) -> object:
        try:
            return what(psutil.Process(pid))
        except (psutil.Error, OSError):
            return None

    def cmdline(self, pid: int) -> list[str] | None:
        result = self._ask(pid, lambda p: p.cmdline())
        return list(result) if isinstance(result, list) and result else None

    def cwd(self, pid: int) -> str | None:
        result = self._ask(pid, lambda p: p.cwd())
        return result if isinstance(result, str) and result else None

    def exe(self, pid: int) -> str | None:
        result = self._ask(pid, lambda p: p.exe())
        return result if isinstance(result, str) and result else None

    def model_file(self, pid: int) -> str | None:
        for getter in (lambda p: [m.path for m in p.memory_maps()], lambda p: [f.path for f in p.open_files()]):
            paths = self._ask(pid, getter)
            for path in paths if isinstance(paths, list) else ():
                if is_model_path(path.replace("\\", "/")):
                    return path
        return None


# A testing aid, not a setting: a comma-separated list of pids. When set, the scanner sees only
# those processes and their descendants, so a test's verdict never depends on the ComfyUI the
# developer happens to run next to it (tests/conftest.py sets it to the pytest process).
ENV_SCAN_SCOPE = "RAISON_GARDER_SCAN_SCOPE"


class ScopedProcSource:
    """Another source restricted to some process trees (see ENV_SCAN_SCOPE).

    Each scan reads every process's parent once (the cost of one /proc/<pid>/stat each); a
    process seen inside the scope stays inside for its lifetime, even once re-parented to init
    after its parent died (a test's tool outlives a killed monitor)."""

    def __init__(self, inner: ProcSource, roots: Iterable[int]) -> None:
        self._inner = inner
        self._roots = frozenset(roots)
        self._inside: dict[int, float] = {}  # pid -> start time, for pids seen in scope

    def pids(self) -> Iterable[int]:
        stats = {}
        for pid in self._inner.pids():
            stat = self._inner.stat(pid)
            if stat is not None:
                stats[pid] = stat
        inside: dict[int, float] = {}
        for pid, (_name, _ppid, start, _kernel) in stats.items():
            cur = pid
            for _depth in range(_MAX_DEPTH):
                known = self._inside.get(cur)
                if cur in self._roots or (known is not None and cur in stats and stats[cur][2] == known):
                    inside[pid] = start
                    break
                parent = stats.get(cur)
                if parent is None or parent[1] == cur:
                    break
                cur = parent[1]
        self._inside = inside
        return list(inside)

    def stat(self, pid: int) -> tuple[str, int, float, bool] | None:
        return self._inner.stat(pid)

    def cmdline(self, pid: int) -> list[str] | None:
        return self._inner.cmdline(pid)

    def cwd(self, pid: int) -> str | None:
        return self._inner.cwd(pid)

    def exe(self, pid: int) -> str | None:
        return self._inner.exe(pid)

    def model_file(self, pid: int) -> str | None:
        return self._inner.model_file(pid)


def scan_scope(environ: Mapping[str, str] = os.environ) -> frozenset[int] | None:
    """The pids named by RAISON_GARDER_SCAN_SCOPE, or None when unset (the whole machine)."""
    raw = environ.get(ENV_SCAN_SCOPE, "").strip()
    if not raw:
        return None
    # A malformed value narrows to nothing rather than widening to the whole machine: the
    # variable exists to keep a test away from the developer's own tools.
    return frozenset(int(p) for p in raw.replace(" ", "").split(",") if p.isdigit())


def default_source() -> ProcSource:
    source: ProcSource = (
        LinuxProcSource() if os.path.exists("/proc/self/stat") else PsutilProcSource()
    )
    roots = scan_scope()
    return source if roots is None else ScopedProcSource(source, roots)


@dataclass(frozen=True)
class DetectedTool:
    """One running tool instance (one ComfyUI = one detection, whatever its worker count).

    `root` and `port` are kept in memory for image counting; nothing here is a command line."""

    tool: str  # stable id: comfyui, a1111, forge, sdnext, invokeai, fooocus, swarmui, kohya,
    # diffusers, custom:<name>
    label: str  # English name; use display_name() to show it
    pid: int  # the instance's top process
    exe_name: str  # basename of the program, e.g. "python3.12", "dotnet"
    root: Path  # install folder (script folder for diffusers and custom patterns)
    gpu_indices: frozenset[int]
    port: int | None  # None = unknown
    pids: tuple[int, ...]  # every process of the instance: `pid` first, then the others sorted
    variant: str | None = None  # e.g. "krita", "portable", "swarmui-backend", "kohya_ss"
    variant_label: str | None = None  # English msgid with {tool}

    def display_name(self) -> str:
        name = _(self.label)
        if self.tool.startswith("custom:"):
            return _("{name} (your pattern)").format(name=name)
        if self.variant_label:
            return _(self.variant_label).format(tool=name)
        return name


class _Entry:
    """What we know about one pid (never its command line)."""

    __slots__ = (
        "start", "ppid", "comm", "kernel", "kind", "watch", "young", "checked", "cmd_key",
        "match", "exe_name", "home", "models_checked", "source", "source_read",
    )

    def __init__(self, start: float, ppid: int, comm: str, kernel: bool) -> None:
        self.start = start
        self.ppid = ppid
        self.comm = comm
        self.kernel = kernel
        self.kind: str | None = None  # PYTHON / DOTNET when an interpreter
        self.watch = False
        self.young = False
        self.checked = 0.0
        self.cmd_key: int | None = None  # hash of the command line, when it was read
        self.match: ToolMatch | None = None
        self.exe_name = comm
        self.home: str | None = None  # script folder or cwd: the root if it proves a diffusers run
        self.models_checked: float | None = None
        # The python file it runs (a script, or a `-m` module's file), read at most once and only
        # if the process holds a GPU: does it import diffusers?
        self.source: str | None = None
        self.source_read = False


class Scanner:
    """Recognises running diffusion tools; see the module docstring for the cost strategy."""

    def __init__(
        self,
        extra_patterns: Iterable[Mapping[str, object]] = (),
        *,
        specs: Sequence[ToolSpec] = TOOLS,
        source: ProcSource | None = None,
        recheck_s: float = 15.0,
        young_s: float = 3.0,
        maps_recheck_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        source_reader: Callable[[str], bool] | None = None,
    ) -> None:
        self._specs = tuple(specs)
        self._customs: tuple[CustomPattern, ...] = ()
        self._custom_specs: dict[str, ToolSpec] = {}
        self._src = source or default_source()
        self._recheck_s = recheck_s
        self._young_s = young_s
        self._maps_recheck_s = maps_recheck_s
        self._clock = clock
        self._wall = wall_clock
        self._read_source = source_reader or imports_diffusers
        # /proc/<pid>/comm is cut at 15 characters: entry points and app hosts by that name.
        names = {n for s in self._specs for n in s.scripts + s.executables if "*" not in n}
        names |= set(tools.WRAPPER_SCRIPTS)
        self._comm_names = frozenset(n[:15] for n in names)
        self._executables = frozenset(n for s in self._specs for n in s.executables)
        self._entries: dict[int, _Entry] = {}
        self._tools: set[int] = set()  # pids whose entry has a match
        self._watch: set[int] = set()
        self._young: set[int] = set()
        self._last_recheck = clock()
        self.set_patterns(extra_patterns)

    # -- public -------------------------------------------------------------------------------

    def scan(self, gpu_pids: Mapping[int, set[int]] | None = None) -> list[DetectedTool]:
        """The tools running now. `gpu_pids`: pid -> GPU indices where it holds a context."""
        now = self._clock()
        gpu = gpu_pids or {}
        try:
            current = set(self._src.pids())
        except (OSError, psutil.Error):
            return []  # no process list this time (a transient error): nothing to say
        for pid in self._entries.keys() - current:
            self._forget(pid)
        # GPU processes first: they are the ones that matter if anything is cut short.
        new = current - self._entries.keys()
        for pid in sorted(new, key=lambda p: p not in gpu):
            self._inspect(pid, now)
        for pid in list(self._tools - new):
            self._verify(pid, now)
        for pid in list(self._young - new):
            self._revisit(pid, now)
        if now - self._last_recheck >= self._recheck_s:
            self._last_recheck = now
            for pid in list(self._watch):
                self._revisit(pid, now)
        for pid in gpu:
            self._check_models(pid, now)
        return self._group(gpu)

    def set_patterns(self, extra_patterns: Iterable[Mapping[str, object]]) -> None:
        """New user patterns (settings changed): every process is judged again at the next scan."""
        self._customs = custom_patterns(extra_patterns)
        self._custom_specs = {
            c.name: ToolSpec(id=c.tool_id, label=c.name, port_arg=None) for c in self._customs
        }
        self.forget_all()

    def forget_all(self) -> None:
        """Drop every cached verdict."""
        for pid in list(self._entries):
            self._forget(pid)

    # -- per process --------------------------------------------------------------------------

    def _forget(self, pid: int) -> None:
        self._entries.pop(pid, None)
        self._tools.discard(pid)
        self._watch.discard(pid)
        self._young.discard(pid)

    def _inspect(self, pid: int, now: float, stat: tuple[str, int, float, bool] | None = None) -> None:
        self._forget(pid)
        stat = stat or self._src.stat(pid)
        if stat is None:
            return  # gone already (or unreadable): the next scan will not see it as new again
        comm, ppid, start, kernel = stat
        entry = _Entry(start, ppid, comm, kernel)
        entry.checked = now
        self._entries[pid] = entry
        if kernel:
            return
        if self._wall() - start < self._young_s:
            entry.young = True
            self._young.add(pid)
        self._classify(pid, entry)
        if entry.match is not None:
            self._tools.add(pid)
        elif entry.kind is not None or comm in SHELLS:
            entry.watch = True
            self._watch.add(pid)

    def _classify(self, pid: int, entry: _Entry) -> None:
        comm = entry.comm
        kind = interpreter_kind(comm) or (PYTHON if comm in _RENAMED_PYTHON else None)
        candidate = kind is not None or comm in self._comm_names
        exe: str | None = None
        if not candidate or self._customs:
            # A renamed interpreter (setproctitle) or a custom pattern: the program path decides.
            exe = self._src.exe(pid)
            if exe:
                exe_base = basename(exe)
                kind = kind or interpreter_kind(exe_base)
                candidate = candidate or kind is not None or exe_base in self._executables
        entry.kind = kind
        if not candidate:
            if exe and self._customs:
                self._set_custom(entry, exe, None)
            return
        argv = self._src.cmdline(pid) or []
        entry.cmd_key = hash(tuple(argv))  # to notice an exec that keeps the name (python -> python)
        if not argv:
            # Mid-exec (the kernel fills the new argv a moment after the name) or a zombie:
            # look again next scan, as for a just-forked process.
            entry.young = True
            self._young.add(pid)
            return
        exe = exe or self._src.exe(pid)
        entry.exe_name = basename(exe or argv[0])
        cwd_cache: list[str | None] = []

        def cwd() -> str | None:
            if not cwd_cache:
                cwd_cache.append(self._src.cwd(pid))
            return cwd_cache[0]

        launch = self._launch(argv, kind)
        match = tools.match_launch(launch, cwd, self._specs) if launch else None
        if match is None and exe and basename(exe) in self._executables:
            match = tools.match_executable(exe, argv[1:], self._specs)
        script = None
        if launch is not None and not launch.is_module:
            target = Path(launch.target)
            base = None if target.is_absolute() else cwd()
            script = str(target if base is None else Path(base) / target)
        if match is None and self._customs:
            module = launch.target if launch is not None and launch.is_module else None
            self._set_custom(entry, exe or argv[0], script, module, cwd)
            if entry.match is not None:
                return
        entry.match = match
        if kind == PYTHON:
            entry.home = os.path.dirname(script) if script else cwd()
            if match is None and launch is not None:
                entry.source = script if script else _module_file(launch.target, cwd())

    def _launch(self, argv: Sequence[str], kind: str | None) -> Launch | None:
        argv0 = interpreter_kind(basename(argv[0]))
        if argv0 == DOTNET or (argv0 is None and kind == DOTNET):
            return tools.parse_dotnet(argv)
        if argv0 == PYTHON or (argv0 is None and kind == PYTHON):
            return tools.parse_python(argv)
        return None

    def _set_custom(
        self, entry: _Entry, exe: str, script: str | None, module: str | None = None,
        cwd: Callable[[], str | None] | None = None,
    ) -> None:
        found = tools.match_custom(self._customs, exe, script)
        if not found and module:
            # `python -m module`: a pattern may name the module (a Jupyter kernel is
            # `python -m ipykernel_launcher`, its notebook is not on the command line).
            by_module = tools.match_custom(self._customs, None, module)
            if by_module:
                found = (by_module[0], Path((cwd() if cwd else None) or "/"))
        if found:
            pattern, root = found
            entry.match = ToolMatch(self._custom_specs[pattern.name], root, None, None, script)

    def _verify(self, pid: int, now: float) -> None:
        """A tool pid: still the same process? (pid reuse) Also follows re-parenting."""
        entry = self._entries.get(pid)
        stat = self._src.stat(pid)
        if entry is None or stat is None:
            self._forget(pid)
        elif stat[2] != entry.start:
            self._inspect(pid, now, stat)
        else:
            entry.ppid = stat[1]

    def _revisit(self, pid: int, now: float) -> None:
        """Look again at a process that may have exec'd into a tool since we last saw it: an
        exec changes the name (comm), or for an interpreter running python, the command line."""
        entry = self._entries.get(pid)
        stat = self._src.stat(pid)
        if entry is None or stat is None:
            self._forget(pid)
            return
        if stat[0] != entry.comm or stat[2] != entry.start:
            self._inspect(pid, now, stat)
            return
        entry.checked = now
        if entry.cmd_key is not None:  # its command line was read: compare
            argv = self._src.cmdline(pid) or []
            if hash(tuple(argv)) != entry.cmd_key:
                self._inspect(pid, now, stat)
                return
        if self._wall() - entry.start >= self._young_s:
            entry.young = False
            self._young.discard(pid)

    def _check_models(self, pid: int, now: float) -> None:
        """A python GPU process that is no known tool: does it hold diffusion weights?"""
        entry = self._entries.get(pid)
        if entry is None or entry.match is not None or entry.kind != PYTHON:
            return
        if self._tool_ancestor(pid) is not None:
            return  # a worker of a known tool: it belongs to that tool
        if entry.models_checked is not None and now - entry.models_checked < self._maps_recheck_s:
            return
        entry.models_checked = now
        if self._imports_diffusers(entry) or self._src.model_file(pid):
            root = Path(entry.home or "/")
            entry.match = ToolMatch(DIFFUSERS, root, None, None, None)
            self._tools.add(pid)
            self._watch.discard(pid)

    def _imports_diffusers(self, entry: _Entry) -> bool:
        """Does the script (or module) this process runs import diffusers? Read once per process.

        A plain diffusers script loads its weights, copies them to the GPU and unmaps them before
        NVML lists it: by then nothing in /proc/<pid>/maps says "diffusion". Its own source does."""
        if entry.source_read or entry.source is None:
            return False
        entry.source_read = True
        return self._read_source(entry.source)

    # -- grouping -----------------------------------------------------------------------------

    def _parent(self, pid: int) -> int | None:
        entry = self._entries.get(pid)
        if entry is None:
            return None
        parent = self._entries.get(entry.ppid)
        # A parent that started after its child is a reused pid, not the real parent.
        return entry.ppid if parent is not None and parent.start <= entry.start else None

    def _tool_ancestor(self, pid: int) -> int | None:
        """The top-most matched ancestor of pid (not pid itself), or None."""
        top = None
        cur: int | None = pid
        for _depth in range(_MAX_DEPTH):
            cur = self._parent(cur) if cur is not None else None
            if cur is None:
                break
            if self._entries[cur].match is not None:
                top = cur
        return top

    def _group(self, gpu: Mapping[int, set[int]]) -> list[DetectedTool]:
        members: dict[int, set[int]] = {}
        for pid in self._tools:
            ancestor = self._tool_ancestor(pid)
            head = pid if ancestor is None else ancestor
            members.setdefault(head, set()).add(pid)
        if not members:
            return []
        # Interpreter children that are no tool themselves (spawned workers) join their tool.
        for pid in self._watch:
            if self._entries[pid].kind is not None:
                tool_head = self._tool_ancestor(pid)
                if tool_head is not None:
                    members.setdefault(tool_head, set()).add(pid)
        found = []
        for head, pids in sorted(members.items()):
            entry = self._entries[head]
            match = entry.match
            assert match is not None  # heads are matched pids by construction
            all_pids = (head, *sorted(pids - {head}))
            gpus = frozenset(i for p in all_pids for i in gpu.get(p, ()))
            variant = match.variant
            found.append(
                DetectedTool(
                    tool=match.spec.id,
                    label=match.spec.label,
                    pid=head,
                    exe_name=entry.exe_name,
                    root=match.root,
                    gpu_indices=gpus,
                    port=match.port,
                    pids=all_pids,
                    variant=variant.id if variant else None,
                    variant_label=variant.label if variant else None,
                )
            )
        return found
