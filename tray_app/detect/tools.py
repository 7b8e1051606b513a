"""The table of diffusion tools we recognise, and the pure logic that matches one launch to it.

A tool is recognised by what it really is on disk, never by a word in a command line: the process
must be an interpreter (python, or dotnet for SwarmUI) actually running the tool's script or
module, and the files and folders that make up the tool must sit next to that script. So
`vim main.py`, `tail -f comfyui.log` or `python -m http.server` inside a ComfyUI folder never count.

Adding a tool is adding one `ToolSpec` to `TOOLS`; nothing else changes. Layouts were checked
against the real repositories (ComfyUI, AUTOMATIC1111, lllyasviel's Forge, vladmandic's SD.Next,
InvokeAI, Fooocus, SwarmUI, kohya-ss/sd-scripts, Acly's krita-ai-diffusion server install).

Nothing here keeps a command line: a match keeps the tool id, the install folder and the port.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PYTHON = "python"
DOTNET = "dotnet"

_INTERPRETERS: dict[str, re.Pattern[str]] = {
    # python, python3, python3.12, pythonw, python3.12d, python.exe, pythonw.exe ...
    PYTHON: re.compile(r"^python(\d+(\.\d+)*)?[wdmt]?(\.exe)?$", re.IGNORECASE),
    DOTNET: re.compile(r"^dotnet(\.exe)?$", re.IGNORECASE),
}

# Launchers that run the real script as an argument: `accelerate launch [opts] train_network.py`,
# `torchrun [opts] script.py`. Value: the sub-command that must come first (None: none).
WRAPPER_SCRIPTS: dict[str, str | None] = {"accelerate": "launch", "torchrun": None}
WRAPPER_MODULES = (
    "accelerate.commands.launch",
    "torch.distributed.run",
    "torch.distributed.launch",
    # A tool run under a debugger or profiler is still that tool.
    "pdb",
    "cProfile",
    "debugpy",
)


@dataclass(frozen=True)
class Variant:
    """A flavour of a tool told apart by what surrounds its install folder (informational)."""

    id: str
    label: str  # English msgid with a {tool} field, translated when shown
    markers: tuple[str, ...]  # relative to the root; all must exist ("a|b" = either)


@dataclass(frozen=True)
class ToolSpec:
    """One row of the table.

    scripts      glob patterns for the basename of the script the interpreter runs; console-script
                 entry points are scripts too (`invokeai-web`), a Windows `.exe` launcher suffix and
                 `-script.py` are stripped before matching.
    modules      modules run with `python -m` (a sub-module matches too).
    executables  native program names that are the tool itself (SwarmUI's app host).
    root         the install folder, relative to the script's folder.
    markers      paths relative to the root that must all exist; a trailing "/" means a folder,
                 "a|b" means either.
    absent       paths relative to the root that must not exist (tells Forge from A1111).
    port_arg     the option that carries the port; default_port only where the tool really binds
                 that port when the option is absent (otherwise the port stays unknown: None).
    root_arg     an option that names the install folder (InvokeAI's --root).
    """

    id: str
    label: str
    interpreter: str = PYTHON
    scripts: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    executables: tuple[str, ...] = ()
    root: str = "."
    markers: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    port_arg: str | None = "--port"
    default_port: int | None = None
    root_arg: str | None = None
    variants: tuple[Variant, ...] = ()


_KOHYA_SCRIPTS = (
    "train_network.py",
    "train_db.py",
    "train_textual_inversion*.py",
    "train_control*.py",
    "fine_tune.py",
    "sdxl_train*.py",
    "sd3_train*.py",
    "flux_train*.py",
    "lumina_train*.py",
)

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        id="comfyui",
        label="ComfyUI",
        scripts=("main.py",),
        markers=("comfy/", "nodes.py", "execution.py", "server.py"),
        default_port=8188,  # ComfyUI binds exactly this port (it fails rather than move)
        variants=(
            # SwarmUI installs its ComfyUI backend under dlbackend/ (dlbackend/comfy/ on Windows,
            # beside a python_embeded: so this one is tried before "portable").
            Variant(
                "swarmui-backend",
                "{tool} (SwarmUI backend)",
                ("../../launch-linux.sh|../../launch-windows.bat|../../../launch-windows.bat",),
            ),
            # krita-ai-diffusion's server install: <server>/ComfyUI beside <server>/.version and a
            # venv (Linux/macOS) or an embedded python (Windows); it runs `python -su main.py`.
            Variant(
                "krita",
                "{tool} managed by Krita AI Diffusion",
                ("../.version", "../venv/|../python/"),
            ),
            Variant("portable", "{tool} (portable)", ("../python_embeded/",)),
        ),
    ),
    ToolSpec(
        id="forge",
        label="Stable Diffusion WebUI Forge",
        scripts=("launch.py", "webui.py"),
        markers=("modules/", "modules_forge/"),
    ),
    ToolSpec(
        id="sdnext",
        label="SD.Next",
        scripts=("launch.py", "webui.py"),
        markers=("modules/", "installer.py", "webui.sh|webui.bat|webui.ps1"),
        absent=("modules_forge", "fooocus_version.py"),
    ),
    ToolSpec(
        id="fooocus",
        label="Fooocus",
        scripts=("entry_with_update.py", "launch.py", "webui.py"),
        markers=("fooocus_version.py", "modules/"),
        variants=(Variant("portable", "{tool} (portable)", ("../python_embeded/",)),),
    ),
    ToolSpec(
        id="a1111",
        label="AUTOMATIC1111 Stable Diffusion WebUI",
        scripts=("launch.py", "webui.py"),
        markers=("modules/", "webui.py", "webui-user.sh|webui-user.bat"),
        # Forks share this layout; each leaves its own mark.
        absent=("modules_forge", "installer.py", "fooocus_version.py"),
    ),
    ToolSpec(
        id="invokeai",
        label="InvokeAI",
        scripts=("invokeai-web",),  # the console script, <root>/.venv/bin/invokeai-web
        modules=("invokeai.app",),
        root="../..",
        root_arg="--root",
        port_arg=None,  # InvokeAI takes its port from invokeai.yaml, not the command line
    ),
    ToolSpec(
        id="swarmui",
        label="SwarmUI",
        interpreter=DOTNET,
        scripts=("SwarmUI.dll", "StableSwarmUI.dll"),
        executables=("SwarmUI", "SwarmUI.exe", "StableSwarmUI", "StableSwarmUI.exe"),
        root="../../..",  # <root>/src/bin/live_release/SwarmUI.dll
        markers=("src/", "launch-linux.sh|launch-windows.bat|launch-macos.sh"),
    ),
    ToolSpec(
        id="kohya",
        label="kohya sd-scripts training",
        scripts=_KOHYA_SCRIPTS,
        markers=("library/",),
        port_arg=None,
        variants=(Variant("kohya_ss", "{tool} (kohya_ss GUI)", ("../kohya_gui.py",)),),
    ),
)

# Not a table row: found by what a GPU process maps, not by how it was started (see scanner.py).
DIFFUSERS = ToolSpec(id="diffusers", label="Python diffusion script", port_arg=None)


@dataclass(frozen=True)
class CustomPattern:
    """A user's own tool (settings `tools.extra_patterns`): a substring or glob tested against
    the executable path and the script path."""

    name: str
    match: str

    @property
    def tool_id(self) -> str:
        return f"custom:{self.name}"

    def matches(self, path: str) -> bool:
        if any(c in self.match for c in "*?["):
            return fnmatch.fnmatchcase(path, self.match) or fnmatch.fnmatchcase(
                os.path.basename(path), self.match
            )
        return self.match in path


def custom_patterns(entries: Iterable[Mapping[str, object]]) -> tuple[CustomPattern, ...]:
    """Validated patterns; malformed entries are skipped (the settings layer reports them)."""
    out = []
    for entry in entries:
        try:
            name, match = entry.get("name"), entry.get("match")
        except AttributeError:
            continue
        if isinstance(name, str) and isinstance(match, str) and name.strip() and match.strip():
            out.append(CustomPattern(name.strip(), match.strip()))
    return tuple(out)


@dataclass(frozen=True)
class Launch:
    """What a process runs, read from its argv: a script (path as given) or a module."""

    interpreter: str  # PYTHON or DOTNET
    target: str
    is_module: bool
    args: tuple[str, ...]  # the tool's own arguments


@dataclass(frozen=True)
class ToolMatch:
    spec: ToolSpec
    root: Path
    port: int | None
    variant: Variant | None = None
    script: str | None = None  # resolved script path (used for custom patterns / diffusers root)


def interpreter_kind(name: str) -> str | None:
    """PYTHON, DOTNET or None for a program basename."""
    for kind, pattern in _INTERPRETERS.items():
        if pattern.match(name):
            return kind
    return None


def basename(path: str) -> str:
    """Basename for both separators: a Windows argv read on any OS."""
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1]


def _entry_name(path: str) -> str:
    name = basename(path)
    for suffix in ("-script.py", "-script.pyw", ".exe"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


# Python options that take a value; -c and -m end option parsing.
_PY_VALUE_OPTS = set("WX")
_PY_LONG_VALUE_OPTS = {"--check-hash-based-pycs"}


def parse_python(argv: Sequence[str]) -> Launch | None:
    """The script or module a python command line runs, or None (`-c`, stdin, REPL)."""
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if arg in _PY_LONG_VALUE_OPTS:
            i += 2
            continue
        if arg.startswith("--"):
            i += 1
            continue
        if not arg.startswith("-") or arg == "-":
            break
        # Short flags may be combined: `-su`, `-uW ignore`, `-Wignore`, `-umpkg`.
        for pos, flag in enumerate(arg[1:], start=2):
            rest = arg[pos:]
            if flag == "c":
                return None
            if flag == "m":
                if rest:
                    return Launch(PYTHON, rest, True, tuple(argv[i + 1 :]))
                if i + 1 < len(argv):
                    return Launch(PYTHON, argv[i + 1], True, tuple(argv[i + 2 :]))
                return None
            if flag in _PY_VALUE_OPTS:
                if not rest:
                    i += 1  # the value is the next argument
                break
        i += 1
    if i >= len(argv) or argv[i] == "-":
        return None
    return Launch(PYTHON, argv[i], False, tuple(argv[i + 1 :]))


def parse_dotnet(argv: Sequence[str]) -> Launch | None:
    """`dotnet [exec] [host options] App.dll args`: the first `.dll` argument is the program."""
    for i, arg in enumerate(argv[1:], start=1):
        if arg.lower().endswith(".dll"):
            return Launch(DOTNET, arg, False, tuple(argv[i + 1 :]))
    return None


def unwrap(launch: Launch) -> Launch:
    """`accelerate launch … train_network.py …` -> the wrapped script, so the wrapper and the
    training run it starts are the same tool (grouped by parent chain afterwards)."""
    if launch.is_module:
        wrapped = any(launch.target == m or launch.target.startswith(m + ".") for m in WRAPPER_MODULES)
        args = launch.args
    else:
        name = _entry_name(launch.target)
        wrapped = name in WRAPPER_SCRIPTS
        sub = WRAPPER_SCRIPTS.get(name)
        args = launch.args
        if wrapped and sub is not None:
            wrapped = bool(args) and args[0] == sub
            args = args[1:]
    if not wrapped:
        return launch
    for i, arg in enumerate(args):
        if arg.endswith(".py") and not arg.startswith("-"):
            return Launch(launch.interpreter, arg, False, tuple(args[i + 1 :]))
    return launch


def option_value(args: Sequence[str], option: str) -> str | None:
    """Value of `--opt v` or `--opt=v` (the last one wins, as with argparse)."""
    value = None
    for i, arg in enumerate(args):
        if arg == option and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(option + "="):
            value = arg[len(option) + 1 :]
    return value


def parse_port(args: Sequence[str], option: str | None, default: int | None) -> int | None:
    if option is None:
        return default
    raw = option_value(args, option)
    if raw is None:
        return default
    try:
        port = int(raw)
    except ValueError:
        return None  # present but unreadable: unknown, not the default
    return port if 0 < port < 65536 else None


def _exists(root: Path, marker: str) -> bool:
    # os.path answers False on any OSError (another user's folder), where Path may raise.
    for alternative in marker.split("|"):
        path = os.path.join(root, alternative.rstrip("/"))
        if os.path.isdir(path) if alternative.endswith("/") else os.path.exists(path):
            return True
    return False


def _layout_ok(spec: ToolSpec, root: Path) -> bool:
    return all(_exists(root, m) for m in spec.markers) and not any(
        _exists(root, m) for m in spec.absent
    )


def _variant(spec: ToolSpec, root: Path) -> Variant | None:
    for variant in spec.variants:
        if all(_exists(root, m) for m in variant.markers):
            return variant
    return None


def _matched(spec: ToolSpec, root: Path, args: Sequence[str], script: str | None) -> ToolMatch:
    root = Path(os.path.normpath(root))
    return ToolMatch(
        spec, root, parse_port(args, spec.port_arg, spec.default_port), _variant(spec, root), script
    )


def match_launch(
    launch: Launch, cwd: Callable[[], str | None], specs: Sequence[ToolSpec] = TOOLS
) -> ToolMatch | None:
    """The tool this launch runs, checked against the layout on disk; `cwd` is called only when
    a relative path needs it."""
    launch = unwrap(launch)
    if launch.is_module:
        for spec in specs:
            if spec.interpreter == launch.interpreter and any(
                launch.target == m or launch.target.startswith(m + ".") for m in spec.modules
            ):
                # The folder named by the tool's option, else the one it was started in.
                named = option_value(launch.args, spec.root_arg) if spec.root_arg else None
                base = _absolute(named, cwd) if named else _absolute(".", cwd)
                if base is not None and _layout_ok(spec, base):
                    return _matched(spec, base, launch.args, None)
        return None
    name = _entry_name(launch.target)
    candidates = [
        spec
        for spec in specs
        if spec.interpreter == launch.interpreter
        and any(fnmatch.fnmatchcase(name, pattern) for pattern in spec.scripts)
    ]
    if not candidates:
        return None
    script = _absolute(launch.target, cwd)
    if script is None:
        return None
    for spec in candidates:
        named = option_value(launch.args, spec.root_arg) if spec.root_arg else None
        root = _absolute(named, cwd) if named else script.parent / spec.root
        if root is None:
            continue
        if _layout_ok(spec, root):
            return _matched(spec, root, launch.args, str(script))
    return None


def match_executable(
    exe_path: str, args: Sequence[str], specs: Sequence[ToolSpec] = TOOLS
) -> ToolMatch | None:
    """A native program that is the tool itself (SwarmUI's app host)."""
    name = basename(exe_path)
    for spec in specs:
        if name in spec.executables:
            root = Path(exe_path).parent / spec.root
            if _layout_ok(spec, root):
                return _matched(spec, root, args, exe_path)
    return None


def _absolute(target: str, cwd: Callable[[], str | None]) -> Path | None:
    path = Path(target)
    if path.is_absolute():
        return path
    base = cwd()
    return Path(base) / path if base else None


def match_custom(
    patterns: Sequence[CustomPattern], exe_path: str | None, script: str | None
) -> tuple[CustomPattern, Path] | None:
    """The first user pattern that matches the script path or the executable path, with the
    folder to use as the tool's root."""
    for pattern in patterns:
        for path in (script, exe_path):
            if path and pattern.matches(path):
                return pattern, Path(os.path.dirname(path) or ".")
    return None
