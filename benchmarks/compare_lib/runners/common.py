"""Shared by the runners (copied into no venv: each runner adds this folder to sys.path)."""

from __future__ import annotations

import argparse
import json
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any


def parse(extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--start", type=float, required=True, help="monotonic time to start measuring")
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--out", type=Path, required=True)
    if extra is not None:
        extra(p)
    return p.parse_args()


def sleep_until(t: float) -> None:
    while (left := t - time.monotonic()) > 0:
        time.sleep(min(left, 0.5))


def run(args: argparse.Namespace, measure: Callable[[argparse.Namespace], dict[str, Any]]) -> int:
    """Run `measure`, write its result (or the error, never a bare traceback) to args.out."""
    try:
        result = measure(args)
    except BaseException as exc:  # noqa: BLE001 - the harness needs the reason, whatever it is
        result = {"error": f"{type(exc).__name__}: {exc}".strip(),
                  "traceback": traceback.format_exc(limit=6)}
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0 if "error" not in result else 1
