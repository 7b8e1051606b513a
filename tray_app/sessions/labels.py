"""How a session's energy was attributed: the stable codes stored, exported and shown.

Stored and exported as is (English, stable like "counter"/"sampled"); translated only when
shown (tray_app/ui/history/format.py). See attribution.py for what each one means.
"""

from __future__ import annotations

GPU_UTILISATION = "process list + utilisation"
GPU_EQUAL = "process list, shared equally"
GPU_UNAVAILABLE = "shared (process list unavailable)"
CPU_TIME = "cpu time"
CPU_WHOLE = "whole machine"
WHOLE_MACHINE = "whole machine"
GPU_LABELS = (GPU_UTILISATION, GPU_EQUAL, GPU_UNAVAILABLE, WHOLE_MACHINE)
CPU_LABELS = (CPU_TIME, CPU_WHOLE)
# The one-line summary of a session (its weakest part).
ATTRIBUTED = "attributed: process list + utilisation"
SHARED = "shared equally"
SUMMARIES = (ATTRIBUTED, SHARED, WHOLE_MACHINE)
# Weakest first: a session's label is the weakest one any of its intervals used.
_RANK = {WHOLE_MACHINE: 0, GPU_UNAVAILABLE: 1, GPU_EQUAL: 2, GPU_UTILISATION: 3, CPU_TIME: 3}


def weakest(old: str | None, new: str | None) -> str | None:
    if old is None:
        return new
    if new is None:
        return old
    return old if _RANK.get(old, 0) <= _RANK.get(new, 0) else new


def summary(gpu: str | None, cpu: str | None) -> str | None:
    """One label for a session: attributed, shared equally, or whole machine."""
    parts = [p for p in (gpu, cpu) if p is not None]
    if not parts:
        return None
    if all(p == WHOLE_MACHINE for p in parts):
        return WHOLE_MACHINE
    if all(p in (GPU_UTILISATION, CPU_TIME) for p in parts):
        return ATTRIBUTED
    return SHARED
