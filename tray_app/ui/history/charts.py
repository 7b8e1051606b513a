"""Per-day energy bars and the year-at-a-glance calendar, painted with QPainter.

No QtCharts (it would pull in PySide6-Addons): two small widgets that draw from the store's
per-day totals. Text and grid use palette roles, so both read on light and dark themes; the two
series colours are mid-tones chosen to contrast with either background.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from PySide6.QtCore import QEvent, QLocale, QPoint, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
)
from PySide6.QtWidgets import QToolTip, QWidget

from tray_app.system import i18n
from tray_app.system.fmt import flexible, long_date
from tray_app.system.i18n import _, ngettext
from tray_app.ui.history import format as fmt

GPU_COLOUR = QColor("#3f7fc4")
CPU_COLOUR = QColor("#e8913a")
Day = tuple[str, float, float, "int | None"]  # (YYYY-MM-DD, gpu_wh, cpu_wh, images)


def locale() -> QLocale:
    """Month and day names in the app's language, not the system's."""
    return QLocale(i18n.current_language())


def mix(a: QColor, b: QColor, t: float) -> QColor:
    t = max(0.0, min(1.0, t))
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


def nice_step(top: float, ticks: int = 4) -> float:
    """A round grid step (1, 2, 2.5 or 5 times a power of ten) giving about `ticks` lines."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def axis_label(value: float, unit: str) -> str:
    if unit == "kWh":
        return flexible(float(f"{value / 1000:g}"))
    return flexible(float(f"{value:g}"))


def day_tooltip(day: Day, idle: tuple[float, float] | None = None) -> str:
    """`idle`: (Wh drawn by idle tools, Wh saved by freeing them) that day, when any."""
    key, gpu, cpu, images = day
    d = date.fromisoformat(key)
    title = long_date(d)  # the same words as everywhere else ("1er décembre"), not QLocale's
    total = gpu + cpu
    if total <= 0 and not images:
        return _("{day}: no session").format(day=title)
    lines = [
        _("{day}: {total}").format(day=title, total=fmt.energy(total)),
        _("GPU {gpu} · CPU {cpu}").format(gpu=fmt.energy(gpu), cpu=fmt.energy(cpu)),
    ]
    if images:
        lines.append(fmt.images_text(images))
    if idle is not None:
        from tray_app.ui.history.panels import idle_text

        line = idle_text(*idle)
        if line:
            lines.append(line)
    return "\n".join(lines)


class DayChart(QWidget):
    """Stacked GPU + CPU bars, one per day, oldest on the left. Hover or arrow keys for values,
    click or Enter to pick a day."""

    day_selected = Signal(object)  # datetime.date

    MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 52, 12, 26, 24

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.days: list[Day] = []
        self.idle: dict[str, tuple[float, float]] = {}  # day -> (idle Wh, saved Wh)
        self.hover: int | None = None
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumHeight(150)
        self.setAccessibleName(_("Energy per day"))
        self.paints = 0

    def sizeHint(self) -> QSize:
        return QSize(720, 200)

    def set_days(self, days: list[Day], idle: dict[str, tuple[float, float]] | None = None) -> None:
        self.days = list(days)
        self.idle = dict(idle or {})  # day -> (idle Wh, saved Wh), for the tooltip
        self.hover = None
        self.setAccessibleDescription(self.summary())
        self.update()

    def summary(self) -> str:
        total = sum(g + c for _k, g, c, _i in self.days)
        return ngettext("{n} day, {total} in all", "{n} days, {total} in all", len(self.days)).format(
            n=len(self.days), total=fmt.energy(total)
        )

    # ---- geometry -----------------------------------------------------------------------------
    def plot_rect(self) -> QRectF:
        return QRectF(
            self.MARGIN_L,
            self.MARGIN_T,
            max(1, self.width() - self.MARGIN_L - self.MARGIN_R),
            max(1, self.height() - self.MARGIN_T - self.MARGIN_B),
        )

    def index_at(self, x: float) -> int | None:
        r = self.plot_rect()
        if not self.days or not r.left() <= x < r.right():
            return None
        return min(len(self.days) - 1, int((x - r.left()) / r.width() * len(self.days)))

    # ---- painting -----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        self.paints += 1
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        grid = mix(pal.color(QPalette.ColorRole.Window), text, 0.18)
        r = self.plot_rect()
        top = max((g + c for _k, g, c, _i in self.days), default=0.0)
        if top <= 0:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter, _("No energy recorded in this period.")
            )
            p.end()
            return
        unit = "kWh" if top >= 2000 else "Wh"
        step = nice_step(top)
        scale_top = math.ceil(top / step) * step
        fm = p.fontMetrics()
        # Grid and y labels.
        v = 0.0
        while v <= scale_top + 1e-9:
            y = r.bottom() - v / scale_top * r.height()
            p.setPen(grid)
            p.drawLine(int(r.left()), int(y), int(r.right()), int(y))
            p.setPen(text)
            label = axis_label(v, unit)
            p.drawText(
                QRectF(0, y - fm.height() / 2, self.MARGIN_L - 6, fm.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                label,
            )
            v += step
        p.drawText(QRectF(4, 2, 120, fm.height()), Qt.AlignmentFlag.AlignLeft, unit)
        # Bars.
        n = len(self.days)
        slot = r.width() / n
        gap = 1.0 if slot >= 4 else 0.0
        if self.hover is not None:
            band = QColor(pal.color(QPalette.ColorRole.Highlight))
            band.setAlpha(60)
            p.fillRect(QRectF(r.left() + self.hover * slot, r.top(), slot, r.height()), band)
        for i, (_key, gpu, cpu, _img) in enumerate(self.days):
            x = r.left() + i * slot
            h_gpu = gpu / scale_top * r.height()
            h_cpu = cpu / scale_top * r.height()
            w = max(1.0, slot - gap)
            p.fillRect(QRectF(x, r.bottom() - h_gpu, w, h_gpu), GPU_COLOUR)
            p.fillRect(QRectF(x, r.bottom() - h_gpu - h_cpu, w, h_cpu), CPU_COLOUR)
        # X labels: a few dates that do not overlap.
        p.setPen(text)
        loc = locale()
        label_w = fm.horizontalAdvance("00 MMMM") + 8
        every = max(1, math.ceil(label_w / slot))
        if n > 120:  # a year: label the first day of each month instead
            marks = [i for i, d in enumerate(self.days) if d[0].endswith("-01")]
        else:
            marks = list(range(n - 1, -1, -every))
        last_right = float("inf")
        for i in sorted(marks, reverse=True):
            d = date.fromisoformat(self.days[i][0])
            label = (
                loc.monthName(d.month, QLocale.FormatType.ShortFormat)
                if n > 120
                else f"{d.day} {loc.monthName(d.month, QLocale.FormatType.ShortFormat)}"
            )
            cx = r.left() + (i + 0.5) * slot
            w = fm.horizontalAdvance(label)
            x = max(0.0, min(cx - w / 2, self.width() - w - 2))
            if x + w + 6 > last_right:
                continue
            p.drawText(QRectF(x, r.bottom() + 4, w + 2, fm.height()), label)
            last_right = x
        self._legend(p, fm.height())
        if self.hasFocus():
            p.setPen(pal.color(QPalette.ColorRole.Highlight))
            p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        p.end()

    def _legend(self, p: QPainter, line_h: int) -> None:
        fm = p.fontMetrics()
        x = self.width() - self.MARGIN_R
        for label, colour in ((_("CPU"), CPU_COLOUR), (_("GPU"), GPU_COLOUR)):
            w = fm.horizontalAdvance(label)
            x -= w
            p.drawText(QRectF(x, 3, w + 2, line_h), label)
            x -= 14
            p.fillRect(QRectF(x, 3 + line_h / 2 - 5, 10, 10), colour)
            x -= 12

    # ---- interaction --------------------------------------------------------------------------
    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.ToolTip and isinstance(e, QHelpEvent):
            i = self.index_at(e.pos().x())
            if i is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(e.globalPos(), self.tooltip_at(e.pos().x()) or "", self)
            return True
        return super().event(e)

    def tooltip_at(self, x: float) -> str | None:
        i = self.index_at(x)
        return None if i is None else day_tooltip(self.days[i], self.idle.get(self.days[i][0]))

    def mouseMoveEvent(self, e: QMouseEvent) -> None:
        i = self.index_at(e.position().x())
        if i != self.hover:
            self.hover = i
            self.update()

    def leaveEvent(self, e: QEvent) -> None:
        self.hover = None
        self.update()

    def mousePressEvent(self, e: QMouseEvent) -> None:
        i = self.index_at(e.position().x())
        if i is not None and e.button() == Qt.MouseButton.LeftButton:
            self.day_selected.emit(date.fromisoformat(self.days[i][0]))

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if not self.days:
            return super().keyPressEvent(e)
        key = e.key()
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            cur = len(self.days) if self.hover is None else self.hover
            step = -1 if key == Qt.Key.Key_Left else 1
            self.hover = max(0, min(len(self.days) - 1, cur + step))
            self._show_hover_tip()
            self.update()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space) and self.hover is not None:
            self.day_selected.emit(date.fromisoformat(self.days[self.hover][0]))
        else:
            super().keyPressEvent(e)

    def _show_hover_tip(self) -> None:
        if self.hover is None:
            return
        r = self.plot_rect()
        x = r.left() + (self.hover + 0.5) * r.width() / len(self.days)
        QToolTip.showText(self.mapToGlobal(QPoint(int(x), int(r.top()))),
                          day_tooltip(self.days[self.hover], self.idle.get(self.days[self.hover][0])), self)

    def focusOutEvent(self, e: QFocusEvent) -> None:
        self.update()
        super().focusOutEvent(e)


class YearCalendar(QWidget):
    """One cell per day over the last 53 weeks, shaded by energy: habits show as patterns
    (which weekdays, which weeks). Click or Enter picks a day."""

    day_selected = Signal(object)  # datetime.date

    WEEKS = 53
    LEFT, TOP, GAP = 34, 20, 2
    LEVELS = 5

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.by_day: dict[date, Day] = {}
        self.first: date = date.today()
        self.last: date = date.today()
        self.thresholds: list[float] = []
        self.cursor: date | None = None
        self.selected: date | None = None
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumHeight(150)
        self.setAccessibleName(_("Year at a glance"))
        self.paints = 0

    def sizeHint(self) -> QSize:
        return QSize(self.LEFT + self.WEEKS * 15 + 10, self.TOP + 7 * 15 + 34)

    def week_start(self) -> int:
        """0 = Monday ... 6 = Sunday, from the app language's locale."""
        return int(locale().firstDayOfWeek().value) - 1

    def set_days(self, days: list[Day]) -> None:
        """Days oldest first; the calendar shows the last 53 weeks ending with the last one."""
        self.by_day = {date.fromisoformat(d[0]): d for d in days}
        self.last = max(self.by_day) if self.by_day else date.today()
        start = self.last - timedelta(weeks=self.WEEKS - 1)
        self.first = start - timedelta(days=(start.weekday() - self.week_start()) % 7)
        values = sorted(g + c for _k, g, c, _i in self.by_day.values() if g + c > 0)
        # Quartiles of the days that ran anything: a heavy month does not wash out the rest.
        self.thresholds = (
            [values[min(len(values) - 1, int(len(values) * f))] for f in (0.25, 0.5, 0.75)]
            if values
            else []
        )
        self.update()

    def level(self, wh: float) -> int:
        if wh <= 0:
            return 0
        return 1 + sum(wh > t for t in self.thresholds)

    def cell(self) -> float:
        usable = min(
            (self.width() - self.LEFT - 8) / self.WEEKS,
            (self.height() - self.TOP - 30) / 7,
        )
        return max(6.0, min(18.0, usable))

    def cell_rect(self, d: date) -> QRectF:
        c = self.cell()
        i = (d - self.first).days
        return QRectF(self.LEFT + (i // 7) * c, self.TOP + (i % 7) * c, c - self.GAP, c - self.GAP)

    def day_at(self, x: float, y: float) -> date | None:
        c = self.cell()
        col, row = math.floor((x - self.LEFT) / c), math.floor((y - self.TOP) / c)
        if not (0 <= col < self.WEEKS and 0 <= row < 7):
            return None
        d = self.first + timedelta(days=col * 7 + row)
        return d if d <= self.last else None

    def colour(self, level: int) -> QColor:
        pal = self.palette()
        base = pal.color(QPalette.ColorRole.Base)
        if level == 0:
            return mix(base, pal.color(QPalette.ColorRole.Text), 0.10)
        return mix(base, GPU_COLOUR, 0.25 + 0.75 * (level - 1) / (self.LEVELS - 2))

    def paintEvent(self, event: QPaintEvent) -> None:
        self.paints += 1
        p = QPainter(self)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        fm = p.fontMetrics()
        loc = locale()
        c = self.cell()
        # Weekday names on rows 1, 3, 5 (as much as fits without crowding).
        p.setPen(text)
        for row in (0, 2, 4, 6):
            weekday = (self.week_start() + row) % 7 + 1
            name = loc.dayName(weekday, QLocale.FormatType.ShortFormat)
            p.drawText(QRectF(0, self.TOP + row * c - 2, self.LEFT - 4, c + 4),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
        # Month names above the week where each month starts.
        last_x = -1e9
        for col in range(self.WEEKS):
            d0 = self.first + timedelta(days=col * 7)
            week = [d0 + timedelta(days=k) for k in range(7)]
            first_of_month = next((d for d in week if d.day == 1), None)
            if col == 0 and first_of_month is None and d0.day <= 14:
                first_of_month = d0  # name the partial month only if it has room
            if first_of_month is None:
                continue
            x = self.LEFT + col * c
            name = loc.monthName(first_of_month.month, QLocale.FormatType.ShortFormat)
            if x - last_x < fm.horizontalAdvance(name) + 6:
                continue
            p.drawText(QRectF(x, 0, fm.horizontalAdvance(name) + 4, self.TOP), name)
            last_x = x
        # Cells.
        d = self.first
        while d <= self.last:
            day = self.by_day.get(d)
            wh = (day[1] + day[2]) if day else 0.0
            p.fillRect(self.cell_rect(d), self.colour(self.level(wh)))
            d += timedelta(days=1)
        for marked, role in ((self.selected, QPalette.ColorRole.Text),
                             (self.cursor if self.hasFocus() else None, QPalette.ColorRole.Highlight)):
            if marked is not None and self.first <= marked <= self.last:
                p.setPen(pal.color(role))
                p.drawRect(self.cell_rect(marked).adjusted(-1, -1, 0, 0))
        # Legend: Less [] [] [] [] [] More.
        y = self.TOP + 7 * c + 8
        x = self.LEFT + self.WEEKS * c - self.LEVELS * (c + 2) - fm.horizontalAdvance(_("More")) - 8
        less = _("Less")
        p.setPen(text)
        p.drawText(QRectF(x - fm.horizontalAdvance(less) - 6, y - 2, fm.horizontalAdvance(less) + 2,
                          fm.height()), less)
        for lv in range(self.LEVELS):
            p.fillRect(QRectF(x + lv * (c + 2), y, c - self.GAP, c - self.GAP), self.colour(lv))
        p.drawText(QRectF(x + self.LEVELS * (c + 2) + 4, y - 2, fm.horizontalAdvance(_("More")) + 2,
                          fm.height()), _("More"))
        p.end()

    def tooltip_for(self, d: date) -> str:
        day = self.by_day.get(d, (d.isoformat(), 0.0, 0.0, None))
        return day_tooltip(day)

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.ToolTip and isinstance(e, QHelpEvent):
            d = self.day_at(e.pos().x(), e.pos().y())
            if d is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(e.globalPos(), self.tooltip_for(d), self)
            return True
        return super().event(e)

    def mousePressEvent(self, e: QMouseEvent) -> None:
        d = self.day_at(e.position().x(), e.position().y())
        if d is not None and e.button() == Qt.MouseButton.LeftButton:
            self.pick(d)

    def pick(self, d: date) -> None:
        self.selected = self.cursor = d
        self.update()
        self.day_selected.emit(d)

    def keyPressEvent(self, e: QKeyEvent) -> None:
        moves = {Qt.Key.Key_Left: -7, Qt.Key.Key_Right: 7, Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1}
        key = e.key()
        if key in moves:
            cur = self.cursor or self.last
            nxt = cur + timedelta(days=moves[Qt.Key(key)])
            if self.first <= nxt <= self.last:
                self.cursor = nxt
                r = self.cell_rect(nxt)
                QToolTip.showText(self.mapToGlobal(r.bottomRight().toPoint()),
                                  self.tooltip_for(nxt), self)
                self.update()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space) and self.cursor:
            self.pick(self.cursor)
        else:
            super().keyPressEvent(e)

    def focusInEvent(self, e: QFocusEvent) -> None:
        self.update()
        super().focusInEvent(e)

    def focusOutEvent(self, e: QFocusEvent) -> None:
        self.update()
        super().focusOutEvent(e)
