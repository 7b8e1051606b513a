"""`raison-garder reminders`: what the gentle reminders said, newest first, and how each reached
you (shown, or held back by do-not-disturb or a full-screen window)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from tray_app.commands.store_access import positive_int, read_store, table
from tray_app.system.i18n import _, ngettext

TABLE_DEFAULT_LIMIT = 30


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "reminders",
        help=_("list the reminders given so far, newest first"),
        description=_("List the reminders given so far, newest first."),
    )
    p.add_argument("--json", action="store_true", help=_("print a JSON array"))
    p.add_argument("--limit", type=positive_int, metavar="N", help=_("at most N reminders"))


def run(args: argparse.Namespace) -> int:
    limit = args.limit or (None if args.json else TABLE_DEFAULT_LIMIT)
    rows = read_store(lambda store: store.list_reminders(limit=limit))
    if rows is None:
        return 1
    if args.json:
        json.dump([as_json(r) for r in rows], sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print(render_table(rows, limit))
    return 0


def as_json(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["time"] = datetime.fromtimestamp(row["ts"]).astimezone().isoformat(timespec="seconds")
    return out


def rule_label(rule: str) -> str:
    """The rule's name from the rule table; a rule this version does not know keeps its id."""
    from tray_app.reminders.rules import RULE_BY_ID

    known = RULE_BY_ID.get(rule)
    return _(known.label) if known else rule


def delivery_label(delivery: str | None) -> str:
    if not delivery:
        return _("not recorded")
    if delivery == "shown":
        return _("shown")
    if delivery.startswith("shown:"):
        channel = {"dbus": _("desktop notification"), "popup": _("popup")}.get(
            delivery.removeprefix("shown:"), delivery.removeprefix("shown:"))
        return _("shown ({channel})").format(channel=channel)
    if delivery.startswith("held:"):
        reason = delivery.removeprefix("held:")
        why = {
            "dnd": _("do-not-disturb"),
            "fullscreen": _("full-screen app"),
        }.get(reason, reason)
        return _("held back ({reason})").format(reason=why)
    return delivery


def _n(value: Any) -> str:
    from tray_app.system.fmt import flexible

    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "?"
    return flexible(round(value, 1))


def values_text(rule: str, values: dict[str, Any]) -> str:
    """The measured figure against its threshold, in the rule's unit."""
    value, threshold = values.get("value"), values.get("threshold")
    from tray_app.reminders.rules import RULE_BY_ID

    known = RULE_BY_ID.get(rule)
    unit = _(known.unit) if known else ""
    if value is None:
        return "-"
    text = _("{value} {unit} (threshold {threshold})").format(
        value=_n(value), unit=unit, threshold=_n(threshold)
    )
    if values.get("energy_estimated"):
        text += " " + _("estimated")
    return text


def render_table(rows: list[dict[str, Any]], limit: int | None = None) -> str:
    from tray_app.system import fmt

    if not rows:
        return _(
            "No reminders yet. They appear while the monitor runs (the tray icon, or "
            "`raison-garder monitor`) and a session passes a threshold: energy per session or "
            "per day, time without a break, images, or a budget. Tune them with "
            "`raison-garder config set reminders.session_wh 80` (see `raison-garder config show`) "
            "or in the tray's Settings window."
        )
    header = (_("Time"), _("Rule"), _("Session"), _("Values"), _("Delivered"))
    body = [
        (
            fmt.date_time(r["ts"]),
            rule_label(r["rule"]),
            "-" if r.get("session_id") is None else str(r["session_id"]),
            values_text(r["rule"], r.get("values") or {}),
            delivery_label(r.get("delivery")),
        )
        for r in rows
    ]
    lines = table(header, body, right={2})
    if limit is not None and len(rows) >= limit:
        lines.append(
            ngettext(
                "Showing the newest reminder; use --limit N to see more.",
                "Showing the {shown} newest; use --limit N to see more.",
                len(rows),
            ).format(shown=len(rows))
        )
    return "\n".join(lines)
