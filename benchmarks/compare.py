"""Our monitor beside CodeCarbon, Zeus and a plain 1 Hz NVML loop, on the same fake GPU.

    .venv/bin/python benchmarks/compare.py            # the full run (~12 min on 2 cores)
    .venv/bin/python benchmarks/compare.py --quick    # a short run (~3 min), not for the record

For each trace (steady load, diffusion bursts, sub-second spikes, GPUs without the energy
counter) every tool runs at once, each in its own process, against the fake libnvidia-ml.so.1
of the test suite; the energy each reports is compared with the exact integral of the trace
over the window that tool measured, and the CPU time and peak memory of each process are
taken from outside (os.wait4, psutil). The peers live in throwaway venvs under
build/bench-venvs/ (created on first use: PyPI must be reachable then).
Writes benchmarks/results_compare.md and build/bench-compare/results.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.compare_lib import venvs  # noqa: E402
from benchmarks.compare_lib.fake_driver import build_library, write_fake_smi  # noqa: E402
from benchmarks.compare_lib.harness import TOOLS, ToolResult, run_trace  # noqa: E402
from benchmarks.compare_lib.report import RunInfo, render  # noqa: E402
from benchmarks.compare_lib.traces import TRACES  # noqa: E402

DEFAULT_TRACES = (
    "steady", "diffusion", "spikes", "no-counter-ampere", "no-counter", "no-counter-nofield",
)

CAVEATS = (
    "A fake driver: each NVML call here costs microseconds; a real driver takes "
    "roughly 0.1-1 ms per call (more on some boards), which raises every tool's CPU, most of "
    "all the ones that read often (our 10 Hz fast path without counter, Zeus's power "
    "monitor). The fake's power sensor is perfect; real boards are rated ±5 %, and on "
    "A100/H100 the power sensor sees only part of the runtime (Yang et al., SC'24): "
    "no tool here can do better than the driver it reads.",
    "The fake follows the documented behaviour: the energy counter is the exact integral, "
    "`nvmlDeviceGetPowerUsage` is a 1 s moving average on Ampere and later and an "
    "instantaneous value before; fields 185/186 (average / instant power) answer only "
    "where the trace says so. Which real pre-Volta boards answer field 186 under current "
    "drivers is not known to us: the two no-counter traces cover both answers.",
    "CodeCarbon's default interval is 15 s: it reads the counter (or averages its 1 Hz "
    "power samples) per interval; over a short window its last partial interval is "
    "measured at stop(). Its CPU figure includes its own CPU and RAM estimation (on by "
    "default), which the other tools do not do; its `gpu_energy` alone is compared.",
    "Zeus is designed for measurement windows around code, not for continuous monitoring; "
    "`sync_execution=False` because no GPU framework is installed (nothing to wait for).",
    "All tools run side by side on 2 cores: each process's CPU is its own, but a tool that "
    "samples fast may be delayed by the others. Wall-clock windows differ by up to a second "
    "or two between tools (start-up); the truth is computed per window, so this does not "
    "bias the error column.",
    "One run is one draw. With a counter the figures repeat to the last digit; without one "
    "they depend on where the samples fall against the bursts. In development runs of the "
    "120 s no-counter trace (2026-11-25), ours gave -0.78 / -0.23 %, CodeCarbon 1 s "
    "-0.70 / +0.99 % (+6.34 % over 60 s), and Zeus -0.23 % once and -19.81 % once (that "
    "run predates the sample-density diagnostics now kept in build/bench-compare/*/zeus.json, "
    "so its cause is not known).",
    "CPU whole run includes interpreter start-up and imports over a short life "
    "(lead + window). CPU in window is the cost while measuring; it includes what a tool "
    "does when its measurement starts (CodeCarbon's `start()` set-up, 1-2 s of CPU), while "
    "our CLI was started before T0 (its start-up is in the whole-run column only). Peak RSS "
    "is the whole process tree.",
)

# What reading the measured versions' source explains about the figures (checked by hand
# against codecarbon 3.3.2 and zeus 0.16.0; re-check them when the pins in venvs.py move).
OBSERVATIONS = (
    "CodeCarbon 3.3.2 spends 1-2 s inside `start()` (hardware set-up) before its first "
    "counter read: energy drawn in that time is not counted (its *window* column is shorter). "
    "Over its own window, with the counter, it is exact. Without a counter it averages "
    "`nvmlDeviceGetPowerUsage` samples taken by a fixed 1 s thread over each interval "
    "(`core/gpu_device.py`), so a faster `measure_power_secs` does not sample faster; no "
    "minimum is enforced on `measure_power_secs` (a float).",
    "Zeus 0.16.0 decides that a GPU has the energy counter from its architecture (Volta or "
    "later), and otherwise starts its `PowerMonitor` in spawned child processes. That "
    "monitor reads only NVML fields 186/185 (instant / average power), never "
    "`nvmlDeviceGetPowerUsage`: a board that answers neither fails at `end_window` "
    "(\"Neither PowerDomain.DEVICE_INSTANT nor PowerDomain.DEVICE_AVERAGE is being "
    "monitored\"). Its polling period is inferred as `min(0.0, detected period) / 2`, which "
    "is always 0, so the polling child never sleeps (`zeus/monitor/power.py`, "
    "`infer_counter_update_period`): that is its CPU figure on the no-counter trace. It keeps "
    "only readings that differ from the previous one and integrates between them by the "
    "trapezoid rule.",
    "A 1 Hz `nvmlDeviceGetPowerUsage` loop is nearly exact on Ampere and later, where the "
    "value is a 1 s moving average (consecutive readings tile the time), and badly wrong "
    "on an instantaneous reading with periodic load (pre-Ampere boards here), where every "
    "read lands on the same phase.",
    "Our monitor reads the counter once a second where there is one while a session is open, "
    "and every 5 s with no tool running (its idle cadence: the 'no tool running' row). Without "
    "a counter, on Ampere and later, it reads once a second too and chains the board's 1 s power "
    "averages, which tile the time. Before Ampere (no counter, no average), where the driver "
    "keeps its buffer of power samples (nvmlDeviceGetSamples: the 'driver's power samples' "
    "trace, one every 20 ms in the fake), it reads once a second too and integrates every "
    "sample since the previous read. Where the driver does not, it reads every 0.3 s "
    "while the board is busy, every 0.5 s for 8 s after activity, at ~7 Hz only while the power "
    "keeps stepping (a step within 1.2 s of the previous one), then once a second; a read due "
    "within 0.2 s of a snapshot takes it along. The start of an image after a long pause is seen "
    "up to one second late and bridged by the trapezoid rule, the expected source of its "
    "remaining error on those traces. That path is still its costliest case. "
    "Counter and power come in one nvmlDeviceGetFieldValues call (field 83 with 186/185), the "
    "tools' CPU times are read every 5 s. "
    "Our processes run in PID namespaces of their own (benchmarks/compare_lib/isolation.py), "
    "with a fake ComfyUI beside the session ones, so other jobs on a shared machine cannot open "
    "sessions in them. Inside a PID namespace the app sets the driver's process list aside "
    "(it names host PIDs): the session's GPU share is then the honest fallback, one session "
    "here, the whole GPU.",
)


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()} on "
            f"{platform.system()} {platform.release()}")


def _versions(pythons: dict[str, Path]) -> dict[str, str]:
    ours = venvs.version(Path(sys.executable), "nvidia-ml-py") or "?"
    found = {"Raison Garder": _our_version()}
    for name, peer in venvs.PEERS.items():
        if name in pythons:
            found[peer.dist] = venvs.version(pythons[name], peer.dist) or "?"
    found["nvidia-ml-py (loop, and our monitor)"] = ours
    return found


def _our_version() -> str:
    from tray_app import __version__

    return __version__


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="20 s per trace (a smoke run)")
    p.add_argument("--duration", type=float, help="seconds per trace (default 120, quick 20)")
    p.add_argument("--lead", type=float, help="seconds from launch to T0 (default 15, quick 12)")
    p.add_argument("--traces", default=",".join(DEFAULT_TRACES),
                   help=f"comma-separated, from: {', '.join(TRACES)}")
    p.add_argument("--tools", default=",".join(TOOLS), help=f"from: {', '.join(TOOLS)}")
    p.add_argument("--work-dir", type=Path, default=ROOT / "build" / "bench-compare")
    p.add_argument("--venvs", type=Path, default=ROOT / "build" / "bench-venvs")
    p.add_argument("--no-setup", action="store_true", help="fail instead of creating venvs")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results_compare.md",
                   help="markdown output ('-' for none)")
    p.add_argument("--render-only", action="store_true",
                   help="rewrite the markdown from the last run's results.json, measuring nothing")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render_only:
        return render_only(args)
    duration = args.duration or (20.0 if args.quick else 120.0)
    lead = args.lead or (12.0 if args.quick else 15.0)
    traces = [t.strip() for t in args.traces.split(",") if t.strip()]
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [t for t in traces if t not in TRACES] + [t for t in tools if t not in TOOLS]
    if unknown:
        print(f"unknown trace or tool: {', '.join(unknown)}", file=sys.stderr)
        return 2

    library = build_library(args.work_dir / "fake-nvml")
    smi_dir = args.work_dir / "bin"
    write_fake_smi(smi_dir)
    pythons: dict[str, Path] = {}
    for key in tools:
        env_name = TOOLS[key].interpreter
        if env_name != "ours" and env_name not in pythons:
            pythons[env_name] = venvs.ensure(args.venvs, venvs.PEERS[env_name],
                                             create=not args.no_setup)

    results: list[ToolResult] = []
    for name in traces:
        print(f"[{time.strftime('%H:%M:%S')}] {name}: {duration:g} s with {', '.join(tools)}",
              flush=True)
        got = run_trace(TRACES[name], tools, duration, lead, args.work_dir / name, library,
                        smi_dir, pythons)
        for r in got:
            pct = r.error_pct
            shown = r.error if r.error is not None else f"{pct:+.2f} %" if pct is not None else "?"
            print(f"    {r.label:34s} {shown}  cpu {r.cpu_window_s or 0:.2f} s", flush=True)
        results += got

    command = ".venv/bin/python benchmarks/compare.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    info = RunInfo(command=command.strip(), date=time.strftime("%Y-%m-%d"),
                   machine=_machine(), versions=_versions(pythons), duration_s=duration,
                   notes=OBSERVATIONS)
    raw = args.work_dir / "results.json"
    raw.write_text(json.dumps({"info": dataclasses.asdict(info), "traces": traces,
                               "results": [dataclasses.asdict(r) for r in results]}, indent=1),
                   encoding="utf-8")
    print(f"wrote {raw}")
    if str(args.out) != "-":
        args.out.write_text(render(results, traces, info, CAVEATS), encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


def render_only(args: argparse.Namespace) -> int:
    """The markdown again from results.json (e.g. after editing the caveats)."""
    data = json.loads((args.work_dir / "results.json").read_text(encoding="utf-8"))
    results = [ToolResult(**r) for r in data["results"]]
    info = RunInfo(**{**data["info"], "notes": OBSERVATIONS})
    args.out.write_text(render(results, data["traces"], info, CAVEATS), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
