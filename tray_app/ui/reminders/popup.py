"""Our own small reminder window, for desktops without a notification service (macOS,
Windows, bare X sessions) and as the fallback when the service refuses.

What users of reminder apps ask for: it never takes the keyboard focus, is never modal, goes away
by itself (but not while the pointer rests on it, so it is never gone mid-read), and sits near the
tray rather than in the middle of the work.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QFont, QGuiApplication, QScreen
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tray_app import APP_NAME
from tray_app.system.i18n import _

TIMEOUT_MS = 20_000
AFTER_HOVER_MS = 8_000  # once the pointer leaves, a little time to come back
WIDTH = 380
MARGIN = 12


class ReminderPopup(QWidget):
    action = Signal(str)  # the key of the button pressed
    dismissed = Signal()  # closed by ×, by timeout or replaced, without an action

    def __init__(
        self,
        title: str,
        body: str,
        tip: str,
        actions: Sequence[tuple[str, str]],  # (key, label)
        timeout_ms: int = TIMEOUT_MS,
        anchor: QRect | None = None,  # the tray icon's geometry, when the platform tells it
    ) -> None:
        flags = (
            Qt.WindowType.Tool
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.WindowDoesNotAcceptFocus
        )
        super().__init__(None, flags)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setWindowTitle(APP_NAME)
        self.setObjectName("reminderPopup")
        self._anchor = anchor
        self._acted = False
        self.timeout_ms = timeout_ms

        frame = QFrame(self)
        frame.setObjectName("reminderFrame")
        # Palette colours keep it readable in light and dark themes; the border separates it
        # from whatever lies under it, since a frameless window has no shadow on X11.
        # Square corners: a frameless window without compositing cannot be transparent there.
        frame.setStyleSheet(
            "#reminderFrame { border: 1px solid palette(dark); background: palette(window); }"
        )
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        box = QVBoxLayout(frame)
        box.setContentsMargins(14, 10, 10, 12)
        box.setSpacing(6)

        head = QHBoxLayout()
        self.title_label = QLabel(title)
        bold = QFont(self.title_label.font())
        bold.setBold(True)
        self.title_label.setFont(bold)
        self.title_label.setWordWrap(True)
        head.addWidget(self.title_label, 1)
        self.close_button = QToolButton()
        self.close_button.setText("×")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip(_("Close"))
        self.close_button.setAccessibleName(_("Close"))
        self.close_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.close_button.clicked.connect(self.close)
        head.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        box.addLayout(head)

        self.body_label = QLabel(body)
        self.body_label.setWordWrap(True)
        self.body_label.setTextFormat(Qt.TextFormat.PlainText)
        box.addWidget(self.body_label)
        self.tip_label = QLabel(tip)
        self.tip_label.setWordWrap(True)
        self.tip_label.setTextFormat(Qt.TextFormat.PlainText)
        italic = QFont(self.tip_label.font())
        italic.setItalic(True)  # a tip, not the news; full contrast so it stays readable
        self.tip_label.setFont(italic)
        self.tip_label.setVisible(bool(tip))
        box.addWidget(self.tip_label)

        row = QHBoxLayout()
        row.addStretch(1)
        self.buttons: dict[str, QPushButton] = {}
        for key, label in actions:
            button = QPushButton(label)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setAutoDefault(False)
            button.clicked.connect(lambda _checked=False, k=key: self._act(k))
            row.addWidget(button)
            self.buttons[key] = button
        box.addLayout(row)

        self.setFixedWidth(WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Minimum)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.close)

    # ---- showing ----------------------------------------------------------------------------
    def popup(self) -> None:
        """Show it in its corner without taking the focus, and start the countdown."""
        self.adjustSize()
        self.move(self.position())
        self.show()
        self.timer.start(self.timeout_ms)

    def _screen(self) -> QScreen | None:
        if self._anchor is not None:
            screen = QGuiApplication.screenAt(self._anchor.center())
            if screen is not None:
                return screen
        return QGuiApplication.primaryScreen()

    def position(self) -> QPoint:
        """Next to the tray icon when known; else the corner where trays usually live."""
        screen = self._screen()
        area = screen.availableGeometry() if screen is not None else QRect(0, 0, 1024, 768)
        size = self.sizeHint().expandedTo(self.minimumSizeHint())
        w, h = WIDTH, max(size.height(), self.height() if self.isVisible() else 0)
        if self._anchor is not None and area.contains(self._anchor.center()):
            x = self._anchor.center().x() - w // 2
            below = self._anchor.center().y() < area.center().y()
            y = self._anchor.bottom() + MARGIN if below else self._anchor.top() - h - MARGIN
        else:
            x = area.right() - w - MARGIN
            top = sys.platform == "darwin"  # the menu bar is at the top on macOS
            y = area.top() + MARGIN if top else area.bottom() - h - MARGIN
        x = min(max(x, area.left() + MARGIN), area.right() - w - MARGIN)
        y = min(max(y, area.top() + MARGIN), area.bottom() - h - MARGIN)
        return QPoint(x, y)

    # ---- hovering keeps it ------------------------------------------------------------------
    def enterEvent(self, event: QEvent) -> None:  # Qt API
        self.timer.stop()
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:  # Qt API
        self.timer.start(AFTER_HOVER_MS)
        super().leaveEvent(event)

    # ---- outcome ----------------------------------------------------------------------------
    def _act(self, key: str) -> None:
        self._acted = True
        self.close()
        self.action.emit(key)

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt API
        self.timer.stop()
        if not self._acted:
            self._acted = True
            self.dismissed.emit()
        super().closeEvent(event)
