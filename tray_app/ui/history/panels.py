"""The History window's smaller parts: totals cards, the session detail panel, the empty state."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tray_app.system.fmt import count, keep_units
from tray_app.system.i18n import _, ngettext
from tray_app.ui.history import format as fmt
from tray_app.ui.history.curve import CurveWidget, Sample


def _label(text: str = "", selectable: bool = False) -> QLabel:
    lab = QLabel(text)
    lab.setWordWrap(True)
    if selectable:
        lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return lab


def idle_text(idle_wh: float | None, saved_wh: float | None, approx: bool = False) -> str | None:
    """"Idle 12.4 Wh · saved by freeing ≈3.1 Wh": what idle tools drew, and what freeing their
    GPU memory saved (always an estimate). None when neither is known."""
    parts = []
    if idle_wh:
        parts.append(_("Idle {energy}").format(energy=fmt.energy(idle_wh, approx)))
    if saved_wh:
        parts.append(_("saved by freeing {energy}").format(energy=fmt.energy(saved_wh, True)))
    return " · ".join(parts) or None


def totals_lines(totals: dict[str, Any], extras: dict[str, Any]) -> tuple[str, list[str]]:
    """(headline, detail lines) for one period. No sessions: 0 Wh (nothing ran); sessions
    without a figure: unknown, never 0."""
    n = int(totals.get("sessions") or 0)
    approx = extras.get("estimated", 0) > 0
    if n == 0:
        return fmt.energy(0.0), [_("No session")]
    currency = str(totals.get("currency") or "")
    lines = [
        _("GPU {gpu} · CPU {cpu}").format(
            gpu=fmt.energy(totals.get("gpu_wh"), approx), cpu=fmt.energy(totals.get("cpu_wh"), approx)
        ),
        _("{co2} · {cost}").format(
            co2=fmt.co2(totals.get("co2_g"), approx),
            cost=fmt.money(totals.get("cost"), currency, approx),
        ),
    ]
    images = totals.get("images")
    if images:
        per = extras.get("wh_per_image")
        lines.append(
            _("{images} · {per} per image").format(
                images=fmt.images_text(int(images)), per=fmt.energy(per, approx)
            )
        )
    else:
        lines.append(_("Images not counted"))
    idle_line = idle_text(extras.get("idle_wh"), extras.get("saved_wh"), approx)
    if idle_line:
        lines.append(idle_line)
    notes = [ngettext("{n} session", "{n} sessions", n).format(n=count(n))]
    if extras.get("estimated"):
        k = extras["estimated"]
        notes.append(ngettext("{n} is estimated (≈)", "{n} are estimated (≈)", k).format(n=k))
    if extras.get("unknown"):
        k = extras["unknown"]
        notes.append(ngettext("{n} is not measured", "{n} are not measured", k).format(n=k))
    lines.append(", ".join(notes))
    return fmt.energy(totals.get("total_wh"), approx), lines


class TotalsCard(QFrame):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(title)
        bold = QFont(self.title.font())
        bold.setBold(True)
        self.title.setFont(bold)
        self.headline = QLabel()
        big = QFont(self.headline.font())
        big.setPointSizeF(big.pointSizeF() * 1.5)
        big.setBold(True)
        self.headline.setFont(big)
        self.details = _label()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.headline)
        layout.addWidget(self.details)
        layout.addStretch(1)

    def set_values(self, totals: dict[str, Any], extras: dict[str, Any]) -> None:
        headline, lines = totals_lines(totals, extras)
        self.headline.setText(headline)
        self.details.setText("\n".join(lines))
        self.setAccessibleName(f"{self.title.text()}: {headline}. " + ". ".join(lines))
        self.setToolTip(
            _("Figures marked ≈ include estimates.") if extras.get("estimated") else ""
        )


class DetailPanel(QWidget):
    """One session: its curve and its numbers. Escape (in the window) closes it."""

    closed = Signal()

    FIELDS = (
        "tool", "started", "ended", "duration", "active", "total", "gpu", "cpu", "idle", "saved",
        "machine",
        "attribution", "peak", "avg", "method", "status", "images", "wh_per_image", "co2", "cost",
        "model", "reminders",
    )  # fmt: skip

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(_("Session details"))
        self.title = QLabel()
        bold = QFont(self.title.font())
        bold.setBold(True)
        self.title.setFont(bold)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip(_("Close the details (Escape)"))
        self.close_button.setAccessibleName(_("Close the details"))
        self.close_button.clicked.connect(self.closed.emit)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.close_button)
        self.curve = CurveWidget()
        self.values: dict[str, QLabel] = {}
        form_host = QWidget()
        self.form = QFormLayout(form_host)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for key in self.FIELDS:
            value = _label(selectable=True)
            self.values[key] = value
            self.form.addRow(self._name(key), value)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(form_host)
        # The session's figures, and its generations one click away.
        self.generations = GenerationList()
        self.generations_title = _label()
        gen_page = QWidget()
        gen_layout = QVBoxLayout(gen_page)
        gen_layout.setContentsMargins(0, 4, 0, 0)
        gen_layout.addWidget(self.generations_title)
        gen_layout.addWidget(self.generations, 1)
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.addTab(scroll, _("Figures"))
        self.pages.addTab(gen_page, _("Generations"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.curve)
        layout.addWidget(self.pages, 1)
        self.session: dict[str, Any] | None = None

    @staticmethod
    def _name(key: str) -> str:
        return {
            "tool": _("Tool"),
            "started": _("Started"),
            "ended": _("Ended"),
            "duration": _("Duration"),
            "active": _("Active"),
            "total": _("Energy"),
            "gpu": _("GPU"),
            "cpu": _("CPU"),
            "idle": _("Of which idle"),
            "saved": _("Saved by freeing GPU memory"),
            "machine": _("Whole machine meanwhile"),
            "attribution": _("Attribution"),
            "peak": _("Peak power"),
            "avg": _("Average power"),
            "method": _("Method"),
            "status": _("Status"),
            "images": _("Images"),
            "wh_per_image": _("Per image"),
            "co2": _("CO₂e"),
            "cost": _("Cost"),
            "model": _("Model"),
            "reminders": _("Reminders"),
        }[key]

    def show_session(
        self,
        s: dict[str, Any],
        curve: Sequence[Sample],
        reminders: Sequence[dict[str, Any]],
        generations: Sequence[dict[str, Any]] = (),
    ) -> None:
        self.session = s
        approx = fmt.is_estimated(s)
        self.title.setText(
            _("Session {id} · {tool}").format(id=s["id"], tool=fmt.tool_label(s.get("tool")))
        )
        self.curve.set_curve(curve, s.get("start_ts"), s.get("end_ts"), reminders, generations)
        # The explanation is a tooltip: the detail column is narrow, the curve needs the room.
        self.generations_title.setText(_("No generations recorded for this session"))
        self.generations_title.setVisible(not generations)
        self.pages.setTabToolTip(
            1,
            _("Each prompt or image of this session, with the energy drawn over its own window "
              "(marked along the bottom of the curve). Hover one for its details."),
        )
        self.generations.set_generations(generations)
        self.generations.setVisible(bool(generations))
        self.pages.setTabText(
            1,
            ngettext("{n} generation", "{n} generations", len(generations)).format(
                n=len(generations)
            )
            if generations
            else _("Generations"),
        )

        def watts(w: float | None) -> str:
            return _("unknown") if w is None else _("{w:.0f} W").format(w=w)

        dur, active = s.get("duration_s"), s.get("active_s")
        values = {
            "tool": fmt.tool_label(s.get("tool")),
            "started": fmt.local_time(s.get("start_ts"), "%Y-%m-%d %H:%M:%S"),
            "ended": fmt.local_time(s.get("end_ts"), "%Y-%m-%d %H:%M:%S")
            if s.get("end_ts") is not None
            else _("still running"),
            "duration": fmt.clock_duration(dur),
            "active": fmt.clock_duration(active)
            + (f" ({active / dur:.0%})" if active is not None and dur else ""),
            "total": fmt.energy(s.get("total_wh"), approx),
            "gpu": fmt.energy(s.get("gpu_wh"), approx),
            "cpu": fmt.energy(s.get("cpu_wh"), approx),
            "idle": fmt.energy(s.get("idle_wh"), approx),
            # An estimate: the drop in draw measured after freeing, times how long it lasted.
            "saved": fmt.energy(s["saved_wh"], True) if s.get("saved_wh") is not None else "-",
            # What every source drew while the session was open, beside the part that was its.
            "machine": fmt.energy(s.get("machine_wh"), approx),
            "attribution": "\n".join(filter(None, (
                fmt.attribution_label(s.get("attribution")),
                fmt.attribution_explanation(s.get("gpu_attribution"), s.get("cpu_attribution")),
            ))),
            "peak": watts(s.get("peak_w")),
            "avg": watts(s.get("avg_w")),
            "method": f"{fmt.method_label(s.get('energy_method'))}\n"
            f"{fmt.method_explanation(s.get('energy_method'))}",
            "status": fmt.status_label(s.get("status")),
            "images": fmt.images_text(s.get("images")),
            "wh_per_image": self._per_image(s, approx),
            "co2": fmt.co2(s.get("co2_g"), approx),
            "cost": fmt.money(s.get("cost"), str(s.get("currency") or ""), approx),
            "model": s.get("model_name") or s.get("model_family") or "-",
            # keep_units: reminders stored before numbers and their units were kept together
            "reminders": "\n".join(
                fmt.local_time(r["ts"], "%H:%M")
                + " "
                + keep_units(str(r.get("message") or r.get("rule")))
                for r in reminders
            )
            or _("none"),
        }
        for key, text in values.items():
            self.values[key].setText(text)


    @staticmethod
    def _per_image(s: dict[str, Any], approx: bool) -> str:
        """Wh per image, beside the published reference for the model family when known."""
        per = s.get("wh_per_image")
        if per is None:
            return "-"
        text = fmt.energy(per, approx)
        family = s.get("model_family")
        if family and family != "unknown":
            from tray_app.images.models import comparison_sentence

            text += "\n" + comparison_sentence(per, family)
        return text


class GenerationList(QTreeWidget):
    """A session's generations, oldest first: one row each, its settings and its energy.
    Approximate windows are in italics and their figures carry ≈."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from tray_app.ui.history import generations_text as gt

        self._gt = gt
        self.setAccessibleName(_("Generations"))
        self.setRootIsDecorated(False)
        self.setAlternatingRowColors(True)
        self.setUniformRowHeights(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setHeaderLabels(
            [_("Ended"), _("Images"), _("Energy"), _("Per image"), _("Seconds"), _("Window"),
             _("Settings")]  # fmt: skip
        )
        self.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.header().setStretchLastSection(True)

    def set_generations(self, generations: Sequence[dict[str, Any]]) -> None:
        gt = self._gt
        self.clear()
        items = []
        for g in generations:
            approx = gt.is_approximate(g)
            item = QTreeWidgetItem(
                [
                    fmt.local_time(g["end_ts"], "%H:%M:%S"),
                    count(g.get("images") or 0),
                    gt.wh(g.get("total_wh"), approx),
                    gt.wh(g.get("wh_per_image"), approx) if g.get("images") else "-",
                    gt.seconds(g.get("duration_s")),
                    gt.window_label(g.get("window")),
                    gt.settings_text(g),
                ]
            )
            tip = gt.generation_tooltip(g)
            for col in range(self.columnCount()):
                item.setToolTip(col, tip)
                if col in (1, 2, 3, 4):
                    item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if approx:
                    font = item.font(col)
                    font.setItalic(True)
                    item.setFont(col, font)
            items.append(item)
        self.addTopLevelItems(items)


class EmptyState(QWidget):
    """What the window shows before any session exists (or when the store cannot be read)."""

    def __init__(
        self, on_start_session: Callable[[], None] | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.heading = QLabel(_("No sessions yet"))
        self.heading.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        big = QFont(self.heading.font())
        big.setPointSizeF(big.pointSizeF() * 1.4)
        big.setBold(True)
        self.heading.setFont(big)
        self.text = _label()
        self.start_button = QPushButton(_("&Start a manual session"))
        self.start_button.setVisible(on_start_session is not None)
        if on_start_session is not None:
            self.start_button.clicked.connect(on_start_session)
        self.refresh_button = QPushButton(_("&Refresh"))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        # A column of fixed width: a word-wrapped label given an alignment in a layout gets no
        # height-for-width and is cut off.
        column = QWidget()
        column.setFixedWidth(560)
        inner = QVBoxLayout(column)
        inner.addWidget(self.heading)
        inner.addWidget(self.text)
        inner.addSpacing(8)
        inner.addLayout(buttons)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(column)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)
        self.show_explanation(on_start_session is not None)

    def show_explanation(self, in_tray: bool) -> None:
        self.heading.setText(_("No sessions yet"))
        parts = [
            _("A session appears here when Raison Garder sees an AI image tool such as "
              "ComfyUI, AUTOMATIC1111, Forge or InvokeAI at work: it records the energy the "
              "GPU and CPU draw until the tool is closed or left idle.")
        ]
        if in_tray:
            parts.append(
                _("Keep Raison Garder running in the tray and generate an image, or start a "
                  "manual session to measure anything else.")
            )
        else:
            parts.append(
                _("Raison Garder measures while it runs: start it with “raison-garder” (tray "
                  "icon), or “raison-garder monitor” in a terminal, then generate an image.")
            )
        self.text.setText("\n\n".join(parts))

    def show_problem(self, message: str) -> None:
        self.heading.setText(_("The history cannot be read"))
        self.text.setText(message)
