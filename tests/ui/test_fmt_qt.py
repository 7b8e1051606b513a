"""Where Qt formats for us (spin boxes, chart labels), it agrees with tray_app/system/fmt.py."""

from __future__ import annotations

from PySide6.QtCore import QLocale

from tray_app.system import fmt


def test_qlocale_french_uses_the_same_separators():
    fr = QLocale(QLocale.Language.French, QLocale.Country.France)
    assert fr.decimalPoint() == ","
    assert fr.groupSeparator() in ("\u202f", "\u00a0")  # Qt's CLDR: narrow no-break space
    assert fr.toString(1234.5, "f", 1).replace("\u00a0", "\u202f") == fmt.number(1234.5, 1, "fr")
    assert QLocale(QLocale.Language.English).toString(1234.5, "f", 1) == fmt.number(1234.5, 1, "en")


def test_the_app_language_sets_qt_default_locale(qapp):
    from PySide6.QtWidgets import QDoubleSpinBox

    from tray_app.system import i18n
    from tray_app.ui.translator import install_translators

    i18n.set_language("fr")
    try:
        keep = install_translators(qapp)
        spin = QDoubleSpinBox()
        spin.setDecimals(1)
        spin.setValue(0.5)
        assert spin.text() == "0,5"
        for t in keep:
            qapp.removeTranslator(t)
    finally:
        i18n.set_language("en")
        install_translators(qapp)
    assert QDoubleSpinBox().locale().decimalPoint() == "."
