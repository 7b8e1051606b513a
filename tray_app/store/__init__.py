"""The local SQLite store of sessions, samples and reminders. Qt-free.

from tray_app.store import Store, StoreError
store = Store.open()          # store.problems: messages to show once (file moved aside...)
"""

from tray_app.store.core import Store
from tray_app.store.db import STORE_FILENAME, StoreError

__all__ = ["STORE_FILENAME", "Store", "StoreError"]
