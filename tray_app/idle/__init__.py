"""Idle waste: notice a tool that keeps the GPU awake with nothing to do (`waste.py`), and ask
that tool to let go, then measure what it changed (`release.py`)."""
