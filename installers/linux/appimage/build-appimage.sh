#!/usr/bin/env bash
# AppImage recipe (UNTESTED as an AppImage: appimagetool is neither in Debian nor on PyPI, and
# cannot be downloaded here). Assembles the AppDir from the PyInstaller bundle; the AppDir itself
# runs (./AppDir/AppRun doctor), and appimagetool, when on PATH, turns it into the AppImage.
#
#   installers/linux/appimage/build-appimage.sh BUNDLE_DIR APPDIR OUTPUT.AppImage
#
# Layout (what appimagetool expects):
#   AppRun                          -> usr/lib/raison-garder/raison-garder "$@"
#   raison-garder.desktop, raison-garder.svg, .DirIcon   (at the root)
#   usr/lib/raison-garder/          the PyInstaller bundle
#   usr/share/applications/, usr/share/icons/hicolor/scalable/apps/
# Known gap: start at login from an AppImage must point at $APPIMAGE, not at the temporary
# mount point (see installers/README.md).
set -euo pipefail
bundle=${1:?bundle folder}; appdir=${2:?AppDir to create}; out=${3:?output .AppImage}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
svg="$root/resources/icons/raison-garder.svg"
[ -f "$root/tray_app/resources/icons/raison-garder.svg" ] && svg="$root/tray_app/resources/icons/raison-garder.svg"

rm -rf "$appdir"
mkdir -p "$appdir/usr/lib" "$appdir/usr/share/applications" "$appdir/usr/share/icons/hicolor/scalable/apps"
cp -a "$bundle" "$appdir/usr/lib/raison-garder"
install -m 755 "$here/AppRun" "$appdir/AppRun"
cp "$root/installers/linux/raison-garder.desktop" "$appdir/raison-garder.desktop"
cp "$root/installers/linux/raison-garder.desktop" "$appdir/usr/share/applications/"
cp "$svg" "$appdir/raison-garder.svg"
cp "$svg" "$appdir/usr/share/icons/hicolor/scalable/apps/"
ln -sf raison-garder.svg "$appdir/.DirIcon"

if command -v appimagetool >/dev/null 2>&1; then
  ARCH=$(uname -m) appimagetool --no-appstream "$appdir" "$out"
  echo "AppImage: $out"
else
  echo "appimagetool not found: the AppDir is ready in $appdir (no AppImage built)."
fi
