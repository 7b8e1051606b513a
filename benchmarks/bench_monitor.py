"""The headless monitor's own cost, beside a bare sleeping Python, measured in one run.

    .venv/bin/python benchmarks/bench_monitor.py [--seconds 180] [--quick]

The children run side by side for the same wall time, each with its own data dir:
  I. `raison-garder monitor --headless --quiet` with a fake GPU that has the energy counter and
     a fake RAPL package, and no image tool running: the idle cadence (the rest of the day);
  A. the same with a fake ComfyUI process on that GPU (so a session is open, samples are
     stored, detection runs): the everyday case while generating;
  B. the same with a GPU *without* counter playing sub-second diffusion bursts (Ampere+: its
     1 s power averages are tiled at 1 Hz);
  C. the same on a pre-Ampere board without counter nor average: ~7 Hz while the power steps;
  M. A with the metrics endpoint on;
  Aoff. A with per-process attribution off (`per_process_attribution: false`): no CPU-time
     reads, every session counts the whole machine; A - Aoff is what attribution costs;
  S. A with a second, non-tool process on the GPU (70/30 SM): NVML's per-process utilisation
     is asked at every snapshot too (the shared-GPU case);
  D. `python -c 'import time; time.sleep(N)'`: the floor of any Python process.
Each monitor runs in its own PID namespace where possible (benchmarks/compare_lib/isolation.py:
the machine is shared, and other people's ComfyUI look-alikes would open sessions), with its
fake ComfyUI inside it (pid 2 there). CPU seconds (user+sys, from the threads' nanosecond
counters) and peak RSS come from /proc for each child's process tree, less the scaffolding.
The fake hardware is fed by this process (its cost is not charged to the children).

Side by side, a difference of 0.01 % of a core (36 ms of CPU an hour) is below what two
identical children differ by over a few minutes, so the added work per snapshot is also timed
in this process (`attribution_micro`): ProcessCpu.read() over the tool's pids and the split of
one interval, with attribution on and off, converted to % of a core at one snapshot a second.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.compare_lib import isolation  # noqa: E402
from benchmarks.compare_lib.procwatch import _tree, tree_cpu_s  # noqa: E402
from tests.fixtures.fake_nvml import (  # noqa: E402
    FAKE_SOURCE,
    FakeGpu,
    FakeNvml,
    FakeProcess,
    bursty_diffusion,
    realistic_session,
)
from tests.fixtures.fake_sysfs import FakePowercap  # noqa: E402

COMFY_MAIN = "import time\nwhile True:\n    time.sleep(3600)\n"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_fake_nvml(out: Path) -> Path:
    lib = out / "libnvidia-ml.so.1"
    cc = shutil.which("cc") or shutil.which("gcc")
    subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(lib), str(FAKE_SOURCE), "-lm", "-pthread"],
                   check=True)
    return lib


def fake_comfyui(base: Path) -> subprocess.Popen:
    root = base / "ComfyUI"
    (root / "comfy").mkdir(parents=True)
    for name in ("nodes.py", "execution.py", "server.py", "folder_paths.py"):
        (root / name).write_text("")
    (root / "main.py").write_text(COMFY_MAIN)
    return subprocess.Popen([sys.executable, "main.py", "--port", "8199"], cwd=root)


def scenario(base: Path, lib: Path, gpu: FakeGpu, seconds: float, powercap: bool) -> dict[str, str]:
    base.mkdir(parents=True)
    rig = FakeNvml(library=lib, scenario_path=base / "scenario.txt", gpus=[gpu], anchor=time.monotonic())
    rig.write()
    env = dict(os.environ)
    env.update(
        RAISON_GARDER_DATA_DIR=str(base / "data"),
        RAISON_GARDER_CONFIG_DIR=str(base / "config"),
        RAISON_GARDER_NVML_LIBRARY=str(lib),
        FAKE_NVML_SCENARIO=str(rig.scenario_path),
        RAISON_GARDER_POWERCAP_ROOT=str(base / "powercap"),
        RAISON_GARDER_DRM_ROOT=str(base / "no-drm"),
    )
    env.pop("DISPLAY", None)
    return env, rig


def _proc_sample(pid: int) -> tuple[float, float] | None:
    """(user+sys CPU seconds of the tree, largest peak RSS MB in it) of a live child, from /proc
    (the scaffolding of isolation.py left out)."""
    procs = _tree(pid)
    if not procs:
        return None
    hwm = 0
    for p in procs:
        try:
            status = Path(f"/proc/{p.pid}/status").read_text()
        except OSError:
            continue
        hwm = max(hwm, next((int(line.split()[1]) for line in status.splitlines()
                             if line.startswith("VmHWM:")), 0))
    return tree_cpu_s(pid), hwm / 1024


def run_children(cmds: dict[str, tuple[list[str], dict]], seconds: float, warmup: float) -> dict[str, dict]:
    """Run the children side by side; CPU from /proc after `warmup` s (start-up excluded) and in
    total; peak RSS from VmHWM (ru_maxrss would include the parent's memory at fork)."""
    procs = {name: subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
             for name, (cmd, env) in cmds.items()}
    t0 = time.monotonic()
    warm: dict[str, tuple[float, float]] = {}
    last: dict[str, tuple[float, float, float]] = {}
    while any(p.poll() is None for p in procs.values()):
        now = time.monotonic()
        for name, p in procs.items():
            sample = _proc_sample(p.pid) if p.returncode is None else None
            if sample is None or sample[1] == 0:  # gone, or a zombie without memory figures
                continue
            last[name] = (now, *sample)
            if name not in warm and now - t0 >= warmup:
                warm[name] = (now, sample[0])
        time.sleep(0.5)
    out = {}
    for name, p in procs.items():
        t_end, cpu_end, rss = last[name]
        t_w, cpu_w = warm.get(name, (t0, 0.0))
        span = max(1e-9, t_end - t_w)
        out[name] = {"steady_pct": 100 * (cpu_end - cpu_w) / span, "cpu_s": cpu_end,
                     "rss_mb": rss, "rc": p.returncode, "span": span}
    return out


def attribution_micro(tool_pid: int, rounds: int = 20000) -> dict[str, float]:
    """Per-snapshot cost of attribution, in microseconds of this process's CPU time."""
    from tray_app.measure.monitor import Snapshot, SourceState
    from tray_app.measure.processes import ProcessCpu
    from tray_app.measure.sensors.base import GpuProcess, Kind, Method
    from tray_app.sessions.attribution import Attributor, Party

    def snap(t: float, cpu: object, procs: tuple) -> Snapshot:
        return Snapshot(t=t, wall=t, cpu_times=cpu, sources=(  # type: ignore[arg-type]
            SourceState("nvidia:0", Kind.GPU, "GPU", Method.COUNTER, 250.0, 250.0 * t, 0.0,
                        processes=procs),
            SourceState("rapl:package-0", Kind.CPU, "CPU", Method.COUNTER, 35.0, 35.0 * t, 0.0),
        ))

    party = [Party(("comfyui", tool_pid), frozenset({tool_pid}), frozenset({0}))]
    alone = (GpuProcess(tool_pid, 6000.0, None),)
    shared = (GpuProcess(tool_pid, 6000.0, 70.0), GpuProcess(1, 100.0, 30.0))
    probe = ProcessCpu()
    probe.watch([tool_pid])
    out = {}

    def cpu_us(fn: object) -> float:
        t0 = time.process_time()
        for _ in range(rounds):
            fn()  # type: ignore[operator]
        return (time.process_time() - t0) / rounds * 1e6

    out["read_us"] = cpu_us(probe.read)
    a, b = probe.read(), probe.read()
    for name, procs, on in (("split_on_us", alone, True), ("split_shared_us", shared, True),
                            ("split_off_us", alone, False)):
        attributor = Attributor(per_process=on)
        prev, cur = snap(1.0, a if on else None, procs), snap(2.0, b if on else None, procs)
        out[name] = cpu_us(functools.partial(attributor.split, prev, cur, party))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--quick", action="store_true", help="30 s instead of 180 s")
    args = ap.parse_args()
    seconds = 30.0 if args.quick else args.seconds
    tmp = Path(tempfile.mkdtemp(prefix="rg-bench-"))
    lib = build_fake_nvml(tmp)
    comfy = fake_comfyui(tmp)  # seen by the monitors only when they cannot be isolated
    isolated = isolation.available()
    tool_root = isolation.fake_comfyui(tmp / "tool") if isolated else None
    tool_pid = 2 if isolated else comfy.pid  # inside its namespace, after the monitor (pid 1)
    try:
        gpu_a = FakeGpu(trace=realistic_session(scale=seconds / 60), loop=True,
                        processes=[FakeProcess(pid=tool_pid, used_mb=6000)])
        gpu_b = FakeGpu(trace=bursty_diffusion(duration_s=seconds + 60), energy="unsupported",
                        processes=[FakeProcess(pid=tool_pid, used_mb=6000)])
        env_a, _ = scenario(tmp / "A", lib, gpu_a, seconds, True)
        env_b, _ = scenario(tmp / "B", lib, gpu_b, seconds, True)
        gpu_c = FakeGpu(name="NVIDIA GeForce GTX 1080 Ti", trace=bursty_diffusion(duration_s=seconds + 60),
                        energy="unsupported", architecture=4,
                        processes=[FakeProcess(pid=tool_pid, used_mb=6000)])
        env_c, _ = scenario(tmp / "C", lib, gpu_c, seconds, True)
        env_m, _ = scenario(tmp / "M", lib, gpu_a, seconds, True)
        (tmp / "M" / "config").mkdir()
        (tmp / "M" / "config" / "settings.json").write_text(
            json.dumps({"metrics": {"enabled": True, "port": free_port()}}))
        env_off, _ = scenario(tmp / "Aoff", lib, gpu_a, seconds, True)
        (tmp / "Aoff" / "config").mkdir()
        (tmp / "Aoff" / "config" / "settings.json").write_text(
            json.dumps({"per_process_attribution": False}))
        gpu_s = FakeGpu(trace=realistic_session(scale=seconds / 60), loop=True,
                        processes=[FakeProcess(pid=tool_pid, used_mb=6000, sm_pct=70.0),
                                   FakeProcess(pid=os.getpid(), used_mb=300, kind="graphics",
                                               sm_pct=30.0)])
        env_s, _ = scenario(tmp / "S", lib, gpu_s, seconds, True)
        env_i, _ = scenario(tmp / "I", lib, FakeGpu(trace=realistic_session(scale=seconds / 60),
                                                    loop=True), seconds, True)
        caps = []
        for base in (tmp / "A", tmp / "B", tmp / "C", tmp / "M", tmp / "Aoff", tmp / "S", tmp / "I"):
            cap = FakePowercap(base / "powercap", None)  # type: ignore[arg-type]
            cap.add_package(0, watts=35.0)
            cap.add_subdomain(0, 0, "core", watts=20.0)
            caps.append(cap)
        monitor = [sys.executable, "-m", "tray_app", "monitor", "--headless", "--quiet",
                   "--duration", str(seconds)]
        bare = [sys.executable, "-c", f"import time; time.sleep({seconds})"]
        tool = isolation.wrap(monitor, tool_root)
        with contextlib.ExitStack() as feeding:
            for cap in caps:
                feeding.enter_context(cap.live(0.05))
            res = run_children({"I": (isolation.wrap(monitor), env_i),
                                "A": (tool, env_a), "B": (tool, env_b), "C": (tool, env_c),
                                "M": (tool, env_m), "Aoff": (tool, env_off), "S": (tool, env_s),
                                "bare": (bare, dict(os.environ))}, seconds, warmup=min(20.0, seconds / 3))
        micro = attribution_micro(comfy.pid)
    finally:
        comfy.kill()
        comfy.wait()
    bare = res["bare"]
    span = res["A"]["span"]
    print(f"# Headless monitor overhead ({seconds:.0f} s per process, steady state measured over "
          f"the last {span:.0f} s; {os.cpu_count()} cores, Python {sys.version.split()[0]})\n")
    print("| process | steady CPU, % of one core | above bare Python | CPU s per hour (above bare) "
          "| CPU s in total (with start-up) | peak RSS MB | RSS / bare |")
    print("|---|---|---|---|---|---|---|")
    for name, label in (("I", "monitor: counter GPU + RAPL, no tool running (idle cadence)"),
                        ("A", "monitor: counter GPU + RAPL + a ComfyUI session"),
                        ("B", "monitor: bursty GPU without counter, Ampere+ (1 s averages tiled)"),
                        ("C", "monitor: bursty GPU without counter nor average, pre-Ampere (~7 Hz while the power steps)"),
                        ("M", "A + metrics endpoint on, nobody scraping"),
                        ("Aoff", "A with per-process attribution off"),
                        ("S", "A on a GPU shared with another program (per-process utilisation asked)"),
                        ("bare", "bare `python -c 'import time; time.sleep(N)'`")):
        r = res[name]
        extra = max(0.0, r["steady_pct"] - bare["steady_pct"]) if name != "bare" else 0.0
        print(f"| {label} | {r['steady_pct']:.3f} % | {extra:.3f} % | {36 * extra:.2f} | "
              f"{r['cpu_s']:.2f} | {r['rss_mb']:.1f} | {r['rss_mb'] / bare['rss_mb']:.2f}x |")
    diff = res["A"]["steady_pct"] - res["Aoff"]["steady_pct"]
    print(f"\nAttribution on - off, side by side (A - Aoff): {diff:+.3f} % of a core "
          f"({36 * diff:+.2f} CPU s per hour); S - Aoff: "
          f"{res['S']['steady_pct'] - res['Aoff']['steady_pct']:+.3f} %.")
    on_us = micro["read_us"] + micro["split_on_us"]
    shared_us = micro["read_us"] + micro["split_shared_us"]
    print(f"Per snapshot, timed in-process: ProcessCpu.read() {micro['read_us']:.1f} us, split "
          f"{micro['split_on_us']:.1f} us on (shared GPU: {micro['split_shared_us']:.1f} us), "
          f"{micro['split_off_us']:.1f} us off. At 1 snapshot/s attribution adds "
          f"{(on_us - micro['split_off_us']) / 1e4:.4f} % of a core "
          f"({(shared_us - micro['split_off_us']) / 1e4:.4f} % with a shared GPU; "
          f"NVML per-process utilisation calls not included, see S).")
    print("\nExit codes: " + ", ".join(f"{k}={v['rc']}" for k, v in res.items()))
    print("Monitors in their own PID namespaces: " + ("yes" if isolated else
          "no (not root, or no unshare): ComfyUI-like processes elsewhere on this machine may open sessions"))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if all(v["rc"] == 0 for v in res.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
