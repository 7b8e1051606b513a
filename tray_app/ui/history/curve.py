"""One session's power curve: GPU and CPU stacked, idle spans shaded, reminders marked, and
each generation's window as a bar along the bottom (solid: exact; hatched: approximate).

A four-hour session holds ~14 000 samples; the curve is first reduced to at most one bucket per
few pixels (mean power, share of active time), so painting costs the same for any length.
Unknown power leaves a gap: it is never drawn as 0 W.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QHelpEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import QToolTip, QWidget

from tray_app.system.fmt import flexible
from tray_app.system.i18n import _
from tray_app.ui.history.charts import CPU_COLOUR, GPU_COLOUR, mix, nice_step

Sample = tuple[float, "float | None", "float | None", "int | None"]
REMINDER_COLOUR = QColor("#c0392b")
GENERATION_COLOURS = (QColor("#8e44ad"), QColor("#b07cc6"))  # alternate, so neighbours show
GENERATION_BAR_H = 7
MAX_BUCKETS = 400


@dataclass(frozen=True)
class Bucket:
    t0: float
    t1: float
    gpu_w: float | None
    cpu_w: float | None
    active: float | None  # share of samples marked active; None when unknown


def buckets(samples: Sequence[Sample], t0: float, t1: float, n: int) -> list[Bucket]:
    """Mean power per equal time slice of [t0, t1]; a slice without any reading is None."""
    span = max(t1 - t0, 1e-9)
    n = max(1, n)
    sums = [[0.0, 0, 0.0, 0, 0, 0] for _ in range(n)]  # gpu, n_gpu, cpu, n_cpu, active, n_act
    for ts, gpu, cpu, active in samples:
        i = min(n - 1, max(0, int((ts - t0) / span * n)))
        s = sums[i]
        if gpu is not None:
            s[0] += gpu
            s[1] += 1
        if cpu is not None:
            s[2] += cpu
            s[3] += 1
        if active is not None:
            s[4] += int(bool(active))
            s[5] += 1
    out = []
    for i, (g, ng, c, nc, a, na) in enumerate(sums):
        out.append(
            Bucket(
                t0 + span * i / n,
                t0 + span * (i + 1) / n,
                g / ng if ng else None,
                c / nc if nc else None,
                a / na if na else None,
            )
        )
    return out


class CurveWidget(QWidget):
    MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 48, 12, 24, 22

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.samples: list[Sample] = []
        self.t0 = self.t1 = 0.0
        self.reminders: list[dict[str, Any]] = []
        self.generations: list[dict[str, Any]] = []
        self._cache: tuple[int, list[Bucket]] | None = None
        self.setMinimumHeight(170)
        self.setMouseTracking(True)
        self.setAccessibleName(_("Power curve"))

    def sizeHint(self) -> QSize:
        return QSize(420, 200)

    def set_curve(
        self,
        samples: Sequence[Sample],
        start_ts: float | None = None,
        end_ts: float | None = None,
        reminders: Sequence[dict[str, Any]] = (),
        generations: Sequence[dict[str, Any]] = (),
    ) -> None:
        self.samples = list(samples)
        times = [s[0] for s in self.samples]
        self.t0 = min([t for t in (start_ts, *times[:1]) if t is not None], default=0.0)
        self.t1 = max([t for t in (end_ts, *times[-1:]) if t is not None], default=self.t0 + 1)
        if self.t1 <= self.t0:
            self.t1 = self.t0 + 1
        self.reminders = [r for r in reminders if self.t0 <= r["ts"] <= self.t1]
        self.generations = sorted(
            (g for g in generations if g["end_ts"] >= self.t0 and g["start_ts"] <= self.t1),
            key=lambda g: g["start_ts"],
        )
        self._cache = None
        self.update()

    def plot_rect(self) -> QRectF:
        return QRectF(
            self.MARGIN_L,
            self.MARGIN_T,
            max(1, self.width() - self.MARGIN_L - self.MARGIN_R),
            max(1, self.height() - self.MARGIN_T - self.MARGIN_B),
        )

    def current_buckets(self) -> list[Bucket]:
        width = int(self.plot_rect().width())
        n = max(1, min(MAX_BUCKETS, width // 2, len(self.samples)))
        if self._cache is None or self._cache[0] != n:
            self._cache = (n, buckets(self.samples, self.t0, self.t1, n))
        return self._cache[1]

    def x_of(self, ts: float) -> float:
        r = self.plot_rect()
        return r.left() + (ts - self.t0) / (self.t1 - self.t0) * r.width()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        fm = p.fontMetrics()
        if not self.samples:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(
                self.rect(),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                _("No power readings were kept for this session (imported, or recorded "
                  "before samples were stored)."),
            )
            p.end()
            return
        r = self.plot_rect()
        bs = self.current_buckets()
        top = max(((b.gpu_w or 0) + (b.cpu_w or 0) for b in bs), default=0.0)
        step = nice_step(max(top, 1.0))
        scale = math.ceil(max(top, 1.0) / step) * step
        # Idle spans first, under everything: a band the height of the plot.
        idle = mix(pal.color(QPalette.ColorRole.Window), text, 0.12)
        for b in bs:
            if b.active is not None and b.active < 0.5:
                x0, x1 = self.x_of(b.t0), self.x_of(b.t1)
                p.fillRect(QRectF(x0, r.top(), max(1.0, x1 - x0 + 0.5), r.height()), idle)
        grid = mix(pal.color(QPalette.ColorRole.Window), text, 0.2)
        v = 0.0
        while v <= scale + 1e-9:
            y = r.bottom() - v / scale * r.height()
            p.setPen(grid)
            p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y))
            p.setPen(text)
            p.drawText(QRectF(0, y - fm.height() / 2, self.MARGIN_L - 6, fm.height()),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       flexible(float(f"{v:g}")))
            v += step
        p.drawText(QRectF(4, 2, 60, fm.height()), "W")
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)

        def y_of(w: float) -> float:
            return r.bottom() - w / scale * r.height()

        # GPU from 0, CPU stacked on top of the GPU (the top edge is the total).
        self._areas(p, bs, lambda b: 0.0, lambda b: b.gpu_w, GPU_COLOUR, y_of)
        self._areas(
            p,
            bs,
            lambda b: b.gpu_w or 0.0,
            lambda b: None if b.cpu_w is None else (b.gpu_w or 0.0) + b.cpu_w,
            CPU_COLOUR,
            y_of,
        )
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self._generation_bars(p, r)
        # Reminders: a dashed line and a small flag each.
        pen = QPen(REMINDER_COLOUR, 1.5, Qt.PenStyle.DashLine)
        for rem in self.reminders:
            x = self.x_of(rem["ts"])
            p.setPen(pen)
            p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
            flag = QPainterPath()
            flag.moveTo(x, r.top())
            flag.lineTo(x + 8, r.top() + 4)
            flag.lineTo(x, r.top() + 8)
            flag.closeSubpath()
            p.fillPath(flag, REMINDER_COLOUR)
        # Time axis: start, middle, end.
        p.setPen(text)
        fmt_ = "%H:%M" if self.t1 - self.t0 >= 600 else "%H:%M:%S"
        for frac, align in ((0.0, Qt.AlignmentFlag.AlignLeft), (0.5, Qt.AlignmentFlag.AlignHCenter),
                            (1.0, Qt.AlignmentFlag.AlignRight)):
            ts = self.t0 + frac * (self.t1 - self.t0)
            label = datetime.fromtimestamp(ts).strftime(fmt_)
            w = fm.horizontalAdvance(label) + 4
            x = r.left() + frac * r.width() - {0.0: 0, 0.5: w / 2, 1.0: w}[frac]
            p.drawText(QRectF(x, r.bottom() + 4, w, fm.height()), align, label)
        self._legend(p, fm.height(), idle)
        p.end()

    def _areas(
        self,
        p: QPainter,
        bs: list[Bucket],
        low: Callable[[Bucket], float],
        high: Callable[[Bucket], float | None],
        colour: QColor,
        y_of: Callable[[float], float],
    ) -> None:
        """Fill between low(b) and high(b); a bucket where high is None ends the polygon."""
        runs: list[list[Bucket]] = [[]]
        for b in bs:
            if high(b) is None:
                runs.append([])
            else:
                runs[-1].append(b)
        fill = QColor(colour)
        fill.setAlpha(200)
        for run in runs:
            if not run:
                continue
            top = [QPointF(self.x_of(t), y_of(high(b) or 0.0)) for b in run for t in (b.t0, b.t1)]
            bottom = [QPointF(self.x_of(t), y_of(low(b))) for b in run for t in (b.t0, b.t1)]
            area = QPainterPath(top[0])
            for pt in top[1:] + bottom[::-1]:
                area.lineTo(pt)
            area.closeSubpath()
            p.fillPath(area, fill)
            edge = QPainterPath(top[0])
            for pt in top[1:]:
                edge.lineTo(pt)
            p.setPen(QPen(colour.darker(115), 1.2))
            p.drawPath(edge)

    def _generation_bars(self, p: QPainter, r: QRectF) -> None:
        """One bar per generation along the plot's bottom edge, at least 2 px wide."""
        y = r.bottom() - GENERATION_BAR_H
        for i, g in enumerate(self.generations):
            x0 = max(r.left(), self.x_of(g["start_ts"]))
            x1 = min(r.right(), self.x_of(g["end_ts"]))
            rect = QRectF(x0, y, max(2.0, x1 - x0), GENERATION_BAR_H)
            colour = GENERATION_COLOURS[i % 2]
            if g.get("window") == "exact":
                p.fillRect(rect, colour)
            else:  # approximate: hatched, so it does not read as exact
                p.fillRect(rect, QBrush(colour, Qt.BrushStyle.BDiagPattern))
                p.setPen(QPen(colour, 1))
                p.drawRect(rect)

    def generation_at(self, ts: float) -> dict[str, Any] | None:
        return next((g for g in self.generations if g["start_ts"] <= ts <= g["end_ts"]), None)

    def _legend(self, p: QPainter, line_h: int, idle: QColor) -> None:
        fm = p.fontMetrics()
        x = self.width() - self.MARGIN_R
        items = [(_("GPU"), GPU_COLOUR), (_("CPU"), CPU_COLOUR), (_("idle"), idle)]
        if self.generations:
            items.append((_("generation"), GENERATION_COLOURS[0]))
        if self.reminders:
            items.append((_("reminder"), REMINDER_COLOUR))
        for label, colour in reversed(items):
            w = fm.horizontalAdvance(label)
            x -= w
            p.setPen(self.palette().color(QPalette.ColorRole.WindowText))
            p.drawText(QRectF(x, 3, w + 2, line_h), label)
            x -= 14
            p.fillRect(QRectF(x, 3 + line_h / 2 - 5, 10, 10), colour)
            x -= 12

    def reminder_near(self, x: float) -> dict[str, Any] | None:
        best = min(self.reminders, key=lambda r: abs(self.x_of(r["ts"]) - x), default=None)
        if best is not None and abs(self.x_of(best["ts"]) - x) <= 6:
            return best
        return None

    def tooltip_at(self, x: float) -> str | None:
        rem = self.reminder_near(x)
        if rem is not None:
            when = datetime.fromtimestamp(rem["ts"]).strftime("%H:%M")
            return _("Reminder at {time}: {message}").format(
                time=when, message=rem.get("message") or rem.get("rule")
            )
        r = self.plot_rect()
        if not self.samples or not r.left() <= x <= r.right():
            return None
        ts = self.t0 + (x - r.left()) / r.width() * (self.t1 - self.t0)
        b = next((b for b in self.current_buckets() if b.t0 <= ts <= b.t1), None)
        if b is None:
            return None

        def watts(w: float | None) -> str:
            return _("unknown") if w is None else _("{w:.0f} W").format(w=w)

        state = "" if b.active is None else (_("active") if b.active >= 0.5 else _("idle"))
        text = _("{time}: GPU {gpu}, CPU {cpu} {state}").format(
            time=datetime.fromtimestamp(ts).strftime("%H:%M:%S"),
            gpu=watts(b.gpu_w),
            cpu=watts(b.cpu_w),
            state=f"({state})" if state else "",
        ).strip()
        gen = self.generation_at(ts)
        if gen is not None:
            from tray_app.ui.history.generations_text import generation_tooltip

            text += "\n\n" + generation_tooltip(gen)
        return text

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.ToolTip and isinstance(e, QHelpEvent):
            tip = self.tooltip_at(e.pos().x())
            if tip:
                QToolTip.showText(e.globalPos(), tip, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(e)
