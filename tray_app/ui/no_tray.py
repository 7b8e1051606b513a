"""Said once when the desktop has no system tray: the app keeps measuring, here is the fix."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialogButtonBox, QLabel, QPushButton, QVBoxLayout, QWidget

from tray_app.system.i18n import _


def no_tray_text() -> str:
    return "\n\n".join([
        _("Raison Garder keeps measuring, but this desktop shows no system tray, so its icon "
          "cannot appear."),
        _("GNOME: install and enable the “AppIndicator and KStatusNotifierItem Support” "
          "extension (package gnome-shell-extension-appindicator), then log out and back in."),
        _("Other desktops: add a “System tray” or “Status notifier” widget to the panel."),
        _("Meanwhile, “raison-garder history” shows your sessions in a terminal."),
    ])


class NoTrayWindow(QWidget):
    def __init__(self, on_history: Callable[[], None], on_quit: Callable[[], None]) -> None:
        super().__init__()
        self.setWindowTitle(_("Raison Garder: no system tray"))
        self.message = QLabel(no_tray_text())
        self.message.setWordWrap(True)
        self.message.setMinimumWidth(380)
        self.notes = QLabel()  # later messages (reminders, problems) land here
        self.notes.setWordWrap(True)
        self.notes.hide()
        buttons = QDialogButtonBox()
        history = QPushButton(_("History…"))
        history.clicked.connect(on_history)
        quit_button = QPushButton(_("Quit"))
        quit_button.clicked.connect(on_quit)
        close = QPushButton(_("Close (keep measuring)"))
        close.clicked.connect(self.close)
        buttons.addButton(history, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(quit_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.addButton(close, QDialogButtonBox.ButtonRole.RejectRole)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.notes)
        layout.addWidget(buttons)

    def add_note(self, text: str) -> None:
        self.notes.setText(text)
        self.notes.show()
