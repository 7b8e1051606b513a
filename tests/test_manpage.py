"""raison-garder(1) is generated from the parser, in English and French (scripts/make_manpage.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_man_pages_cover_every_command_in_both_languages(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_manpage.py"), str(tmp_path)],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stderr
    en = (tmp_path / "man1" / "raison-garder.1").read_text(encoding="utf-8")
    fr = (tmp_path / "fr" / "man1" / "raison-garder.1").read_text(encoding="utf-8")
    from tray_app.cli import COMMANDS

    for page in (en, fr):
        assert page.startswith(".TH RAISON\\-GARDER 1")
        for command in COMMANDS:
            assert f'.SS "raison\\-garder {command}' in page, command
        assert "\\-\\-since" in page and "\\-\\-force" in page and "\\-\\-wide" in page
    assert ".SH NOM" in fr and "afficher cette aide et quitter" in fr
    assert "show this help message" not in fr and "Export the recorded sessions" not in fr
    # Two builds of one version give the same bytes (no date in the page).
    again = tmp_path / "again"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_manpage.py"), str(again)],
                   check=True, timeout=60)  # fmt: skip
    assert (again / "man1" / "raison-garder.1").read_text(encoding="utf-8") == en


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")
def test_man_renders_the_page_without_warnings(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_manpage.py"), str(tmp_path)],
                   check=True, timeout=60)  # fmt: skip
    shown = subprocess.run(["man", "--warnings", "-l", str(tmp_path / "man1" / "raison-garder.1")],
                           capture_output=True, text=True, timeout=60,
                           env={"MANWIDTH": "80", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})  # fmt: skip
    assert shown.returncode == 0 and "raison-garder doctor" in shown.stdout
    assert "warning" not in shown.stderr.lower(), shown.stderr
