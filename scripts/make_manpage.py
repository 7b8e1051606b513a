"""Write raison-garder(1), in English and French, from the very parser the program uses.

    python scripts/make_manpage.py OUTDIR     # OUTDIR/man1/raison-garder.1, OUTDIR/fr/man1/...

Run at build time by scripts/package.sh (into the bundle's share/man, which
installers/linux/install.sh copies under ~/.local/share/man). Generated rather than written, so
the page cannot drift from `--help`; a few dozen lines of roff did not justify a build dependency
(argparse-manpage would have been one more package in the build environment).
No date in the page: two builds of one version give the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADINGS = {
    "en": {"name": "NAME", "synopsis": "SYNOPSIS", "description": "DESCRIPTION",
           "commands": "COMMANDS", "options": "OPTIONS", "files": "FILES",
           "see": "SEE ALSO", "manual": "User Commands",
           "files_text": "Sessions live in ~/.local/share/raison-garder (raison-garder doctor "
                         "prints the exact folders); settings in "
                         "~/.config/raison-garder/settings.json (raison-garder config path)."},
    "fr": {"name": "NOM", "synopsis": "SYNOPSIS", "description": "DESCRIPTION",
           "commands": "COMMANDES", "options": "OPTIONS", "files": "FICHIERS",
           "see": "VOIR AUSSI", "manual": "Commandes utilisateur",
           "files_text": "Les sessions sont dans ~/.local/share/raison-garder (raison-garder "
                         "doctor donne les dossiers exacts) ; les réglages dans "
                         "~/.config/raison-garder/settings.json (raison-garder config path)."},
}  # fmt: skip


def esc(text: str) -> str:
    """Roff-safe text: backslashes, hyphens of options, and a leading dot or quote."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line[:1] in (".", "'") else line for line in text.split("\n"))


def usage(parser: argparse.ArgumentParser) -> str:
    text = parser.format_usage().strip()
    return " ".join(text.split(":", 1)[1].split()) if ":" in text else text


def options(parser: argparse.ArgumentParser) -> list[str]:
    lines: list[str] = []
    for action in parser._actions:  # noqa: SLF001 - argparse has no public walk
        if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:  # noqa: SLF001
            continue
        if action.option_strings:
            metavar = "" if action.nargs == 0 else " " + (action.metavar or action.dest.upper())
            head = ", ".join(f"\\fB{esc(o)}\\fR" for o in action.option_strings)
            head += f"\\fI{esc(metavar)}\\fR" if metavar else ""
        else:
            head = f"\\fI{esc(str(action.metavar or action.dest))}\\fR"
        lines += [".TP", head, esc(action.help or "")]
    return lines


def page(lang: str) -> str:
    from tray_app import __version__
    from tray_app.cli import build_parser
    from tray_app.system import i18n

    i18n.set_language(lang)
    try:
        parser = build_parser()
        h = HEADINGS[lang]
        out = [
            f'.TH RAISON\\-GARDER 1 "" "raison\\-garder {__version__}" "{h["manual"]}"',
            f".SH {h['name']}",
            f"raison\\-garder \\- {esc(parser.description or '')}",
            f".SH {h['synopsis']}",
            f".B raison\\-garder\n{esc(usage(parser).removeprefix('raison-garder '))}",
            f".SH {h['description']}",
            esc(parser.description or ""),
            ".PP",
            esc(parser.epilog or ""),
            f".SH {h['options']}",
            *options(parser),
            f".SH {h['commands']}",
        ]
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]  # noqa: SLF001
        for sub in subs[0].choices.values() if subs else ():
            out += [f'.SS "{esc(usage(sub))}"', esc(sub.description or ""), *options(sub)]
            for inner in sub._actions:  # noqa: SLF001
                if isinstance(inner, argparse._SubParsersAction):  # noqa: SLF001
                    for child in inner.choices.values():
                        out += [f'.SS "{esc(usage(child))}"', esc(child.description or ""),
                                *options(child)]  # fmt: skip
        out += [f".SH {h['files']}", esc(h["files_text"]), f".SH {h['see']}",
                "raison\\-garder completion bash|zsh|fish"]  # fmt: skip
        return "\n".join(line for line in out if line) + "\n"
    finally:
        i18n.set_language("en")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    out = Path(argv[0])
    for lang, folder in (("en", out / "man1"), ("fr", out / "fr" / "man1")):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "raison-garder.1").write_text(page(lang), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
