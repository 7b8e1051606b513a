"""The words for a session's method and status in tables (`raison-garder sessions`, History).

The store keeps the machine words (`counter`, `complete`); `--json`/`--csv` print those, and
a person reads these, in their language. Unknown is "?", never a guess.
"""

from __future__ import annotations

from tray_app.system.i18n import _


def method_word(method: str | None) -> str:
    """counter / sampled / estimated / mixed, in a word or two for a table column."""
    return {
        "counter": _("counter"),
        "sampled": _("sampled"),
        "estimated": _("≈ estimated"),
        "mixed": _("≈ partly estimated"),
    }.get(method or "", "?" if not method else method)


def status_word(status: str | None) -> str:
    """open / complete / recovered: how a session ended (feminine in French: une session)."""
    return {
        "open": _("running"),
        "complete": _("complete"),
        "recovered": _("recovered after a crash"),
    }.get(status or "", "?" if not status else status)
