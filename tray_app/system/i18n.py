"""One Qt-free translation catalogue for the whole app.

Every user-facing string is written in English inside `_()` (or `ngettext()`), and
the JSON files in `resources/i18n/<lang>/` (one per area of the app, merged) map it to its
translation. The UI installs a QTranslator that reads
the same catalogue, so Qt widgets and the headless core speak with one voice, and
`tests/test_i18n.py` fails when a string in the source has no French entry.

Formatting uses str.format with named fields: `_("{wh:.1f} Wh today").format(wh=...)`, so
translators can move the fields around. `_()` returns a `Text`, a str whose `.format()` writes
numeric fields in the language's style (`tray_app.system.fmt`): the same template gives
"1,234.5 Wh today" and "1 234,5 Wh aujourd'hui", and a new string cannot forget the decimal comma.

French typography is applied once, when the catalogue is read: the space before : ; ! ? » and
after « becomes non-breaking and the apostrophe typographic (’), so translators type plain
spaces and quotes, and a line never starts with ":". In every language, the English source
included, the space between a number (or a numeric field) and its unit becomes non-breaking
(`fmt.keep_units`: "{wh:.1f} Wh" never wraps between the figure and "Wh").
"""

from __future__ import annotations

import json
import locale
import os
import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from tray_app.system.paths import resources_dir

SUPPORTED = ("en", "fr")
_language = "en"


def _code(value: str) -> str:
    """'fr_CA.UTF-8@euro' -> 'fr'."""
    return value.split("_")[0].split(".")[0].split("@")[0].split("-")[0].lower()


def system_language() -> str:
    """The user's language from the environment, as gettext finds it, else English.

    The first of LANGUAGE, LC_ALL, LC_MESSAGES, LANG that is set wins; it may be a list
    (`LANGUAGE=de:fr`), tried in order until a language we speak. "C"/"POSIX" ends the search
    in English, as in gettext.
    """
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if not value:
            continue
        for item in value.split(":"):
            if item in ("C", "POSIX") or item.startswith(("C.", "POSIX.")):
                return "en"
            if _code(item) in SUPPORTED:
                return _code(item)
        return "en"
    try:
        code = _code(locale.getlocale()[0] or "en")
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


# French spacing: non-breaking before : ; ! ? » (narrow before ; ! ?), and after «.
_FR_BEFORE = re.compile(r" ([:;!?»])(?=\s|$|[\"'\)\]])")
_FR_AFTER = re.compile(r"« ")
_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")


def _french_typography(text: str) -> str:
    text = _FR_BEFORE.sub(lambda m: ("\u00a0" if m[1] in ":»" else "\u202f") + m[1], text)
    text = _APOSTROPHE.sub("\u2019", text)  # aujourd’hui: the typographic apostrophe
    return _FR_AFTER.sub("«\u00a0", text)


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
    from tray_app.system.fmt import keep_units

    if lang == "fr":
        merged = {k: _french_typography(v) for k, v in merged.items()}
    return {k: keep_units(v, lang) for k, v in merged.items()}


@lru_cache(maxsize=4096)
def _units(message: str, lang: str) -> str:
    """A source string (English, or a missing entry) with a no-break space before its units."""
    from tray_app.system.fmt import keep_units

    return keep_units(message, lang)


class Text(str):
    """A translated string whose `.format()` writes numbers in its language's style."""

    lang = "en"

    def format(self, *args: Any, **kwargs: Any) -> str:
        from tray_app.system.fmt import LocaleFormatter

        return LocaleFormatter(self.lang).vformat(self, args, kwargs)

    def format_map(self, mapping: Any) -> str:
        from tray_app.system.fmt import LocaleFormatter

        return LocaleFormatter(self.lang).vformat(self, (), mapping)


class _FrenchText(Text):
    lang = "fr"


_TEXT = {"en": Text, "fr": _FrenchText}


def _text(message: str, lang: str) -> Text:
    return _TEXT.get(lang, Text)(message)


def _(message: str) -> str:
    """Translate `message` into the current language (English, or a missing entry: the source,
    with a no-break space before its units).

    Typed `str` on purpose: callers use it as one (`text = _(...)`, then `text += ...`); at run
    time it is a `Text`, whose `.format()` localises numbers."""
    return translate(message, _language)


def plural_index(n: int, lang: str | None = None) -> int:
    """0 for the singular form, 1 for the plural. French treats 0 and 1 (and 1.5) as singular."""
    lang = lang or _language
    if lang == "fr":
        return 0 if abs(n) < 2 else 1
    return 0 if n == 1 else 1


def ngettext(singular: str, plural: str, n: int) -> str:
    """Plural-aware translation."""
    return _(plural) if plural_index(n) else _(singular)


def translate(message: str, lang: str) -> str:
    """Translate into a given language regardless of the current one (used by tests and previews)."""
    found = None if lang == "en" else catalogue(lang).get(message)
    return _text(found if found is not None else _units(message, lang), lang)
