"""Run a benchmarked process in its own PID namespace, alone or beside a fake image tool.

The development machine is shared: other people's test suites start ComfyUI look-alikes, and
an unscoped monitor would open sessions for them, so an "idle" monitor would not be idle.
`unshare --pid --fork --mount-proc` (root, util-linux) gives the process a /proc that shows only
what the benchmark starts beside it. (RAISON_GARDER_SCAN_SCOPE, the tests' answer, reads every
process's parent at each scan: fine for a test, not for an overhead figure.)

Without unshare (not root, not Linux) the command runs as is and `available()` says so, for
the report. Scaffolding processes carry FAKE_TOOL_MARK (or are `unshare` itself) so
procwatch leaves them out of a tool's CPU and memory.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

FAKE_TOOL_MARK = "--benchmark-fake-tool"
COMFY_MAIN = "import time\nwhile True:\n    time.sleep(3600)\n"


@functools.cache
def available() -> bool:
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"],
                           capture_output=True, check=False)
    return probe.returncode == 0


def fake_comfyui(base: Path) -> Path:
    """A folder that detection takes for a ComfyUI install; its main.py only sleeps."""
    root = base / "ComfyUI"
    (root / "comfy").mkdir(parents=True, exist_ok=True)
    for name in ("nodes.py", "execution.py", "server.py", "folder_paths.py"):
        (root / name).write_text("")
    (root / "main.py").write_text(COMFY_MAIN)
    return root


def wrap(argv: list[str], tool_root: Path | None = None) -> list[str]:
    """`argv` in a PID namespace of its own; with `tool_root`, a fake ComfyUI runs beside it
    (so a session opens). Unchanged when namespaces are not available."""
    if not available():
        return argv
    inner = argv
    if tool_root is not None:
        script = (f'(cd "$1" && exec "$2" main.py --port 8199 {FAKE_TOOL_MARK}) & '
                  'shift 2; exec "$@"')
        inner = ["sh", "-c", script, "sh", str(tool_root.resolve()), sys.executable, *argv]
    # --kill-child: the process is pid 1 of its namespace, which ignores an unhandled SIGTERM;
    # stopping `unshare` must stop it.
    return ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "--", *inner]


def is_scaffolding(name: str, cmdline: list[str]) -> bool:
    return name == "unshare" or any(FAKE_TOOL_MARK in part for part in cmdline)
