"""Freedesktop desktop notifications with buttons, over QtDBus (Linux and BSD desktops).

`QSystemTrayIcon.showMessage` has no buttons on Linux; the notification service has actions.

PySide6 cannot put a D-Bus `uint32` into a message by hand (a Python int always marshals as
int16/int32), and servers refuse `Notify` with the wrong signature. QtDBus itself converts
arguments when a method is called through a `QDBusInterface`'s meta-object, but that meta-object
comes from the server's introspection, where dunst and GNOME describe the `a{sv}` hints without
Qt's type annotation, so Qt marks `Notify` uncallable. QtDBus caches those meta-objects per
interface name on a connection, so we introspect a local object of ours first, whose `Notify`
slot carries Qt's types, and the server's interface then reuses that description. If a Qt version
stops sharing the cache, `notify()` fails, returns None and the caller uses its own popup.

Servers send `ActionInvoked` to the connection that called `Notify` (dunst does not broadcast it),
so sending and listening both happen on the same connection here.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    Q_ARG,
    Q_RETURN_ARG,
    SLOT,
    ClassInfo,
    QMetaObject,
    QObject,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtDBus import QDBus, QDBusConnection, QDBusInterface, QDBusMessage

from tray_app import APP_ID, APP_NAME

log = logging.getLogger(__name__)

SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
DUNST_INTERFACE = "org.dunstproject.cmd0"  # dunst's own control interface: its pause is its DND
PROPERTIES = "org.freedesktop.DBus.Properties"
SHAPE_PATH = "/org/raison_garder/NotificationsShape"
CALL_TIMEOUT_MS = 1000  # a notification server answers in milliseconds; never hang the GUI
URGENCY_LOW = 0
CATEGORY = "x-raison-garder.reminder"  # the spec allows vendor categories in this form


@ClassInfo({"D-Bus Interface": INTERFACE})
class _NotifyShape(QObject):
    """Only its introspection is used: it tells QtDBus the Qt types of Notify's arguments."""

    @Slot(str, "uint", str, str, str, "QStringList", "QVariantMap", int, result="uint")
    def Notify(self, *_args: Any) -> int:  # noqa: N802 - the D-Bus method name
        return 0

    @Slot("uint")
    def CloseNotification(self, _nid: int) -> None:  # noqa: N802 - the D-Bus method name
        pass


class DesktopNotifier(QObject):
    """Talks to the session's notification server. Every call is bounded by CALL_TIMEOUT_MS."""

    action_invoked = Signal(int, str)  # (notification id, action key), for our notifications only
    closed = Signal(int, int)  # (notification id, reason: 1 expired, 2 dismissed, 3 closed)

    def __init__(self, parent: QObject | None = None, bus: QDBusConnection | None = None) -> None:
        super().__init__(parent)
        self.bus = bus if bus is not None else QDBusConnection.sessionBus()
        self._iface: QDBusInterface | None = None
        self._ours: set[int] = set()
        self._listening = False

    # ---- queries ---------------------------------------------------------------------------
    def _call(self, interface: str, method: str, *args: Any) -> list[Any] | None:
        if not self.bus.isConnected():
            return None
        message = QDBusMessage.createMethodCall(SERVICE, PATH, interface, method)
        if args:
            message.setArguments(list(args))
        reply = self.bus.call(message, QDBus.CallMode.Block, CALL_TIMEOUT_MS)
        if reply.type() != QDBusMessage.MessageType.ReplyMessage:
            return None
        return list(reply.arguments())

    def server_info(self) -> tuple[str, str, str, str] | None:
        """(name, vendor, version, spec version), or None when no server answers."""
        args = self._call(INTERFACE, "GetServerInformation")
        if not args or len(args) < 4:
            return None
        return (str(args[0]), str(args[1]), str(args[2]), str(args[3]))

    def capabilities(self) -> list[str]:
        args = self._call(INTERFACE, "GetCapabilities")
        return [str(c) for c in args[0]] if args else []

    def _property(self, interface: str, name: str) -> Any:
        args = self._call(PROPERTIES, "Get", interface, name)
        if not args:
            return None  # the server does not have it: unknown, not "off"
        value = args[0]
        return value.variant() if hasattr(value, "variant") else value

    def inhibited(self) -> bool:
        """Do-not-disturb: the spec's `Inhibited` property (KDE, newer servers), or dunst paused."""
        return self._property(INTERFACE, "Inhibited") is True or (
            self._property(DUNST_INTERFACE, "paused") is True
        )

    # ---- sending ---------------------------------------------------------------------------
    def _interface(self) -> QDBusInterface | None:
        if self._iface is None:
            shape = _NotifyShape()
            registered = self.bus.registerObject(
                SHAPE_PATH, shape, QDBusConnection.RegisterOption.ExportAllSlots
            )
            try:
                # Introspecting our own object fills QtDBus' per-interface meta-object cache.
                QDBusInterface(self.bus.baseService(), SHAPE_PATH, INTERFACE, self.bus)
            finally:
                if registered:
                    self.bus.unregisterObject(SHAPE_PATH)
            iface = QDBusInterface(SERVICE, PATH, INTERFACE, self.bus, self)
            iface.setTimeout(CALL_TIMEOUT_MS)
            self._iface = iface
        return self._iface if self._iface.isValid() else None

    def _listen(self) -> None:
        if self._listening:
            return
        slot = SLOT("_on_signal(QDBusMessage)")
        ok = self.bus.connect(SERVICE, PATH, INTERFACE, "ActionInvoked", self, slot)
        ok = self.bus.connect(SERVICE, PATH, INTERFACE, "NotificationClosed", self, slot) and ok
        self._listening = ok

    def notify(
        self,
        title: str,
        body: str,
        actions: Sequence[tuple[str, str]] = (),
        expire_ms: int = 20_000,
        icon: str = "",
        replaces_id: int = 0,
    ) -> int | None:
        """Show a notification; its id, or None if the server refused or is absent."""
        if not self.bus.isConnected():
            return None
        iface = self._interface()
        if iface is None:
            return None
        self._listen()
        flat: list[str] = [part for key, label in actions for part in (key, label)]
        hints: dict[str, Any] = {
            # A byte in the spec; PySide sends an int, which GNOME and KDE read and dunst ignores.
            "urgency": URGENCY_LOW,
            "category": CATEGORY,
            "desktop-entry": APP_ID,
        }
        try:
            nid = QMetaObject.invokeMethod(
                iface,
                "Notify",
                Qt.ConnectionType.DirectConnection,
                Q_RETURN_ARG("uint"),
                Q_ARG(str, APP_NAME),
                Q_ARG("uint", replaces_id),
                Q_ARG(str, icon),
                Q_ARG(str, title),
                # Servers with body markup would read "<" as a tag: say it literally.
                Q_ARG(str, html.escape(body, quote=False)),
                Q_ARG("QStringList", flat),
                Q_ARG("QVariantMap", hints),
                Q_ARG(int, expire_ms),
            )
        except RuntimeError as exc:  # the meta-object does not know Notify's types
            log.info("desktop notification unavailable: %s", exc)
            return None
        error = iface.lastError()
        if error.isValid() or not nid:
            log.info("desktop notification refused: %s", error.message())
            return None
        self._ours.add(int(nid))
        return int(nid)

    def close(self, nid: int) -> None:
        """Take our notification off the screen (same uint problem as Notify: typed call)."""
        iface = self._interface() if nid in self._ours and self.bus.isConnected() else None
        if iface is not None:
            try:
                QMetaObject.invokeMethod(
                    iface, "CloseNotification", Qt.ConnectionType.DirectConnection,
                    Q_ARG("uint", nid),
                )  # fmt: skip
            except RuntimeError:
                pass  # it expires by itself anyway

    def owns(self, nid: int) -> bool:
        return nid in self._ours

    @Slot(QDBusMessage)
    def _on_signal(self, message: QDBusMessage) -> None:
        args = list(message.arguments())
        if len(args) < 2:
            return
        nid = int(args[0])
        if nid not in self._ours:
            return  # another application's notification: the signal may be broadcast
        if message.member() == "ActionInvoked":
            self.action_invoked.emit(nid, str(args[1]))
        elif message.member() == "NotificationClosed":
            self._ours.discard(nid)
            self.closed.emit(nid, int(args[1]))
