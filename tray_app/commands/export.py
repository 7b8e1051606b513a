"""`raison-garder export`: the sessions as CSV, JSON, or CodeCarbon's emissions.csv.

To the terminal by default (`export > file.csv`, `export | …`); with `-o FILE` into a file, never
over an existing one without `--force`, and never into a folder that does not exist (a typo in a
path should not scatter exports around the disk). Files are private and written all or nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from tray_app.system.i18n import _, ngettext


def register(subparsers: argparse._SubParsersAction) -> None:
    from tray_app.commands.store_access import parse_day

    p = subparsers.add_parser(
        "export",
        help=_("export sessions as CSV or JSON, to the terminal or a file"),
        description=_(
            "Export the recorded sessions, oldest first, to the terminal or into a file. "
            "csv and json can be imported again with `raison-garder import`."
        ),
    )
    p.add_argument(
        "--format",
        choices=("csv", "json", "codecarbon"),
        default="csv",
        help=_("csv or json (importable again), or codecarbon (its emissions.csv columns)"),
    )
    p.add_argument(
        "--output", "-o", metavar=_("FILE"), help=_("write to FILE instead of the terminal")
    )
    p.add_argument("--force", action="store_true", help=_("replace FILE if it already exists"))
    p.add_argument(
        "--since",
        type=parse_day,
        metavar=_("YYYY-MM-DD"),
        help=_("only the sessions started on or after this day"),
    )


def _refuse_target(target: Path, force: bool) -> str | None:
    """Why we will not write `target`, or None when it is fine."""
    folder = target.parent
    if not folder.is_dir():
        return _(
            "raison-garder: the folder {folder} does not exist; create it first, or choose "
            "another file."
        ).format(folder=folder)
    if target.is_dir():
        return _("raison-garder: {file} is a folder; give a file name.").format(file=target)
    if target.is_file() and not force:  # a pipe or /dev/stdout is not "overwritten"
        return _(
            "raison-garder: {file} already exists; nothing was written. Use --force to replace it."
        ).format(file=target)
    return None


def run(args: argparse.Namespace) -> int:
    from tray_app.commands.store_access import read_store, start_of
    from tray_app.store.exchange import (
        generations_csv_path,
        write_codecarbon,
        write_csv,
        write_generations_csv,
        write_json,
    )
    from tray_app.system.atomic import write_private

    if args.output:
        problem = _refuse_target(Path(args.output), getattr(args, "force", False))
        if problem:
            print(problem, file=sys.stderr)
            return 1
    since_ts = start_of(getattr(args, "since", None))

    def query(store: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rows = store.list_sessions(since=since_ts, order="start_ts ASC")
        if args.format == "codecarbon":
            return rows, []
        return rows, store.list_generations(oldest_first=True, with_session_uid=True)

    found = read_store(query)
    if found is None:
        return 1
    rows, gens = found

    if since_ts is not None:  # only the generations of the sessions exported
        uids = {r.get("uid") for r in rows}
        gens = [g for g in gens if g.get("session_uid") in uids]

    def writer(out: TextIO) -> None:
        if args.format == "json":  # each session carries its generations
            write_json(rows, out, gens)
        else:
            (write_csv if args.format == "csv" else write_codecarbon)(rows, out)

    if not args.output:
        writer(sys.stdout)
        return 0
    try:
        write_private(args.output, writer)
        if args.format == "csv" and gens:  # a CSV holds one table: generations go beside it
            side = generations_csv_path(args.output)
            write_private(str(side), lambda out: write_generations_csv(gens, out))
            print(
                ngettext(
                    "Exported {n} generation to {file}.",
                    "Exported {n} generations to {file}.",
                    len(gens),
                ).format(n=len(gens), file=side),
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
        ngettext("Exported {n} session to {file}.", "Exported {n} sessions to {file}.", len(rows))
        .format(n=len(rows), file=args.output),
        file=sys.stderr,
    )
    return 0

