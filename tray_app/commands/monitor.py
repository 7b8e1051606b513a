"""`raison-garder monitor`: the monitor without any GUI, one line a tick.

The default line fits an 80-column terminal (total, GPU, CPU, energy since start, session);
`--wide` names every source and how it is measured. When the monitor stops (`--duration`,
Ctrl+C, SIGTERM) it prints one summary line, even with `--quiet`, so a timed run always answers.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from typing import Any

from tray_app.config.settings import TypedSettings, key_of
from tray_app.system.i18n import _, set_language

COLUMNS = 80


def positive_seconds(text: str) -> float:
    """--duration, --interval: seconds above 0, written 1.5 or 1,5 (0 or less would run one
    tick, not "no time")."""
    try:
        seconds = float(text.strip().replace(",", "."))
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(
            _("'{value}' is not a positive number of seconds").format(value=text)
        )
    return seconds


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "monitor",
        help=_("run the monitor without any GUI"),
        description=_(
            "Measure without any window: one line per interval with the power drawn now, the "
            "energy since the start and the running session, then a summary when it stops. "
            "Sessions and reminders are recorded as with the tray icon. ≈ marks an estimate."
        ),
    )
    p.add_argument("--headless", action="store_true", help=_("no GUI (the default for this command)"))
    p.add_argument("--duration", type=positive_seconds, metavar=_("SECONDS"), help=_("stop after this many seconds"))
    p.add_argument("--interval", type=positive_seconds, metavar=_("SECONDS"), help=_("sampling interval (default: the setting, 1 s)"))
    p.add_argument("--quiet", action="store_true", help=_("no line per interval (warnings, errors and the final summary still shown)"))
    p.add_argument("--wide", action="store_true", help=_("one column per source, with how it is measured (wider than 80 columns)"))


def default_args() -> argparse.Namespace:
    return argparse.Namespace(headless=True, duration=None, interval=None, quiet=False, wide=False)


def _watts(w: float | None, estimated: bool = False) -> str:
    if w is None:
        return _("? W")
    return ("≈" if estimated else "") + _("{w:.1f} W").format(w=w)


def _method_word(method: Any) -> str:
    from tray_app.sessions.display import method_word

    return method_word(str(getattr(method, "value", method)))


def _fit(line: str, width: int = COLUMNS) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


def compact_line(status: Any) -> str:
    """14:05:03  total 285,5 W  GPU 250,5 W  CPU ≈35,0 W  0,073 Wh  ComfyUI 1,23 Wh"""
    from tray_app.measure.sensors.base import Kind, Method

    snap = status.snapshot
    parts = [time.strftime("%H:%M:%S", time.localtime(snap.wall))]
    parts.append(_("total {power}").format(power=_watts(snap.total_w)))
    for kind, name in ((Kind.GPU, _("GPU")), (Kind.CPU, _("CPU"))):
        sources = [s for s in snap.sources if s.kind is kind]
        if sources:
            estimated = all(s.method is Method.ESTIMATED for s in sources)
            parts.append(f"{name} {_watts(snap.power_w(kind), estimated)}")
    parts.append(_("{wh:.3f} Wh").format(wh=snap.energy_j() / 3600))
    if status.session is not None:
        ses = status.session
        parts.append(_("{tool} {wh:.2f} Wh").format(tool=ses.tool_label, wh=ses.total_wh))
    return _fit("  ".join(parts))


def wide_line(status: Any) -> str:
    """Every source by its id, with how it is measured: for logs and for debugging sensors."""
    snap = status.snapshot
    parts = [time.strftime("%H:%M:%S", time.localtime(snap.wall))]
    for s in snap.sources:
        parts.append(f"{s.source} {_watts(s.power_w)} ({_method_word(s.method)})")
    parts.append(_("total {power}").format(power=_watts(snap.total_w)))
    parts.append(_("{wh:.3f} Wh since start").format(wh=snap.energy_j() / 3600))
    if status.session is not None:
        ses = status.session
        parts.append(_("session {tool} {wh:.2f} Wh").format(tool=ses.tool_label, wh=ses.total_wh))
    return "  ".join(parts)


def summary_line(first: Any, last: Any, elapsed_s: float) -> str:
    """Measured for 2 min 05: 0,073 Wh (GPU 0,070 Wh, CPU ≈0,003 Wh), on average 105,2 W."""
    from tray_app.measure.sensors.base import Kind, Method
    from tray_app.system import fmt

    if last is None:
        return _("Stopped after {duration}: no measurement yet.").format(
            duration=fmt.duration(elapsed_s)
        )
    snap = last.snapshot
    wh = snap.energy_j() / 3600
    parts = []
    for kind, name in ((Kind.GPU, _("GPU")), (Kind.CPU, _("CPU"))):
        sources = [s for s in snap.sources if s.kind is kind]
        if sources:
            mark = "≈" if all(s.method is Method.ESTIMATED for s in sources) else ""
            parts.append(
                f"{name} {mark}" + _("{wh:.3f} Wh").format(wh=snap.energy_j(kind) / 3600)
            )
    span = snap.t - first.snapshot.t if first is not None else 0.0
    line = _("Measured for {duration}: {wh} ({detail})").format(
        duration=fmt.duration(elapsed_s),
        wh=_("{wh:.3f} Wh").format(wh=wh),
        detail=", ".join(parts) or _("no source"),
    )
    if span > 0:
        line += ", " + _("on average {power}").format(
            power=_("{w:.1f} W").format(w=(snap.energy_j() - first.snapshot.energy_j()) / span)
        )
    return line + "."


class PrintingListener:
    def __init__(self, quiet: bool, wide: bool = False) -> None:
        self.quiet = quiet
        self.wide = wide
        # --quiet prints only the summary (first and last status): no status built every second.
        self.status_every_s = 60.0 if quiet else 0.0
        self.first: Any = None
        self.last: Any = None

    def on_status(self, status: Any) -> None:
        if self.first is None:
            self.first = status
        self.last = status
        if self.quiet:
            return
        print(wide_line(status) if self.wide else compact_line(status), flush=True)

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
    from tray_app.system import fmt, paths
    from tray_app.system.instance import KIND_MONITOR, InstanceLock, already_running_message

    if args.interval is not None and not 0.1 <= args.interval <= 60:
        print(
            _("--interval must be between {low} and {high} seconds.").format(
                low=fmt.flexible(0.1), high=fmt.flexible(60)
            ),
            file=sys.stderr,
        )
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


class _SaidByTheListener(logging.Filter):
    """Drops the log record of a problem the engine also hands its listener (`Engine._problem`
    logs it, then calls `on_problem`): the printer says it once, as "warning: …" in the user's
    language. Without a handler of ours, Python's last-resort handler printed it a second time."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "tray_app.runtime.engine" and record.funcName == "_problem")


def _log_to_stderr() -> logging.Handler:
    """Warnings that are not also problems said by the listener still reach the terminal, as
    before (bare message on stderr)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.addFilter(_SaidByTheListener())
    logging.getLogger("tray_app").addHandler(handler)
    return handler


def _run_locked(args: argparse.Namespace, engine_class: Any) -> int:
    handler = _log_to_stderr()
    try:
        return _run_engine(args, engine_class)
    finally:
        logging.getLogger("tray_app").removeHandler(handler)


def _run_engine(args: argparse.Namespace, engine_class: Any) -> int:
    stop = threading.Event()
    listener = PrintingListener(args.quiet, getattr(args, "wide", False))
    # A line per interval is a live display: the idle cadence is for --quiet (and the tray).
    engine = engine_class(listener, interval_s=args.interval, idle_cadence=args.quiet)
    started = time.monotonic()

    def _stop(*_args: object) -> None:
        engine.request_stop()  # sets `stop` and wakes the monitor out of its idle wait

    signal.signal(signal.SIGTERM, _stop)
    try:
        engine.run(stop, duration_s=args.duration)
    except KeyboardInterrupt:
        pass
    print(summary_line(listener.first, listener.last, time.monotonic() - started), flush=True)
    return 0
