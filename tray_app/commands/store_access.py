"""What the commands that read the history share: their option parsers (`--since`, `--limit`),
the store opened and read with every problem said once on stderr (never a traceback), and the
plain-text table they print."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from tray_app.system.i18n import _

T = TypeVar("T")


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


def start_of(day: date | None) -> float | None:
    """The timestamp of local midnight starting `day` (what `--since DAY` means), or None."""
    return datetime.combine(day, datetime.min.time()).timestamp() if day else None


def say(message: object) -> None:
    """A problem with the store, on stderr: `raison-garder: …`."""
    print(_("raison-garder: {message}").format(message=message), file=sys.stderr)


def open_store_or_report() -> Any:
    """The store, or None after printing why it cannot be opened (never a traceback)."""
    from tray_app.store import Store, StoreError

    try:
        store = Store.open_for_reading()
    except StoreError as exc:
        say(exc)
        return None
    for problem in store.problems:
        say(problem)
    return store


def read_store(query: Callable[[Any], T]) -> T | None:
    """`query(store)` on the opened store; None once the reason it failed is printed."""
    from tray_app.store import StoreError

    store = open_store_or_report()
    if store is None:
        return None
    try:
        with store:
            return query(store)
    except StoreError as exc:
        say(exc)
        return None


def table(header: Sequence[str], body: Iterable[Sequence[str]], right: set[int]) -> list[str]:
    """Columns two spaces apart, the ones in `right` (numbers) aligned on the right."""
    lines = [tuple(header), *(tuple(line) for line in body)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return [
        "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in lines
    ]
