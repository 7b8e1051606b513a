"""Recognise running diffusion tools (ComfyUI, A1111, Forge, SD.Next, InvokeAI, Fooocus, SwarmUI,
kohya, plain diffusers scripts, user patterns) from outside the processes, cheaply.

    scanner = Scanner(settings_extra_patterns)       # list of {"name": ..., "match": ...}
    tools = scanner.scan(gpu_pids)                   # every few seconds; gpu_pids from NVML
"""

from __future__ import annotations

from tray_app.detect.scanner import DetectedTool, Scanner
from tray_app.detect.tools import TOOLS, CustomPattern, ToolSpec, Variant

__all__ = ["TOOLS", "CustomPattern", "DetectedTool", "Scanner", "ToolSpec", "Variant"]
