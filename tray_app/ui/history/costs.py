""""What costs what": the user's generations grouped by model family x image size x steps, the
median energy and time per image of each group, beside the published figures for that family.

Read only when the tab is shown (one SQL pass over the generations, grouped in Python), so the
History window opens as fast with 100 000 generations as with none.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tray_app.images.models import published_references
from tray_app.store.generations import Group
from tray_app.system.fmt import count
from tray_app.system.i18n import _, ngettext
from tray_app.ui.history import generations_text as gt

MAX_GROUPS = 200  # the most-used settings; the rest are a long tail of one-offs


class CostsView(QWidget):
    COLUMNS = ("model", "size", "steps", "generations", "images", "wh", "seconds", "reference")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(_("What costs what"))
        self.intro = QLabel(
            _("Your generations grouped by model, image size and steps: the median energy and "
              "time per image of each, beside published figures for the same model family. "
              "Published figures count the GPU alone, on data-centre hardware, with the "
              "model's default settings; yours are what this machine drew with your own.")
        )
        self.intro.setWordWrap(True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.tip = QLabel()  # the user's own clearest comparison, when their data shows one
        self.tip.setWordWrap(True)
        bold = self.tip.font()
        bold.setBold(True)
        self.tip.setFont(bold)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setAccessibleName(_("Cost per image by settings"))
        self.table.setHorizontalHeaderLabels([self._header(c) for c in self.COLUMNS])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.tip)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        self.groups: list[Group] = []

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt's naming
        super().resizeEvent(event)
        self.table.resizeRowsToContents()  # wrapped references need their lines' height

    @staticmethod
    def _header(key: str) -> str:
        return {
            "model": _("Model"),
            "size": _("Size"),
            "steps": _("Steps"),
            "generations": _("Generations"),
            "images": _("Images"),
            "wh": _("Median Wh per image"),
            "seconds": _("Median s per image"),
            "reference": _("Published reference (source, hardware, date)"),
        }[key]

    def set_groups(self, groups: list[Group]) -> None:
        from tray_app.reminders.phrasing import steps_tip
        from tray_app.sessions.generation_tips import steps_contrast

        self.groups = groups
        contrast = steps_contrast(groups)
        self.tip.setText(steps_tip(contrast) if contrast else "")
        self.tip.setVisible(contrast is not None)
        shown = groups[:MAX_GROUPS]
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(shown))
        for row, g in enumerate(shown):
            refs = published_references(g.family)
            approx = g.exact < g.count  # some windows were approximate
            cells = {
                "model": gt.family_label(g.family),
                "size": gt.size_text(g.width, g.height),
                "steps": "?" if g.steps is None else str(g.steps),
                "generations": count(g.count),
                "images": count(g.images),
                "wh": gt.wh(g.median_wh_per_image, approx),
                "seconds": gt.seconds(g.median_s_per_image),
                "reference": "\n".join(gt.reference_text(r) for r in refs),
            }
            for col, key in enumerate(self.COLUMNS):
                item = QTableWidgetItem(cells[key])
                if key in ("steps", "generations", "images", "wh", "seconds"):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if key == "reference":
                    item.setToolTip("\n\n".join(gt.reference_tooltip(r) for r in refs))
                elif key == "wh" and approx:
                    item.setToolTip(
                        ngettext(
                            "{n} of these generations has an approximate window (≈).",
                            "{n} of these generations have an approximate window (≈).",
                            g.count - g.exact,
                        ).format(n=g.count - g.exact)
                    )
                self.table.setItem(row, col, item)
        self.table.resizeRowsToContents()
        if not groups:
            self.note.setText(
                _("No generations recorded yet. Each ComfyUI prompt, or each image another "
                  "tool saves, appears here with its settings once Raison Garder has measured it.")
            )
        elif len(groups) > MAX_GROUPS:
            self.note.setText(
                _("The {shown} most used settings of {total} are shown.").format(
                    shown=MAX_GROUPS, total=len(groups)
                )
            )
        else:
            self.note.setText(
                _("Medians, not averages: one prompt that also loaded a model does not make a "
                  "whole setting look expensive. ≈: some windows were approximate.")
            )
