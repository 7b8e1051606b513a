"""Early start-up glue: apply the language setting before any message is printed."""

from __future__ import annotations

from tray_app.system.i18n import set_language


def apply_language() -> str:
    try:
        from tray_app.config.file import load_settings

        lang = load_settings().values.get("language", "auto")
    except Exception:  # noqa: BLE001 - settings problems are reported by the settings layer itself
        lang = "auto"
    return set_language(lang if isinstance(lang, str) else "auto")
