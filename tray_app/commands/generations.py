"""`raison-garder generations`: each prompt or image with its own energy, newest first."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime
from typing import Any

from tray_app.commands.store_access import parse_day, positive_int, read_store, start_of, table
from tray_app.system.i18n import _, ngettext

TABLE_DEFAULT_LIMIT = 30


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "generations",
        help=_("List generations (each prompt or image) with their energy, newest first."),
        description=_(
            "List generations, newest first: each ComfyUI prompt, or each image (or batch) "
            "another tool saved, with the energy drawn over its own time window. 'exact' "
            "windows come from the tool's own timestamps; 'approximate' ones run from the "
            "previous image to this one, counting active time only."
        ),
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help=_("print a JSON array"))
    fmt.add_argument("--csv", action="store_true", help=_("print CSV"))
    p.add_argument("--session", type=positive_int, metavar="ID", help=_("only this session's"))
    p.add_argument(
        "--since",
        type=parse_day,
        metavar=_("YYYY-MM-DD"),
        help=_("generations started on or after this day"),
    )
    p.add_argument("--limit", type=positive_int, metavar="N", help=_("at most N generations"))


def public(row: dict[str, Any]) -> dict[str, Any]:
    from tray_app.store.generations import PUBLIC_FIELDS

    return {k: row.get(k) for k in PUBLIC_FIELDS}


def run(args: argparse.Namespace) -> int:
    from tray_app.store.exchange import _cell
    from tray_app.store.generations import PUBLIC_FIELDS

    since = start_of(args.since)
    limit = args.limit or (None if args.json or args.csv else TABLE_DEFAULT_LIMIT)
    rows = read_store(
        lambda store: store.list_generations(session_id=args.session, since=since, limit=limit)
    )
    if rows is None:
        return 1
    if args.json:
        json.dump([public(r) for r in rows], sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    elif args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(PUBLIC_FIELDS)
        for r in rows:
            writer.writerow([_cell(r.get(k)) for k in PUBLIC_FIELDS])
    else:
        print(render_table(rows, limit))
    return 0


def _num(value: float | None, digits: int = 2) -> str:
    from tray_app.system.fmt import number

    return number(value, digits)  # 1 234,56 in French; "?" when unknown


def render_table(rows: list[dict[str, Any]], limit: int | None) -> str:
    from tray_app.images.models import LABELS
    from tray_app.system.fmt import count

    if not rows:
        return _(
            "No generations recorded yet. They appear when the monitor sees a tool save images "
            "(ComfyUI through its history, the others through their output folders)."
        )
    header = (
        _("ID"), _("Session"), _("Ended"), _("Tool"), _("Images"), _("Wh"), _("Wh/image"),
        _("Seconds"), _("Model"), _("Steps"), _("Size"), _("Window"),
    )  # fmt: skip
    body = []
    for r in rows:
        size = f"{r['width']}×{r['height']}" if r.get("width") and r.get("height") else "-"
        family = r.get("model_family")
        body.append(
            (
                str(r["id"]), str(r["session_id"]),
                datetime.fromtimestamp(r["end_ts"]).strftime("%Y-%m-%d %H:%M:%S"),
                r["tool"][:16], count(r["images"]), _num(r.get("total_wh")),
                _num(r.get("wh_per_image")), _num(r["duration_s"], 1),
                LABELS.get(family or "", family or "?"),
                "-" if r.get("steps") is None else str(r["steps"]), size,
                _("exact") if r["window"] == "exact" else _("approximate"),
            )
        )  # fmt: skip
    lines = table(header, body, right={0, 1, 4, 5, 6, 7, 9})
    if limit is not None and len(rows) >= limit:
        lines.append(
            ngettext(
                "Showing the latest generation; use --limit N to see more.",
                "Showing the latest {n}; use --limit N to see more.",
                len(rows),
            ).format(n=len(rows))
        )
    return "\n".join(lines)
