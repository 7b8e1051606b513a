"""Qt speaks through our catalogue: one set of translations for the core and the UI."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from tray_app.system import i18n


class CatalogueTranslator(QTranslator):
    """Answers Qt's translation requests (`tr()`, Qt's own widgets) from `tray_app.system.i18n`."""

    def translate(  # Qt API
        self,
        context: str,
        source_text: str,
        disambiguation: str | None = None,
        n: int = -1,
    ) -> str:
        # An empty string tells Qt "no translation here": it then asks the next translator.
        translated = i18n.translate(source_text, i18n.current_language())
        return translated if translated != source_text else ""

    def isEmpty(self) -> bool:  # Qt API
        return i18n.current_language() == "en"


def install_translators(app: QCoreApplication) -> list[QTranslator]:
    """Install Qt's own translation (buttons, context menus) and our catalogue on top of it.

    Returns the translators: the caller keeps them alive as long as the application.
    """
    installed: list[QTranslator] = []
    lang = i18n.current_language()
    # What Qt formats itself (spin boxes in Settings, date pickers) follows the app's language,
    # not the system's, so 0,5 in a French spin box matches 0,5 in the text beside it
    # (tests/ui/test_fmt_qt.py checks both agree).
    QLocale.setDefault(QLocale(lang))
    if lang != "en":
        qt_base = QTranslator(app)
        path = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if qt_base.load(f"qtbase_{lang}", path):
            app.installTranslator(qt_base)
            installed.append(qt_base)
    ours = CatalogueTranslator(app)
    app.installTranslator(ours)  # installed last, so asked first
    installed.append(ours)
    return installed
