"""The live tray icon: current watts on a badge whose colour eases from calm to warm.

Drawing costs CPU, so the icon is a pure function of a small `IconState` (displayed text, colour
step, look) and each state is painted once and cached. The watts are rounded to 2 significant
digits with hysteresis, so a reading wobbling around 149.9/150.1 W does not flicker the icon.
No SVG here: QtSvg would cost resident memory for a 16 px picture.
"""

from __future__ import annotations

import math
import sys
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QIcon,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QTransform,
)

from tray_app.system.fmt import localize

IDLE, ACTIVE, PAUSED = "idle", "active", "paused"
LEVEL_STEPS = 8  # colour steps between calm and warm: fewer steps, fewer repaints
CALM_W, WARM_W = 60.0, 420.0  # a desktop at rest vs. a big GPU at full tilt
BASE_SIZES = (16, 20, 22, 24, 32)

_CALM = QColor("#14967f")  # teal
_MID = QColor("#d48a0c")  # amber
_WARM = QColor("#cf3b30")  # red
_PAUSED = QColor("#7d8790")
_OUTLINE = QColor(0, 0, 0, 190)  # a dark rim keeps the badge visible on light panels
_LEAF = QColor("#2aa37a")


@dataclass(frozen=True, slots=True)
class IconState:
    look: str  # idle | active | paused
    text: str = ""
    level: int = 0  # 0 .. LEVEL_STEPS - 1
    mask: bool = False  # macOS template image


def round_display(w: float) -> float:
    """Two significant digits (10 W steps from 100 W): what the icon can show at 16 px.
    Halves round up (285 -> 290), not to even as round() would."""
    step = 1.0 if w < 99.5 else (10.0 if w < 995 else 100.0)
    return math.floor(w / step + 0.5) * step


def watts_label(w: float | None) -> str:
    if w is None:
        return "?"
    shown = round_display(w)
    if shown < 1000:
        return f"{shown:.0f}"
    kw = shown / 1000
    # 1.2k / 1,2k: the tray icon speaks the app's language like every other figure.
    return localize(f"{kw:.1f}k".replace(".0k", "k")) if kw < 10 else f"{kw:.0f}k"


class WattsDisplay:
    """Rounds watts for display, holding the last value until the reading clearly moved."""

    def __init__(self) -> None:
        self.shown: float | None = None

    def update(self, w: float | None) -> float | None:
        if w is None:
            self.shown = None
            return None
        new = round_display(w)
        if self.shown is not None and new != self.shown:
            step = 1.0 if self.shown < 100 else (10.0 if self.shown < 1000 else 100.0)
            if abs(w - self.shown) < 0.75 * step:  # still within reach of the shown value
                return self.shown
        self.shown = new
        return new


def level_for(power_w: float | None, budget_fraction: float | None) -> int:
    """Colour step: the budget's share used when a budget is set, else the power drawn."""
    if budget_fraction is not None:
        x = budget_fraction
    elif power_w is None:
        x = 0.0
    else:
        x = (power_w - CALM_W) / (WARM_W - CALM_W)
    x = min(max(x, 0.0), 1.0)
    return min(int(x * LEVEL_STEPS), LEVEL_STEPS - 1)


def level_colour(level: int) -> QColor:
    x = level / (LEVEL_STEPS - 1)
    a, b, t = (_CALM, _MID, x * 2) if x <= 0.5 else (_MID, _WARM, (x - 0.5) * 2)
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * t,
        a.greenF() + (b.greenF() - a.greenF()) * t,
        a.blueF() + (b.blueF() - a.blueF()) * t,
    )


class IconStateMaker:
    """Turns engine statuses into icon states (stateful only for the watts hysteresis)."""

    def __init__(self, mask: bool | None = None) -> None:
        self.mask = sys.platform == "darwin" if mask is None else mask
        self._watts = WattsDisplay()

    def state_for(self, status: Any | None) -> IconState:
        if status is None:
            return IconState(IDLE, mask=self.mask)
        if status.monitoring_paused or status.snapshot.paused:
            return IconState(PAUSED, mask=self.mask)
        if status.session is None:
            self._watts.update(None)
            return IconState(IDLE, mask=self.mask)
        w = self._watts.update(status.snapshot.total_w)
        level = level_for(w, status.budget_fraction)
        return IconState(ACTIVE, watts_label(w), level, self.mask)


def _fit_text_path(text: str, box: QRectF) -> QPainterPath:
    font = QFont()
    font.setBold(True)
    font.setStretch(QFont.Stretch.SemiCondensed)
    font.setPixelSize(64)  # draw large, then scale the outline into the box
    path = QPainterPath()
    path.addText(0, 0, font, text)
    r = path.boundingRect()
    scale = min(box.width() / r.width(), box.height() / r.height()) if r.width() else 1.0
    path.translate(-r.center())
    path = QTransform.fromScale(scale, scale).map(path)
    path.translate(box.center())
    return path


def paint_icon(painter: QPainter, state: IconState, size: float) -> None:
    """Paint one state into a `size`-square in logical pixels."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size
    ink = QColor(0, 0, 0) if state.mask else None
    if state.look == IDLE:
        _paint_leaf(painter, s, ink)
        return
    rim = max(1.0, s / 16)
    badge = QRectF(rim / 2, rim / 2 + s * 0.06, s - rim, s * 0.88 - rim)
    radius = s * 0.22
    if state.mask:
        painter.setPen(QPen(ink, rim))
        painter.setBrush(Qt.BrushStyle.NoBrush)
    else:
        fill = _PAUSED if state.look == PAUSED else level_colour(state.level)
        painter.setPen(QPen(_OUTLINE, rim))
        painter.setBrush(QBrush(fill))
    painter.drawRoundedRect(badge, radius, radius)
    if state.look == PAUSED:
        bar_w, bar_h = s * 0.14, s * 0.46
        top = s / 2 - bar_h / 2
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(ink or QColor("white"))
        for x in (s * 0.5 - bar_w * 1.5, s * 0.5 + bar_w * 0.5):
            painter.drawRect(QRectF(x, top, bar_w, bar_h))
        return
    # Digits get every pixel the rim leaves: at 16 px three digits have ~4 px each.
    dx = rim * 0.6 + s * 0.02
    inner = badge.adjusted(dx, rim + s * 0.12, -dx, -rim - s * 0.12)
    path = _fit_text_path(state.text or "?", inner)
    if state.mask:
        painter.fillPath(path, ink)
        return
    # A dark halo under white digits: legible on any badge colour and any panel; thin at 16 px
    # so it does not eat the glyphs.
    halo = s / 12 if s >= 20 else s / 22
    painter.strokePath(path, QPen(QColor(0, 0, 0, 140 if s >= 20 else 110), halo))
    painter.fillPath(path, QColor("white"))


def _paint_leaf(painter: QPainter, s: float, ink: QColor | None) -> None:
    """The resting look: a leaf with a small bolt, the app's motif, no number."""
    leaf = QPainterPath()
    leaf.moveTo(QPointF(s * 0.14, s * 0.86))
    leaf.cubicTo(QPointF(s * 0.06, s * 0.40), QPointF(s * 0.40, s * 0.10), QPointF(s * 0.90, s * 0.10))
    leaf.cubicTo(QPointF(s * 0.92, s * 0.58), QPointF(s * 0.62, s * 0.90), QPointF(s * 0.14, s * 0.86))
    leaf.closeSubpath()
    rim = max(1.0, s / 16)
    if ink is not None:
        painter.setPen(QPen(ink, rim))
        painter.setBrush(Qt.BrushStyle.NoBrush)
    else:
        painter.setPen(QPen(_OUTLINE, rim))
        painter.setBrush(_LEAF)
    painter.drawPath(leaf)
    bolt = QPainterPath()
    for i, (x, y) in enumerate(
        ((0.58, 0.22), (0.36, 0.56), (0.50, 0.56), (0.42, 0.80), (0.68, 0.44), (0.54, 0.44))
    ):
        (bolt.moveTo if i == 0 else bolt.lineTo)(QPointF(s * x, s * y))
    bolt.closeSubpath()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.fillPath(bolt, ink or QColor("white"))


class IconCache:
    """One QIcon per state, painted at each tray size and the screen's pixel ratio."""

    def __init__(self, device_pixel_ratio: float = 1.0, max_entries: int = 48) -> None:
        self.dpr = max(1.0, device_pixel_ratio)
        self.max_entries = max_entries
        self.paints = 0  # pixmaps painted so far, for tests and benchmarks
        self._icons: OrderedDict[IconState, QIcon] = OrderedDict()

    def icon(self, state: IconState) -> QIcon:
        cached = self._icons.get(state)
        if cached is not None:
            self._icons.move_to_end(state)
            return cached
        icon = QIcon()
        for base in BASE_SIZES:
            icon.addPixmap(self.pixmap(state, base))
        if state.mask:
            icon.setIsMask(True)
        self._icons[state] = icon
        if len(self._icons) > self.max_entries:
            self._icons.popitem(last=False)
        return icon

    def pixmap(self, state: IconState, logical_size: int) -> QPixmap:
        """A pixmap drawn at the device pixel ratio, so a 22 px icon is sharp on a 2x screen."""
        px = round(logical_size * self.dpr)
        pixmap = QPixmap(px, px)
        pixmap.fill(Qt.GlobalColor.transparent)
        pixmap.setDevicePixelRatio(self.dpr)
        painter = QPainter(pixmap)
        try:
            paint_icon(painter, state, float(logical_size))
        finally:
            painter.end()
        self.paints += 1
        return pixmap


def app_icon(device_pixel_ratio: float = 1.0) -> QIcon:
    """The window icon, painted (the SVG in resources/icons is for installers and About)."""
    cache = IconCache(device_pixel_ratio)
    icon = QIcon()
    for base in (16, 32, 48, 64):
        icon.addPixmap(cache.pixmap(IconState(IDLE), base))
    return icon
