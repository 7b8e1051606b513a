"""`raison-garder history`: the History window, in the running tray if there is one."""

from __future__ import annotations

import argparse
import sys

from tray_app.system.i18n import _


def register(subparsers: argparse._SubParsersAction) -> None:
    subparsers.add_parser(
        "history",
        help=_("open the History window"),
        description=_("Open the History window: totals, charts and every session."),
    )


def ask_running_instance() -> bool:
    """True once a running tray has opened its History window for us."""
    from tray_app.system import paths
    from tray_app.system.instance import INFO_NAME, send_command

    data_dir = paths.data_dir(create=False)
    if not (data_dir / INFO_NAME).exists():
        return False  # none running: do not wait for one
    # The file may be a crashed run's: a short wait, then open the window ourselves.
    return send_command("history", data_dir, timeout_s=1.0)


def run(args: argparse.Namespace) -> int:
    if ask_running_instance():
        return 0
    from tray_app.cli import has_display

    if not has_display():
        print(
            _("raison-garder: no display for the History window; "
              "“raison-garder sessions” lists sessions in the terminal."),
            file=sys.stderr,
        )
        return 1
    from tray_app.ui.history.window import run_standalone

    return run_standalone()
