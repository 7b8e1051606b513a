"""The `raison-garder` command line. Each subcommand lives in `tray_app/commands/<name>.py`
and exposes `register(subparsers)` and `run(args) -> int`; heavy imports stay inside `run`."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from tray_app import APP_NAME, __version__
from tray_app.system import i18n
from tray_app.system.i18n import _
from tray_app.system.paths import FolderProblem

# Exit statuses, the same for every command (README, "Commands"): 0 done, 1 could not be done
# (a one-line message says why and what to do), 2 refused input (a bad argument or file).
EXIT_FAILED = 1
EXIT_REFUSED = 2

# Order is the order shown in --help.
COMMANDS = (
    "doctor", "monitor", "sessions", "generations", "export", "import", "config", "reminders",
    "release", "history", "completion",
)


def _module(name: str):  # noqa: ANN202 - returns a module
    return importlib.import_module(f"tray_app.commands.{name.replace('import', 'import_')}")


def _argparse_gettext(message: str | None) -> str | None:
    # argparse also asks for None (a sub-command group without a description).
    return None if message is None else i18n._(message)


def localize_argparse() -> None:
    """Make argparse speak through our catalogue (usage, headings, its own error messages).

    argparse looks its messages up with the module-level names `_` and `ngettext` it imported
    from gettext, at the moment it formats them; rebinding those two names reaches every message,
    including those raised deep inside parse_args, which a subclass overriding a few methods
    would miss. English stays argparse's own text (our `_` is the identity there), and the French
    entries live in resources/i18n/fr/argparse.json (tests/test_cli_french.py checks them
    against the running Python's argparse).
    """
    argparse._ = _argparse_gettext  # type: ignore[attr-defined]
    argparse.ngettext = i18n.ngettext  # type: ignore[attr-defined]


def build_parser() -> argparse.ArgumentParser:
    localize_argparse()
    parser = argparse.ArgumentParser(
        prog="raison-garder",
        description=_("Measure the energy of local AI image generation, and keep a sense of measure."),
        epilog=_(
            "Without a command, raison-garder starts the tray icon; without a display, the "
            "headless monitor. `raison-garder COMMAND --help` explains each command."
        ),
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"{APP_NAME} {__version__}",
        help=_("show program's version number and exit"),
    )
    sub = parser.add_subparsers(dest="command", metavar=_("COMMAND"), title=_("commands"))
    for name in COMMANDS:
        try:
            _module(name).register(sub)
        except ModuleNotFoundError as exc:  # a command still being written is simply absent
            if exc.name != f"tray_app.commands.{name.replace('import', 'import_')}":
                raise
    return parser


def has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    if os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: list[str] | None = None) -> int:
    from tray_app.config.boot import apply_language

    apply_language()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            return _run_default(args)
        return int(_module(args.command).run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `raison-garder sessions | head` is fine
        return 0
    except FolderProblem as exc:  # our data or settings folder is a file, missing, unreachable
        print(_("raison-garder: {message}").format(message=exc), file=sys.stderr)
        return EXIT_FAILED


def _run_default(args: argparse.Namespace) -> int:
    if not has_display():
        print(_("No display found: running the headless monitor instead (Ctrl+C to stop)."))
        from tray_app.commands import monitor

        return monitor.run(monitor.default_args())
    from tray_app.ui.qt_import import forget_module_sources

    forget_module_sources()  # before the tray's imports: ~7 MiB less RSS (see that module)
    from tray_app.ui.app import run_tray

    return run_tray(args)
