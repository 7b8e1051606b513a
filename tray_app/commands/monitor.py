"""`raison-garder monitor --headless`: the monitor without any GUI, one compact line a tick."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import Any

from tray_app.config.settings import TypedSettings, key_of
from tray_app.system.i18n import _, set_language


def positive_seconds(text: str) -> float:
    """--duration: a number of seconds above 0 (0 or less would run one tick, not "no time")."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(
            _("'{value}' is not a positive number of seconds").format(value=text)
        )
    return seconds


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("monitor", help=_("run the monitor without any GUI"))
    p.add_argument("--headless", action="store_true", help=_("no GUI (the default for this command)"))
    p.add_argument("--duration", type=positive_seconds, metavar=_("SECONDS"), help=_("stop after this many seconds"))
    p.add_argument("--interval", type=float, metavar=_("SECONDS"), help=_("sampling interval (default: the setting, 1 s)"))
    p.add_argument("--quiet", action="store_true", help=_("no line per interval (warnings and errors still shown)"))


def default_args() -> argparse.Namespace:
    return argparse.Namespace(headless=True, duration=None, interval=None, quiet=False)


def _fmt_w(w: float | None) -> str:
    return "  ?  W" if w is None else f"{w:5.1f} W"


class PrintingListener:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def on_status(self, status: Any) -> None:
        if self.quiet:
            return
        snap = status.snapshot
        parts = [time.strftime("%H:%M:%S", time.localtime(snap.wall))]
        for s in snap.sources:
            parts.append(f"{s.source} {_fmt_w(s.power_w)} ({s.method.value})")
        total = snap.total_w
        parts.append(_("total {w}").format(w=_fmt_w(total)))
        parts.append(_("{wh:.3f} Wh since start").format(wh=snap.energy_j() / 3600))
        if status.session is not None:
            ses = status.session
            parts.append(_("session {tool} {wh:.2f} Wh").format(tool=ses.tool_label, wh=ses.total_wh))
        print("  ".join(parts), flush=True)

    def on_reminder(self, reminder: Any) -> None:
        title = getattr(reminder, "title", "")
        body = getattr(reminder, "body", str(reminder))
        print(f"\n*** {title}\n{body}\n", flush=True)

    def on_problem(self, message: str) -> None:
        print(_("warning: {message}").format(message=message), file=sys.stderr, flush=True)

    def on_release(self, outcome: Any) -> None:
        print(outcome.message(), flush=True)

    def on_settings(self, settings: TypedSettings, changed: frozenset[str]) -> None:
        if key_of(lambda s: s.language) in changed:  # the monitor's own messages follow it
            set_language(settings.language)


def run(args: argparse.Namespace) -> int:
    from tray_app.runtime.engine import Engine
    from tray_app.system import paths
    from tray_app.system.instance import KIND_MONITOR, InstanceLock, already_running_message

    if args.interval is not None and not 0.1 <= args.interval <= 60:
        print(_("--interval must be between 0.1 and 60 seconds."), file=sys.stderr)
        return 2
    # One writer per data dir, taken before the store is even opened: a second monitor (or a
    # monitor beside the tray) would recover the first one's live session and count it twice.
    data_dir = paths.data_dir()
    lock = InstanceLock(data_dir, kind=KIND_MONITOR)
    try:
        first = lock.acquire(listen=False)
    except OSError as exc:
        print(_("Cannot use the data folder {path}: {error}").format(path=data_dir, error=exc),
              file=sys.stderr)
        return 1
    if not first:
        print(already_running_message(data_dir), file=sys.stderr)
        return 1
    try:
        return _run_locked(args, Engine)
    finally:
        lock.close()


def _run_locked(args: argparse.Namespace, engine_class: Any) -> int:
    stop = threading.Event()

    def _stop(*_args: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    engine = engine_class(PrintingListener(args.quiet), interval_s=args.interval)
    try:
        engine.run(stop, duration_s=args.duration)
    except KeyboardInterrupt:
        pass
    return 0
