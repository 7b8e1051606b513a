"""`raison-garder release [--tool ID] [--json]`: ask a running image tool to free its GPU memory
through its own API (loopback only), then watch the GPU for a while and say what changed."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from tray_app.system.i18n import _

BEFORE_S = 2.0  # "before" is the mean of this many seconds of readings, not one instant


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 600:
        raise argparse.ArgumentTypeError(_("must be a number of seconds between 0 and 600"))
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    from tray_app.idle.release import WINDOW_S

    p = subparsers.add_parser(
        "release",
        help=_("Ask a running image tool to free its GPU memory, then measure what it changed."),
        description=_(
            "Ask a running image tool to free its GPU memory through its own API (on this machine only), then measure the GPU's power and the tool's memory for a while. No process is ever stopped."
        ),
    )
    p.add_argument("--tool", metavar="ID", help=_("the tool to ask (comfyui, a1111, forge, sdnext…); default: the one holding the most GPU memory"))
    p.add_argument("--json", action="store_true", help=_("print one JSON object"))
    p.add_argument("--window", type=_seconds, default=WINDOW_S, metavar="S",
                   help=_("seconds to measure after asking (default: {n})").format(n=int(WINDOW_S)))


class _Gpus:
    """The GPU sensors, read the way the tray reads them: power, and each process's memory."""

    def __init__(self) -> None:
        from tray_app.measure.sensors.discovery import discover

        self.set = discover()
        self.sensors = [s for s in self.set.sensors if s.kind.value == "gpu"]

    def read(self) -> list[Any]:
        return [s.read() for s in self.sensors]

    def close(self) -> None:
        self.set.close()


def _held(
    readings: Sequence[Any], pids: set[int], gpus: set[str] | None = None
) -> tuple[float | None, float | None, bool]:
    """(watts of `gpus` — by default the GPUs the tool is on —, MiB it holds, whether it is on
    any GPU). After asking, the GPUs it was on are watched even if it left them entirely."""
    watts: list[float] = []
    mem: float | None = 0.0
    on_gpu = False
    seen = False
    for r in readings:
        seen = seen or r.process_memory_mb is not None
        mine = [(p, mb) for p, mb in (r.process_memory_mb or ()) if p in pids]
        on_gpu = on_gpu or bool(mine)
        watched = r.source in gpus if gpus is not None else bool(mine)
        if watched and r.power_w is not None:
            watts.append(r.power_w)
        if mem is not None and mine:
            mem = None if any(mb is None for _p, mb in mine) else mem + sum(mb for _p, mb in mine)
    return (sum(watts) if watts else None), (mem if seen else None), on_gpu


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _choose(found: Sequence[Any], wanted: str | None, readings: Sequence[Any]) -> Any | None:
    """The tool asked for, else the one holding the most GPU memory. Without --tool, a tool on
    no GPU is never chosen: there is nothing of it to free."""

    def held(t: Any) -> tuple[bool, float]:
        _w, mem, on_gpu = _held(readings, set(t.pids or (t.pid,)))
        return on_gpu, mem or 0.0

    candidates = [t for t in found if (t.tool == wanted if wanted else held(t)[0])]
    return max(candidates, key=held) if candidates else None


def run(args: argparse.Namespace, sleep: Callable[[float], None] = time.sleep) -> int:
    from tray_app.detect.scanner import Scanner
    from tray_app.idle.release import Target, Watch, candidate_ports, listening_ports, outcome, send

    sensors = _Gpus()
    try:
        readings = sensors.read()
        gpu_pids: dict[int, set[int]] = {}
        for i, r in enumerate(readings):
            for pid in r.pids or ():
                gpu_pids.setdefault(pid, set()).add(i)
        found = Scanner().scan(gpu_pids)
        tool = _choose(found, args.tool, readings)
        if tool is None:
            if args.tool:
                msg = _("No running tool with the id {id}. Running: {tools}.").format(
                    id=args.tool, tools=", ".join(sorted({t.tool for t in found})) or _("none"))
            else:
                msg = _("No image tool holds GPU memory: nothing to free.")
            return _say_problem(args, msg)
        target = Target(tool.tool, tool.display_name(), tool.pid, tuple(tool.pids), tool.port)
        pids = set(target.pids or (target.pid,))
        gpus = {r.source for r in readings if any(p in pids for p, _mb in r.process_memory_mb or ())}
        before: list[tuple[float | None, float | None]] = []
        end = time.monotonic() + BEFORE_S
        while True:
            watts, mem, _on = _held(readings, pids, gpus)
            before.append((watts, mem))
            if time.monotonic() >= end:
                break
            sleep(0.5)
            readings = sensors.read()
        listening = [] if target.port else listening_ports(target.pids or (target.pid,))
        answer = send(target, candidate_ports(target, listening))
        watch = Watch(_mean([w for w, _m in before]), before[-1][1], time.monotonic(), args.window)
        if answer.accepted:
            if not args.json:
                print(_("{tool} accepted; measuring for {n} s…").format(
                    tool=target.label, n=int(args.window)), flush=True)
            while True:
                now = time.monotonic()
                watts, mem, _on = _held(sensors.read(), pids, gpus)
                watch.add(now, watts, mem)
                if watch.done(now):
                    break
                sleep(1.0)
        result = outcome(target, answer, watch)
    finally:
        sensors.close()
    if args.json:
        json.dump(result.to_json(), sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print(result.message())
        if result.endpoint:
            status = result.http_status if result.http_status is not None else _("no answer")
            print(_("Asked {endpoint}: {status}").format(endpoint=result.endpoint, status=status))
    return 0 if result.accepted else 1


def _say_problem(args: argparse.Namespace, message: str) -> int:
    if args.json:
        json.dump({"tool": args.tool, "accepted": False, "message": message}, sys.stdout, ensure_ascii=False)
        print()
    else:
        print(message, file=sys.stderr)
    return 1
