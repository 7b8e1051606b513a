"""About: versions, where the data lives, and what is measured versus estimated here.
Imported only when opened (it is the one place that loads the SVG app icon)."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout

from tray_app import APP_NAME, __version__
from tray_app.system import paths
from tray_app.system.i18n import _
from tray_app.ui import texts


def about_html(data_dir: Path, sources: Iterable[Any]) -> str:
    measured = "".join(f"<li>{escape(line)}</li>" for line in texts.measured_vs_estimated(sources))
    return (
        f"<h3>{escape(APP_NAME)} {escape(__version__)}</h3>"
        f"<p>{escape(_('Measures the energy that local AI image generation really draws, and reminds you gently to keep a sense of measure.'))}</p>"
        f"<p><b>{escape(_('On this computer'))}</b></p><ul>{measured}</ul>"
        f"<p>{escape(_('Hardware energy counters are the most accurate; sampled power comes next; estimates are labelled as such everywhere.'))}</p>"
        f"<p><b>{escape(_('Your data'))}</b><br>{escape(str(data_dir))}<br>"
        f"{escape(_('Nothing leaves this computer.'))}</p>"
        f"<p><small>{escape(_('Qt {qt} · PySide6 {pyside} · Python {python}').format(qt=qVersion(), pyside=PySide6.__version__, python=platform.python_version()))}</small></p>"
    )


class AboutDialog(QDialog):
    def __init__(self, data_dir: Path, sources: Iterable[Any]) -> None:
        super().__init__()
        self.setWindowTitle(_("About Raison Garder"))
        icon = QIcon(str(paths.resources_dir() / "icons" / "raison-garder.svg"))
        logo = QLabel()
        logo.setPixmap(icon.pixmap(64, 64))
        logo.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.text = QLabel(about_html(data_dir, sources))
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setMinimumWidth(420)
        row = QHBoxLayout()
        row.addWidget(logo)
        row.addWidget(self.text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(buttons)
