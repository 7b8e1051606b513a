"""Every user-facing string has a French translation, with the same format fields."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from tray_app.system import i18n

ROOT = Path(__file__).resolve().parent.parent / "tray_app"
TRANSLATORS = {"_": (0,), "N_": (0,), "ngettext": (0, 1), "translate": (0,)}


def source_strings() -> dict[str, str]:
    """msgid -> 'file:line' for every literal passed to _(), ngettext() or translate()."""
    found: dict[str, str] = {}
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in TRANSLATORS:
                continue
            for i in TRANSLATORS[name]:
                if i < len(node.args) and isinstance(node.args[i], ast.Constant) and isinstance(node.args[i].value, str):
                    found.setdefault(node.args[i].value, f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    return found


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_the_source_has_translatable_strings():
    assert len(source_strings()) > 20


def test_every_string_has_a_french_translation():
    fr = i18n.catalogue("fr")
    missing = [f"{where}: {msgid!r}" for msgid, where in source_strings().items() if msgid not in fr]
    assert not missing, "Missing French translations:\n" + "\n".join(missing)


def test_french_translations_keep_the_format_fields():
    fr = i18n.catalogue("fr")
    bad = [
        f"{where}: {msgid!r} -> {fr[msgid]!r}"
        for msgid, where in source_strings().items()
        if msgid in fr and fields(msgid) != fields(fr[msgid])
    ]
    assert not bad, "Format fields differ:\n" + "\n".join(bad)


@pytest.mark.parametrize("env,expected", [("fr_FR.UTF-8", "fr"), ("en_GB.UTF-8", "en"), ("de_DE.UTF-8", "en")])
def test_language_follows_the_system_unless_set(monkeypatch, env, expected):
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", env)
    assert i18n.set_language("auto") == expected
    assert i18n.set_language("fr") == "fr"
    i18n.set_language("en")


def test_no_template_can_wrap_between_a_number_and_its_unit():
    """Every catalogue entry, and the English source, as the app reads it (`translate`)."""
    from tray_app.system import fmt

    fr = i18n.catalogue("fr")
    for msgid in fr:
        for lang in ("en", "fr"):
            text = i18n.translate(msgid, lang)
            assert fmt.keep_units(text, lang) == text, (lang, msgid)
    assert i18n.translate("{pct:.0f} % of budget", "fr") == "{pct:.0f}\u202f% du budget"
