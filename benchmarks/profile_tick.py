"""Where a session tick's CPU goes: the real engine in-process, each part timed by thread CPU.

    .venv/bin/python benchmarks/profile_tick.py [--seconds 60] [--trace counter|pascal|pascal-nofield|pascal-samples]

The engine runs as `monitor --headless --quiet` would (idle cadence on, 1 s snapshots while a
session is open), in a PID namespace of its own beside a fake ComfyUI (so a session opens),
against the fake NVIDIA driver of the test suite and a fake RAPL package. Each part below is
wrapped to add up its thread CPU time (`time.thread_time_ns`, nanoseconds); the wrappers cost
~1 us a call themselves. The steady share of a core is taken after a 10 s warm-up.
Prints one table: part, calls, CPU us per call, share of one core.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WARMUP_S = 10.0
PROF: list = []  # a cProfile.Profile, enabled around each poll and tick (PROFILE_CPROFILE=1)


def _instrument() -> tuple[dict[str, list[int]], list[bool]]:
    """Wrap the parts of a tick; returns {part: [calls, ns]} filled while `on[0]` is True."""
    from tray_app.idle.desk import IdleDesk
    from tray_app.measure import monitor as monitor_mod
    from tray_app.measure.processes import ProcessCpu
    from tray_app.measure.sensors import nvml, rapl
    from tray_app.runtime import engine as engine_mod
    from tray_app.runtime.tools import ToolWatch
    from tray_app.runtime.totals import Totals
    from tray_app.sessions.tracker import SessionTracker
    from tray_app.store.core import Store

    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    on = [False]
    clock = time.thread_time_ns

    def wrap(owner: object, name: str, label: str) -> None:
        fn = getattr(owner, name)

        outer = label.startswith(("monitor poll", "engine tick"))

        def timed(*args: object, **kw: object) -> object:
            t = clock()
            if outer and on[0] and PROF:
                PROF[0].enable()
            try:
                return fn(*args, **kw)
            finally:
                if outer and on[0] and PROF:
                    PROF[0].disable()
                if on[0]:
                    s = stats[label]
                    s[0] += 1
                    s[1] += clock() - t

        setattr(owner, name, timed)

    wrap(nvml.NvmlGpuSensor, "read", "nvml read (full + fast)")
    wrap(rapl.CounterFileSensor, "read", "rapl read")
    wrap(ProcessCpu, "read", "tools' CPU times")
    wrap(monitor_mod.Monitor, "_build", "snapshot build (incl. CPU times)")
    wrap(monitor_mod.Monitor, "poll", "monitor poll (reads + build)")
    wrap(SessionTracker, "update", "sessions update (incl. samples)")
    wrap(Store, "add_samples", "store add_samples (+ flush)")
    wrap(Store, "update_session", "store update_session")
    wrap(Totals, "update", "totals")
    wrap(ToolWatch, "detect", "tool detection")
    wrap(IdleDesk, "step", "idle-waste step")
    wrap(engine_mod.Engine, "tick", "engine tick (all but poll)")
    from tray_app.sessions.attribution import Attributor

    wrap(Attributor, "split", "  attribution split")
    wrap(SessionTracker, "_step_session", "  session step")
    wrap(engine_mod, "EngineStatus", "  status build")
    wrap(engine_mod, "session_view", "  session view")
    wrap(engine_mod, "activity", "  reminders activity")
    if os.environ.get("PROFILE_NVML_CALLS"):
        wrap_calls = nvml.NvmlSession.call

        def call(self: object, name: str, *a: object, **kw: object) -> object:
            t = clock()
            try:
                return wrap_calls(self, name, *a, **kw)
            finally:
                if on[0]:
                    s = stats["    nvml " + name]
                    s[0] += 1
                    s[1] += clock() - t

        nvml.NvmlSession.call = call  # type: ignore[method-assign]
    return stats, on


def _threads() -> dict[int, int]:
    out = {}
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):
            out[int(tid)] = int(Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[0])
    return out


def _comm(tid: int) -> str:
    try:
        return Path(f"/proc/self/task/{tid}/comm").read_text().strip()
    except OSError:
        return "?"


def inner(seconds: float, out: Path) -> None:
    stats, on = _instrument()
    from tray_app.commands.monitor import PrintingListener
    from tray_app.runtime.engine import Engine

    engine = Engine(PrintingListener(quiet=True), idle_cadence=True)  # as `monitor --quiet`
    prof = None
    if os.environ.get("PROFILE_CPROFILE"):
        import cProfile

        prof = cProfile.Profile()
        PROF.append(prof)
    stop = threading.Event()
    marks: dict[str, float] = {}

    def switch() -> None:
        time.sleep(WARMUP_S)
        marks["t0"], marks["c0"] = time.monotonic(), time.process_time()
        threads0.update(_threads())
        on[0] = True
        time.sleep(seconds)
        on[0] = False
        marks["t1"], marks["c1"] = time.monotonic(), time.process_time()
        marks["sessions"] = len(engine.tracker.sessions) if engine.tracker else 0  # before stop
        for tid, ns in _threads().items():
            stats[f"thread {tid} {_comm(tid)}"] = [1, ns - threads0.get(tid, 0)]
        stop.set()
        engine.request_stop()

    import gc

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            marks["gc_t"] = clock_ns()
        elif on[0]:
            st = stats[f"gc gen{info['generation']}"]
            st[0] += 1
            st[1] += clock_ns() - int(marks["gc_t"])

    clock_ns = time.thread_time_ns
    gc.callbacks.append(on_gc)
    threads0 = _threads()
    threading.Thread(target=switch, daemon=True).start()
    engine.run(stop)
    span = marks["t1"] - marks["t0"]
    if prof is not None:
        import pstats

        pstats.Stats(prof).sort_stats("tottime").print_stats(45)
    mon = engine.parts.monitor if engine.parts else None
    out.write_text(
        json.dumps(
            {
                "span_s": span,
                "process_cpu_s": marks["c1"] - marks["c0"],
                "sessions": int(marks["sessions"]),
                "reads": getattr(mon, "reads", None),
                "wakeups": getattr(mon, "wakeups", None),
                "stats": dict(stats),
            }
        )
    )


def outer(args: argparse.Namespace) -> int:
    from benchmarks.compare_lib import isolation
    from benchmarks.compare_lib.fake_driver import build_library, make_rig
    from benchmarks.compare_lib.traces import TRACES
    from tests.fixtures.fake_sysfs import FakePowercap

    trace = {
        "counter": "diffusion",
        "pascal": "no-counter",
        "pascal-nofield": "no-counter-nofield",
        "pascal-samples": "no-counter-samples",
        "steady": "steady",
    }[args.trace]
    work = Path(tempfile.mkdtemp(prefix="rg-profile-"))
    library = build_library(ROOT / "build" / "bench-compare" / "fake-nvml")
    total = WARMUP_S + args.seconds + 5.0
    rig = make_rig(
        library, work / "driver", TRACES[trace].gpu(total + 60.0), anchor=time.monotonic() + 1.0
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAISON_GARDER_")}
    env["FAKE_NVML_SCENARIO"] = str(rig.scenario_path)
    env["RAISON_GARDER_NVML_LIBRARY"] = str(library)
    env["PYTHONPATH"] = str(ROOT)
    for var, sub in (
        ("RAISON_GARDER_DATA_DIR", "data"),
        ("RAISON_GARDER_CONFIG_DIR", "config"),
        ("RAISON_GARDER_POWERCAP_ROOT", "powercap"),
        ("RAISON_GARDER_DRM_ROOT", "drm"),
    ):
        (work / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(work / sub)
    cap = FakePowercap(work / "powercap", None)  # type: ignore[arg-type]
    cap.add_package(0, watts=35.0)
    tool_root = isolation.fake_comfyui(work / "tool")
    result = work / "profile.json"
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--inner",
        "--seconds",
        str(args.seconds),
        "--out",
        str(result),
    ]
    if os.environ.get("PROFILE_ARGV"):  # another script in the same rig (development aid)
        argv = [sys.executable, *os.environ["PROFILE_ARGV"].split()]
    with cap.live(0.05):
        subprocess.run(isolation.wrap(argv, tool_root), env=env, check=True, cwd=ROOT)
    if os.environ.get("PROFILE_ARGV"):
        return 0
    data = json.loads(result.read_text())
    span = data["span_s"]
    print(
        f"trace {args.trace} ({trace}), {span:.0f} s steady, sessions open: {data['sessions']}, "
        f"isolated: {isolation.available()}"
    )
    print(
        f"process CPU: {100 * data['process_cpu_s'] / span:.4f} % of a core "
        f"(reads {data['reads']}, wake-ups {data['wakeups']})"
    )
    print(f"{'part':38s} {'calls':>6s} {'us/call':>8s} {'% core':>8s}")
    for label, (calls, ns) in sorted(data["stats"].items(), key=lambda kv: -kv[1][1]):
        per = ns / calls / 1000 if calls else 0.0
        print(f"{label:38s} {calls:6d} {per:8.1f} {100 * ns / 1e9 / span:8.4f}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument(
        "--trace", default="counter", choices=("counter", "steady", "pascal", "pascal-nofield", "pascal-samples")
    )
    p.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.inner:
        inner(args.seconds, args.out)
        return 0
    with contextlib.suppress(KeyboardInterrupt):
        return outer(args)
    return 1


if __name__ == "__main__":
    sys.exit(main())
