"""Is this app in a PID namespace of its own (a container, a Flatpak or other sandbox)?

There, the processes the GPU driver lists (NVML names them by their PID on the host) cannot be
matched with the tools this app sees under other PIDs: a tool on the GPU would look absent from
it and get none of its energy. So a nested PID namespace makes the process list *unusable*,
which attribution already handles honestly: the GPU is shared between the sessions that may use
it, labelled "shared (process list unavailable)", never billed to nobody.

Linux says it two ways. /proc/self/ns/pid names our namespace, and the host's initial one has a
fixed inode, 0xEFFFFFFC (PROC_PID_INIT_INO in the kernel's include/linux/proc_ns.h): another
inode is a child namespace, whether or not it mounted a /proc of its own (containers and
Flatpak do). Where that link cannot be read, /proc/self/status's `NSpid:` line, which lists our
PID in each namespace the /proc mount can see, tells it when it has more than one entry.
Elsewhere (no /proc) the answer is False.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

STATUS = Path("/proc/self/status")
NS_LINK = "/proc/self/ns/pid"
INITIAL = f"pid:[{0xEFFFFFFC}]"  # pid:[4026531836]


def nested_in(status_text: str) -> bool:
    for line in status_text.splitlines():
        if line.startswith("NSpid:"):
            return len(line.split()) > 2
    return False


@cache
def in_nested_pid_namespace() -> bool:
    try:
        return os.readlink(NS_LINK) != INITIAL
    except OSError:
        pass
    try:
        return nested_in(STATUS.read_text(encoding="ascii", errors="replace"))
    except OSError:
        return False
