"""`raison-garder import FILE`: add sessions from our JSON/CSV export or a CodeCarbon
emissions.csv, all or nothing.

`import -` reads standard input, so `export | ssh other raison-garder import -` works."""

from __future__ import annotations

import argparse
import sys

from tray_app.system.i18n import _, ngettext

EXIT_REFUSED = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "import",
        help=_("import sessions from an export or a CodeCarbon emissions.csv"),
        description=_(
            "Import sessions from a Raison Garder JSON or CSV export, or a CodeCarbon "
            "emissions.csv (its runs become sessions of tool codecarbon:<project>). Sessions "
            "already in the store are skipped; a file with any bad record is refused as a whole."
        ),
    )
    p.add_argument(
        "file",
        metavar=_("FILE"),
        help=_(
            "a JSON or CSV file written by `raison-garder export`, an emissions.csv, "
            "or - for standard input"
        ),
    )


def run(args: argparse.Namespace) -> int:
    from tray_app.commands.store_access import read_store
    from tray_app.store.exchange import ImportRefused, read_import_all

    try:
        records, generations = read_import_all(args.file)
    except ImportRefused as exc:
        print(
            _("raison-garder: import refused, nothing was changed. {reason}").format(reason=exc),
            file=sys.stderr,
        )
        return EXIT_REFUSED
    counts = read_store(lambda store: store.import_all(records, generations))
    if counts is None:
        return 1
    added, skipped, gen_added = counts
    print(
        ngettext("Imported {added} session", "Imported {added} sessions", added).format(added=added)
        + " "
        + ngettext(
            "({skipped} was already there).", "({skipped} were already there).", skipped
        ).format(skipped=skipped)
    )
    if generations:
        gen_skipped = len(generations) - gen_added
        print(
            ngettext("Imported {added} generation", "Imported {added} generations", gen_added)
            .format(added=gen_added)
            + " "
            + ngettext(
                "({skipped} was already there).", "({skipped} were already there).", gen_skipped
            ).format(skipped=gen_skipped)
        )
    return 0
