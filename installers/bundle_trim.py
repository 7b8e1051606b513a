"""Keep only the parts of Qt (and of the build machine) that Raison Garder uses; called from
installers/raison-garder.spec.

PySide6's PyInstaller hooks collect every plugin type of every Qt module imported, and each
plugin drags its own libraries in: the PDF image reader brings QtPdf, the virtual keyboard brings
QtQuick and QtQml, the Wayland plugins their client stack, the GTK theme all of GTK. `trim()`
filters the plugins and translations, leaves out the Linux desktop's own base libraries, then
keeps only the libraries still linked from what is left, so a plugin dropped here never leaves
an orphan library behind (and a plugin kept always keeps its libraries).
"""

from __future__ import annotations

import os
import sys
from importlib import util
from pathlib import Path, PurePosixPath

# Plugin type -> plugin names kept (None: all of that type). Everything else is dropped.
KEEP_PLUGINS: dict[str, set[str] | None] = {
    # xcb: X11 and XWayland; offscreen: headless runs and tests; windows/cocoa: the other OSes.
    # No native Wayland plugin (~5 MB with its client stack): Qt falls back to xcb through
    # XWayland, and the tray icon goes through D-Bus (StatusNotifierItem) either way.
    "platforms": {"qxcb", "qoffscreen", "qwindows", "qcocoa"},
    # The About dialog shows the SVG logo (QIcon on an .svg path).
    "imageformats": {"qsvg"},
    "iconengines": {"qsvgicon"},
    # The desktop portal plugin is D-Bus only; the GTK3 theme would pull the GTK stack in.
    "platformthemes": {"qxdgdesktopportal"},
    # Dead keys and input methods in the settings fields; not the QML virtual keyboard.
    "platforminputcontexts": {"composeplatforminputcontextplugin", "ibusplatforminputcontextplugin"},
    # The native look on Windows 11 / macOS.
    "styles": None,
}
# Linux: libraries every desktop that can show a tray already has, and that are better taken
# from the running system than from the build machine: a bundled fontconfig older than the
# system's rejects its config files, a bundled libstdc++ older than the one the GPU driver needs
# breaks it, libdbus must match the system bus (and drags libsystemd, libgcrypt, lz4, zstd in).
# The same choice as the AppImage project's exclude list; Qt's xcb helpers (libxcb-cursor...),
# xkbcommon, OpenSSL and SQLite stay bundled: those are often missing or too old.
LINUX_SYSTEM_LIBS = {
    "libstdc++.so.6", "libgcc_s.so.1", "libz.so.1", "libexpat.so.1", "libuuid.so.1",
    "libfontconfig.so.1", "libfreetype.so.6", "libharfbuzz.so.0",
    "libglib-2.0.so.0", "libgthread-2.0.so.0", "libgobject-2.0.so.0", "libgio-2.0.so.0",
    "libX11.so.6", "libX11-xcb.so.1", "libgpg-error.so.0", "libdbus-1.so.3",
}
# Python modules that carry no Qt library of their own but must stay with QtGui.
ALWAYS_KEEP_MODULES = {"QtCore", "QtGui", "QtWidgets"}


def unused_qt_modules(used: set[str]) -> list[str]:
    """PySide6 extension modules (QtQml, QtNetwork, ...) not in `used`, for Analysis(excludes=)."""
    spec = util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return []
    names = {
        p.name.split(".", 1)[0]
        for folder in spec.submodule_search_locations
        for p in Path(folder).iterdir()
        if p.name.startswith("Qt") and p.suffix in (".so", ".pyd")
    }
    return sorted(names - used - ALWAYS_KEEP_MODULES)


def _posix(dest: str) -> PurePosixPath:
    return PurePosixPath(dest.replace("\\", "/"))


def _plugin_kept(dest: PurePosixPath) -> bool | None:
    """True/False for a Qt plugin, None when `dest` is not a plugin."""
    parts = dest.parts
    if "plugins" not in parts[:-1] or "PySide6" not in parts:
        return None
    i = parts.index("plugins")
    if len(parts) < i + 3:
        return None
    kind, name = parts[i + 1], parts[-1]
    stem = name.split(".", 1)[0]
    stem = stem[3:] if stem.startswith("lib") else stem
    if kind not in KEEP_PLUGINS:
        return False
    wanted = KEEP_PLUGINS[kind]
    return wanted is None or stem in wanted


def _translation_kept(dest: PurePosixPath, languages: list[str]) -> bool | None:
    """Qt's own .qm files: only qtbase for the languages we ship (ui/translator.py loads it)."""
    if dest.suffix != ".qm" or "PySide6" not in dest.parts:
        return None
    return dest.name in {f"qtbase_{lang}.qm" for lang in languages}


def _framework(dest: PurePosixPath) -> str | None:
    for i, part in enumerate(dest.parts):
        if part.endswith(".framework"):
            return "/".join(dest.parts[: i + 1])
    return None


def _linked(binaries: list[tuple[str, str, str]], roots: list[int]) -> set[int]:
    """Indexes of `binaries` reachable from `roots` through link-time imports."""
    from PyInstaller.depend import bindepend

    by_path = {os.path.realpath(src): i for i, (_d, src, _t) in enumerate(binaries)}
    by_name: dict[str, int] = {}
    for i, (dest, _src, _t) in enumerate(binaries):
        by_name.setdefault(_posix(dest).name, i)
    search = sorted({str(Path(src).parent) for _d, src, _t in binaries})
    seen, todo = set(roots), list(roots)
    while todo:
        i = todo.pop()
        try:
            imports = bindepend.get_imports(binaries[i][1], search)
        except Exception as exc:  # noqa: BLE001 - an unreadable file keeps itself, nothing more
            print(f"bundle_trim: cannot read imports of {binaries[i][1]}: {exc}", file=sys.stderr)
            continue
        for name, fullpath in imports:
            j = by_path.get(os.path.realpath(fullpath)) if fullpath else None
            if j is None:
                j = by_name.get(PurePosixPath(name.replace("\\", "/")).name)
            if j is not None and j not in seen:
                seen.add(j)
                todo.append(j)
    return seen


def trim(
    binaries: list[tuple[str, str, str]],
    datas: list[tuple[str, str, str]],
    languages: list[str],
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """Return (binaries, datas) without the unused Qt plugins, translations and libraries."""
    binaries = [b for b in binaries if _plugin_kept(_posix(b[0])) is not False]
    if sys.platform.startswith("linux"):
        binaries = [b for b in binaries if _posix(b[0]).name not in LINUX_SYSTEM_LIBS]
    datas = [
        d for d in datas
        if _translation_kept(_posix(d[0]), languages) is not False
        and _plugin_kept(_posix(d[0])) is not False
    ]
    # Roots: Python extension modules, the Python library and the kept plugins (Qt dlopens
    # those). Every other library stays only if one of them links to it.
    roots = [
        i for i, (dest, _src, typecode) in enumerate(binaries)
        if typecode == "EXTENSION"
        or _plugin_kept(_posix(dest))
        or _posix(dest).name.lower().startswith(("libpython", "python3", "python"))
    ]
    reached = _linked(binaries, roots)
    dropped = [b for i, b in enumerate(binaries) if i not in reached]
    for dest, _src, _t in dropped:
        print(f"bundle_trim: dropping {dest} (nothing kept links to it)")
    frameworks = {f for f in (_framework(_posix(d[0])) for d in dropped) if f}
    binaries = [b for i, b in enumerate(binaries) if i in reached]
    datas = [d for d in datas if _framework(_posix(d[0])) not in frameworks]
    return binaries, datas
