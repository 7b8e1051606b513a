"""`raison-garder completion bash|zsh|fish`: a shell completion script, generated from the parser.

shtab writes it from the same argparse parser that reads the command line, so every command,
option and choice is completed as it is, in the language the script was generated in.
It is imported only here: the other commands never pay for it.
"""

from __future__ import annotations

import argparse

from tray_app.system.i18n import _

SHELLS = ("bash", "zsh", "fish")

# Arguments that name a file on disk: the shell completes paths there.
FILE_ARGUMENTS = {("import", "file"), ("export", "output")}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "completion",
        help=_("print a shell completion script (bash, zsh or fish)"),
        description=_(
            "Print a completion script for your shell, generated from these very options. "
            "bash: `raison-garder completion bash > ~/.local/share/bash-completion/completions/"
            "raison-garder`; zsh: into a folder of your $fpath as _raison-garder; fish: "
            "`raison-garder completion fish > ~/.config/fish/completions/raison-garder.fish`."
        ),
    )
    p.add_argument("shell", choices=SHELLS, metavar=_("SHELL"), help="bash, zsh, fish")


def script(shell: str) -> str:
    import shtab

    from tray_app.cli import build_parser

    parser = build_parser()
    # argparse has no public way to walk its sub-commands' arguments; shtab reads the same
    # private lists to write the script.
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for name, sub in action.choices.items():
                for arg in sub._actions:  # noqa: SLF001
                    if (name, arg.dest) in FILE_ARGUMENTS:
                        arg.complete = shtab.FILE  # shtab reads this attribute it adds
    return shtab.complete(parser, shell=shell)


def run(args: argparse.Namespace) -> int:
    print(script(args.shell))
    return 0
