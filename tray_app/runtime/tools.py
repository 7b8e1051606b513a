"""Which tools run now: the scanner's detections, turned into what the session tracker needs.

The GPU processes of the snapshot go with each scan (a tool holding a GPU context is checked
first, and its GPUs are known); the detections are kept for image counting (install folder,
port), the tracker gets only names and pids.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Protocol

from tray_app.detect.scanner import DetectedTool
from tray_app.measure.monitor import Snapshot
from tray_app.sessions.attribution import gpu_index
from tray_app.sessions.tracker import ToolSeen

log = logging.getLogger(__name__)


class ToolScanner(Protocol):
    def scan(self, gpu_pids: Mapping[int, set[int]] | None = None) -> list[DetectedTool]: ...

    def set_patterns(self, extra_patterns: Iterable[Mapping[str, object]]) -> None: ...


class ToolWatch:
    def __init__(self, scanner: ToolScanner) -> None:
        self.scanner = scanner
        self.tools: dict[tuple[str, int], DetectedTool] = {}

    def detect(self, snap: Snapshot) -> list[ToolSeen] | None:
        """The tools running now; None when detection failed this time (keep what was seen)."""
        gpu_pids: dict[int, set[int]] = {}
        for src in snap.sources:
            idx = gpu_index(src)
            for pid in src.pids or ():
                gpu_pids.setdefault(pid, set())
                if idx is not None:
                    gpu_pids[pid].add(idx)
        try:
            found = self.scanner.scan(gpu_pids)
        except Exception:  # detection failing must not stop measuring
            log.exception("tool detection failed")
            return None
        self.tools = {(t.tool, t.pid): t for t in found}
        return [
            ToolSeen(tool=t.tool, label=t.display_name(), pid=t.pid, exe_name=t.exe_name,
                     gpu_indices=frozenset(t.gpu_indices), pids=tuple(t.pids))
            for t in found  # SwarmUI's ComfyUI backend is already inside SwarmUI's detection
        ]  # fmt: skip

    def set_patterns(self, extra_patterns: Iterable[Mapping[str, object]]) -> None:
        self.scanner.set_patterns(extra_patterns)
