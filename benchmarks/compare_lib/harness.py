"""One trace, every tool at once: launch, synchronise on T0, reap, compare with the truth.

All tools measure the same fake GPU at the same time: the trace is a function of the monotonic
clock, each process reads the shared fake driver on its own, so running them side by side is
fair for energy; CPU and memory are accounted per process (procwatch).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.compare_lib import isolation, procwatch
from benchmarks.compare_lib.fake_driver import make_rig
from benchmarks.compare_lib.traces import Trace
from tests.fixtures.fake_sysfs import FakePowercap

RUNNERS = Path(__file__).resolve().parent / "runners"
ROOT = Path(__file__).resolve().parents[2]
OURS_LEAD_S = 2.0  # our CLI starts this long before T0 (its start-up is a fraction of that)
STEADY_AFTER_S = 10.0  # the steady CPU rate is taken from T0 + this (start calls are over)
# Our monitor's overhead is measured twice, on plain CLI processes: with a ComfyUI session open
# (the "ours" row: what it costs while someone generates) and with no tool at all (its 5 s idle
# cadence: what it costs the rest of the day). Both read a fake RAPL package too.
IDLE_KEY, IDLE_LABEL = "ours-idle", "Raison Garder monitor, no tool running (idle cadence)"


@dataclass(frozen=True)
class Tool:
    key: str
    label: str
    runner: str | None  # script in runners/ that reports the energy
    interpreter: str  # "ours" or a peer venv name
    options: tuple[str, ...] = ()


TOOLS: dict[str, Tool] = {
    t.key: t
    for t in (
        Tool("ours", "Raison Garder monitor, a session open (1 s)", "ours_energy.py", "ours"),
        Tool("codecarbon-15", "CodeCarbon, 15 s (default)", "codecarbon_run.py", "codecarbon",
             ("--interval", "15")),
        # CodeCarbon enforces no minimum measure_power_secs, but it samples power (the fallback
        # without counter) in a fixed 1 s thread: below 1 s nothing is sampled faster.
        Tool("codecarbon-1", "CodeCarbon, 1 s (fastest)", "codecarbon_run.py", "codecarbon",
             ("--interval", "1")),
        Tool("zeus", "Zeus ZeusMonitor window", "zeus_run.py", "zeus"),
        Tool("nvml-1hz", "pynvml 1 Hz loop (trapezoid)", "nvml_loop.py", "ours"),
    )
}


@dataclass
class ToolResult:
    tool: str
    label: str
    trace: str
    reported_j: float | None = None
    truth_j: float | None = None
    window_s: float | None = None
    late_start_s: float | None = None  # how long after T0 the tool's window began
    method: str | None = None
    error: str | None = None
    cpu_total_s: float | None = None
    cpu_window_s: float | None = None  # CPU between T0 and T1
    cpu_steady_per_h: float | None = None  # CPU seconds per hour between Ts and T1
    span_s: float | None = None  # T1 - T0
    peak_rss_bytes: int | None = None
    returncode: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def error_pct(self) -> float | None:
        if self.reported_j is None or not self.truth_j:
            return None
        return 100.0 * (self.reported_j - self.truth_j) / self.truth_j


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("RAISON_GARDER_")}


def run_trace(
    trace: Trace,
    tools: list[str],
    duration_s: float,
    lead_s: float,
    work: Path,
    library: Path,
    smi_dir: Path,
    pythons: dict[str, Path],
) -> list[ToolResult]:
    """Measure `trace` with every tool in `tools` over [T0, T0 + duration_s]."""
    work.mkdir(parents=True, exist_ok=True)
    launched = time.monotonic()
    t0 = launched + lead_s
    t1 = t0 + duration_s
    rig = make_rig(library, work / "driver", trace.gpu(duration_s + lead_s + 120.0), anchor=t0)

    env = _clean_env()
    env["FAKE_NVML_SCENARIO"] = str(rig.scenario_path)
    # Peers load libnvidia-ml.so.1 by name: the fake's folder goes first.
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (str(library.parent), env.get("LD_LIBRARY_PATH", "")) if p)
    env["PATH"] = os.pathsep.join((str(smi_dir), env.get("PATH", "")))
    env["PYTHONDONTWRITEBYTECODE"] = "1"

    caps: list[FakePowercap] = []

    def ours_env(tag: str) -> dict[str, str]:
        e = dict(env)
        base = work / tag
        for var, sub in (("RAISON_GARDER_DATA_DIR", "data"), ("RAISON_GARDER_CONFIG_DIR", "config"),
                         ("RAISON_GARDER_POWERCAP_ROOT", "powercap"),
                         ("RAISON_GARDER_DRM_ROOT", "drm")):
            (base / sub).mkdir(parents=True, exist_ok=True)
            e[var] = str(base / sub)
        e["RAISON_GARDER_NVML_LIBRARY"] = str(library)
        if not any((base / "powercap").iterdir()):
            cap = FakePowercap(base / "powercap", None)  # type: ignore[arg-type]
            cap.add_package(0, watts=35.0)
            caps.append(cap)
        return e

    tool_root = isolation.fake_comfyui(work / "tool")

    children: dict[str, procwatch.Child] = {}
    for key in tools:
        tool = TOOLS[key]
        python = sys.executable if tool.interpreter == "ours" else str(pythons[tool.interpreter])
        argv = [python, str(RUNNERS / str(tool.runner)), "--start", repr(t0),
                "--duration", repr(duration_s), "--out", str(work / f"{key}.json"), *tool.options]
        if tool.runner == "codecarbon_run.py":
            argv += ["--csv-dir", str(work / key / "csv")]
        tool_env = ours_env(f"{key}-energy") if key == "ours" else env
        if key == "ours":  # measured as a user generating would be: a session open
            argv = isolation.wrap(argv, tool_root)
        children[key] = procwatch.launch(key, argv, tool_env, work / key, work / f"{key}.log")

    ts = t0 + min(STEADY_AFTER_S, duration_s / 4)
    watcher = procwatch.Watcher(list(children.values()), {"t0": t0, "ts": ts, "t1": t1}).start()
    ours_cli: procwatch.Child | None = None
    ours_idle: procwatch.Child | None = None
    with contextlib.ExitStack() as feeding:
        try:
            if "ours" in tools:
                # The real, unhooked CLI, for the overhead figures: with a session, and idle.
                procwatch.sleep_until(t0 - OURS_LEAD_S)
                argv = [sys.executable, "-m", "tray_app", "monitor", "--headless", "--quiet",
                        "--duration", f"{duration_s + OURS_LEAD_S + 0.5:g}"]
                ours_cli = procwatch.launch("ours-cli", isolation.wrap(argv, tool_root),
                                            ours_env("ours-cli"), ROOT, work / "ours-cli.log")
                ours_idle = procwatch.launch(IDLE_KEY, isolation.wrap(argv), ours_env(IDLE_KEY),
                                             ROOT, work / f"{IDLE_KEY}.log")
                for cap in caps:
                    feeding.enter_context(cap.live(0.05))
                watcher.add(ours_cli)
                watcher.add(ours_idle)
            deadline = t1 + 90.0
            for child in [*children.values(), *(c for c in (ours_cli, ours_idle) if c)]:
                procwatch.reap(child, deadline)
        finally:
            watcher.stop()

    results = []
    for key in tools:
        child = children[key]
        res = _result(TOOLS[key], trace, work / f"{key}.json", child, rig, t0)
        if key == "ours" and ours_cli is not None:
            res.extra["hooked_process"] = {"cpu_total_s": child.cpu_total_s,
                                           "cpu_window_s": child.window_cpu_s,
                                           "cpu_steady_s": child.cpu_between("ts", "t1"),
                                           "peak_rss_bytes": child.peak_rss_bytes}
            child = ours_cli  # overhead figures come from the plain CLI process
            res.extra["cli_returncode"] = ours_cli.returncode
        res.cpu_total_s = child.cpu_total_s
        res.cpu_window_s = child.window_cpu_s
        steady = child.cpu_between("ts", "t1")
        res.cpu_steady_per_h = None if steady is None else steady / (t1 - ts) * 3600.0
        res.span_s = duration_s
        res.peak_rss_bytes = child.peak_rss_bytes
        if key == "ours":
            res.extra["isolated"] = isolation.available()
        results.append(res)
    if ours_idle is not None:
        idle = ToolResult(IDLE_KEY, IDLE_LABEL, trace.name, returncode=ours_idle.returncode,
                          method="(overhead only)")
        idle.cpu_total_s = ours_idle.cpu_total_s
        idle.cpu_window_s = ours_idle.window_cpu_s
        steady = ours_idle.cpu_between("ts", "t1")
        idle.cpu_steady_per_h = None if steady is None else steady / (t1 - ts) * 3600.0
        idle.span_s = duration_s
        idle.peak_rss_bytes = ours_idle.peak_rss_bytes
        results.append(idle)
    return results


def _log_tail(path: Path, lines: int = 4) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def _result(tool: Tool, trace: Trace, out: Path, child: procwatch.Child, rig: Any,
            t0: float) -> ToolResult:
    res = ToolResult(tool.key, tool.label, trace.name, returncode=child.returncode)
    try:
        data = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        res.error = f"no result (exit {child.returncode}): {_log_tail(child.log)}"
        return res
    if "error" in data:
        res.error = data["error"]
        return res
    a, b = data["window"]
    res.reported_j = float(data["gpu_energy_j"])
    res.truth_j = rig.ground_truth_j(0, a, b)
    res.window_s = b - a
    res.late_start_s = a - t0
    res.method = data.get("method")
    res.extra = {k: v for k, v in data.items()
                 if k not in ("gpu_energy_j", "window", "method")}
    return res
