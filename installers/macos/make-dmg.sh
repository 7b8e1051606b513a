#!/usr/bin/env bash
# Make the macOS disk image from the .app PyInstaller built (macOS only: hdiutil, codesign).
#
#   installers/macos/make-dmg.sh "dist/Raison Garder.app" dist/raison-garder-<version>-macos-<arch>.dmg
#
# Optional signing and notarisation (see installers/README.md), from the environment:
#   CODESIGN_IDENTITY="Developer ID Application: Name (TEAMID)"  sign the app and the image
#   NOTARY_PROFILE=<keychain profile made with `xcrun notarytool store-credentials`>
set -euo pipefail
app=${1:?path to the .app}; dmg=${2:?output .dmg}
here=$(cd "$(dirname "$0")" && pwd)
[ -d "$app" ] || { echo "make-dmg.sh: no $app" >&2; exit 1; }

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  # Hardened runtime (--options runtime) is what notarisation requires; --deep signs every
  # library PyInstaller put in the bundle with the same identity.
  codesign --force --deep --timestamp --options runtime \
    --entitlements "$here/entitlements.plist" --sign "$CODESIGN_IDENTITY" "$app"
  codesign --verify --deep --strict --verbose=2 "$app"
fi

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
cp -R "$app" "$staging/"
ln -s /Applications "$staging/Applications"  # drag the app onto it to install
rm -f "$dmg"
hdiutil create -volname "Raison Garder" -srcfolder "$staging" -fs HFS+ -format UDZO -ov "$dmg"

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  codesign --force --timestamp --sign "$CODESIGN_IDENTITY" "$dmg"
  if [ -n "${NOTARY_PROFILE:-}" ]; then
    xcrun notarytool submit "$dmg" --keychain-profile "$NOTARY_PROFILE" --wait
    xcrun stapler staple "$dmg"
    spctl --assess --type open --context context:primary-signature --verbose "$dmg"
  fi
fi
echo "Disk image: $dmg"
