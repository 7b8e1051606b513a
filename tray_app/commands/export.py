"""`raison-garder export`: every session as CSV, JSON, or CodeCarbon's emissions.csv."""

from __future__ import annotations

import argparse
import sys

from tray_app.system.i18n import _


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export", help=_("Export all sessions."), description=_("Export all sessions.")
    )
    p.add_argument(
        "--format",
        choices=("csv", "json", "codecarbon"),
        default="csv",
        help=_("csv or json (importable again), or codecarbon (its emissions.csv columns)"),
    )
    p.add_argument(
        "--output", "-o", metavar="FILE", help=_("write to FILE instead of the terminal")
    )


def run(args: argparse.Namespace) -> int:
    from tray_app.commands.sessions import open_store_or_report
    from tray_app.store import StoreError
    from tray_app.store.exchange import write_codecarbon, write_csv, write_json

    store = open_store_or_report()
    if store is None:
        return 1
    try:
        with store:
            rows = store.list_sessions(order="start_ts ASC")
    except StoreError as exc:
        print(_("raison-garder: {message}").format(message=exc), file=sys.stderr)
        return 1
    writer = {"csv": write_csv, "json": write_json, "codecarbon": write_codecarbon}[args.format]
    if not args.output:
        writer(rows, sys.stdout)
        return 0
    try:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            writer(rows, out)
    except OSError as exc:
        print(
            _("raison-garder: cannot write {file}: {error}").format(
                file=args.output, error=exc.strerror or exc
            ),
            file=sys.stderr,
        )
        return 1
    print(
        _("Exported {n} sessions to {file}.").format(n=len(rows), file=args.output), file=sys.stderr
    )
    return 0
