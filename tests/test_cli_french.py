"""The whole command line in French, as a French reader sees it (issue 20's "done when").

Every command's `--help` and human output is rendered with LANGUAGE=fr, and fails on an English
argparse string, an English sentence we have a translation for, a decimal point in a number, or
a count with the wrong plural form.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from tray_app import cli
from tray_app.cli import main
from tray_app.store import Store
from tray_app.system import i18n

ARGPARSE_ENGLISH = (
    "usage:", "positional arguments", "show this help message", "show program's version",
    "invalid choice", "not allowed with argument", "the following arguments are required",
    "expected one argument", "unrecognized arguments", "error:", "choose from",
)  # fmt: skip
# A count of 0 or 1 followed by a plural noun, or 2+ by a singular one.
WRONG_PLURAL = re.compile(
    r"(?<![\d,\u202f])\b[01][ \u00a0](sessions|images|rappels|jours|valeurs|secondes|réglages)\b"
    r"|(?<![\d,\u202f])\b([2-9]|\d{2,})[ \u00a0](session|image|rappel|jour|valeur)\b(?!s)"
    # and adjectives or verbs that agree with a count of 0 or 1: "1 déjà présentes"
    r"|(?<![\d,\u202f])\b[01] (?:\S+ ){0,2}(?:étaient|présentes|exportées|importées|générations)\b"
)
# A number and its unit parted by a breakable space: "2,9 Wh" may wrap between the two.
UNIT_BREAK = re.compile(r"\d (?:k?Wh|k?W|k?g|min|h|s|Go|Mo|%|€)(?![\w'’])")


def decimal_points(text: str) -> list[str]:
    """Numbers written with a decimal point. Paths, versions and addresses are not numbers."""
    bad = []
    for token in text.split():
        if "/" in token or re.search(r"\d+\.\d+\.\d+", token):
            continue
        if re.search(r"(?<![\w.])\d+\.\d+(?![\w.]*\d)", token):
            bad.append(token)
    return bad


def english_left(text: str) -> list[str]:
    """English catalogue sentences that appear untranslated."""
    fr = i18n.catalogue("fr")
    return [
        msgid
        for msgid, french in fr.items()
        if len(msgid) > 15 and "{" not in msgid and msgid != french and msgid in text
    ]


def check_french(text: str) -> None:
    assert text.strip(), "no output"
    leaks = [s for s in ARGPARSE_ENGLISH if s in text]
    assert not leaks, f"English argparse text {leaks} in:\n{text}"
    assert not english_left(text), f"English left {english_left(text)} in:\n{text}"
    assert not decimal_points(text), f"decimal point in {decimal_points(text)}:\n{text}"
    assert not WRONG_PLURAL.search(text), f"plural: {WRONG_PLURAL.search(text)[0]!r} in:\n{text}"
    assert not UNIT_BREAK.search(text), f"unit break: {UNIT_BREAK.search(text)[0]!r} in:\n{text}"


@pytest.fixture
def french(monkeypatch):
    monkeypatch.setenv("LANGUAGE", "fr")  # main() applies the language setting "auto"
    yield
    i18n.set_language("en")


@pytest.fixture
def one_big_session(isolated_dirs):
    """One session of 1 234,5 Wh with 1 image, and one reminder about it."""
    with Store.open() as s:
        start = datetime(2024, 5, 10, 14, 30).timestamp()
        sid = s.open_session("comfyui", "python3", [1], [0], start)
        # 3601 one-second samples at 1 234,5 W: 1 234,5 Wh.
        s.add_samples(sid, [(start + i, 1034.5, 200.0, 1) for i in range(3601)])
        s.close_session(sid, start + 3600)
        s.update_session(sid, images=1)
        s.add_reminder(start + 600, "session_energy", {"value": 1234.5, "threshold": 50.0},
                       "shown", "Quick energy check\n…", sid)  # fmt: skip
        s.add_generations([{
            "session_id": sid, "key": "p1", "tool": "comfyui", "start_ts": start + 5,
            "end_ts": start + 17.5, "window": "exact", "images": 1, "gpu_wh": 1.75,
            "cpu_wh": 0.25, "model_family": "sdxl", "steps": 30, "width": 1024, "height": 1024,
        }])  # fmt: skip
    return isolated_dirs


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def every_help_command() -> list[list[str]]:
    commands = [["--help"]]
    parser = cli.build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                commands.append([name, "--help"])
                for inner in sub._actions:
                    if isinstance(inner, argparse._SubParsersAction):
                        commands += [[name, child, "--help"] for child in inner.choices]
    return commands


@pytest.mark.parametrize("argv", every_help_command(), ids=" ".join)
def test_every_help_is_french(french, capsys, argv):
    code, out, _err = run(capsys, *argv)
    assert code == 0
    check_french(out)
    assert out.startswith("utilisation\u00a0: raison-garder")


def test_the_top_level_help_says_what_no_command_does(french, capsys):
    _code, out, _err = run(capsys, "--help")
    assert "Sans commande, raison-garder lance l’icône" in out
    assert "commandes\u00a0:" in out and "afficher cette aide et quitter" in out
    assert "FICHIER" in run(capsys, "export", "--help")[1]


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "--format", "xml"],
        ["sessions", "--json", "--csv"],
        ["import"],
        ["sessions", "--bogus"],
        ["sessions", "--limit", "zero"],
        ["monitor", "--duration"],
        ["nonsense"],
    ],
    ids=" ".join,
)
def test_argparse_errors_are_french(french, capsys, argv):
    code, _out, err = run(capsys, *argv)
    assert code == 2
    check_french(err)
    assert "raison-garder" in err and "erreur\u00a0:" in err


def test_every_argparse_message_has_a_french_entry():
    """The running Python's argparse: a new message in a new Python fails here, not in front of a user."""
    tree = ast.parse(Path(argparse.__file__).read_text(encoding="utf-8"))
    msgids = {
        arg.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("_", "ngettext")
        for arg in node.args
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
    }
    fr = i18n.catalogue("fr")
    assert msgids and not sorted(msgids - set(fr))


def test_human_outputs_are_french(french, one_big_session, capsys, tmp_path, monkeypatch):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):  # `history` answers in text
        monkeypatch.delenv(var, raising=False)
    outputs = {}
    for argv in (["doctor"], ["sessions"], ["reminders"], ["config", "show"],
                 ["config", "set", "reminders.session_wh", "80,5"], ["config", "get", "cpu_tdp_w"],
                 ["history"], ["generations"]):  # fmt: skip
        code, out, err = run(capsys, *argv)
        outputs[" ".join(argv)] = out + err
    for text in outputs.values():
        check_french(text)
    assert "aucun écran pour la fenêtre Historique" in outputs["history"]
    assert "1\u202f234,5" in outputs["sessions"]  # thousands and decimal comma
    assert "compteur" in outputs["sessions"] or "échantillons" in outputs["sessions"]
    assert "terminée" in outputs["sessions"]
    assert "1\u202f234,5\u00a0Wh (seuil 50)" in outputs["reminders"]
    assert "reminders.session_wh = 80,5\u00a0Wh" in outputs["config set reminders.session_wh 80,5"]
    assert "2,00" in outputs["generations"] and "12,5" in outputs["generations"]

    target = tmp_path / "out.json"
    code, out, err = run(capsys, "export", "--format", "json", "-o", str(target))
    assert code == 0 and "1 session exportée" in err
    check_french(err)
    assert json.loads(target.read_text())[0]["total_wh"] == pytest.approx(1234.5, abs=0.5)
    code, out, err = run(capsys, "import", str(target))
    assert code == 0
    check_french(out)
    assert out.splitlines() == [
        "0 session importée (1 était déjà présente).",
        "0 génération importée (1 était déjà présente).",
    ]


def test_monitor_in_french_fits_80_columns_and_ends_with_a_summary(french, capsys):
    code, out, err = run(capsys, "monitor", "--duration", "1.2", "--interval", "0.5")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) >= 2 and all(len(line) <= 80 for line in lines), lines
    check_french(out)
    assert lines[-1].startswith("Mesuré pendant ") and "CPU ≈" in lines[-1]
    code, out, err = run(capsys, "monitor", "--quiet", "--duration", "0.6")
    assert code == 0 and len(out.splitlines()) == 1 and out.startswith("Mesuré pendant")


@pytest.mark.parametrize(
    "check,text",
    [
        ("argparse", "usage: raison-garder"),
        ("decimal point", "Total : 12.5\u00a0Wh"),
        ("plural", "1 sessions exportées"),
        ("plural", "3 session exportée"),
        ("plural", "0 génération importée (1 déjà présentes)."),
        ("plural", "1\u00a0images"),
        ("unit break", "Total : 2,9 Wh"),
        ("unit break", "80 % du budget"),
        ("English left", "Open the History window: totals, charts and every session."),
    ],
)
def test_the_checks_catch_what_they_are_for(check, text):
    """A test that cannot fail is a defect: each check fires on the mistake it is named for."""
    with pytest.raises(AssertionError, match=check):
        check_french(text)
    check_french("Données : /tmp/pytest-3.11/x.db, version 0.1.0, 1\u202f234,5\u00a0Wh, 2 sessions")


def test_plural_forms_follow_each_language():
    i18n.set_language("fr")
    try:
        assert [i18n.plural_index(n) for n in (0, 1, 2)] == [0, 0, 1]
    finally:
        i18n.set_language("en")
    assert [i18n.plural_index(n) for n in (0, 1, 2)] == [1, 0, 1]


@pytest.mark.parametrize(
    "env,expected",
    [
        ({"LANGUAGE": "de:fr"}, "fr"),
        ({"LANGUAGE": "de_DE:fr_CA:en"}, "fr"),
        ({"LANGUAGE": "en:fr"}, "en"),
        ({"LANGUAGE": "", "LC_ALL": "fr_FR.UTF-8"}, "fr"),
        ({"LANGUAGE": "", "LC_ALL": "", "LANG": "C"}, "en"),
        ({"LANGUAGE": "de"}, "en"),
    ],
)
def test_language_fallback_lists_as_gettext(monkeypatch, env, expected):
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert i18n.system_language() == expected


def test_french_typography_is_applied_once_when_the_catalogue_loads():
    assert i18n.translate("Today: {energy}", "fr") == "Aujourd\u2019hui\u00a0: {energy}"
    assert "\u202f;" in i18n.translate("raison-garder: {file} is a folder; give a file name.", "fr")


def test_completion_scripts_come_from_the_parser(capsys):
    for shell in ("bash", "zsh", "fish"):
        code, out, _err = run(capsys, "completion", shell)
        assert code == 0
        for word in ("doctor", "monitor", "wide", "since", "codecarbon", "completion"):
            assert word in out, (shell, word)


def test_import_reads_standard_input(one_big_session, capsys, monkeypatch, tmp_path):
    code, exported, _err = run(capsys, "export", "--format", "csv")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(exported.encode())))
    code, out, err = run(capsys, "import", "-")
    assert code == 0 and out.strip() == "Imported 0 sessions (1 was already there)."
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"not,a\nvalid,export\n")))
    code, out, err = run(capsys, "import", "-")
    assert code == 2 and "standard input: neither a Raison Garder export" in err


def test_export_to_a_file_never_overwrites_without_force(one_big_session, capsys, tmp_path):
    missing = tmp_path / "no-such-folder" / "out.csv"
    code, _out, err = run(capsys, "export", "-o", str(missing))
    assert code == 1 and "the folder" in err and "does not exist" in err
    assert not missing.parent.exists()

    target = tmp_path / "out.csv"
    target.write_text("precious")
    code, _out, err = run(capsys, "export", "-o", str(target))
    assert code == 1 and "already exists" in err and "--force" in err
    assert target.read_text() == "precious"
    code, _out, err = run(capsys, "export", "-o", str(target), "--force")
    assert code == 0 and target.read_text().startswith("id,")
    assert target.stat().st_mode & 0o777 == 0o600  # session history is private
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_export_since_keeps_only_later_sessions(one_big_session, capsys):
    _code, out, _err = run(capsys, "export", "--format", "json", "--since", "2024-05-11")
    assert json.loads(out) == []
    _code, out, _err = run(capsys, "export", "--format", "json", "--since", "2024-05-10")
    assert len(json.loads(out)) == 1


def test_a_reader_that_leaves_early_is_not_an_error(tmp_path):
    """`raison-garder config show | head -1`: no "could not write the settings file"."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "tray_app", "config", "show"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parent.parent)  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline()
    proc.stdout.close()
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and b"settings file" not in err and b"Traceback" not in err


def test_counts_are_grouped_in_tables_and_sentences(isolated_dirs, capsys, monkeypatch):
    """12 345 images read as a count in both languages; IDs and steps stay bare."""
    with Store.open() as s:
        start = datetime(2024, 5, 10, 14, 30).timestamp()
        for k in range(2):
            sid = s.open_session("comfyui", "python3", [1], [0], start + k * 7200)
            s.add_samples(sid, [(start + k * 7200 + i, 100.0, 20.0, 1) for i in range(61)])
            s.close_session(sid, start + k * 7200 + 60)
            s.update_session(sid, images=12345)
            s.add_generations([{
                "session_id": sid, "key": f"p{k}", "tool": "comfyui", "start_ts": start + 5,
                "end_ts": start + 17.5, "window": "exact", "images": 12345, "gpu_wh": 1.75,
                "cpu_wh": 0.25, "model_family": "sdxl", "steps": 30, "width": 1024, "height": 1024,
            }])  # fmt: skip
    for lang, grouped in (("en", "12,345"), ("fr", "12\u202f345")):
        monkeypatch.setenv("LANGUAGE", lang)
        for argv in (["sessions", "--limit", "1"], ["generations", "--limit", "1"]):
            _code, out, _err = run(capsys, *argv)
            assert grouped in out and "12345" not in out, out
            if lang == "fr":
                check_french(out)
                assert "Les 1 " not in out  # one generation shown: the singular sentence
        i18n.set_language("en")
