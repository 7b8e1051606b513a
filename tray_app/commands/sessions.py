"""`raison-garder sessions`: the recorded sessions, newest first, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from typing import Any

from tray_app.system.fmt import long_date
from tray_app.system.i18n import _, ngettext

TABLE_DEFAULT_LIMIT = 30


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("'{value}' is not a date like 2024-05-31").format(value=text)
        ) from None


def positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(_("'{value}' is not a positive number").format(value=text))
    return n


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sessions",
        help=_("list recorded sessions, newest first"),
        description=_("List recorded sessions, newest first."),
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help=_("print a JSON array"))
    fmt.add_argument("--csv", action="store_true", help=_("print CSV"))
    p.add_argument(
        "--since",
        type=parse_day,
        metavar=_("YYYY-MM-DD"),
        help=_("sessions started on or after this day"),
    )
    p.add_argument("--limit", type=positive_int, metavar="N", help=_("at most N sessions"))


def open_store_or_report() -> Any:
    """The store, or None after printing why it cannot be opened (never a traceback)."""
    from tray_app.store import Store, StoreError

    try:
        store = Store.open_for_reading()
    except StoreError as exc:
        print(_("raison-garder: {message}").format(message=exc), file=sys.stderr)
        return None
    for problem in store.problems:
        print(_("raison-garder: {message}").format(message=problem), file=sys.stderr)
    return store


def run(args: argparse.Namespace) -> int:
    from tray_app.store import StoreError
    from tray_app.store.exchange import write_csv, write_json

    store = open_store_or_report()
    if store is None:
        return 1
    since = datetime.combine(args.since, datetime.min.time()).timestamp() if args.since else None
    table = not (args.json or args.csv)
    limit = args.limit or (TABLE_DEFAULT_LIMIT if table else None)
    try:
        with store:
            rows = store.list_sessions(since=since, limit=limit)
            total = store.count_sessions(since) if table else len(rows)
            earlier = store.count_sessions(None) if table and since and not rows else 0
    except StoreError as exc:
        print(_("raison-garder: {message}").format(message=exc), file=sys.stderr)
        return 1
    if args.json:
        write_json(rows, sys.stdout)
    elif args.csv:
        write_csv(rows, sys.stdout)
    elif earlier:
        print(_since_nothing(args.since, earlier))
    else:
        print(render_table(rows, total))
    return 0


def _since_nothing(day: date, earlier: int) -> str:
    """Nothing since DAY but some before it: not "none recorded yet"."""
    return ngettext(
        "No sessions since {day} ({n} earlier one: `raison-garder sessions` without --since "
        "lists it).",
        "No sessions since {day} ({n} earlier ones: `raison-garder sessions` without --since "
        "lists them).",
        earlier,
    ).format(day=long_date(day, weekday=False), n=earlier)


def render_table(rows: list[dict[str, Any]], total: int) -> str:
    from tray_app.sessions import display
    from tray_app.system import fmt

    if not rows:
        return _(
            "No sessions recorded yet. A session appears here when the monitor (the tray icon, or "
            "`raison-garder monitor`) sees an AI image tool such as ComfyUI or A1111 at work."
        )
    header = (
        _("ID"),
        _("Started"),
        _("Tool"),
        _("Duration"),
        _("Wh"),
        _("Method"),
        _("Status"),
        _("Images"),
    )
    body = []
    for r in rows:
        tool = r["tool"] if len(r["tool"]) <= 16 else r["tool"][:15] + "…"
        body.append(
            (
                str(r["id"]),
                fmt.date_time(r["start_ts"]),
                tool,
                fmt.clock_duration(r.get("duration_s")),
                fmt.number(r.get("total_wh"), 1),
                display.method_word(r.get("energy_method")),
                display.status_word(r.get("status")),
                "-" if r.get("images") is None else str(r["images"]),
            )
        )
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    right = {0, 3, 4, 7}  # numbers line up on the right

    def row_text(line: tuple[str, ...]) -> str:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    lines = [row_text(header), *(row_text(line) for line in body)]
    if total > len(rows):
        lines.append(
            ngettext(
                "Showing {shown} of {total} session; use --limit N to see more.",
                "Showing {shown} of {total} sessions; use --limit N to see more.",
                total,
            ).format(shown=len(rows), total=total)
        )
    return "\n".join(lines)
