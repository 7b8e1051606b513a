"""Our headless monitor from two checkouts, side by side in one run: what a change did to its CPU.

    git worktree add --detach ../old <commit>
    .venv/bin/python benchmarks/bench_ab.py --old ../old [--seconds 240]

Six `monitor --headless --quiet` processes run for the same wall time, each in its own PID
namespace beside a fake ComfyUI (so a session is open), with a fake RAPL package and the fake
NVIDIA driver of the test suite (bench_monitor.py's rig):
  A_old, A_new, A_new2  a board with an energy counter (A_new2: the noise between two identical
                        children, to read the A difference against);
  C_old, C_new          a pre-Ampere board without counter nor average, diffusion bursts;
  P_new                 the same board whose driver keeps its power samples (nvmlDeviceGetSamples).
Prints steady CPU (% of a core, after a 20 s warm-up) and peak RSS per child.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import bench_monitor as bm  # noqa: E402
from benchmarks.compare_lib import isolation  # noqa: E402
from benchmarks.compare_lib.traces import diffusion_images, with_noise  # noqa: E402
from tests.fixtures.fake_nvml import FakeGpu, FakeProcess, realistic_session  # noqa: E402
from tests.fixtures.fake_sysfs import FakePowercap  # noqa: E402

TOOL_PID = 2  # the fake ComfyUI inside each namespace, after the monitor (pid 1)


def counter_gpu(seconds: float) -> FakeGpu:
    return FakeGpu(trace=realistic_session(scale=seconds / 60), loop=True,
                   processes=[FakeProcess(pid=TOOL_PID, used_mb=6000)])  # fmt: skip


def pascal_gpu(seconds: float, samples: bool) -> FakeGpu:
    trace = with_noise(diffusion_images(seconds + 60, high_w=(200.0, 240.0)))
    return FakeGpu(name="NVIDIA GeForce GTX 1080 Ti", trace=trace, energy="unsupported",
                   architecture=4, power_samples=samples,
                   processes=[FakeProcess(pid=TOOL_PID, used_mb=6000)])  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", type=Path, required=True, help="the other checkout (a worktree)")
    ap.add_argument("--seconds", type=float, default=240.0)
    args = ap.parse_args()
    old, new, seconds = args.old.resolve(), ROOT, args.seconds
    if not (old / "tray_app").is_dir():
        ap.error(f"{old} is not a checkout of this project")
    if not isolation.available():
        print("needs PID namespaces (root and unshare): other tools on the machine would open "
              "sessions in the monitors", file=sys.stderr)  # fmt: skip
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="rg-ab-"))
    try:
        lib = bm.build_fake_nvml(tmp)
        tool_root = isolation.fake_comfyui(tmp / "tool")
        children = {
            "A_old": (old, counter_gpu(seconds)),
            "A_new": (new, counter_gpu(seconds)),
            "A_new2": (new, counter_gpu(seconds)),
            "C_old": (old, pascal_gpu(seconds, samples=False)),
            "C_new": (new, pascal_gpu(seconds, samples=False)),
            "P_new": (new, pascal_gpu(seconds, samples=True)),
        }
        monitor = [sys.executable, "-m", "tray_app", "monitor", "--headless", "--quiet",
                   "--duration", str(seconds)]  # fmt: skip
        cmds, caps = {}, []
        for name, (root, gpu) in children.items():
            env, _ = bm.scenario(tmp / name, lib, gpu, seconds, True)
            env["PYTHONPATH"] = str(root)
            cap = FakePowercap(tmp / name / "powercap", None)  # type: ignore[arg-type]
            cap.add_package(0, watts=35.0)
            caps.append(cap)
            # `python -m tray_app` finds the package in the working folder first: start there.
            cmds[name] = (["sh", "-c", 'cd "$0" && exec "$@"', str(root),
                           *isolation.wrap(monitor, tool_root)], env)  # fmt: skip
        with contextlib.ExitStack() as feeding:
            for cap in caps:
                feeding.enter_context(cap.live(0.05))
            res = bm.run_children(cmds, seconds, warmup=20.0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"| child | checkout | steady CPU | peak RSS |  ({seconds:.0f} s side by side)")
    print("|---|---|---:|---:|")
    for name, (root, _gpu) in children.items():
        r = res[name]
        print(f"| {name} | {root} | {r['steady_pct']:.4f} % | {r['rss_mb']:.1f} MB |")
    return 0 if all(v["rc"] == 0 for v in res.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
