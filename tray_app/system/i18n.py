"""One Qt-free translation catalogue for the whole app.

Every user-facing string is written in English inside `_()` (or `ngettext()`), and
the JSON files in `resources/i18n/<lang>/` (one per area of the app, merged) map it to its
translation. The UI installs a QTranslator that reads
the same catalogue, so Qt widgets and the headless core speak with one voice, and
`tests/test_i18n.py` fails when a string in the source has no French entry.

Formatting uses str.format with named fields: `_("{wh:.1f} Wh today").format(wh=...)`, so
translators can move the fields around.
"""

from __future__ import annotations

import json
import locale
import os
from functools import cache
from pathlib import Path

from tray_app.system.paths import resources_dir

SUPPORTED = ("en", "fr")
_language = "en"


def system_language() -> str:
    """The user's language from the environment (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), else English."""
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value and value not in ("C", "POSIX"):
            code = value.split(":")[0].split("_")[0].split(".")[0].lower()
            return code if code in SUPPORTED else "en"
    try:
        code = (locale.getlocale()[0] or "en").split("_")[0].lower()
    except ValueError:
        code = "en"
    return code if code in SUPPORTED else "en"


def set_language(lang: str | None) -> str:
    """Select the language ('auto'/None follows the system). Returns the one in effect."""
    global _language
    if not lang or lang == "auto":
        lang = system_language()
    _language = lang if lang in SUPPORTED else "en"
    return _language


def current_language() -> str:
    return _language


@cache
def catalogue(lang: str) -> dict[str, str]:
    if lang == "en":
        return {}
    merged: dict[str, str] = {}
    for path in sorted((resources_dir() / "i18n" / lang).glob("*.json")):
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a broken catalogue falls back to English, never crashes the app
        merged.update(
            {k: v for k, v in data.items() if isinstance(v, str) and v and not k.startswith("@")}
        )
    return merged


def _(message: str) -> str:
    """Translate `message` into the current language (identity for English or a missing entry)."""
    if _language == "en":
        return message
    return catalogue(_language).get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Plural-aware translation. French treats 0 and 1 as singular; English only 1."""
    if _language == "fr":
        return _(singular) if n in (0, 1) else _(plural)
    return _(singular) if n == 1 else _(plural)


def translate(message: str, lang: str) -> str:
    """Translate into a given language regardless of the current one (used by tests and previews)."""
    return message if lang == "en" else catalogue(lang).get(message, message)
