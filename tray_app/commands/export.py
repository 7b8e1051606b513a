"""`raison-garder export`: every session as CSV, JSON, or CodeCarbon's emissions.csv."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

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
    from tray_app.store.exchange import (
        generations_csv_path,
        write_codecarbon,
        write_csv,
        write_generations_csv,
        write_json,
    )

    store = open_store_or_report()
    if store is None:
        return 1
    try:
        with store:
            rows = store.list_sessions(order="start_ts ASC")
            gens = (
                store.list_generations(oldest_first=True, with_session_uid=True)
                if args.format != "codecarbon"
                else []
            )
    except StoreError as exc:
        print(_("raison-garder: {message}").format(message=exc), file=sys.stderr)
        return 1

    def writer(out: TextIO) -> None:
        if args.format == "json":  # each session carries its generations
            write_json(rows, out, gens)
        else:
            (write_csv if args.format == "csv" else write_codecarbon)(rows, out)

    if not args.output:
        writer(sys.stdout)
        return 0
    try:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            writer(out)
        if args.format == "csv" and gens:  # a CSV holds one table: generations go beside it
            side = generations_csv_path(args.output)
            with open(side, "w", encoding="utf-8", newline="") as out:
                write_generations_csv(gens, out)
            print(
                _("Exported {n} generations to {file}.").format(n=len(gens), file=side),
                file=sys.stderr,
            )
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
