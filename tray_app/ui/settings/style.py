"""Colours and spacing of the Settings window's secondary text, readable on light and dark themes.

A hint is the window text blended 35 % toward the background (palette(mid) alone is a dark grey
that all but vanishes on a dark theme); an error is a red chosen for the background's lightness.
Labels made here follow a theme change while the window is open."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QCheckBox, QLabel, QStyle, QStyleOptionButton, QWidget


def _dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightnessF() < 0.5


def hint_colour(palette: QPalette | None = None, mix: float = 0.35) -> QColor:
    pal = palette or QGuiApplication.palette()
    text, back = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
    return QColor.fromRgbF(
        text.redF() * (1 - mix) + back.redF() * mix,
        text.greenF() * (1 - mix) + back.greenF() * mix,
        text.blueF() * (1 - mix) + back.blueF() * mix,
    )


def error_colour(palette: QPalette | None = None) -> QColor:
    # #b71c1c on light (7:1 on white), #ff8a80 on dark (7:1 on #2b2b2b)
    return QColor("#ff8a80" if _dark(palette or QGuiApplication.palette()) else "#b71c1c")


def hint_css() -> str:
    # Switched off (a rule unticked), the hint fades further: a stylesheet colour would
    # otherwise hide the disabled state the palette gives other text.
    return (f"QLabel {{ color: {hint_colour().name()}; }} "
            f"QLabel:disabled {{ color: {hint_colour(mix=0.62).name()}; }}")  # fmt: skip


def error_css() -> str:
    return f"QLabel {{ color: {error_colour().name()}; }}"


class _Follow(QObject):
    """Re-colours its label when the application's palette changes (a theme switch)."""

    def __init__(self, label: QLabel, error: bool) -> None:
        super().__init__(label)
        self.label = label
        self.error = error
        self.apply()
        label.installEventFilter(self)

    def apply(self) -> None:
        self.label.setStyleSheet(error_css() if self.error else hint_css())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ApplicationPaletteChange:
            self.apply()
        return False


def hint_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setProperty("_follow", _Follow(label, error=False))
    return label


def set_error(label: QLabel, error: bool) -> None:
    """Show `label` as a hint or as an error (a field's message switches between the two)."""
    follow = label.property("_follow")
    if isinstance(follow, _Follow):
        follow.error = error
        follow.apply()
    else:
        label.setStyleSheet(error_css() if error else hint_css())


def indent(widget: QWidget) -> int:
    """Where a checkbox's text starts: notes under a sentence line up with its words."""
    style = widget.style() if widget is not None else QApplication.style()
    option = QStyleOptionButton()
    option.initFrom(QCheckBox())
    width = style.pixelMetric(QStyle.PixelMetric.PM_IndicatorWidth, option)
    spacing = style.pixelMetric(QStyle.PixelMetric.PM_CheckBoxLabelSpacing, option)
    return width + spacing
