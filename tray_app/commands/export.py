"""`raison-garder export`: every session as CSV, JSON, or CodeCarbon's emissions.csv."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
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
        _write_private(args.output, writer)
        if args.format == "csv" and gens:  # a CSV holds one table: generations go beside it
            side = generations_csv_path(args.output)
            _write_private(str(side), lambda out: write_generations_csv(gens, out))
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


def _write_private(target: str, write: Callable[[TextIO], None]) -> None:
    """A file only the user can read (the history is theirs), written all or nothing. A target
    that is not a regular file (a pipe, /dev/stdout) is written as it is."""
    import io
    import os
    import stat

    from tray_app.system.atomic import atomic_write

    try:
        regular = stat.S_ISREG(os.stat(target).st_mode)
    except FileNotFoundError:
        regular = True
    if not regular:
        with open(target, "w", encoding="utf-8", newline="") as out:
            write(out)
        return
    buffer = io.StringIO(newline="")
    write(buffer)
    atomic_write(target, buffer.getvalue())
