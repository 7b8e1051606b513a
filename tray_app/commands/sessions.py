"""`raison-garder sessions`: the recorded sessions, newest first, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

from tray_app.commands.store_access import parse_day, positive_int, read_store, start_of, table
from tray_app.system.fmt import long_date
from tray_app.system.i18n import _, ngettext

TABLE_DEFAULT_LIMIT = 30


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


def run(args: argparse.Namespace) -> int:
    from tray_app.store.exchange import write_csv, write_json

    since = start_of(args.since)
    as_table = not (args.json or args.csv)
    limit = args.limit or (TABLE_DEFAULT_LIMIT if as_table else None)

    def query(store: Any) -> tuple[list[dict[str, Any]], int, int]:
        rows = store.list_sessions(since=since, limit=limit)
        total = store.count_sessions(since) if as_table else len(rows)
        earlier = store.count_sessions(None) if as_table and since and not rows else 0
        return rows, total, earlier

    found = read_store(query)
    if found is None:
        return 1
    rows, total, earlier = found
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
                "-" if r.get("images") is None else fmt.count(r["images"]),
            )
        )
    lines = table(header, body, right={0, 3, 4, 7})  # numbers line up on the right
    if total > len(rows):
        lines.append(
            ngettext(
                "Showing {shown} of {total} session; use --limit N to see more.",
                "Showing {shown} of {total} sessions; use --limit N to see more.",
                total,
            ).format(shown=len(rows), total=total)
        )
    return "\n".join(lines)
