"""Our headless monitor for the energy figure: exactly `raison-garder monitor --headless --quiet`
(tray_app.cli.main, the whole Engine), with one hook that keeps the Monitor so the GPU source's
integrated joules and its exact window (first to last reading) can be read at the end.
Run with the repository's own interpreter; the overhead is measured on a separate, unhooked
CLI process."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository root
import common


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--interval", type=float, default=None)


def measure(args: Any) -> dict[str, Any]:
    from tray_app.cli import main
    from tray_app.measure.sensors.base import Kind
    from tray_app.runtime import engine

    kept: list[Any] = []
    build = engine.Engine._build_monitor

    def keep(self: engine.Engine) -> Any:
        monitor = build(self)
        kept.append(monitor)
        return monitor

    engine.Engine._build_monitor = keep  # type: ignore[method-assign]
    common.sleep_until(args.start)
    argv = ["monitor", "--headless", "--quiet", "--duration", f"{args.duration:g}"]
    if args.interval is not None:
        argv += ["--interval", f"{args.interval:g}"]
    rc = main(argv)
    if rc != 0 or not kept:
        raise RuntimeError(f"the monitor exited with {rc}")
    monitor = kept[0]
    gpus = [s for s in monitor._sources if s.sensor.kind is Kind.GPU]
    if not gpus:
        raise RuntimeError("the monitor found no GPU")
    acc = gpus[0].acc
    if acc.last is None or acc.first_t is None:
        raise RuntimeError("the monitor read nothing from the GPU")
    return {
        "gpu_energy_j": acc.energy_j,
        "window": [acc.first_t, acc.last.t],
        "window_outer": [acc.first_t, acc.last.t],
        "method": gpus[0].sensor.method.value,
        "unknown_s": acc.unknown_s,
        "reads": monitor.reads,
    }


if __name__ == "__main__":
    sys.exit(common.run(common.parse(options), measure))
