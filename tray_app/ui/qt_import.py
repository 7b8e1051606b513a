"""Load PySide6 without letting it keep the source of every module imported after it.

Since PySide6 6.4 (PYSIDE-2029), shibokensupport.feature looks at each module imported once Qt is
loaded, to learn whether it uses PySide6: it reads the module's whole source with
inspect.getsource() and searches it for the word. inspect reads through linecache, which then
keeps every line of every such module for the life of the process. For the tray that is the whole
engine, store, config and reminders: about 7 MiB of strings, a tenth of its RSS, never read again
(measured with tracemalloc, benchmarks/RESULTS.md, tray section).

forget_module_sources() wraps that check so that what it put in linecache goes as soon as it has
answered; the answer is PySide6's own. If a later PySide6 renames or drops the check, nothing is
changed.
"""

from __future__ import annotations

import linecache
import sys
from types import ModuleType


def forget_module_sources() -> bool:
    """Import PySide6 and wrap its per-import source check; True if wrapped (now or before)."""
    import PySide6  # noqa: F401 - loads shibokensupport and its import hook

    feature = sys.modules.get("shibokensupport.feature")
    check = getattr(feature, "_mod_uses_pyside", None)
    if check is None or not callable(check):
        return False
    if getattr(check, "forgets_sources", False):
        return True

    def _mod_uses_pyside(module: ModuleType) -> bool:
        before = set(linecache.cache)
        try:
            return bool(check(module))
        finally:
            for name in linecache.cache.keys() - before:
                linecache.cache.pop(name, None)

    _mod_uses_pyside.forgets_sources = True  # type: ignore[attr-defined]
    feature._mod_uses_pyside = _mod_uses_pyside  # type: ignore[union-attr]  # noqa: SLF001 - PySide6's own hook
    return True
